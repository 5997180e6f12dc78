"""Importing Claude's data export: blocks, attachments, branches, zips, errors, idempotence."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer.claude import read_claude
from chatdesk.transfer.common import (
    ImportCancelled,
    ImportedConversation,
    ImportFormatError,
    write_conversations,
)
from tests.transfer.conftest import stored_counts as counts
from tests.transfer.conftest import stored_outline

FIXTURES = Path(__file__).parent / "fixtures" / "claude"
TOOLS = "1c0ffee0-0000-4a11-9c1d-000000000001"
HAIKU = "2b2b2b2b-0000-4a11-9c1d-000000000002"
PEACE = "3c3c3c3c-0000-4a11-9c1d-000000000003"
EMPTY = "4d4d4d4d-0000-4a11-9c1d-000000000004"


def fixture_items() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "conversations.json").read_text(encoding="utf-8"))


def export_zip(path: Path, items: list[dict[str, Any]] | None = None) -> Path:
    """The zip as Claude sends it: conversations.json beside users.json and projects.json."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        data = fixture_items() if items is None else items
        zf.writestr("conversations.json", json.dumps(data, ensure_ascii=False))
        for name in ("users.json", "projects.json"):
            zf.write(FIXTURES / name, name)
    return path


def by_id(path: Path) -> dict[str, ImportedConversation]:
    return {c.source_id: c for c in read_claude(path)}




def test_blocks_attachments_and_files(tmp_path: Path) -> None:
    conv = by_id(export_zip(tmp_path / "export.zip"))[TOOLS]
    assert conv.title == "Notes summary and the weather in Zürich"
    assert conv.created_at == "2025-03-04T10:11:12.345+00:00"
    assert conv.updated_at == "2025-03-04T10:13:40.120+00:00"
    question, answer, ask, reply = conv.messages
    assert (question.role, answer.role) == ("user", "assistant")
    assert (answer.provider, answer.model, question.provider) == ("anthropic", None, None)
    # the attachment's extracted text is a text file of the message, byte for byte
    assert question.content.startswith(
        "Summarise the attached notes and look up the weather in Zürich.\n\n")
    (notes,) = [a.load() for a in question.attachments]
    assert (notes.name, notes.kind, notes.media_type) == ("notes.txt", "text_file", "text/plain")
    assert notes.text is not None and notes.text.startswith("Meeting notes\n")
    assert "- example: ```rm -rf build```\n- owner: Ana" in notes.text
    assert notes.data == notes.text.encode()
    assert "[attachment: budget.xlsx]" in question.content  # nothing extracted: a placeholder
    assert question.content.count("[file: whiteboard.png]") == 1  # files and files_v2 merged
    assert question.missing_files == 2  # the placeholders are counted for the summary
    # thinking is the answer's reasoning, never its text
    assert answer.reasoning == (
        "The notes have three points.\n\nI should check the weather with the search tool.")
    assert "three points" not in answer.content
    assert answer.content.startswith(
        '**Tool call: web_search**\n\n```json\n{\n  "query": "Zürich weather now"\n}\n```')
    assert "**Result of web search**\n\n- [Zürich weather - MeteoSwiss](https://www" in (
        answer.content
    )
    assert answer.content.endswith("It is 4 °C and cloudy in Zürich right now.")
    # the content blocks win over the flattened `text`: the answer is there once
    assert answer.content.count("It is 4 °C and cloudy") == 1
    assert ask.content == "Run the converter on my file."
    # the analysis tool's code as code (JavaScript), its error as its output
    assert "**Code (repl)**\n\n```javascript\nprint(convert('data.csv'))\n```" in reply.content
    assert ("**Error from the analysis tool**\n\n```output\nFileNotFoundError: data.csv\n```"
            in reply.content)
    assert [m.parent_source_id for m in conv.messages] == [None] + [
        m.source_id for m in conv.messages[:-1]
    ]


