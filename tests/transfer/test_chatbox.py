"""Importing Chatbox's backup: both shapes, threads, forks, side outcomes, broken files."""

from __future__ import annotations

import base64
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer import jobs
from chatdesk.transfer.chatbox import read_chatbox
from chatdesk.transfer.common import ImportedConversation, ImportFormatError
from tests.transfer.conftest import stored_counts as counts

FIXTURES = Path(__file__).parent / "fixtures" / "chatbox"
OLD = FIXTURES / "chatbox-exported-data-2025-2-7.json"  # Chatbox 1.9: one `chat-sessions`
NEW = FIXTURES / "chatbox-exported-data-2026-3-30.json"  # 1.20: `session:<id>` keys
SOURDOUGH = "0a1b2c3d-1111-4a00-8000-000000000001"
FOX = "0a1b2c3d-2222-4a00-8000-000000000002"
RUST = "0a1b2c3d-3333-4a00-8000-000000000003"
NEW_CHAT = "0a1b2c3d-5555-4a00-8000-000000000005"
LISBON = "9f000000-0001-4b00-8000-0000000000f1"
RECEIPT = "9f000000-0002-4b00-8000-0000000000f2"
POSTER = "9f000000-0003-4b00-8000-0000000000f3"
UNTITLED = "9f000000-0004-4b00-8000-0000000000f4"



def by_id(path: Path) -> dict[str, ImportedConversation]:
    return {c.source_id: c for c in read_chatbox(path)}


def outline(conv: ImportedConversation) -> list[tuple[str, bool, str, bool, str | None]]:
    """(role, alternate?, first words, reasoning?, time as HH:MM:SS) of each message."""
    return [(m.role, m.is_alternate, " ".join(m.content.split()[:4]), m.reasoning is not None,
             m.created_at[11:19] if m.created_at else None) for m in conv.messages]



# -- the old shape: every session in `chat-sessions`, text in `content` -----------------


def test_old_backup_threads_come_first_and_a_fork_is_an_alternate() -> None:
    convs = by_id(OLD)
    assert set(convs) == {SOURDOUGH, FOX, RUST, NEW_CHAT}  # the untouched example is left out
    bread = convs[SOURDOUGH]
    assert (bread.title, bread.preset) == ("Sourdough starter", "Baker")
    assert (bread.created_at, bread.updated_at) == ("2025-02-07T03:46:40.000+00:00",
                                                    "2025-02-07T04:48:25.000+00:00")
    assert outline(bread) == [
        # the older thread ("Feeding schedule"), its context cleared in Chatbox
        ("system", False, "You are a patient", False, "03:46:40"),
        ("user", False, "How often should I", False, "03:46:41"),
        ("assistant", False, "Once a day at", False, "03:46:49"),
        # the current thread, its own system prompt first
        ("system", False, "You are a patient", False, "04:46:40"),
        ("user", False, "My starter smells like", False, "04:46:41"),
        ("assistant", True, "It may be contaminated;", False, "04:46:45"),  # the first answer
        ("assistant", False, "Not at all: that", False, "04:47:00"),  # regenerated
        ("user", False, "Thanks! Should I discard", False, "04:48:20"),
        ("assistant", False, "Yes, keep about a", False, "04:48:25"),
    ]
    ids = {m.source_id: m for m in bread.messages}
    assert ids["s1-sys-b"].parent_source_id == "s1-a1"  # the threads make one line
    assert ids["s1-a2a"].parent_source_id == ids["s1-a2b"].parent_source_id == "s1-u2"
    assert (ids["s1-a1"].model, ids["s1-a1"].provider) == ("gpt-4o-mini", "openai")
    assert ids["s1-a2b"].model == "gpt-4o" and ids["s1-u2"].provider is None


