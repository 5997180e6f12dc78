"""Prompts and presets as a folder of plain files: byte-identical re-export, idempotent
import, conflicts reported and not overwritten, safe file names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.prompt_files import export_folder, import_folder, safe_stem
from chatdesk.store import HistoryStore
from chatdesk.store.prompts import Route


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(tmp_path / "history.db") as s:
        yield s


@pytest.fixture
def other(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(tmp_path / "other.db") as s:
        yield s


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def fill_library(store: HistoryStore) -> None:
    store.add_prompt("Summarize", "Summarize {{text}} in {{words}} words.")
    store.add_prompt("multi/line: odd", "First line\n\nlast line with a trailing newline\n")
    store.add_prompt("a b", "spaces")  # the same safe file name as the next one
    store.add_prompt("a-b", "dashes")
    store.add_preset("Claude first", "You are careful.\nAnswer briefly.",
                     (Route("anthropic", "claude-sonnet-4-5"), Route("openai", "gpt-4o"),
                      Route("ollama", "llama3.2:3b")), 0.3, 1500)
    store.add_preset("bare")


def test_the_files_are_plain_markdown_with_a_front_matter(store: HistoryStore,
                                                          tmp_path: Path) -> None:
    fill_library(store)
    folder = tmp_path / "library"
    export_folder(store, folder, "prompt")
    export_folder(store, folder, "preset")
    assert sorted(files(folder)) == ["Claude-first.preset.md", "Summarize.md", "a-b-2.md",
                                     "a-b.md", "bare.preset.md", "multi-line-odd.md"]
    assert (folder / "Summarize.md").read_text() == (
        "---\nkind: prompt\nname: Summarize\nvariables: text, words\n---\n"
        "Summarize {{text}} in {{words}} words.\n")
    assert (folder / "Claude-first.preset.md").read_text() == (
        "---\nkind: preset\nname: Claude first\nproviders:\n- anthropic:claude-sonnet-4-5\n"
        "- openai:gpt-4o\n- ollama:llama3.2:3b\ntemperature: 0.3\nmax_tokens: 1500\n---\n"
        "You are careful.\nAnswer briefly.\n")


def test_round_trip_is_exact_and_re_export_is_byte_identical(
        store: HistoryStore, other: HistoryStore, tmp_path: Path) -> None:
    fill_library(store)
    first, second = tmp_path / "first", tmp_path / "second"
    for kind in ("prompt", "preset"):
        export_folder(store, first, kind)  # type: ignore[arg-type]
    before = files(first)
    again = export_folder(store, first, "prompt")
    assert again.written == [] and files(first) == before  # nothing rewritten
    for kind in ("prompt", "preset"):
        report = import_folder(other, first, kind)  # type: ignore[arg-type]
        assert report.conflicts == [] and report.skipped == []
    assert [(p.name, p.text) for p in other.prompts()] == \
        [(p.name, p.text) for p in store.prompts()]
    assert [p.same_content(q) for p, q in zip(other.presets(), store.presets(), strict=True)] \
        == [True, True]
    for kind in ("prompt", "preset"):
        export_folder(other, second, kind)  # type: ignore[arg-type]
    assert files(second) == before


def test_importing_the_same_folder_twice_changes_nothing(
        store: HistoryStore, other: HistoryStore, tmp_path: Path) -> None:
    fill_library(store)
    folder = tmp_path / "f"
    export_folder(store, folder, "prompt")
    export_folder(store, folder, "preset")
    first = import_folder(other, folder, "prompt")
    assert len(first.added) == 4
    rows = other.db.execute("SELECT * FROM prompts").fetchall()
    second = import_folder(other, folder, "prompt")
    assert second.added == [] and len(second.unchanged) == 4 and second.conflicts == []
    assert other.db.execute("SELECT * FROM prompts").fetchall() == rows
    assert import_folder(other, folder, "preset").added == ["Claude first", "bare"]
    assert import_folder(other, folder, "preset").added == []


def test_a_conflicting_name_is_reported_in_one_sentence_and_not_overwritten(
        store: HistoryStore, other: HistoryStore, tmp_path: Path) -> None:
    fill_library(store)
    folder = tmp_path / "f"
    export_folder(store, folder, "prompt")
    export_folder(store, folder, "preset")
    other.add_prompt("Summarize", "my own text")
    other.add_preset("bare", "a system prompt of my own")
    report = import_folder(other, folder, "prompt")
    assert len(report.conflicts) == 1
    sentence = report.conflicts[0]
    assert "Summarize.md" in sentence and "'Summarize'" in sentence
    assert sentence.count(". ") == 0 and sentence.endswith(").")
    assert other.get_prompt("Summarize").text == "my own text"  # type: ignore[union-attr]
    assert len(report.added) == 3
    presets = import_folder(other, folder, "preset")
    assert len(presets.conflicts) == 1 and presets.added == ["Claude first"]
    assert other.get_preset("bare").system_prompt == "a system prompt of my own"  # type: ignore[union-attr]


def test_files_edited_by_hand_and_files_not_ours(store: HistoryStore, tmp_path: Path) -> None:
    folder = tmp_path / "hand"
    folder.mkdir()
    (folder / "hand.md").write_text("---\r\nkind: prompt\r\nname:  By hand \r\n---\r\n"
                                    "Hello {{who}}\r\n", encoding="utf-8")
    (folder / "notes.md").write_text("# just notes\n", encoding="utf-8")
    (folder / "broken.md").write_text("---\nkind: prompt\nname: x\n", encoding="utf-8")
    (folder / "readme.txt").write_text("not markdown", encoding="utf-8")
    report = import_folder(store, folder, "prompt")
    assert report.added == ["By hand"]
    assert store.get_prompt("By hand").text == "Hello {{who}}"  # type: ignore[union-attr]
    assert len(report.skipped) == 2
    assert any(s.startswith("notes.md was skipped: it does not start") for s in report.skipped)
    assert any(s.startswith("broken.md was skipped") for s in report.skipped)


def test_a_renamed_prompt_does_not_overwrite_another_file(store: HistoryStore,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "mine.md").write_text("---\nkind: prompt\nname: someone else\n---\nx\n")
    store.add_prompt("mine", "text")
    export_folder(store, folder, "prompt")
    assert (folder / "mine.md").read_text().endswith("x\n")  # left alone
    assert (folder / "mine-2.md").read_text().endswith("text\n")


def test_safe_stems() -> None:
    assert safe_stem("../../etc/passwd") == "etc-passwd"
    assert safe_stem("résumé: v2?") == "r-sum-v2"
    assert safe_stem("...") == "untitled"
    assert len(safe_stem("x" * 500)) == 80