def test_branches_follow_the_current_leaf(tmp_path: Path) -> None:
    conv = by_id(FIXTURES / "conversations.json")[HAIKU]
    main = [m.content for m in conv.messages if not m.is_alternate]
    assert main == [
        "Write a haiku about autumn.",
        "Crisp leaves drift and fall\nmaple fire on quiet paths\nthe year exhales slow",
        "Now one about winter, in Japanese: 冬",
        "雪しずか 町の灯りに 息白し (retried)",
    ]
    alternates = {m.content: m for m in conv.messages if m.is_alternate}
    assert set(alternates) == {
        "Now one about winter.", "Snow hushes the town", "雪の朝 (first try)",
    }  # fmt: skip
    ids = {m.content: m.source_id for m in conv.messages}
    assert alternates["Now one about winter."].parent_source_id == ids[main[1]]
    assert alternates["雪の朝 (first try)"].parent_source_id == ids[main[2]]
    assert len(conv.messages) == 7  # the empty assistant message is left out


def test_without_a_current_leaf_the_newest_branch_is_the_main_line(tmp_path: Path) -> None:
    items = fixture_items()
    del items[1]["current_leaf_message_uuid"]
    items[1]["chat_messages"].pop()  # the empty message was the newest leaf
    (tmp_path / "conversations.json").write_text(json.dumps(items), encoding="utf-8")
    conv = by_id(tmp_path / "conversations.json")[HAIKU]
    assert [m.content for m in conv.messages if not m.is_alternate][-1] == (
        "雪しずか 町の灯りに 息白し (retried)"
    )


def test_older_exports_are_a_plain_list(tmp_path: Path) -> None:
    conv = by_id(FIXTURES)[PEACE]  # no content blocks, no parent ids, no name
    assert conv.title == 'Translate "peace" into Hebrew and Arabic 🕊️'
    assert [m.content for m in conv.messages] == [
        'Translate "peace" into Hebrew and Arabic 🕊️',
        "Hebrew: שָׁלוֹם (shalom)\nArabic: سلام (salaam)",
        "And in Chinese?",
        "和平 (hépíng)",
    ]
    assert not any(m.is_alternate for m in conv.messages)
    assert conv.messages[2].created_at == conv.messages[1].created_at  # null: the parent's
    assert conv.messages[1].parent_source_id == conv.messages[0].source_id


def test_import_into_the_store(tmp_path: Path, store: HistoryStore) -> None:
    reader = read_claude(export_zip(tmp_path / "export.zip"))
    report = write_conversations(store, reader, "claude")
    assert (report.conversations_added, report.skipped_empty) == (3, 1)
    assert report.messages_added == 4 + 7 + 4
    assert report.files == ["conversations.json"]
    assert store.find_conversation_by_source("claude", EMPTY) is None
    haiku = store.find_conversation_by_source("claude", HAIKU)
    assert haiku is not None and haiku.title == "Haiku about autumn"
    main = store.messages(haiku.id)
    assert [m.role for m in main] == ["user", "assistant", "user", "assistant"]
    assert main[-1].content.endswith("(retried)") and main[-1].provider == "anthropic"
    assert main[-1].parent_id == main[-2].id
    assert len(store.messages(haiku.id, include_alternates=True)) == 7
    assert store.search("MeteoSwiss") and store.search("和平")


def test_reimport_adds_nothing_and_an_update_adds_only_what_is_new(
    tmp_path: Path, store: HistoryStore
) -> None:
    write_conversations(store, read_claude(export_zip(tmp_path / "a.zip")), "claude")
    before = counts(store)
    again = write_conversations(store, read_claude(export_zip(tmp_path / "a.zip")), "claude")
    assert (again.conversations_added, again.conversations_updated, again.messages_added) == (
        0, 0, 0,
    )  # fmt: skip
    assert counts(store) == before
    items = copy.deepcopy(fixture_items())
    peace = items[2]
    peace["chat_messages"].append({
        "uuid": "3c3c3c3c-0005-4a11-9c1d-000000000005", "text": "Thank you!",
        "sender": "human", "created_at": "2024-07-01T09:00:00.000000Z",
        "updated_at": "2024-07-01T09:00:00.000000Z", "attachments": [], "files": [],
    })  # fmt: skip
    peace["updated_at"] = "2024-07-01T09:00:00.000000Z"
    newer = read_claude(export_zip(tmp_path / "b.zip", items))
    report = write_conversations(store, newer, "claude")
    assert (report.conversations_added, report.conversations_updated) == (0, 1)
    assert report.messages_added == 1 and counts(store) == (before[0], before[1] + 1)
    conv = store.find_conversation_by_source("claude", PEACE)
    assert conv is not None and conv.updated_at == "2024-07-01T09:00:00.000+00:00"
    last, before_last = store.messages(conv.id)[-1], store.messages(conv.id)[-2]
    assert last.content == "Thank you!" and last.parent_id == before_last.id


