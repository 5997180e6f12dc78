"""Importing ChatGPT's data export: the tree, every content type, zips, errors, idempotence."""

from __future__ import annotations

import copy
import importlib.util
import json
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer.chatgpt import read_chatgpt
from chatdesk.transfer.common import (
    ImportCancelled,
    ImportedConversation,
    ImportFormatError,
    write_conversations,
)

FIXTURES = Path(__file__).parent / "fixtures" / "chatgpt"
GREETINGS = "6650a1b2-0c1d-8000-9f7e-aa11bb22cc33"
CATS = "6650b000-aaaa-8000-9f7e-000000000b0b"
EMPTY = "6650c000-cccc-8000-9f7e-000000000c0c"
UNDATED = "6650d000-dddd-8000-9f7e-000000000d0d"
OTHER_FILES = ["chat.html", "user.json", "message_feedback.json", "shared_conversations.json"]


def fixture_items() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "conversations.json").read_text(encoding="utf-8"))


def make_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def real_export_zip(path: Path, conversations: list[dict[str, Any]] | None = None) -> Path:
    """The zip as ChatGPT sends it: conversations.json among the other files and images."""
    members: dict[str, bytes | str] = {n: (FIXTURES / n).read_bytes() for n in OTHER_FILES}
    members["file-Xk9PhotoAbc-cat.jpg"] = (FIXTURES / "file-Xk9PhotoAbc-cat.jpg").read_bytes()
    dalle = "dalle-generations/file_00000000dalle01-9f2c1d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f.webp"
    members[dalle] = (FIXTURES / dalle).read_bytes()
    items = fixture_items() if conversations is None else conversations
    members["conversations.json"] = json.dumps(items, ensure_ascii=False)
    return make_zip(path, members)


def by_id(path: Path) -> dict[str, ImportedConversation]:
    return {c.source_id: c for c in read_chatgpt(path)}



def counts(store: HistoryStore) -> tuple[int, int, int]:
    conn = store.db.conn
    conversations = conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    indexed = conn.execute("SELECT count(*) FROM messages_fts_docsize").fetchone()[0]
    return conversations, messages, indexed


# -- reading ------------------------------------------------------------------------------


def test_main_line_follows_current_node_and_keeps_branches_as_alternates(tmp_path: Path) -> None:
    conv = by_id(real_export_zip(tmp_path / "export.zip"))[GREETINGS]
    main = [m for m in conv.messages if not m.is_alternate]
    assert [m.content for m in main] == [
        "Hola! 你好 🙂 — can you greet me in Arabic? مرحبا",
        'مرحبا! (marhaban) 👋 That is "hello" in Arabic, written right to left.',
        "Now in Hebrew and Japanese please",  # the edited question
        "שלום! こんにちは! 🌸 (regenerated)",  # the regenerated answer
        "Thanks",
        "You're welcome! 😊",
    ]
    alternates = {m.content: m for m in conv.messages if m.is_alternate}
    assert set(alternates) == {
        "Now in Hebrew please", "שלום (shalom)", "שלום / こんにちは (first answer)",
    }  # fmt: skip
    ids = {m.content: m.source_id for m in conv.messages}
    assert alternates["Now in Hebrew please"].parent_source_id == ids[main[1].content]
    assert alternates["שלום (shalom)"].parent_source_id == ids["Now in Hebrew please"]
    assert alternates["שלום / こんにちは (first answer)"].parent_source_id == ids[main[2].content]
    # the hidden system message and the message-less root are left out of the chain
    assert main[0].parent_source_id is None
    positions = {m.source_id: i for i, m in enumerate(conv.messages)}
    assert all(positions[m.parent_source_id] < positions[m.source_id]
               for m in conv.messages if m.parent_source_id)  # fmt: skip


def test_times_models_and_providers(tmp_path: Path) -> None:
    conv = by_id(real_export_zip(tmp_path / "export.zip"))[GREETINGS]
    assert conv.created_at == "2024-05-27T08:53:20.123+00:00"
    assert conv.updated_at == "2024-05-27T09:00:00.500+00:00"
    first, answer = conv.messages[0], conv.messages[1]
    assert (first.role, first.model, first.provider) == ("user", None, None)
    assert (answer.role, answer.model, answer.provider) == ("assistant", "gpt-4o", "openai")
    *_, thanks, welcome = conv.messages
    assert welcome.model == "gpt-4o-mini"
    assert welcome.created_at == thanks.created_at  # a null create_time takes the parent's