def test_old_backup_reasoning_search_files_links_and_errors() -> None:
    rust = by_id(OLD)[RUST]
    assert outline(rust) == [
        ("system", False, "You are a helpful", False, "03:46:40"),
        ("user", False, "Which language should I", False, "03:46:41"),
        ("assistant", False, "**Web search:** rust vs", True, "03:47:40"),
        ("user", False, "And for a tiny", False, "03:48:20"),
        ("assistant", False, "**Error:** API Error: 402", False, "03:48:21"),
    ]
    question, answer = rust.messages[1], rust.messages[2]
    assert question.content == (
        "Which language should I use for this tool? My notes are attached.\n\n"
        "[file: requirements.md]\n\n**Links**\n\n1. [Go documentation](https://go.dev/doc/)")
    assert question.missing_files == 1
    assert answer.reasoning == (
        "The user wants a CLI. Compare build speed, binary size and libraries.")
    assert "Compare build speed" not in answer.content
    assert answer.content.endswith(
        "**Sources**\n\n1. [Command Line Applications in Rust](https://rust-cli.github.io/"
        "book/)\n2. [Cobra](https://cobra.dev/)")
    assert (answer.model, answer.provider) == ("deepseek-reasoner", "deepseek")
    assert rust.messages[2].created_at == "2025-02-08T03:47:40.000+00:00"  # ms kept as ms


def test_forked_answers_keep_chatboxs_order_and_may_nest_deep(tmp_path: Path) -> None:
    backup = json.loads(OLD.read_text(encoding="utf-8"))
    bread = backup["chat-sessions"][0]
    fork = bread["messageForksHash"]["s1-u2"]
    fork["position"], fork["lists"] = 0, fork["lists"][::-1]  # the shown answer is 1 of 2
    deep: dict[str, Any] = {}
    for i in range(3000):  # each answer regenerated inside the branch before it
        branch = [{"id": f"d{i + 1}", "role": "assistant" if i % 2 == 0 else "user",
                   "content": f"step {i}", "timestamp": 1738900000000 + i}]
        deep[f"d{i}"] = {"position": 1, "createdAt": 1, "lists": [
            {"id": f"l{i}", "messages": branch}, {"id": "x", "messages": []}]}
    backup["chat-sessions"].append({"id": "deep", "name": "Deep", "messageForksHash": deep,
                                    "messages": [{"id": "d0", "role": "user", "content": "go",
                                                  "timestamp": 1738900000000}]})
    path = tmp_path / "chatbox-exported-data-2025-2-7.json"
    path.write_text(json.dumps(backup), encoding="utf-8")
    convs = by_id(path)
    order = [(m.source_id, m.is_alternate) for m in convs[SOURDOUGH].messages]
    assert order[5:] == [("s1-a2b", False), ("s1-u3", False), ("s1-a3", False),
                         ("s1-a2a", True)]  # answer 1 of 2 (and what followed it) first
    assert len(convs["deep"].messages) == 3001
    assert sum(m.is_alternate for m in convs["deep"].messages) == 3000


def test_a_picture_session_is_its_text_with_placeholders() -> None:
    fox = by_id(OLD)[FOX]
    assert outline(fox) == [
        ("system", False, "I am an image", False, "05:46:40"),
        ("user", False, "A watercolour fox asleep", False, "05:46:41"),
        ("assistant", False, "[image: picture 1] [image:", False, "05:47:10"),
    ]
    assert fox.messages[2].missing_files == 2 and fox.messages[2].model == "DALL-E-3"


def test_an_example_taken_up_by_the_person_is_imported(tmp_path: Path) -> None:
    backup = json.loads(OLD.read_text(encoding="utf-8"))
    example = backup["chat-sessions"][3]
    assert example["name"] == "Markdown 101 (Example)"
    artifact = {"id": "chatbox-chat-demo-artifact-1-en", "name": "Snake Game (Artifact Example)",
                "messages": [{"id": "x1", "role": "user", "content": "Write a snake game",
                              "timestamp": 1721205396827}]}  # as Chatbox ships it
    backup["chat-sessions"].append(artifact)
    example["messages"].append({"id": "mine", "role": "user", "content": "And a list?",
                                "timestamp": 1738900000000})
    path = tmp_path / "chatbox-exported-data-2025-2-7.json"
    path.write_text(json.dumps(backup), encoding="utf-8")
    convs = by_id(path)
    assert "chatbox-chat-demo-artifact-1-en" not in convs
    assert [m.content for m in convs[example["id"]].messages][-1] == "And a list?"
    assert convs[example["id"]].messages[2].model is None  # Chatbox's "unknown"