def test_a_truncated_export_imports_nothing(tmp_path: Path, store: HistoryStore) -> None:
    data = (FIXTURES / "conversations.json").read_bytes()
    cut = data.index(PEACE.encode())
    (tmp_path / "conversations.json").write_bytes(data[:cut])
    with pytest.raises(ImportFormatError) as caught:
        write_conversations(store, read_claude(tmp_path / "conversations.json"), "claude")
    assert str(caught.value) == (
        f"conversations.json: the file ends in the middle (byte {cut:,}) — the export is "
        "truncated; download it again. Nothing was imported"
    )
    assert counts(store) == (0, 0)


def test_cancel_leaves_nothing(tmp_path: Path, store: HistoryStore) -> None:
    calls = iter([False, False, True])
    with pytest.raises(ImportCancelled):
        write_conversations(store, read_claude(FIXTURES), "claude", cancel=lambda: next(calls))
    assert counts(store) == (0, 0)


def test_a_chatgpt_export_is_recognised() -> None:
    chatgpt = Path(__file__).parent / "fixtures" / "chatgpt" / "conversations.json"
    with pytest.raises(ImportFormatError, match="this is a ChatGPT export.*import chatgpt"):
        list(read_claude(chatgpt))


def test_a_zip_without_conversations(tmp_path: Path) -> None:
    path = tmp_path / "data-2025-05-05.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(FIXTURES / "users.json", "users.json")
    with pytest.raises(ImportFormatError, match="is this the Claude data export"):
        read_claude(path)


# -- a 2024–2026 export (tests/transfer/fixtures/claude_faithful, see its README) ------

FAITHFUL = Path(__file__).parent / "fixtures" / "claude_faithful"
SOURDOUGH = "a1a1a1a1-0000-4b00-8000-00000000000a"
FIBONACCI = "b2b2b2b2-0000-4b00-8000-00000000000b"
LISBON = "c3c3c3c3-0000-4b00-8000-00000000000c"
SINGLE = FAITHFUL / "single" / "Haiku about the sea.json"


def outline(messages: list[Any]) -> list[tuple[str, bool, str]]:
    """(role, alternate?, first words) of each message, parents first."""
    return [(m.role, m.is_alternate, " ".join(m.content.split()[:4])) for m in messages]


def test_a_plain_list_is_ordered_by_time_and_keeps_every_time() -> None:
    """The list opens with a later question and two answers are stamped minutes late: the
    conversation is in the order written, each message with the time the export gives."""
    conv = by_id(FAITHFUL)[SOURDOUGH]
    assert [(m.role, m.content.split()[0], m.created_at[11:19]) for m in conv.messages] == [
        ("user", "How", "09:00:00"), ("assistant", "About", "09:07:30"),
        ("user", "And", "09:14:00"), ("assistant", "Proof", "09:21:00"),
        ("user", "Thanks!", "09:25:00"), ("assistant", "Happy", "09:25:00"),  # a tie: as listed
    ]
    assert [m.parent_source_id for m in conv.messages] == [None] + [
        m.source_id for m in conv.messages[:-1]]
    assert not any(m.is_alternate for m in conv.messages)


def test_the_same_side_twice_in_a_plain_list_is_an_edit_or_a_retry() -> None:
    conv = by_id(FAITHFUL)[FIBONACCI]
    assert outline(conv.messages) == [
        ("user", False, "Write a Python function"),
        ("assistant", False, "Here is an iterative"),
        ("user", True, "Make it recursive."),  # edited: the later question is kept on the line
        ("user", False, "Make it recursive, with"),
        ("assistant", False, "**Document: Fibonacci function** (version"),
        ("user", False, "Explain it in a"),
        ("assistant", True, "**Document: README** ```markdown #"),  # retried
        ("assistant", False, "Here is a README:"),
        ("user", False, "Draw the golden spiral"),
        ("assistant", False, "A rough sketch: **Document:"),
    ]
    ids = {m.content.split("\n")[0]: m for m in conv.messages}
    first_answer = ids["Here is an iterative version:"].source_id
    assert ids["Make it recursive."].parent_source_id == first_answer
    assert ids["Make it recursive, with a cache."].parent_source_id == first_answer
    asked = ids["Explain it in a short README."].source_id
    assert ids["**Document: README**"].parent_source_id == asked
    assert ids["Here is a README:"].parent_source_id == asked


