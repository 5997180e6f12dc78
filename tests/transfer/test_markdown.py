"""Markdown export: file names, the header, who wrote each message, and text kept as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer.markdown import conversation_markdown, export_markdown, slug
from chatdesk.transfer.native import select_conversations
from tests.transfer.test_native import seed_history

CODE_ANSWER = ("Mostly the Moon's gravity. See [NOAA](https://oceanservice.noaa.gov/).\n\n"
               "```python\nprint('</script>')\n```")


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with HistoryStore.open(tmp_path / "data" / "history.db") as store:
        seed_history(store)
        yield store


@pytest.mark.parametrize("title, expected", [
    ("Tides & <b>moons</b>", "tides-b-moons-b"),
    ("Привет, мир! café ☕", "привет-мир-café"),
    ("  ../../etc/passwd  ", "etc-passwd"),
    ("snake_case and  spaces", "snake-case-and-spaces"),
    (None, "untitled"),
    ("???", "untitled"),
    ("x" * 300, "x" * 50),
])
def test_slug(title: str | None, expected: str) -> None:
    assert slug(title) == expected


def test_several_conversations_give_one_file_each(store: HistoryStore, tmp_path: Path) -> None:
    out = tmp_path / "md"
    summary = export_markdown(store, select_conversations(store, None), str(out))
    names = sorted(p.name for p in out.iterdir())
    assert names == ["00001-tides-b-moons-b.md", "00003-привет-мир-café.md",
                     "00004-from-chatgpt.md", "00005-nothing-yet.md"]
    assert summary.conversations == 4 and summary.path == out
    assert summary.messages == 7  # the alternate answer is left out


def test_a_conversation_file(store: HistoryStore, tmp_path: Path) -> None:
    out = tmp_path / "out" / "tides.md"
    out.parent.mkdir()
    export_markdown(store, [1], str(out))
    text = out.read_text(encoding="utf-8")
    conv = store.get_conversation(1)
    assert text.startswith("# Tides & <b>moons</b>\n")
    assert f"- Created: {conv.created_at[:10]} {conv.created_at[11:16]} UTC" in text
    assert "- Conversation: 1 " in text
    assert "> Be brief." in text  # the system prompt
    assert "## You\n" in text
    assert "## Assistant · openai · gpt-x\n" in text
    assert "> anthropic failed after 2 words: overloaded (529)" in text
    # Message text goes in untouched: it already is Markdown.
    assert "How do **tides** work?\n\n<script>x</script>" in text
    assert CODE_ANSWER in text
    assert "An earlier answer" not in text  # alternates are not the conversation's line
    assert text.index("## You") < text.index("## Assistant")
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


def test_status_other_than_complete_is_shown(store: HistoryStore) -> None:
    conv = store.get_conversation(3)
    text = conversation_markdown(store, conv, store.messages(3))
    assert "## Assistant · gemini · gemini-x [failed]" in text
    assert "## You [pending]" in text
    partial = store.add_message(3, "assistant", "", status="partial", provider="ollama",
                                model="llama")
    text = conversation_markdown(store, conv, store.messages(3))
    assert "## Assistant · ollama · llama [partial]" in text
    assert store.get_message(partial.id) is not None and "*(no text)*" in text


def test_one_conversation_to_stdout(store: HistoryStore,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    summary = export_markdown(store, [4], "-")
    out = capsys.readouterr().out
    assert summary.path is None
    assert out.startswith("# From ChatGPT\n") and "- Imported from: ChatGPT" in out
    assert "## Assistant · openai · gpt-4o" in out


def test_one_conversation_into_a_folder(store: HistoryStore, tmp_path: Path) -> None:
    folder = tmp_path / "existing"
    folder.mkdir()
    export_markdown(store, [4], str(folder))
    assert [p.name for p in folder.iterdir()] == ["00004-from-chatgpt.md"]