def test_a_chat_chatbox_never_named_is_titled_by_its_first_question(tmp_path: Path) -> None:
    path = tmp_path / "chatbox-exported-data-2025-1-1.json"
    path.write_text(json.dumps({"chat-sessions": [{"id": "u", "name": "Untitled", "messages": [
        {"id": "q", "role": "user", "content": "Why is the sky blue?", "timestamp": 1735689600000},
        {"id": "a", "role": "assistant", "content": "Rayleigh scattering."}]}]}),
        encoding="utf-8")
    (conv,) = read_chatbox(path)
    assert conv.title == "Why is the sky blue?"
    assert conv.messages[1].created_at == conv.messages[0].created_at  # none: the parent's


def test_a_session_of_only_a_system_prompt_is_empty() -> None:
    assert by_id(OLD)[NEW_CHAT].messages == []
    assert by_id(NEW)[UNTITLED].messages == []


# -- the new shape: `chat-sessions-list` and a `session:<id>` key each ------------------


def test_new_backup_parts_threads_and_nested_forks() -> None:
    lisbon = by_id(NEW)[LISBON]
    assert (lisbon.title, lisbon.preset) == ("Lisbon in three days", "Travel guide")
    assert outline(lisbon) == [
        ("system", False, "You are a friendly", False, "08:00:00"),
        ("user", False, "Cheapest month to fly", False, "08:01:00"),
        ("assistant", False, "Usually November or February.", False, "08:01:05"),
        ("system", False, "You are a friendly", False, "08:30:00"),
        ("user", False, "Plan three days in", False, "08:30:01"),
        ("assistant", True, "Day 1: Baixa. Day", False, "08:30:10"),  # an earlier answer
        ("user", True, "Is Cascais worth it?", False, "08:30:15"),  # …and what followed it
        ("assistant", True, "Yes, for the beaches.", False, "08:30:16"),
        ("assistant", False, "**Web search:** Lisbon tram", True, "08:30:30"),
        ("user", False, "Swap Sintra and Belém,", False, "08:31:40"),
        ("assistant", False, "Day 2: Sintra. Day", True, "08:31:45"),
    ]
    ids = {m.source_id: m for m in lisbon.messages}
    assert ids["lx-u1x"].parent_source_id == "lx-a1a"
    plan = ids["lx-a1b"]
    assert plan.reasoning == "Group the sights by neighbourhood."
    assert plan.content == (
        "**Web search:** Lisbon tram 28 opening hours\n\n"
        "Day 1: Alfama and tram 28. Day 2: Belém. Day 3: Sintra.\n\n"
        "**Sources**\n\n1. [Tram 28 - Visit Lisboa](https://www.visitlisboa.com/en/tram-28)\n"
        "2. [Carris timetables](https://www.carris.pt/en/timetables/)")
    assert (plan.model, plan.provider) == ("claude-sonnet-4-5", "anthropic")


def test_new_backup_images_tools_and_the_content_of_the_placeholder_era() -> None:
    receipt = by_id(NEW)[RECEIPT]
    assert receipt.title == "Add up this receipt for me"  # no name: the first question
    assert outline(receipt) == [
        ("system", False, "You are a helpful", False, "10:00:00"),
        ("user", False, "Add up this receipt", False, "10:00:01"),
        ("assistant", False, "*The image was read", False, "10:00:20"),
        ("user", False, "And with a 10%", False, "10:01:40"),
        ("assistant", False, "About 24.97.", False, "10:01:45"),  # parts "...", content kept
    ]
    photo, answer, last = receipt.messages[1], receipt.messages[2], receipt.messages[4]
    assert photo.content == "Add up this receipt for me\n\n[image: picture 1]"
    assert photo.missing_files == 1
    assert ('**Tool call: calculator**\n\n```json\n{\n  "expression": "12.5 + 3.2 + 7"\n}\n```'
            in answer.content)
    assert '**Result of calculator**\n\n```json\n{\n  "value": 22.7\n}\n```' in answer.content
    assert answer.content.endswith("The total is 22.70.")
    assert (last.model, last.provider) == ("llama-3.3-70b", None)  # a custom endpoint


