"""Importing a Cherry Studio backup: topics and blocks, alternates, presets, files, errors,
idempotence, and no provider key anywhere in the store."""

from __future__ import annotations

import base64
import gzip
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chatdesk.cli import main
from chatdesk.store import HistoryStore
from chatdesk.transfer import jobs
from chatdesk.transfer.cherry import read_cherry
from chatdesk.transfer.common import ImportedConversation, ImportFormatError
from tests.transfer.conftest import stored_counts as counts
from tests.transfer.conftest import stored_outline

FIXTURES = Path(__file__).parent / "fixtures" / "cherry"
TIDES = "0b9d7e10-0000-4f3a-9e21-000000000101"
TOOLS = "0b9d7e10-0000-4f3a-9e21-000000000102"
EMPTY = "0b9d7e10-0000-4f3a-9e21-000000000103"
ORPHAN = "0b9d7e10-0000-4f3a-9e21-000000000104"
SOUP = "0b9d7e10-0000-4f3a-9e21-000000000105"
LEGACY = "t-legacy-0000-0000-0000-000000000001"
IMAGE = "Data/Files/6f1c2a90-1111-4c5e-9a3b-0000000000a1.png"
# Every secret the fixture's providers and settings hold (keys, passwords, a private key).
SECRETS = [
    "sk-FIXTURE-openai-0000000000000000000000", "sk-FIXTURE-deepseek-1111111111111111",
    "sk-ant-FIXTURE-2222222222222222", "BEGIN PRIVATE KEY-----FIXTURE-3333",
    "FIXTURE-webdav-password-4444", "FIXTURE-AKIA5555", "FIXTURE-s3-secret-6666",
]


def fixture_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "data.json").read_text(encoding="utf-8"))
    return data


def backup_zip(path: Path, data: dict[str, Any] | None = None) -> Path:
    """The zip as Cherry Studio writes it: data.json and the Data folder at its root."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.json", json.dumps(fixture_data() if data is None else data,
                                            ensure_ascii=False))
        zf.writestr("Data/", "")
        zf.write(FIXTURES / IMAGE, IMAGE)
    return path


def by_id(path: Path) -> dict[str, ImportedConversation]:
    """The backup's conversations; the reader stays open, for the files they name."""
    return {c.source_id: c for c in read_cherry(path)}


def outline(conv: ImportedConversation) -> list[tuple[str, bool, str]]:
    """(role, alternate?, first words) of each message, parents first."""
    return [(m.role, m.is_alternate, " ".join(m.content.split()[:4])) for m in conv.messages]




def test_tides_blocks_files_citations_and_two_models(tmp_path: Path) -> None:
    conv = by_id(backup_zip(tmp_path / "cherry-studio.202506050000.zip"))[TIDES]
    assert (conv.title, conv.created_at, conv.updated_at) == (
        "How tides work", "2025-06-01T08:00:00.000+00:00", "2025-06-01T08:20:00.000+00:00")
    assert conv.preset == "Physics tutor" and conv.system_prompt is None
    assert outline(conv) == [
        ("user", False, "Why are there two"),
        ("assistant", False, "The Moon pulls the"),
        ("user", False, "Compare with these tide"),
        ("assistant", True, "GPT: Spring tides follow"),  # the answer not picked
        ("assistant", False, "Claude: The next spring"),  # foldSelected
        ("user", False, "Thanks! Show the period"),
        ("assistant", False, "A lunar day is"),
    ]
    ask, answer, tables, gpt, claude, thanks, last = conv.messages
    # the image is in Data/Files: an attachment under the name it was sent with
    (image,) = [a.load() for a in ask.attachments]
    assert (image.name, image.media_type) == ("harbour.png", "image/png")
    assert ask.missing_files == 0 and "[image:" not in ask.content
    # thinking is reasoning, never text; the citation block is the Sources list
    assert answer.reasoning is not None and answer.reasoning.startswith("The user asks about")
    assert "semidiurnal" not in answer.content
    assert answer.content.endswith(
        "**Sources**\n\n"
        "1. [Tides and Water Levels - NOAA](https://oceanservice.noaa.gov/education/"
        "tutorial_tides/)\n2. [Tide - Wikipedia](https://en.wikipedia.org/wiki/Tide)")
    assert (answer.model, answer.provider) == ("deepseek-reasoner", "deepseek")
    assert (ask.model, ask.provider) == (None, None)
    # the PDF is not in the backup: a placeholder, counted
    assert tables.content.endswith("[file: tide-tables.pdf]") and tables.missing_files == 1
    assert gpt.parent_source_id == claude.parent_source_id == tables.source_id
    assert (gpt.model, claude.model) == ("gpt-4o", "claude-sonnet-4-20250514")
    assert thanks.parent_source_id == claude.source_id
    assert "```python\nLUNAR_DAY_MIN = 24 * 60 + 50\nprint(LUNAR_DAY_MIN / 2)\n```" in (
        last.content)
    assert last.content.endswith(
        "> **Translation (fr-fr)**\n>\n> Un jour lunaire dure 24 h 50 min.")
    assert [m.created_at for m in conv.messages][:2] == [
        "2025-06-01T08:00:00.000+00:00", "2025-06-01T08:00:05.000+00:00"]