def test_every_content_type(tmp_path: Path) -> None:
    conv = by_id(real_export_zip(tmp_path / "export.zip"))[CATS]
    texts = [m.content for m in conv.messages]
    joined = "\n".join(texts)
    assert conv.title == "What breed is this cat? Also plot y = x² for me."  # null title
    # multimodal: the image the zip holds is the message's attachment, named as uploaded
    assert texts[0] == "What breed is this cat? Also plot y = x² for me."
    (photo,) = conv.messages[0].attachments
    cat = photo.load()
    assert (cat.name, cat.kind, cat.media_type) == ("cat.jpg", "image", "image/png")  # sniffed
    assert cat.data == (FIXTURES / "file-Xk9PhotoAbc-cat.jpg").read_bytes()
    assert "```python\nimport numpy as np\n" in joined  # code, with its language
    assert "```\nsearch(\"largest domestic cat breeds\")\n```" in joined  # language unknown
    output = "```output\n<Figure size 640x480 with 1 Axes>\n```"  # execution_output
    assert output in texts
    # a tool turn: role tool, the tool's name where a model's would be, no provider
    ran = conv.messages[texts.index(output)]
    assert (ran.role, ran.model, ran.provider) == ("tool", "python", None)
    # the code it ran is the model's own turn just before it, with the code's language
    code = conv.messages[texts.index(output) - 1]
    assert (code.role, code.provider, code.model) == ("assistant", "openai", "o3")
    assert code.content.startswith("```python\nimport numpy as np\n")
    assert ran.parent_source_id == code.source_id
    tools = {m.model for m in conv.messages if m.role == "tool"}
    assert tools == {"python", "browser", "web", "dalle.text2im"}
    # o3's thoughts before it ran the code are that turn's reasoning, not a turn of their own
    assert "Thinking" not in joined and "Looking at the photo" not in joined
    assert code.reasoning is not None and code.reasoning.startswith(
        "**Looking at the photo**\n\nLong fur, tufted ears, big paws.")
    assert "Probably a Maine Coon." in code.reasoning
    assert "The Maine Coon is a large domesticated cat breed." in joined  # browsing display
    quote = next(t for t in texts if t.startswith("> **Quote**"))
    assert "[Maine Coon - Wikipedia](https://en.wikipedia.org/wiki/Maine_Coon)" in quote
    assert "**Error (tool_error):** Error when executing command" in joined
    assert "[Browse all breeds - TICA](https://www.tica.org/breeds/browse-all-breeds)" in joined
    assert "Can you draw one for me?" in texts  # the transcript of a voice message
    drawn = conv.messages[texts.index("(prompt: A fluffy Maine Coon sitting in a sunny garden)")]
    assert [a.load().data for a in drawn.attachments] == [
        (FIXTURES / "dalle-generations/file_00000000dalle01-9f2c1d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
         ".webp").read_bytes()]
    assert sum(m.missing_files for m in conv.messages) == 0
    assert texts[-1] == "Here is your garden cat 🐈"  # an unknown content type keeps its text
    # what the person never saw is left out
    for hidden in ("I keep cats", "Be brief", "User keeps cats", "Thought for 7 seconds"):
        assert hidden not in joined
    assert "" not in texts and not any(m.is_alternate for m in conv.messages)
    assert {m.model for m in conv.messages if m.role == "assistant"} == {"o3"}


def test_null_title_and_times_and_current_node(tmp_path: Path) -> None:
    conv = by_id(FIXTURES / "conversations.json")[UNDATED]
    assert conv.title == "Wie spät ist es in Tōkyō — und warum heißt es 東京?"
    assert conv.created_at is None and conv.updated_at is None
    # no current_node: the newest leaf ends the main line
    assert [m.is_alternate for m in conv.messages] == [False, False]


def test_images_not_in_the_export_go_by_the_name_they_were_uploaded_with(
        tmp_path: Path) -> None:
    conv = by_id(FIXTURES / "conversations.json")[CATS]  # the bare json: no image files
    # `metadata.attachments` names it cat.jpg; its asset id (file-Xk9PhotoAbc) is not a name
    assert conv.messages[0].content.startswith("[image: cat.jpg]\n\n")
    assert conv.messages[0].missing_files == 1


