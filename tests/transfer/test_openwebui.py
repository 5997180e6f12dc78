"""Importing Open WebUI's "Export Chats" file: trees, reasoning, tools, sources, files,
errors, idempotence, the round trip through chatdesk JSON and the command line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer import jobs
from chatdesk.transfer.common import ImportedConversation, ImportFormatError
from chatdesk.transfer.openwebui import read_openwebui
from tests.transfer.conftest import stored_counts as counts

FIXTURES = Path(__file__).parent / "fixtures" / "openwebui"
EXPORT = FIXTURES / "chat-export-1733700000000.json"
SINGLE = FIXTURES / "single" / "Capital of Portugal.json"
BUTTERMILK = "7f3e1c2a-aaaa-4b1c-9d2e-000000000001"
HAIKU = "7f3e1c2a-bbbb-4b1c-9d2e-000000000002"
WEATHER = "7f3e1c2a-cccc-4b1c-9d2e-000000000003"
EMPTY = "7f3e1c2a-dddd-4b1c-9d2e-000000000004"
OCTOPUS = "7f3e1c2a-eeee-4b1c-9d2e-000000000005"


def by_id(path: Path) -> dict[str, ImportedConversation]:
    return {c.source_id: c for c in read_openwebui(path)}


def outline(conv: ImportedConversation) -> list[tuple[str, bool, str, str | None, bool, str]]:
    """(role, alternate?, first words, model, reasoning?, time) of each message."""
    return [(m.role, m.is_alternate, " ".join(m.content.split()[:4]), m.model,
             m.reasoning is not None, (m.created_at or "")[:19]) for m in conv.messages]




def items() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(EXPORT.read_text(encoding="utf-8"))
    return data


# -- each fixture chat, by a hand-written outline -------------------------------------


def test_reasoning_sources_and_files() -> None:
    conv = by_id(EXPORT)[BUTTERMILK]
    assert (conv.title, conv.created_at, conv.updated_at) == (
        "Buttermilk substitute 🥛", "2024-12-04T08:13:20.000+00:00",
        "2024-12-04T08:14:55.000+00:00")  # fmt: skip
    assert outline(conv) == [
        ("user", False, "I have no buttermilk.", None, False, "2024-12-04T08:13:21"),
        ("assistant", False, "Stir **1 tablespoon of", "deepseek-r1:14b", True,
         "2024-12-04T08:13:29"),
        ("user", False, "Thanks! And for 2", None, False, "2024-12-04T08:14:40"),
        ("assistant", False, "Use **2 tablespoons** of", "deepseek-r1:14b", True,
         "2024-12-04T08:14:44"),
    ]
    question, answer, _, last = conv.messages
    # the thoughts without Open WebUI's quote marks, never in the text
    assert answer.reasoning == ("The user wants a substitute for buttermilk.\n\n"
                                "Lemon juice in milk is the usual answer; check the ratio.")
    assert last.reasoning == "Double it."
    assert "<details" not in answer.content and "Thought for" not in answer.content
    # the web pages it cites, each once, at the end; the uploaded file is not a page
    assert answer.content.endswith(
        "minutes [1].\n\n**Sources**\n\n"
        "1. [How to make buttermilk at home](https://www.example.org/kitchen/buttermilk)\n"
        "2. [Baking swaps](https://cooking.example.com/swaps)")
    # the image's bytes are in the export (a data URL), the pantry list as its text, the
    # PDF only by name: a placeholder, counted
    files = [a.load() for a in question.attachments]
    assert [(f.name, f.media_type) for f in files] == [("image.png", "image/png"),
                                                        ("pantry.txt", "text/plain")]
    assert files[1].text == "flour, sugar, milk, lemons"
    assert question.content.endswith("my pantry list.\n\n[file: grandma-recipes.pdf]")
    assert question.missing_files == 1
    assert [m.parent_source_id for m in conv.messages] == [None, "u1", "a1", "u2"]
    assert {m.provider for m in conv.messages} == {None}  # Open WebUI does not say which


def test_an_edit_and_a_regeneration_are_alternates() -> None:
    conv = by_id(EXPORT)[HAIKU]
    assert outline(conv) == [
        ("user", False, "Write a haiku about", None, False, "2024-12-05T12:00:02"),
        ("assistant", False, "Soft rain on the", "llama3.1:8b", False, "2024-12-05T12:00:05"),
        ("user", True, "Now one about snow.", None, False, "2024-12-05T12:01:40"),
        ("assistant", True, "White hush on the", "llama3.1:8b", False, "2024-12-05T12:01:44"),
        ("user", False, "Now one about snow,", None, False, "2024-12-05T12:05:00"),
        ("assistant", False, "Neige sur les toits", "llama3.1:8b", False,
         "2024-12-05T12:05:04"),
        ("assistant", True, "Grey clouds lean closer", "llama3.1:8b", False,
         "2024-12-05T12:01:00"),  # regenerated: the first answer stayed on the line
    ]
    parents = {m.source_id: m.parent_source_id for m in conv.messages}
    assert parents["b-u2"] == parents["b-u3"] == "b-a1"
    assert parents["b-a2"] == "b-u1"


def test_several_models_answering_are_alternates_and_tools_are_readable() -> None:
    conv = by_id(EXPORT)[WEATHER]  # an archived chat: imported all the same
    assert conv.system_prompt == "Answer briefly. Use tools when they help."
    assert outline(conv) == [
        ("user", False, "What's the weather in", None, False, "2024-12-06T15:46:41"),
        ("assistant", True, "I can't look up", "llama3.1:8b", False, "2024-12-06T15:46:44"),
        ("assistant", False, "**Tool call: get_weather** ```json", "gpt-4o", True,
         "2024-12-06T15:46:52"),
    ]
    answer = conv.messages[2]
    # the newer, HTML-escaped thoughts come back as written
    assert answer.reasoning == 'I should call get_weather for "Lisbon" & convert <°C> to °F.'
    assert answer.content == (
        '**Tool call: get_weather**\n\n```json\n{\n  "city": "Lisbon",\n  "unit": "celsius"\n}'
        '\n```\n\n**Result of get_weather**\n\n```output\n{"temperature": 21, "sky": "clear"}\n'
        '```\n\n**Code interpreter**\n\n```python\nprint("Fahrenheit:", 21 * 9 / 5 + 32)\n```'
        "\n\n**Output**\n\n```output\nFahrenheit: 69.8\n```\n\n"
        "It is **21 °C (69.8 °F)** and clear in Lisbon.")
    assert "<" not in answer.content.replace("<°C>", "")  # no HTML left


def test_an_old_linear_chat_with_think_tags_citations_and_an_error() -> None:
    conv = by_id(EXPORT)[OCTOPUS]
    assert conv.title == "Give me a fun fact about octopuses."  # "New Chat" is no title
    assert outline(conv) == [
        ("user", False, "Give me a fun", None, False, "2023-11-14T22:13:23"),
        ("assistant", False, "An octopus has **three", "mistral:7b", True,
         "2023-11-14T22:13:27"),
        ("user", False, "And one about squid?", None, False, "2023-11-14T22:13:45"),
        ("assistant", False, "> **Error** > >", "mistral:7b", False,
         "2023-11-14T22:13:50"),
    ]
    assert conv.messages[1].reasoning == "Octopuses: three hearts, blue blood."
    assert conv.messages[1].content.endswith(
        "**Sources**\n\n1. [https://en.example.org/wiki/Octopus]"
        "(https://en.example.org/wiki/Octopus)")
    assert [m.parent_source_id for m in conv.messages] == [None, "e-u1", "e-a1", "e-u2"]


def test_an_empty_chat_has_no_messages() -> None:
    assert by_id(EXPORT)[EMPTY].messages == []


def test_one_chat_saved_as_an_object() -> None:
    (conv,) = read_openwebui(SINGLE)
    assert (conv.source_id, conv.title) == ("7f3e1c2a-ffff-4b1c-9d2e-000000000006",
                                            "Capital of Portugal")
    assert outline(conv) == [
        ("user", False, "What is the capital", None, False, "2024-12-10T03:06:41"),
        ("assistant", False, "Lisbon.", "qwen2.5:7b", False, "2024-12-10T03:06:43"),
    ]


def test_the_chat_body_on_its_own(tmp_path: Path) -> None:
    body = json.loads(SINGLE.read_text(encoding="utf-8"))["chat"]
    body["id"] = "body-only"
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    (conv,) = read_openwebui(path)
    assert (conv.source_id, conv.title, len(conv.messages)) == (
        "body-only", "Capital of Portugal", 2)
    assert conv.created_at == "2024-12-10T03:06:40.417+00:00"  # the body's time, in ms


def test_without_current_id_the_newest_branch_is_the_main_line(tmp_path: Path) -> None:
    data = items()
    del data[1]["chat"]["history"]["currentId"]
    path = tmp_path / "chat-export-1.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    conv = by_id(path)[HAIKU]
    assert [m.source_id for m in conv.messages if not m.is_alternate] == [
        "b-u1", "b-a1", "b-u3", "b-a4"]


def test_a_folder_or_a_zip_holding_the_export(tmp_path: Path) -> None:
    assert set(by_id(FIXTURES)) == {BUTTERMILK, HAIKU, WEATHER, EMPTY, OCTOPUS}
    path = tmp_path / "backup.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(EXPORT, "owui/" + EXPORT.name)
        zf.writestr("owui/notes.txt", "not an export")
    assert set(by_id(path)) == {BUTTERMILK, HAIKU, WEATHER, EMPTY, OCTOPUS}


def test_what_is_not_imported_is_said() -> None:
    reader = read_openwebui(EXPORT)
    list(reader)
    assert [(s.kind, s.skipped) for s in reader.side] == [
        ("tags", 3), ("folders", 1), ("share links", 1)]


# -- into the store: once, twice, through chatdesk JSON -----------------------------


def stored_outline(store: HistoryStore) -> list[tuple[str, str, bool, str, str | None, str]]:
    out = []
    for summary in sorted(store.list_conversations(), key=lambda c: c.created_at):
        for m in store.messages(summary.id, include_alternates=True):
            out.append((summary.title or "", m.role, m.is_alternate,
                        " ".join(m.content.split()[:4]), m.reasoning, m.created_at))
    return out


def test_import_twice_and_through_chatdesk_json(tmp_path: Path, store: HistoryStore) -> None:
    first = jobs.run_import(store, "openwebui", EXPORT)
    assert (first.conversations_added, first.skipped_empty) == (4, 1)
    assert first.messages_added == 4 + 7 + 3 + 4
    assert (first.attachments_added, first.attachments_missing) == (2, 1)
    before = (counts(store), stored_outline(store))
    again = jobs.run_import(store, "openwebui", EXPORT)
    assert (again.conversations_added, again.conversations_updated, again.messages_added,
            again.notes) == (0, 0, 0, [])  # fmt: skip
    assert (counts(store), stored_outline(store)) == before
    # the one chat pinned in Open WebUI is pinned here too
    assert [c.pinned for c in store.list_conversations()].count(True) == 1
    weather = store.find_conversation_by_source("openwebui", WEATHER)
    assert weather is not None
    main = store.messages(weather.id)
    assert [m.model for m in main] == [None, "gpt-4o"]
    assert main[1].reasoning is not None and main[1].reasoning.startswith("I should call")
    out = tmp_path / "all.json"
    jobs.run_export(store, [c.id for c in store.list_conversations()], "json", str(out))
    with HistoryStore.open(tmp_path / "other.db") as other:
        jobs.run_import(other, "chatdesk", out)
        assert stored_outline(other) == before[1]


def test_a_newer_export_adds_only_the_new_message(store: HistoryStore,
                                                  tmp_path: Path) -> None:
    jobs.run_import(store, "openwebui", EXPORT)
    before = counts(store)
    data = items()
    history = data[0]["chat"]["history"]
    history["messages"]["a2"]["childrenIds"] = ["u3"]
    history["messages"]["u3"] = {"id": "u3", "parentId": "a2", "childrenIds": [],
                                 "role": "user", "content": "Perfect.", "timestamp": 1733300200}
    history["currentId"] = "u3"
    path = tmp_path / "chat-export-2.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = jobs.run_import(store, "openwebui", path)
    assert (report.conversations_added, report.conversations_updated,
            report.messages_added) == (0, 1, 1)  # fmt: skip
    assert counts(store) == (before[0], before[1] + 1)


# -- broken and wrong files: one line, nothing imported ------------------------------


def fails(store: HistoryStore, path: Path) -> str:
    with pytest.raises(ImportFormatError) as caught:
        jobs.run_import(store, "openwebui", path)
    assert counts(store) == (0, 0)
    said = str(caught.value)
    assert "\n" not in said
    return said


def test_a_truncated_export(tmp_path: Path, store: HistoryStore) -> None:
    data = EXPORT.read_bytes()
    cut = data.index(WEATHER.encode())
    path = tmp_path / "chat-export-9.json"
    path.write_bytes(data[:cut])
    assert fails(store, path) == (
        f"chat-export-9.json: the file ends in the middle (byte {cut:,}) — the export is "
        "truncated; download it again. Nothing was imported")


def test_an_empty_file(tmp_path: Path, store: HistoryStore) -> None:
    path = tmp_path / "chat-export-9.json"
    path.write_bytes(b"")
    assert fails(store, path) == "chat-export-9.json: the file is empty; nothing was imported"


@pytest.mark.parametrize(("name", "said"), [
    ("chatgpt", "this is a ChatGPT export, not an Open WebUI one — use `chatdesk import "
     "chatgpt`"),
    ("claude", "this is a Claude export, not an Open WebUI one — use `chatdesk import "
     "claude`"),
])
def test_another_products_export(store: HistoryStore, name: str, said: str) -> None:
    path = Path(__file__).parent / "fixtures" / name / "conversations.json"
    assert fails(store, path) == f"conversations.json: {said}; nothing was imported"


def test_a_json_that_is_no_chat(tmp_path: Path, store: HistoryStore) -> None:
    path = tmp_path / "chat-export-9.json"
    path.write_text(json.dumps([{"id": "x", "title": "Notes"}]), encoding="utf-8")
    assert fails(store, path) == (
        "chat-export-9.json: this is not an Open WebUI export: its chats have no `chat` "
        "with a `history` (the messages of an Open WebUI chat); nothing was imported")


def test_a_zip_or_folder_without_the_export(tmp_path: Path, store: HistoryStore) -> None:
    path = tmp_path / "backup.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes.txt", "hello")
    assert fails(store, path) == (
        "backup.zip: there is no chat-export-….json in it — in Open WebUI, Settings → Chats "
        "→ Export Chats saves that file")
    (tmp_path / "empty").mkdir()
    assert fails(store, tmp_path / "empty").startswith("empty: there is no chat-export-")


# -- the command line -----------------------------------------------------------------


def test_the_command_line_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chatdesk.cli import main

    assert main(["--data-dir", str(tmp_path / "d"), "import", "openwebui", str(EXPORT)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == ("Imported 4 conversations (18 messages) from Open WebUI; 2 attachments; "
                      "1 file was not in the export (a placeholder in the message names each); "
                      "1 empty skipped; 0 already there")
    assert err[1:] == [
        "Tags: 3 not imported — chatdesk has no tags; 2 conversations imported without them",
        "Folders: 1 not imported — the export names a folder by its id only (not its name), "
        "and chatdesk has no folders; their conversations are imported",
        "Share links: 1 not imported — a link points to the Open WebUI server, not to "
        "chatdesk",
    ]
    assert main(["--data-dir", str(tmp_path / "d"), "import", "openwebui", str(EXPORT)]) == 0
    assert capsys.readouterr().err.startswith(
        "Imported 0 conversations (0 messages) from Open WebUI;")


def test_a_path_that_is_not_there(tmp_path: Path, store: HistoryStore) -> None:
    assert fails(store, tmp_path / "chat-export-0.json") == (
        f"chat-export-0.json: there is no such file or folder — check the path "
        f"({tmp_path / 'chat-export-0.json'})")


def test_lists_nested_past_the_cap_are_refused(tmp_path: Path, store: HistoryStore) -> None:
    path = tmp_path / "chat-export-9.json"
    deep = "[" * 5000 + "]" * 5000
    path.write_text('[{"id": "x", "chat": {"history": {"messages": {"m": {"content": '
                    + deep + "}}}}}]", encoding="utf-8")
    assert "nest more than" in fails(store, path)


def test_text_between_blocks_stays_in_paragraphs() -> None:
    from chatdesk.transfer.openwebui_parts import Spool, message_parts

    content = (
        "Let me check.\n"
        '<details type="tool_calls" done="false" id="c1" name="lookup" '
        'arguments="&quot;{}&quot;">\n<summary>Executing...</summary>\n</details>\n'
        '<details type="reasoning" done="false">\n<summary>Thinking…</summary>\n'
        "&gt; still thinking\n</details>\n"
        '<details type="status"><summary>Searched 3 sites</summary>done</details>\n'
        "    indented code\nDone.\n\n\n")
    parts = message_parts({"role": "assistant", "content": content}, Spool())
    assert parts.reasoning == "still thinking"
    assert parts.content == (
        "Let me check.\n\n**Tool call: lookup**\n\n```json\n{}\n```\n\n"
        "> **Searched 3 sites**\n>\n> done\n\n    indented code\nDone.")
