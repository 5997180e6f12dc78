"""Importing DeepSeek's data export: fragments, branches, sources, files, errors, idempotence."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatdesk.store import HistoryStore
from chatdesk.transfer import jobs
from chatdesk.transfer.common import ImportedConversation, ImportFormatError
from chatdesk.transfer.deepseek import read_deepseek
from tests.transfer.conftest import stored_counts as counts
from tests.transfer.test_fuzz import check, fuzz, paths, replaced, scratch_store, values

FIXTURES = Path(__file__).parent / "fixtures" / "deepseek"
EXPORT = FIXTURES / "conversations.json"
CHATGPT = Path(__file__).parent / "fixtures" / "chatgpt" / "conversations.json"
TIDES = "d5e1a0c2-7f3c-4b11-9a00-00000000000a"
HAIKU = "d5e1a0c2-7f3c-4b11-9a00-00000000000b"
NOTES = "d5e1a0c2-7f3c-4b11-9a00-00000000000c"
EMPTY = "d5e1a0c2-7f3c-4b11-9a00-00000000000d"
LISBON = "d5e1a0c2-7f3c-4b11-9a00-00000000000e"
NOAA = "https://oceanservice.noaa.gov/facts/twotides.html"
WIKI = "https://en.wikipedia.org/wiki/Tide"
IPMA = "https://www.ipma.pt/en/otempo/prev.localidade.hora/"


def fixture_items() -> list[dict[str, Any]]:
    return json.loads(EXPORT.read_text(encoding="utf-8"))


def export_zip(path: Path, items: list[dict[str, Any]] | None = None) -> Path:
    """The zip as chat.deepseek.com sends it: conversations.json beside user.json."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        data = fixture_items() if items is None else items
        zf.writestr("conversations.json", json.dumps(data, ensure_ascii=False))
        zf.write(FIXTURES / "user.json", "user.json")
    return path


def by_id(path: Path) -> dict[str, ImportedConversation]:
    return {c.source_id: c for c in read_deepseek(path)}


def outline(conv: ImportedConversation) -> list[tuple[str, str, bool, str, bool, str | None]]:
    """(id, role, alternate?, first words, reasoning?, time to the second) of each message."""
    return [(m.source_id, m.role, m.is_alternate, " ".join(m.content.split()[:4]),
             m.reasoning is not None, (m.created_at or "")[:19]) for m in conv.messages]




# -- each fixture conversation, against an outline written by hand --------------------


def test_a_searched_answer_thinks_cites_and_lists_its_sources() -> None:
    conv = by_id(EXPORT)[TIDES]
    assert (conv.title, conv.created_at, conv.updated_at) == (
        "Two tides a day", "2025-02-03T02:00:00.120+00:00", "2025-02-03T02:05:06.000+00:00")
    assert outline(conv) == [
        ("1", "user", False, "Why are there two", False, "2025-02-03T02:00:00"),
        ("2", "assistant", False, "The Moon pulls the", True, "2025-02-03T02:00:01"),
        ("3", "user", False, "And why are spring", False, "2025-02-03T02:05:00"),
        ("4", "assistant", False, "At new and full", True, "2025-02-03T02:05:06"),
    ]
    question, answer, _, last = conv.messages
    assert [m.parent_source_id for m in conv.messages] == [None, "1", "2", "3"]
    assert (question.model, question.provider) == (None, None)
    assert (answer.model, answer.provider) == ("deepseek-reasoner", "deepseek")
    # the thinking is the answer's reasoning, never its text
    assert answer.reasoning == ("The user asks why there are two tides. The Moon's pull "
                                "differs across the Earth, so there are two bulges.")
    assert "two bulges." not in answer.content and "The user asks" not in answer.content
    # each [citation:N] links the page whose cite_index is N; the cited pages are Sources
    assert answer.content == (
        f"The Moon pulls the near side of the Earth harder than its centre [1]({NOAA}), and "
        f"the far side less, so the oceans bulge on both sides [2]({WIKI}).\n\n"
        "The Earth turns under both bulges once a day: two high tides.\n\n"
        "**Sources**\n\n"
        f"1. [Why are there two high tides and two low tides each day?]({NOAA})\n"
        f"2. [Tide - Wikipedia]({WIKI})")
    assert "tides.example.org" not in answer.content  # found, but not cited
    assert last.reasoning == "Spring tides: the Sun and the Moon in line."
    assert last.content.endswith("so their bulges add up.")