def test_tools_a_cleared_context_and_a_failed_answer(tmp_path: Path) -> None:
    conv = by_id(FIXTURES)[TOOLS]  # the unpacked folder
    assert conv.title == "Weather tool and a failed answer" and conv.preset is None
    assert outline(conv) == [
        ("user", False, "What is the weather"),
        ("assistant", False, "**Tool call: get_weather** ```json"),
        ("user", False, "Write a limerick about"),
        ("assistant", True, "> **Error** > >"),  # the failed try, regenerated
        ("assistant", False, "The fog rolled in"),
    ]
    question, weather, limerick, failed, retried = conv.messages
    assert '```json\n{\n  "city": "Lisbon"\n}\n```' in weather.content
    assert "**Result of get_weather**" in weather.content
    assert weather.content.endswith("It is 23 °C and clear in Lisbon.")
    assert failed.content == "> **Error**\n>\n> 429 Too Many Requests"
    # the "clear context" mark is no message; the next question follows the last answer
    assert limerick.parent_source_id == weather.source_id
    assert failed.parent_source_id == retried.parent_source_id == limerick.source_id


def test_topics_without_an_assistant_and_topic_prompts() -> None:
    convs = by_id(FIXTURES / "data.json")  # data.json given alone: Data/Files beside it
    assert list(convs) == [TIDES, TOOLS, EMPTY, ORPHAN, SOUP]
    assert convs[EMPTY].messages == [] and convs[EMPTY].title == "New Topic"
    orphan = convs[ORPHAN]  # its assistant was deleted: titled by its question
    assert orphan.title == "Name three Portuguese cheeses."
    assert orphan.created_at == "2025-05-20T07:00:00.000+00:00" and orphan.preset is None
    assert [(m.role, m.model, m.provider) for m in orphan.messages] == [
        ("user", None, None), ("assistant", "qwen2.5:7b", "ollama")]
    soup = convs[SOUP]
    assert (soup.preset, soup.system_prompt) == ("Cook", "Answer in metric units.")
    assert outline(soup) == [("user", False, "A warming soup, please."),
                             ("assistant", False, "Caldo verde: 1 l")]


def test_an_older_backup_with_content_in_its_messages() -> None:
    """Backup version 3 (before the database's version 7): no blocks, `content` in the message."""
    reader = read_cherry(FIXTURES / "legacy" / "data.json")
    convs = {c.source_id: c for c in reader}
    assert [p.name for p in reader.presets] == ["Translator"]
    conv = convs[LEGACY]
    assert (conv.title, conv.created_at, conv.preset) == (
        "A Portuguese proverb", "2024-11-05T10:00:00.000+00:00", "Translator")
    assert outline(conv) == [
        ("user", False, "Água mole em pedra"),
        ("assistant", False, "Soft water on hard"),
        ("user", False, "And a shorter version?"),
        ("assistant", False, "> **Error** > >"),
    ]
    proverb, answer, _, failed = conv.messages
    assert proverb.content.endswith("[image: tile.jpg]") and proverb.missing_files == 1
    assert answer.reasoning == "A proverb about persistence; keep the image of water and stone."
    assert answer.content.endswith(
        "**Sources**\n\n1. [Portuguese proverbs](https://example.org/proverbs)")
    assert answer.created_at == "2024-11-05T10:00:06.000+00:00"
    assert failed.content == "> **Error**\n>\n> Network error"