def test_reads_a_folder_and_records_the_file(tmp_path: Path) -> None:
    reader = read_chatgpt(FIXTURES)
    assert [c.source_id for c in reader] == [GREETINGS, CATS, EMPTY, UNDATED]
    assert reader.files == ["conversations.json"]


def test_split_conversation_files_are_all_read_in_order(tmp_path: Path) -> None:
    items = fixture_items()
    path = make_zip(tmp_path / "split.zip", {
        "Export/conversations-001.json": json.dumps(items[2:]),
        "Export/conversations-000.json": json.dumps(items[:2]),
        "__MACOSX/Export/._conversations-000.json": b"\x00\x05\x16\x07junk",
        "Export/chat.html": (FIXTURES / "chat.html").read_bytes(),
        "Export/user.json": (FIXTURES / "user.json").read_bytes(),
    })  # fmt: skip
    reader = read_chatgpt(path)
    assert [c.source_id for c in reader] == [GREETINGS, CATS, EMPTY, UNDATED]
    assert reader.files == ["Export/conversations-000.json", "Export/conversations-001.json"]


def test_generated_benchmark_export_reads_back_exactly(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_chatgpt_export", Path(__file__).parents[2] / "benchmarks" / "gen_chatgpt_export.py"
    )
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    path = gen.make_chatgpt_export(tmp_path / "bench.zip", 20, 6)
    conversations = list(read_chatgpt(path))
    assert len(conversations) == 20
    assert all(len(c.messages) == 6 for c in conversations)
    alternates = [m for c in conversations for m in c.messages if m.is_alternate]
    assert len(alternates) == 2  # every tenth conversation has a regenerated answer
    assert all(c.messages[0].role == "user" and c.title for c in conversations)


# -- writing ------------------------------------------------------------------------------