def test_regenerations_and_edits_are_alternates_and_the_newest_leaf_is_the_main_line() -> None:
    conv = by_id(EXPORT)[HAIKU]
    assert outline(conv) == [
        ("1", "user", False, "Write a haiku about", False, "2025-03-01T01:00:00"),
        ("2", "assistant", True, "Red leaves on the", False, "2025-03-01T01:00:05"),
        ("3", "assistant", False, "Crisp leaves drift and", False, "2025-03-01T01:01:00"),
        ("4", "user", True, "Now one about winter.", False, "2025-03-01T01:02:00"),
        ("5", "assistant", True, "Snow hushes the town", False, "2025-03-01T01:02:04"),
        ("6", "user", False, "Now one about winter,", False, "2025-03-01T01:02:50"),
        ("7", "assistant", False, "雪しずか 町の灯りに 息白し", False, "2025-03-01T01:03:05"),
    ]  # node 8, an answer with no fragments, is not shown
    parents = {m.source_id: m.parent_source_id for m in conv.messages}
    assert parents == {"1": None, "2": "1", "3": "1", "4": "3", "5": "4", "6": "3", "7": "6"}
    assert {m.model for m in conv.messages if m.role == "assistant"} == {"deepseek-chat"}


def test_files_the_export_only_names_are_placeholders_and_an_empty_title_is_derived() -> None:
    conv = by_id(EXPORT)[NOTES]
    assert conv.title == "Summarise the attached notes in three points."
    assert outline(conv) == [
        ("1", "user", False, "[file: notes.pdf] [file: budget.xlsx]", False, "2025-06-20T06:30:00"),
        ("2", "assistant", False, "1. The launch moves", False, "2025-06-20T06:30:09"),
    ]
    question = conv.messages[0]
    # notes.pdf is in the message's `files` and in a FILE fragment: named once
    assert question.content == ("[file: notes.pdf]\n\n[file: budget.xlsx]\n\n"
                                "Summarise the attached notes in three points.")
    assert (question.missing_files, question.attachments) == (2, ())


def test_an_agentic_answer_keeps_all_its_thinking_and_hides_the_tool_steps() -> None:
    conv = by_id(EXPORT)[LISBON]
    assert outline(conv) == [
        ("1", "user", False, "What's the weather in", False, "2026-06-12T10:00:00"),
        ("2", "assistant", False, "Sunny, around 27 °C", True, "2026-06-12T10:00:31"),
    ]
    answer = conv.messages[1]
    assert answer.reasoning == "I should look up the forecast.\n\nThe forecast says sunny, 27 °C."
    assert answer.content == (f"Sunny, around 27 °C on Saturday [1]({IPMA}).\n\n**Sources**\n\n"
                              f"1. [Forecast for Lisbon - IPMA]({IPMA})")


def test_an_empty_conversation_has_no_messages() -> None:
    conv = by_id(EXPORT)[EMPTY]
    assert (conv.title, conv.messages) == ("New chat", [])


def test_uncited_results_are_listed_when_the_answer_numbers_none(tmp_path: Path) -> None:
    items = fixture_items()
    for result in items[0]["mapping"]["2"]["message"]["fragments"][0]["results"]:
        result["cite_index"] = None
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    answer = by_id(path)[TIDES].messages[1]
    assert "[citation:1]" in answer.content  # no page has that number: left as written
    assert answer.content.endswith(
        f"**Sources**\n\n1. [Why are there two high tides and two low tides each day?]({NOAA})"
        f"\n2. [Tide - Wikipedia]({WIKI})\n3. [A blog about the Moon]"
        "(https://tides.example.org/blog/moon)")