def test_presets_and_what_is_not_imported(tmp_path: Path) -> None:
    reader = read_cherry(backup_zip(tmp_path / "b.zip"))
    reader.close()
    assert [(p.name, p.system_prompt) for p in reader.presets] == [
        ("Physics tutor", "You are a patient physics tutor. Explain with everyday examples."),
        ("Cook", "You are a cook who answers in short recipes."),
    ]
    assert [(s.kind, s.imported, s.skipped, s.why) for s in reader.side] == [
        ("assistants", 2, 1, "it has no prompt"),
        ("model providers", 0, 3, "chatdesk keeps its own providers; API keys are never "
                                  "imported"),
        ("settings", 0, 1, "chatdesk keeps its own settings"),
        ("knowledge base notes", 0, 1, "chatdesk has no place for them"),
        ("translations", 0, 1, "chatdesk has no place for them"),
    ]


def test_import_twice_adds_nothing_and_a_newer_backup_adds_what_is_new(
        tmp_path: Path, store: HistoryStore) -> None:
    first = jobs.run_import(store, "cherry", backup_zip(tmp_path / "a.zip"))
    assert (first.conversations_added, first.skipped_empty, first.messages_added) == (
        4, 1, 7 + 5 + 2 + 2)
    assert (first.attachments_added, first.attachments_missing, first.notes) == (1, 1, [])
    before = (counts(store), stored_outline(store))
    again = jobs.run_import(store, "cherry", backup_zip(tmp_path / "a.zip"))
    assert (again.conversations_added, again.conversations_updated, again.messages_added,
            again.notes) == (0, 0, 0, [])  # fmt: skip
    assert (counts(store), stored_outline(store)) == before
    tides = store.find_conversation_by_source("cherry", TIDES)
    assert tides is not None and tides.preset == "Physics tutor"
    assert store.get_preset("Cook") is not None
    data = fixture_data()
    soup = next(t for t in data["indexedDB"]["topics"] if t["id"] == SOUP)
    soup["messages"].append({"id": "m-soup-3", "role": "user", "assistantId": "x",
                             "topicId": SOUP, "createdAt": "2025-06-05T08:00:00.000Z",
                             "status": "success", "blocks": ["b-s3-text"]})
    data["indexedDB"]["message_blocks"].append({
        "id": "b-s3-text", "messageId": "m-soup-3", "type": "main_text",
        "createdAt": "2025-06-05T08:00:00.000Z", "status": "success", "content": "Thanks!"})
    newer = jobs.run_import(store, "cherry", backup_zip(tmp_path / "b.zip", data))
    assert (newer.conversations_added, newer.conversations_updated, newer.messages_added) == (
        0, 1, 1)
    conv = store.find_conversation_by_source("cherry", SOUP)
    assert conv is not None
    last, before_last = store.messages(conv.id)[-1], store.messages(conv.id)[-2]
    assert last.content == "Thanks!" and last.parent_id == before_last.id



def test_round_trip_through_chatdesk_json(tmp_path: Path, store: HistoryStore) -> None:
    jobs.run_import(store, "cherry", backup_zip(tmp_path / "a.zip"))
    before = stored_outline(store)
    assert ("assistant", True, "GPT: Spring tides follow", None,
            "2025-06-01T08:10:04.000+00:00") in before
    out = tmp_path / "all.json"
    jobs.run_export(store, [c.id for c in store.list_conversations()], "json", str(out))
    with HistoryStore.open(tmp_path / "other.db") as other:
        jobs.run_import(other, "chatdesk", out)
        assert stored_outline(other) == before