def test_one_conversation_saved_as_an_object(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (conv,) = read_claude(SINGLE)
    assert (conv.title, conv.source_id) == ("Haiku about the sea",
                                            "f6f6f6f6-0000-4b00-8000-00000000000f")
    assert outline(conv.messages) == [("user", False, "A haiku about the"),
                                      ("assistant", False, "Grey waves fold and")]
    from chatdesk.cli import main

    assert main(["--data-dir", str(tmp_path / "data"), "import", "claude", str(SINGLE)]) == 0
    assert capsys.readouterr().err.startswith(
        "Imported 1 conversation (2 messages) from Claude;")


@pytest.mark.parametrize(("content", "said"), [
    ({"uuid": "x", "name": "Notes"}, "Haiku.json: this is not a Claude export: it has no "
     "`chat_messages` (the messages of a Claude conversation); nothing was imported"),
    ({"format": "chatdesk-export", "version": 2, "conversations": []},
     "Haiku.json: this is a chatdesk export, not a Claude one — use `chatdesk import "
     "chatdesk`; nothing was imported"),
])
def test_an_object_that_is_not_a_claude_conversation(tmp_path: Path, content: dict[str, Any],
                                                     said: str) -> None:
    path = tmp_path / "Haiku.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ImportFormatError) as caught:
        list(read_claude(path))
    assert str(caught.value) == said


def test_a_cut_single_conversation_is_one_line(tmp_path: Path) -> None:
    data = SINGLE.read_bytes()
    path = tmp_path / "chat.json"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportFormatError) as caught:
        list(read_claude(path))
    assert str(caught.value) == (
        f"chat.json: the file ends in the middle (byte {len(data) // 2:,}) — the export is "
        "truncated; download it again. Nothing was imported")



def test_import_twice_and_through_chatdesk_json(tmp_path: Path, store: HistoryStore) -> None:
    from chatdesk.transfer import jobs

    first = jobs.run_import(store, "claude", FAITHFUL)
    assert (first.conversations_added, first.messages_added) == (5, 6 + 10 + 10 + 2 + 2)
    before = (counts(store), stored_outline(store))
    again = jobs.run_import(store, "claude", FAITHFUL)
    assert (again.conversations_added, again.conversations_updated, again.messages_added,
            again.notes) == (0, 0, 0, [])  # fmt: skip
    assert (counts(store), stored_outline(store)) == before
    lisbon = store.find_conversation_by_source("claude", LISBON)
    assert lisbon is not None
    reasoning = [m.reasoning for m in store.messages(lisbon.id)]
    assert reasoning[1] == (
        "Picking the sights by neighbourhood.\n\nKeeping walking distances short.")
    assert reasoning[3] == "The user wants Sintra before Belém. A small update is enough."
    out = tmp_path / "all.json"
    jobs.run_export(store, [c.id for c in store.list_conversations()], "json", str(out))
    with HistoryStore.open(tmp_path / "other.db") as other:
        jobs.run_import(other, "chatdesk", out)
        assert stored_outline(other) == before[1]


def test_a_plain_list_with_an_index_follows_it(tmp_path: Path) -> None:
    """Every message numbered (`index`): the numbers win over a clock that is off."""
    def message(uuid: str, index: int, sender: str, text: str, when: str) -> dict[str, Any]:
        return {"uuid": uuid, "index": index, "sender": sender, "text": text,
                "created_at": when}

    conversation = {"uuid": "idx", "name": "Numbered", "chat_messages": [
        message("m2", 1, "assistant", "Paris.", "2025-01-01T10:00:00Z"),  # stamped too early
        message("m1", 0, "human", "Capital of France?", "2025-01-01T10:00:05Z"),
        message("m3", 2, "human", "And of Spain?", "2025-01-01T10:01:00Z"),
    ]}
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conversation]), encoding="utf-8")
    (conv,) = read_claude(path)
    assert [(m.content, m.created_at[17:19]) for m in conv.messages] == [
        ("Capital of France?", "05"), ("Paris.", "00"), ("And of Spain?", "00")]