def test_a_hidden_picture_session_is_imported_as_text() -> None:
    poster = by_id(NEW)[POSTER]
    assert outline(poster) == [
        ("user", False, "A lighthouse at dusk,", False, "11:00:00"),
        ("assistant", False, "[image: picture 1]", False, "11:00:30"),
    ]
    assert poster.messages[1].provider == "chatbox-ai"


def test_what_else_the_backups_hold_is_said() -> None:
    old, new = read_chatbox(OLD), read_chatbox(NEW)
    assert [jobs.side_line(s) for s in old.side] == [
        "Example conversations: 1 not imported — it is Chatbox's built-in example, never used",
        "Picture conversations: 1 imported as text — the backup does not hold their pictures",
        "Copilots: 1 imported as presets; 1 not imported — it has no prompt",
        "Settings: 1 not imported — chatdesk keeps its own settings and keys (the backup's "
        "API keys are not read)",
    ]
    assert [jobs.side_line(s) for s in new.side] == [
        "Picture conversations: 1 imported as text — the backup does not hold their pictures",
        "Old copies of conversations: 1 not imported — the backup keeps them from before "
        "Chatbox stored each conversation apart, and Chatbox no longer shows them",
        "Copilots: 1 imported as presets",
        "Settings: 2 not imported — chatdesk keeps its own settings and keys (the backup's "
        "API keys are not read)",
    ]
    assert [(p.name, p.system_prompt) for p in new.presets] == [
        ("Travel guide", "You are a friendly travel guide.")]


# -- into the store: twice, and through chatdesk's own JSON ---------------------------


def stored_outline(store: HistoryStore) -> list[tuple[str | None, str, bool, str, str | None,
                                                      str]]:
    out = []
    for summary in sorted(store.list_conversations(), key=lambda c: (c.created_at, c.title)):
        for m in store.messages(summary.id, include_alternates=True):
            out.append((summary.title, m.role, m.is_alternate, " ".join(m.content.split()[:4]),
                        m.reasoning, m.created_at))
    return out


def test_import_twice_and_through_chatdesk_json(tmp_path: Path, store: HistoryStore) -> None:
    first = jobs.run_import(store, "chatbox", OLD)
    assert (first.conversations_added, first.messages_added, first.skipped_empty) == (3, 17, 1)
    assert first.attachments_missing == 3
    second = jobs.run_import(store, "chatbox", NEW)
    assert (second.conversations_added, second.messages_added, second.skipped_empty) == (
        3, 18, 1)
    before = (counts(store), stored_outline(store))
    for path in (OLD, NEW):
        again = jobs.run_import(store, "chatbox", path)
        assert (again.conversations_added, again.conversations_updated,
                again.messages_added) == (0, 0, 0)  # fmt: skip
    assert (counts(store), stored_outline(store)) == before
    bread = store.find_conversation_by_source("chatbox", SOURDOUGH)
    assert bread is not None and bread.title == "Sourdough starter"
    assert store.conversation_preset(bread.id) == "Baker"
    preset = store.get_preset("Baker")
    assert preset is not None and preset.system_prompt == (
        "You are a patient baker who explains things simply.")
    main = store.messages(bread.id)
    assert [m.content.split()[0] for m in main] == [
        "You", "How", "Once", "You", "My", "Not", "Thanks!", "Yes,"]
    out = tmp_path / "all.json"
    jobs.run_export(store, [c.id for c in store.list_conversations()], "json", str(out))
    with HistoryStore.open(tmp_path / "other.db") as other:
        jobs.run_import(other, "chatdesk", out)
        assert stored_outline(other) == before[1]