def test_import_into_the_store(tmp_path: Path, store: HistoryStore) -> None:
    seen: list[tuple[int, int | None]] = []
    report = write_conversations(
        store, read_chatgpt(real_export_zip(tmp_path / "export.zip")), "chatgpt",
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert (report.conversations_added, report.conversations_updated) == (3, 0)
    assert report.skipped_empty == 1 and report.files == ["conversations.json"]
    assert report.messages_added == 9 + 12 + 2  # the thinking is the answer's reasoning
    assert seen[-1] == (4, 4)
    conv = store.find_conversation_by_source("chatgpt", GREETINGS)
    assert conv is not None and conv.title == "Greetings in three scripts"
    assert conv.created_at == "2024-05-27T08:53:20.123+00:00"
    main = store.messages(conv.id)
    assert [m.content for m in main][-2:] == ["Thanks", "You're welcome! 😊"]
    assert main[2].content == "Now in Hebrew and Japanese please"
    assert [(m.provider, m.model) for m in main[:2]] == [(None, None), ("openai", "gpt-4o")]
    everything = store.messages(conv.id, include_alternates=True)
    assert len(everything) == 9 and sum(m.is_alternate for m in everything) == 3
    ids = {m.source_id: m.id for m in everything}
    regenerated = next(m for m in everything if "regenerated" in m.content)
    first_try = next(m for m in everything if "first answer" in m.content)
    edited = ids["9b1e0c4e-0006-4a8e-9d1b-aaaaaaaaaaa6"]
    assert regenerated.parent_id == first_try.parent_id == edited
    summaries = {s.title: s.message_count for s in store.list_conversations()}
    assert summaries["Greetings in three scripts"] == 6  # alternates are not counted
    assert store.find_conversation_by_source("chatgpt", EMPTY) is None
    undated = store.find_conversation_by_source("chatgpt", UNDATED)
    assert undated is not None and undated.created_at  # no time anywhere: the import's
    cats = store.find_conversation_by_source("chatgpt", CATS)
    assert cats is not None and {h.conversation_id for h in store.search("Coon")} == {cats.id}
    assert store.search("こんにちは")  # unicode is indexed


def test_reimport_adds_nothing(tmp_path: Path, store: HistoryStore) -> None:
    path = real_export_zip(tmp_path / "export.zip")
    write_conversations(store, read_chatgpt(path), "chatgpt")
    before = counts(store)
    again = write_conversations(store, read_chatgpt(path), "chatgpt")
    assert again.conversations_added == again.conversations_updated == again.messages_added == 0
    assert counts(store) == before


def test_updated_export_adds_only_the_new_messages(tmp_path: Path, store: HistoryStore) -> None:
    write_conversations(store, read_chatgpt(real_export_zip(tmp_path / "old.zip")), "chatgpt")
    before = counts(store)
    items = copy.deepcopy(fixture_items())
    greetings = items[0]
    last = greetings["current_node"]
    greetings["mapping"][last]["children"] = ["new-user"]
    for key, role, text, when, parent in [
        ("new-user", "user", "And in Korean?", 1716900000.0, last),
        ("new-answer", "assistant", "안녕하세요", 1716900005.0, "new-user"),
    ]:
        greetings["mapping"][key] = {
            "id": key, "parent": parent, "children": ["new-answer"] if role == "user" else [],
            "message": {"id": key, "author": {"role": role, "name": None, "metadata": {}},
                        "create_time": when, "content": {"content_type": "text", "parts": [text]},
                        "metadata": {"model_slug": "gpt-4o"} if role == "assistant" else {}},
        }  # fmt: skip
    greetings["current_node"] = "new-answer"
    report = write_conversations(
        store, read_chatgpt(real_export_zip(tmp_path / "new.zip", items)), "chatgpt"
    )
    assert (report.conversations_added, report.conversations_updated) == (0, 1)
    assert report.messages_added == 2
    assert counts(store) == (before[0], before[1] + 2, before[2] + 2)
    conv = store.find_conversation_by_source("chatgpt", GREETINGS)
    assert conv is not None and conv.updated_at == "2024-05-28T12:40:05.000+00:00"
    main = store.messages(conv.id)
    assert [m.content for m in main][-3:] == ["You're welcome! 😊", "And in Korean?", "안녕하세요"]
    assert main[-2].parent_id == main[-3].id


def test_a_changed_main_line_is_followed(tmp_path: Path, store: HistoryStore) -> None:
    write_conversations(store, read_chatgpt(FIXTURES), "chatgpt")
    items = copy.deepcopy(fixture_items())
    items[0]["current_node"] = "9b1e0c4e-0005-4a8e-9d1b-aaaaaaaaaaa5"  # back to the old branch
    (tmp_path / "conversations.json").write_text(json.dumps(items), encoding="utf-8")
    report = write_conversations(store, read_chatgpt(tmp_path / "conversations.json"), "chatgpt")
    assert (report.conversations_updated, report.messages_added) == (1, 0)
    conv = store.find_conversation_by_source("chatgpt", GREETINGS)
    assert conv is not None
    main = [m.content for m in store.messages(conv.id)]
    assert main[2:] == ["Now in Hebrew please", "שלום (shalom)"]


def test_a_conversation_deleted_here_is_not_revived(tmp_path: Path, store: HistoryStore) -> None:
    write_conversations(store, read_chatgpt(FIXTURES), "chatgpt")
    conv = store.find_conversation_by_source("chatgpt", GREETINGS)
    store.delete_conversation(conv.id)
    report = write_conversations(store, read_chatgpt(FIXTURES), "chatgpt")
    assert report.conversations_added == 0
    assert store.get_conversation(conv.id) is None


def test_a_truncated_file_imports_nothing_and_says_where(
    tmp_path: Path, store: HistoryStore
) -> None:
    data = (FIXTURES / "conversations.json").read_bytes()
    cut = data.index(CATS.encode()) + 200  # the first conversation is whole, the second is not
    path = make_zip(tmp_path / "export.zip", {"conversations.json": data[:cut], "user.json": "{}"})
    with pytest.raises(ImportFormatError) as caught:
        write_conversations(store, read_chatgpt(path), "chatgpt")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("conversations.json in export.zip: the file ends in the middle")
    assert f"byte {cut:,}" in message and "truncated" in message
    assert counts(store) == (0, 0, 0)


def test_damaged_json_says_where(tmp_path: Path) -> None:
    data = bytearray((FIXTURES / "conversations.json").read_bytes())
    at = data.index(CATS.encode())
    data[at - 30 : at - 29] = b"}"
    (tmp_path / "conversations.json").write_bytes(bytes(data))
    damaged = r"^conversations\.json: the JSON is damaged near byte "
    with pytest.raises(ImportFormatError, match=damaged):
        list(read_chatgpt(tmp_path / "conversations.json"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b'{"conversations": []}', "does not hold a list of conversations"),
        (b"[1, 2]", "item 1 is not a conversation"),
    ],
)
def test_files_that_are_not_exports(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "conversations.json"
    path.write_bytes(content)
    with pytest.raises(ImportFormatError, match=expected) as caught:
        list(read_chatgpt(path))
    assert "\n" not in str(caught.value)


def test_a_claude_export_is_recognised(tmp_path: Path) -> None:
    claude = Path(__file__).parent / "fixtures" / "claude" / "conversations.json"
    with pytest.raises(ImportFormatError, match="this is a Claude export.*import claude"):
        list(read_chatgpt(claude))


def test_unreadable_exports_fail_at_once(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="no such file"):
        read_chatgpt(tmp_path / "missing.zip")
    no_json = make_zip(tmp_path / "photos.zip", {"cat.jpg": b"\xff\xd8"})
    with pytest.raises(ImportFormatError, match="^photos.zip: there is no conversations.json"):
        read_chatgpt(no_json)
    whole = real_export_zip(tmp_path / "export.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ImportFormatError, match="^cut.zip: the zip file is incomplete"):
        read_chatgpt(tmp_path / "cut.zip")


def test_cancel_leaves_nothing(tmp_path: Path, store: HistoryStore) -> None:
    asked = 0

    def cancel() -> bool:
        nonlocal asked
        asked += 1
        return asked > 2

    with pytest.raises(ImportCancelled):
        write_conversations(store, read_chatgpt(FIXTURES), "chatgpt", cancel=cancel)
    assert counts(store) == (0, 0, 0)
    # the full-text index still follows new messages (the import's trick was rolled back)
    conv = store.create_conversation("after")
    store.add_message(conv.id, "user", "quokka sighting")
    assert [h.conversation_id for h in store.search("quokka")] == [conv.id]


def test_the_index_trigger_is_back_after_an_import(tmp_path: Path, store: HistoryStore) -> None:
    write_conversations(store, read_chatgpt(FIXTURES), "chatgpt")
    conv = store.create_conversation("after")
    message = store.add_message(conv.id, "user", "wombat parade")
    assert [h.message_id for h in store.search("wombat")] == [message.id]
    with closing(sqlite3.connect(store.path)) as conn:
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        triggers = {r[0] for r in rows if r[0].startswith("messages_fts")}
    assert triggers == {"messages_fts_insert", "messages_fts_delete", "messages_fts_update"}


def test_continues_after_existing_history(tmp_path: Path, store: HistoryStore) -> None:
    mine = store.create_conversation("mine")
    store.add_message(mine.id, "user", "my own words")
    write_conversations(store, read_chatgpt(FIXTURES), "chatgpt")
    assert [m.content for m in store.messages(mine.id)] == ["my own words"]
    assert [h.conversation_id for h in store.search("own words")] == [mine.id]
    assert store.count_conversations() == 4


def test_a_reply_stamped_before_its_question_stays_after_it(
    tmp_path: Path, store: HistoryStore
) -> None:
    items = fixture_items()[:1]
    thanks = items[0]["mapping"]["9b1e0c4e-0009-4a8e-9d1b-aaaaaaaaaaa9"]["message"]
    thanks["create_time"] = 1716700000.0  # a skewed clock: a day before the answer it follows
    (tmp_path / "conversations.json").write_text(json.dumps(items), encoding="utf-8")
    write_conversations(store, read_chatgpt(tmp_path / "conversations.json"), "chatgpt")
    conv = store.find_conversation_by_source("chatgpt", GREETINGS)
    assert conv is not None
    main = [m.content for m in store.messages(conv.id)]
    assert main[-3:] == ["שלום! こんにちは! 🌸 (regenerated)", "Thanks", "You're welcome! 😊"]


def test_a_damaged_zip_member_imports_nothing(tmp_path: Path, store: HistoryStore) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.write(FIXTURES / "conversations.json", "conversations.json")
    data = bytearray(path.read_bytes())
    at = data.index(b"You're welcome")
    data[at : at + 3] = b"YOU"  # the bytes still parse, but the checksum no longer matches
    path.write_bytes(bytes(data))
    damaged = "^conversations.json in export.zip: the zip is damaged"
    with pytest.raises(ImportFormatError, match=damaged):
        write_conversations(store, read_chatgpt(path), "chatgpt")
    assert counts(store) == (0, 0, 0)