# -- what a person has: the zip, the folder, the file -----------------------------------


@pytest.mark.parametrize("kind", ["zip", "folder", "file"])
def test_the_zip_the_folder_and_the_file_read_alike(tmp_path: Path, kind: str) -> None:
    if kind == "zip":
        path = export_zip(tmp_path / "deepseek_data-2026-12-04.zip")
    elif kind == "folder":
        path = tmp_path / "deepseek_data"
        path.mkdir()
        for name in ("conversations.json", "user.json"):
            (path / name).write_bytes((FIXTURES / name).read_bytes())
    else:
        path = EXPORT
    reader = read_deepseek(path)
    assert [outline(c) for c in reader] == [outline(c) for c in read_deepseek(EXPORT)]
    assert reader.files == ["conversations.json"]
    assert [(s.kind, s.imported, s.skipped) for s in reader.side] == [
        ("account details", 0, 1)]


def test_import_into_the_store_then_again(tmp_path: Path, store: HistoryStore) -> None:
    export = export_zip(tmp_path / "export.zip")
    report = jobs.run_import(store, "deepseek", export)
    assert (report.conversations_added, report.skipped_empty) == (4, 1)
    assert report.messages_added == 4 + 7 + 2 + 2
    assert (report.attachments_added, report.attachments_missing) == (0, 2)
    assert store.find_conversation_by_source("deepseek", EMPTY) is None
    haiku = store.find_conversation_by_source("deepseek", HAIKU)
    assert haiku is not None and haiku.title == "Haiku about autumn"
    main = store.messages(haiku.id)
    assert [m.content.split("\n")[0] for m in main] == [
        "Write a haiku about autumn.", "Crisp leaves drift and fall",
        "Now one about winter, in Japanese.", "雪しずか 町の灯りに 息白し"]
    assert main[-1].parent_id == main[-2].id and main[-1].provider == "deepseek"
    assert len(store.messages(haiku.id, include_alternates=True)) == 7
    tides = store.find_conversation_by_source("deepseek", TIDES)
    assert tides is not None
    assert store.messages(tides.id)[1].reasoning is not None
    assert store.search("Wikipedia") and store.search("雪しずか")
    before = counts(store)
    again = jobs.run_import(store, "deepseek", export)
    assert (again.conversations_added, again.conversations_updated, again.messages_added,
            again.notes) == (0, 0, 0, [])  # fmt: skip
    assert counts(store) == before
    assert jobs.import_summary(again, "deepseek", 5).splitlines()[0].endswith(
        "1 empty skipped; 4 already there")


def test_a_newer_export_adds_only_what_is_new(tmp_path: Path, store: HistoryStore) -> None:
    jobs.run_import(store, "deepseek", export_zip(tmp_path / "a.zip"))
    before = counts(store)
    items = copy.deepcopy(fixture_items())
    notes = items[2]
    notes["mapping"]["2"]["children"] = ["3"]
    notes["mapping"]["3"] = {"id": "3", "parent": "2", "children": [], "message": {
        "files": [], "model": "deepseek-chat", "inserted_at": "2025-06-21T09:00:00.000000+08:00",
        "fragments": [{"type": "REQUEST", "content": "Thank you!"}]}}
    notes["updated_at"] = "2025-06-21T09:00:00.000000+08:00"
    report = jobs.run_import(store, "deepseek", export_zip(tmp_path / "b.zip", items))
    assert (report.conversations_added, report.conversations_updated) == (0, 1)
    assert report.messages_added == 1 and counts(store) == (before[0], before[1] + 1)
    conv = store.find_conversation_by_source("deepseek", NOTES)
    assert conv is not None
    last, before_last = store.messages(conv.id)[-1], store.messages(conv.id)[-2]
    assert last.content == "Thank you!" and last.parent_id == before_last.id