def test_a_newer_backup_adds_what_is_new_and_follows_the_branch_shown(
        tmp_path: Path, store: HistoryStore) -> None:
    jobs.run_import(store, "chatbox", NEW)
    before = counts(store)
    backup = json.loads(NEW.read_text(encoding="utf-8"))
    lisbon = backup[f"session:{LISBON}"]
    # In Chatbox the person went back to the first plan and asked on from there.
    shown = lisbon["messages"][2:]  # the second plan and what followed it
    fork = lisbon["messageForksHash"]["lx-u1"]
    lisbon["messages"] = lisbon["messages"][:2] + fork["lists"][0]["messages"] + [
        {"id": "lx-u9", "role": "user", "contentParts": [{"type": "text", "text": "Thanks!"}],
         "timestamp": 1774865000000}]
    fork["position"], fork["lists"] = 0, [{"id": "fork_list_lx1", "messages": []},
                                          {"id": "fork_list_lx2", "messages": shown}]
    path = tmp_path / "chatbox-exported-data-2026-3-31.json"
    path.write_text(json.dumps(backup), encoding="utf-8")
    report = jobs.run_import(store, "chatbox", path)
    assert (report.conversations_added, report.conversations_updated,
            report.messages_added) == (0, 1, 1)  # fmt: skip
    assert counts(store) == (before[0], before[1] + 1)
    conv = store.find_conversation_by_source("chatbox", LISBON)
    assert conv is not None
    assert [m.content for m in store.messages(conv.id)][-5:] == [
        "Plan three days in Lisbon for me.", "Day 1: Baixa. Day 2: Alfama. Day 3: Cascais.",
        "Is Cascais worth it?", "Yes, for the beaches.", "Thanks!"]
    every = store.messages(conv.id, include_alternates=True)
    assert sum(m.is_alternate for m in every) == 3  # the second plan and what followed


def test_no_api_key_reaches_the_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with HistoryStore.open(data / "history.db") as store:
        for path in (OLD, NEW):
            jobs.run_import(store, "chatbox", path)
    stored = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    assert b"Sourdough" in stored
    assert b"not-a-real-key" not in stored and b"sk-" not in stored


def test_a_zip_or_a_folder_holding_backups(tmp_path: Path) -> None:
    zipped = tmp_path / "backup.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(NEW, f"Chatbox/{NEW.name}")
        zf.writestr("__MACOSX/Chatbox/._x.json", b"\0\5\26\7")
    assert set(by_id(zipped)) == {LISBON, RECEIPT, POSTER, UNTITLED}
    folder = tmp_path / "backups"
    folder.mkdir()
    for path in (NEW, OLD):
        shutil.copy(path, folder / path.name)
    reader = read_chatbox(folder)
    assert reader.files == [OLD.name, NEW.name]  # by the date in the name: 2025 first
    assert len(list(reader)) == 8
    renamed = tmp_path / "my chats.json"  # one .json of any name is read as the backup
    shutil.copy(OLD, renamed)
    assert set(by_id(renamed)) == {SOURDOUGH, FOX, RUST, NEW_CHAT}


def test_a_picture_in_the_message_itself_becomes_an_attachment(tmp_path: Path) -> None:
    png = base64.b64encode(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
        b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff"
        b"\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82").decode()
    backup = {"chat-sessions": [{"id": "s", "name": "Dot", "messages": [
        {"id": "u", "role": "user", "content": "What is this?", "timestamp": 1700000000000,
         "pictures": [{"url": f"data:image/png;base64,{png}"}]},
        {"id": "a", "role": "assistant", "content": "A dot.", "timestamp": 1700000001000}]}]}
    path = tmp_path / "chatbox-exported-data-2023-11-14.json"
    path.write_text(json.dumps(backup), encoding="utf-8")
    (conv,) = read_chatbox(path)
    question = conv.messages[0]
    assert question.content == "What is this?" and question.missing_files == 0
    (picture,) = [a.load() for a in question.attachments]
    assert (picture.name, picture.media_type) == ("picture-1.png", "image/png")


# -- files that are not a whole Chatbox backup ----------------------------------------