def test_no_api_key_or_password_ends_up_in_the_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert main(["--data-dir", str(data_dir), "import", "cherry",
                 str(backup_zip(tmp_path / "b.zip"))]) == 0
    assert main(["--data-dir", str(data_dir), "import", "cherry",
                 str(FIXTURES / "legacy" / "data.json")]) == 0
    stored = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    assert stored  # the history file is there, and its text is plain in it
    assert b"Caldo verde" in stored
    for secret in [*SECRETS, "sk-FIXTURE-legacy-7777777777"]:
        assert secret.encode() not in stored, secret


def test_the_command_line_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = backup_zip(tmp_path / "cherry-studio.202506050000.zip")
    assert main(["--data-dir", str(tmp_path / "data"), "import", "cherry", str(path)]) == 0
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert err.splitlines() == [
        "Imported 4 conversations (16 messages) from Cherry Studio; 1 attachment; 1 file was "
        "not in the export (a placeholder in the message names each); 1 empty skipped; "
        "0 already there",
        "Assistants: 2 imported as presets; 1 not imported — it has no prompt",
        "Model providers: 3 not imported — chatdesk keeps its own providers; API keys are "
        "never imported",
        "Settings: 1 not imported — chatdesk keeps its own settings",
        "Knowledge base notes: 1 not imported — chatdesk has no place for them",
        "Translations: 1 not imported — chatdesk has no place for them",
    ]


# -- broken and wrong files: one line, nothing imported ------------------------------------


def import_fails(store: HistoryStore, path: Path) -> str:
    with pytest.raises(ImportFormatError) as caught:
        jobs.run_import(store, "cherry", path)
    assert counts(store) == (0, 0)
    line = str(caught.value)
    assert "\n" not in line
    return line


def test_a_truncated_backup(tmp_path: Path, store: HistoryStore) -> None:
    data = (FIXTURES / "data.json").read_bytes()
    cut = data.index(b"Caldo verde")
    (tmp_path / "data.json").write_bytes(data[:cut])
    assert import_fails(store, tmp_path / "data.json") == (
        f"data.json: the file ends in the middle (byte {cut:,}) — the backup is truncated; "
        "make it again. Nothing was imported")
    (tmp_path / "data.json").write_bytes(data[: data.index(b'"indexedDB"')])
    assert "the file ends in the middle" in import_fails(store, tmp_path / "data.json")