# -- broken and wrong files: one line, nothing imported ---------------------------------


def test_a_truncated_export_imports_nothing(tmp_path: Path, store: HistoryStore) -> None:
    data = EXPORT.read_bytes()
    cut = data.index(NOTES.encode())
    (tmp_path / "conversations.json").write_bytes(data[:cut])
    with pytest.raises(ImportFormatError) as caught:
        jobs.run_import(store, "deepseek", tmp_path / "conversations.json")
    assert str(caught.value) == (
        f"conversations.json: the file ends in the middle (byte {cut:,}) — the export is "
        "truncated; download it again. Nothing was imported")
    assert counts(store) == (0, 0)


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "content", "said"), [
    ("conversations.json", b"", "conversations.json: the file is empty; nothing was imported"),
    ("conversations.json", b"PK\x03\x04\x14\x00", "conversations.json: the zip file is "
     "incomplete or damaged — download the export again"),
    ("conversations.json", CHATGPT.read_bytes(), "conversations.json: this is a ChatGPT "
     "export, not a DeepSeek one — use `chatdesk import chatgpt`; nothing was imported"),
    ("conversations.json", [{"uuid": "x", "name": "Bread", "chat_messages": []}],
     "conversations.json: this is a Claude export, not a DeepSeek one — use `chatdesk import "
     "claude`; nothing was imported"),
    ("all.json", {"format": "chatdesk-export", "version": 2, "conversations": []},
     "all.json: this is a chatdesk export, not a DeepSeek one — use `chatdesk import "
     "chatdesk`; nothing was imported"),
    ("conversations.json", [{"id": "x", "title": "Notes"}], "conversations.json: this is not a "
     "DeepSeek export: its conversations have no `mapping` of `fragments` (the messages of a "
     "DeepSeek conversation); nothing was imported"),
    ("conversations.json", ["hello"], "conversations.json: item 1 is not a conversation — "
     "this is not a DeepSeek export; nothing was imported"),
    ("conversations.json", b"[{\"id\": \"x\",, }]", "conversations.json: the JSON is damaged "
     "near byte 16 (after conversation 0) — download the export again. Nothing was imported"),
])
def test_a_broken_or_wrong_file_is_one_line(tmp_path: Path, store: HistoryStore, name: str,
                                            content: Any, said: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(ImportFormatError) as caught:
        jobs.run_import(store, "deepseek", path)
    assert str(caught.value) == said
    assert "\n" not in str(caught.value)
    assert counts(store) == (0, 0)


def test_a_zip_without_conversations(tmp_path: Path, store: HistoryStore) -> None:
    path = tmp_path / "deepseek_data.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(FIXTURES / "user.json", "user.json")
    with pytest.raises(ImportFormatError) as caught:
        jobs.run_import(store, "deepseek", path)
    assert str(caught.value) == ("deepseek_data.zip: there is no conversations.json in it — "
                                 "is this the DeepSeek data export?")
    assert counts(store) == (0, 0)


@pytest.mark.parametrize("asked", ["chatgpt", "claude"])
def test_a_deepseek_export_given_to_another_import_names_its_command(
        tmp_path: Path, store: HistoryStore, asked: str) -> None:
    with pytest.raises(ImportFormatError) as caught:
        jobs.run_import(store, asked, export_zip(tmp_path / "export.zip"))
    name = jobs.SOURCES[asked]
    assert str(caught.value) == (
        f"conversations.json in export.zip: this is a DeepSeek export, not a {name} one — "
        "use `chatdesk import deepseek`; nothing was imported")
    assert counts(store) == (0, 0)


# -- through chatdesk's own JSON, and the command line ----------------------------------


def stored_outline(store: HistoryStore) -> list[tuple[Any, ...]]:
    """Every conversation's messages: (role, alternate?, first words, reasoning, model,
    time)."""
    out = []
    for summary in sorted(store.list_conversations(), key=lambda c: c.created_at):
        out.append((summary.title,))
        for m in store.messages(summary.id, include_alternates=True):
            out.append((m.role, m.is_alternate, " ".join(m.content.split()[:4]), m.reasoning,
                        m.model, m.created_at))
    return out


def test_a_round_trip_through_chatdesk_json(tmp_path: Path, store: HistoryStore) -> None:
    jobs.run_import(store, "deepseek", export_zip(tmp_path / "export.zip"))
    before = stored_outline(store)
    assert len(before) == 4 + 15
    out = tmp_path / "all.json"
    jobs.run_export(store, [c.id for c in store.list_conversations()], "json", str(out))
    with HistoryStore.open(tmp_path / "other.db") as other:
        jobs.run_import(other, "chatdesk", out)
        assert stored_outline(other) == before


def test_the_command_line_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chatdesk.cli import main

    export = export_zip(tmp_path / "deepseek_data.zip")
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "import", "deepseek", str(export)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.strip().splitlines() == [
        "Imported 4 conversations (15 messages) from DeepSeek; 2 files were not in the export "
        "(a placeholder in the message names each); 1 empty skipped; 0 already there",
        "Account details: 1 not imported — user.json describes your DeepSeek account, which "
        "chatdesk does not keep",
    ]
    assert main(["--data-dir", str(data), "import", "deepseek", str(export)]) == 0
    assert capsys.readouterr().err.strip().splitlines()[0] == (
        "Imported 0 conversations (0 messages) from DeepSeek; 1 empty skipped; 4 already there")
    bad = write(tmp_path, "conversations.json", CHATGPT.read_bytes())
    assert main(["--data-dir", str(data), "import", "deepseek", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("chatdesk: conversations.json: this is a ChatGPT export, not a DeepSeek "
                   "one — use `chatdesk import chatgpt`; nothing was imported")


# -- any wrong field: a typed one-line error or an import, never half of one -----------


@fuzz
@given(st.data())
def test_wrong_fields_anywhere(data: st.DataObject) -> None:
    doc: Any = fixture_items()
    for _ in range(data.draw(st.integers(1, 3))):
        doc = replaced(doc, data.draw(st.sampled_from(list(paths(doc)))), data.draw(values))
    raw = json.dumps(doc).encode("utf-8", "surrogatepass")
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    with scratch_store() as (store, folder):
        check(store, folder, "deepseek", raw)


def test_found_wrong_types_in_a_message() -> None:
    answer = (0, "mapping", "2", "message")
    for path in [(*answer, "fragments"), (*answer, "fragments", 0, "results"),
                 (*answer, "fragments", 0, "results", 0, "cite_index"),
                 (*answer, "fragments", 2, "content"), (*answer, "files"),
                 (*answer, "inserted_at"), (*answer, "model"), (0, "mapping", "2"),
                 (0, "mapping", "2", "parent"), (0, "mapping"), (0, "title"), (0, "id")]:
        for value in (None, "x", 5, 1.5, True, [None], {"a": 1}):
            with scratch_store() as (store, folder):
                check(store, folder, "deepseek",
                      json.dumps(replaced(fixture_items(), path, value)).encode())


def test_the_chatgpt_command_names_the_deepseek_one(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from chatdesk.cli import main

    export = export_zip(tmp_path / "deepseek_data.zip")
    assert main(["--data-dir", str(tmp_path / "data"), "import", "chatgpt", str(export)]) == 1
    assert capsys.readouterr().err.strip() == (
        "chatdesk: conversations.json in deepseek_data.zip: this is a DeepSeek export, not a "
        "ChatGPT one — use `chatdesk import deepseek`; nothing was imported")