def broken(tmp_path: Path) -> list[tuple[Path, str]]:
    data = OLD.read_bytes()
    cut = tmp_path / "chatbox-exported-data-2025-2-7.json"
    cut.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"  \n")
    chatgpt = Path(__file__).parent / "fixtures" / "chatgpt" / "conversations.json"
    claude = Path(__file__).parent / "fixtures" / "claude" / "conversations.json"
    native = tmp_path / "chatdesk.json"
    native.write_text(json.dumps({"format": "chatdesk-export", "version": 2,
                                  "conversations": []}), encoding="utf-8")
    other = tmp_path / "notes.json"
    other.write_text(json.dumps({"title": "Shopping", "items": ["milk"]}), encoding="utf-8")
    numbers = tmp_path / "numbers.json"
    numbers.write_text("[1, 2, 3]", encoding="utf-8")
    damaged = tmp_path / "damaged.json"
    damaged.write_bytes(data.replace(b'"chat-sessions": [', b'"chat-sessions": [}', 1))
    no_backup = tmp_path / "photos.zip"
    with zipfile.ZipFile(no_backup, "w") as zf:
        zf.writestr("fox.png", b"\x89PNG")
    deep = tmp_path / "deep.json"
    deep.write_text('{"chat-sessions": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    half_zip = tmp_path / "half.zip"
    half_zip.write_bytes(b"PK\x03\x04 broken")
    return [
        (cut, f"{cut.name}: the file ends in the middle (byte {len(data) // 2:,}) — the "
              "backup is truncated; export it from Chatbox again. Nothing was imported"),
        (empty, "empty.json: the file is empty; nothing was imported"),
        (chatgpt, "conversations.json: this is a ChatGPT export, not a Chatbox one — use "
                  "`chatdesk import chatgpt`; nothing was imported"),
        (claude, "conversations.json: this is a Claude export, not a Chatbox one — use "
                 "`chatdesk import claude`; nothing was imported"),
        (native, "chatdesk.json: this is a chatdesk export, not a Chatbox one — use "
                 "`chatdesk import chatdesk`; nothing was imported"),
        (other, "notes.json: this is not a Chatbox backup: it has none of Chatbox's keys "
                "(`chat-sessions-list`, `session:…`, `chat-sessions`); nothing was imported"),
        (numbers, "numbers.json: this is not a Chatbox backup: it holds a list, not "
                  "Chatbox's stored data; nothing was imported"),
        (damaged, "damaged.json: the JSON is damaged near byte "),
        (no_backup, "photos.zip: there is no chatbox-exported-data-….json in it — is this a "
                    "Chatbox backup? Nothing was imported"),
        (deep, "deep.json: its lists and objects nest more than 256 levels deep (near byte "),
        (half_zip, "half.zip: the zip file is incomplete or damaged — make it again. "
                   "Nothing was imported"),
        (tmp_path / "missing.json", "missing.json: there is no such file or folder — check "
                                    "the path ("),
    ]


def test_broken_files_say_one_line_and_import_nothing(tmp_path: Path,
                                                      store: HistoryStore) -> None:
    for path, said in broken(tmp_path):
        with pytest.raises(ImportFormatError) as caught:
            jobs.run_import(store, "chatbox", path)
        message = str(caught.value)
        assert "\n" not in message
        assert message == said or (said.endswith(("byte ", "(")) and message.startswith(said))
    assert counts(store) == (0, 0)


def test_the_command_line_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chatdesk.cli import main

    data = str(tmp_path / "data")
    assert main(["--data-dir", data, "import", "chatbox", str(OLD)]) == 0
    assert capsys.readouterr().err.strip().splitlines() == [
        "Imported 3 conversations (17 messages) from Chatbox; 3 files were not in the export "
        "(a placeholder in the message names each); 1 empty skipped; 0 already there",
        "Example conversations: 1 not imported — it is Chatbox's built-in example, never used",
        "Picture conversations: 1 imported as text — the backup does not hold their pictures",
        "Copilots: 1 imported as presets; 1 not imported — it has no prompt",
        "Settings: 1 not imported — chatdesk keeps its own settings and keys (the backup's "
        "API keys are not read)",
    ]
    assert main(["--data-dir", data, "import", "chatbox", str(OLD)]) == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        "Imported 0 conversations (0 messages) from Chatbox; 1 empty skipped; 3 already there")
    code = main(["--data-dir", data, "import", "chatbox", str(tmp_path / "nope.json")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