def test_damaged_empty_and_cut_zips(tmp_path: Path, store: HistoryStore) -> None:
    (tmp_path / "data.json").write_bytes(b'{"time": 1, "indexedDB": {]}\n  ')
    assert import_fails(store, tmp_path / "data.json") == (
        "data.json: the JSON is damaged at line 1 — make the backup again. Nothing was "
        "imported")
    (tmp_path / "data.json").write_bytes(b"  \n")
    assert import_fails(store, tmp_path / "data.json") == (
        "data.json: the file is empty; nothing was imported")
    whole = backup_zip(tmp_path / "whole.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(whole[: len(whole) // 2])
    assert import_fails(store, tmp_path / "cut.zip") == (
        "cut.zip: the zip file is incomplete or damaged — make the backup again. Nothing "
        "was imported")


def test_a_zip_without_data_json(tmp_path: Path, store: HistoryStore) -> None:
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as zf:
        zf.write(FIXTURES / IMAGE, IMAGE)
    assert import_fails(store, tmp_path / "photos.zip") == (
        "photos.zip: there is no data.json in it — is this a Cherry Studio backup "
        "(Settings → Data Settings → Backup)? Nothing was imported")
    (tmp_path / "folder").mkdir()
    assert import_fails(store, tmp_path / "folder") == (
        "folder: there is no data.json in it — is this an unpacked Cherry Studio backup "
        "(Settings → Data Settings → Backup)? Nothing was imported")
    with zipfile.ZipFile(tmp_path / "direct.zip", "w") as zf:
        zf.writestr("IndexedDB/file__0.indexeddb.leveldb/000003.log", b"\0" * 8)
        zf.writestr("Local Storage/leveldb/CURRENT", "MANIFEST-000001\n")
    assert import_fails(store, tmp_path / "direct.zip") == (
        "direct.zip: it holds Cherry Studio's own database folders (IndexedDB, Local "
        "Storage), the kind of backup newer versions make, not a data.json — chatdesk reads "
        "the backups that hold data.json; nothing was imported")


@pytest.mark.parametrize(("content", "found"), [
    ([{"title": "t", "mapping": {}, "create_time": 1.0}], "a ChatGPT export, not a Cherry "
     "Studio one — use `chatdesk import chatgpt`"),
    ([{"uuid": "c", "chat_messages": []}], "a Claude export, not a Cherry Studio one — use "
     "`chatdesk import claude`"),
    ({"format": "chatdesk", "conversations": []}, "a chatdesk export, not a Cherry Studio "
     "one — use `chatdesk import chatdesk`"),
])
def test_another_products_file_is_named(tmp_path: Path, store: HistoryStore, content: Any,
                                        found: str) -> None:
    (tmp_path / "export.json").write_text(json.dumps(content), encoding="utf-8")
    assert import_fails(store, tmp_path / "export.json") == (
        f"export.json: this is {found}; nothing was imported")


def test_json_that_is_no_backup(tmp_path: Path, store: HistoryStore) -> None:
    (tmp_path / "data.json").write_text('{"time": 1, "version": 5}', encoding="utf-8")
    assert import_fails(store, tmp_path / "data.json") == (
        "data.json: this is not a Cherry Studio backup: it has no `indexedDB` (where Cherry "
        "Studio keeps its topics); nothing was imported")


def test_the_claude_reader_points_a_cherry_backup_here() -> None:
    from chatdesk.transfer.claude import read_claude

    with pytest.raises(ImportFormatError) as caught:
        list(read_claude(FIXTURES / "data.json"))
    assert "this is a Cherry Studio backup, not a Claude one — use `chatdesk import cherry`" in (
        str(caught.value))


def test_a_damaged_state_still_imports_the_topics(tmp_path: Path) -> None:
    data = fixture_data()
    data["localStorage"]["persist:cherry-studio"] = '{"assistants": "{not json'
    (tmp_path / "data.json").write_text(json.dumps(data), encoding="utf-8")
    reader = read_cherry(tmp_path / "data.json")
    convs = {c.source_id: c for c in reader}
    title = convs[TIDES].title
    assert title is not None and title.startswith("Why are there two high tides")
    assert reader.presets == [] and len(convs[TIDES].messages) == 7


def small_backup(path: Path, messages: list[dict[str, Any]],
                 blocks: list[dict[str, Any]]) -> Path:
    """A backup with one topic (no assistants) holding `messages` and `blocks`."""
    data = {"time": 1, "version": 5, "localStorage": {},
            "indexedDB": {"topics": [{"id": "t1", "messages": messages}],
                          "message_blocks": blocks}}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_inline_and_generated_images_and_other_citation_shapes(tmp_path: Path) -> None:
    png = (FIXTURES / IMAGE).read_bytes()
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    messages = [
        {"id": "u", "role": "user", "createdAt": "2025-01-01T00:00:00Z", "blocks": ["b1"]},
        {"id": "a", "role": "assistant", "askId": "u", "createdAt": "2025-01-01T00:00:01Z",
         "blocks": ["b2", "b3", "b4", "b5"]},
    ]
    blocks = [
        {"id": "b1", "type": "main_text", "content": "Draw a red square."},
        {"id": "b2", "type": "image", "url": data_url},
        {"id": "b3", "type": "image", "metadata": {"generateImageResponse": {
            "type": "url", "images": ["https://img.example.com/square.png"]}}},
        {"id": "b4", "type": "citation", "response": {"source": "openai", "results": [
            {"type": "url_citation", "url_citation": {"url": "https://a.example/",
                                                      "title": "A"}}]}},
        {"id": "b5", "type": "citation", "response": {"source": "openrouter", "results": [
            "https://b.example/", "https://a.example/"]}},
    ]
    conv = by_id(small_backup(tmp_path / "data.json", messages, blocks))["t1"]
    question, answer = conv.messages
    assert conv.title == "Draw a red square." and conv.preset is None
    (square,) = [a.load() for a in answer.attachments]
    assert (square.media_type, square.data) == ("image/png", png)
    assert answer.content == (
        "![generated image 1](https://img.example.com/square.png)\n\n**Sources**\n\n"
        "1. [A](https://a.example/)\n2. [https://b.example/](https://b.example/)")


def test_backup_version_1_lists_topics_as_keys(tmp_path: Path) -> None:
    """The first backups (2024) held IndexedDB as {key, value} pairs, `topic:ID` each."""
    data = {"time": 1, "version": 1, "localStorage": {}, "indexedDB": [
        {"key": "image://avatar", "value": "data:,"},
        {"key": "topic:t0", "value": {"id": "t0", "messages": [
            {"id": "q", "role": "user", "content": "Hello", "createdAt": "2024-08-01 09:00:00"},
            {"id": "r", "role": "assistant", "content": "Hi!", "askId": "q",
             "createdAt": "2024-08-01 09:00:02", "modelId": "qwen-turbo"}]}}]}
    (tmp_path / "data.json").write_text(json.dumps(data), encoding="utf-8")
    conv = by_id(tmp_path / "data.json")["t0"]
    assert [(m.role, m.content, m.model, m.created_at) for m in conv.messages] == [
        ("user", "Hello", None, "2024-08-01T09:00:00.000+00:00"),
        ("assistant", "Hi!", "qwen-turbo", "2024-08-01T09:00:02.000+00:00")]


def test_a_damaged_file_in_data_files_is_left_out_and_said(tmp_path: Path,
                                                           store: HistoryStore) -> None:
    folder = tmp_path / "unpacked"
    (folder / "Data" / "Files").mkdir(parents=True)
    (folder / "Data" / "Files" / "f1.png").write_bytes(b"")
    messages = [{"id": "u", "role": "user", "createdAt": "2025-01-01T00:00:00Z",
                 "blocks": ["b1", "b2"]}]
    blocks = [{"id": "b1", "type": "main_text", "content": "See the picture."},
              {"id": "b2", "type": "image", "file": {"id": "f1", "name": "f1.png",
                                                     "origin_name": "shot.png", "ext": ".png",
                                                     "type": "image"}}]
    small_backup(folder / "data.json", messages, blocks)
    report = jobs.run_import(store, "cherry", folder)
    assert (report.conversations_added, report.attachments_added) == (1, 0)
    assert report.notes == ["shot.png was left out of the import: it is empty."]


def test_a_bak_file_is_data_json_gzipped(tmp_path: Path, store: HistoryStore) -> None:
    """The first backups (`cherry-studio.YYYYMMDD.bak`) are data.json compressed by gzip."""
    packed = gzip.compress((FIXTURES / "legacy" / "data.json").read_bytes())
    (tmp_path / "cherry-studio.20241105.bak").write_bytes(packed)
    conv = by_id(tmp_path / "cherry-studio.20241105.bak")[LEGACY]
    assert outline(conv)[0] == ("user", False, "Água mole em pedra")
    (tmp_path / "cut.bak").write_bytes(packed[: len(packed) // 2])
    assert import_fails(store, tmp_path / "cut.bak") == (
        "cut.bak: the backup is damaged or cut short (its compressed data ends early) — "
        "make it again. Nothing was imported")


def test_deep_nesting_is_refused_in_one_line(tmp_path: Path, store: HistoryStore) -> None:
    (tmp_path / "data.json").write_text(
        '{"indexedDB": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    assert import_fails(store, tmp_path / "data.json") == (
        "data.json: its lists and objects nest deeper than any Cherry Studio backup's — this "
        "is not a backup, or it is damaged; nothing was imported")
