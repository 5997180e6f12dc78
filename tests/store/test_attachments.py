"""Attachments in the history file: the v6 migration, bytes stored once, round trips, purge."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import sqlite_utils

from chatdesk.parts import Attachment, AttachmentInfo, PartKind
from chatdesk.store import HistoryStore, NotFoundError, StoreError, schema_version
from chatdesk.store import schema as schema_module

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def image(data: bytes = PNG, name: str = "shot.png") -> Attachment:
    return Attachment(PartKind.IMAGE, name, "image/png", data)


def text_file(text: str, name: str = "notes.txt") -> Attachment:
    return Attachment(PartKind.TEXT_FILE, name, "text/plain", text.encode(), text)


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_migration_from_v5_keeps_everything_adds_the_tables_and_backs_up(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    v6 = schema_module.MIGRATIONS.index(schema_module._v6_attachments)
    up_to_v6 = schema_module.MIGRATIONS[:v6 + 1]  # this test is of that one step
    monkeypatch.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:v6])
    with HistoryStore.open(db_path) as old:
        conv = old.create_conversation("Before attachments", system_prompt="Be brief.")
        question = old.add_message(conv.id, "user", "what about the walrus")
        answer = old.add_message(conv.id, "assistant", "it talked of many things")
        old.finish_message(answer.id, content="it talked of many things", status="complete",
                           provider="p", model="m", reasoning="thinking of shoes")
        old.db.conn.execute(  # as a v5 chatdesk wrote it (later columns did not exist)
            "INSERT INTO attempts (message_id, provider, model, started_at, outcome,"
            " streamed_text) VALUES (?, 'p', 'm', '2026-01-01T00:00:00.000Z', 'ok', 'it talked')",
            (answer.id,))
        old.db.conn.commit()
        before = {t: old.db.execute(f"SELECT * FROM {t}").fetchall()
                  for t in ("conversations", "messages", "attempts")}
        assert "blobs" not in tables(old.db.conn)
    monkeypatch.setattr(schema_module, "MIGRATIONS", up_to_v6)

    with HistoryStore.open(db_path) as s:
        assert s.db.conn.execute("PRAGMA user_version").fetchone()[0] == schema_version() > v6
        assert {"blobs", "message_parts", "blobs_fts"} <= tables(s.db.conn)
        for table, rows in before.items():  # later migrations may add columns at the end
            after = s.db.execute(f"SELECT * FROM {table}").fetchall()
            assert [tuple(a)[:len(b)] for a, b in zip(after, rows, strict=True)] == \
                [tuple(b) for b in rows]
        assert s.search("walrus")[0].message_id == question.id
        assert s.attachments([question.id, answer.id]) == {}
        s.add_attachments(question.id, [image()])  # the new tables work on the old file
        assert s.attachment_infos([question.id])[question.id][0].name == "shot.png"
        backup = s.backup_path

    assert backup is not None and re.fullmatch(rf"history\.db\.bak-v{v6}-\d{{14}}", backup.name)
    with closing(sqlite3.connect(backup)) as kept:
        assert kept.execute("PRAGMA user_version").fetchone()[0] == v6
        assert "blobs" not in tables(kept)
        assert kept.execute("SELECT content FROM messages WHERE id = ?",
                            (question.id,)).fetchone()[0] == "what about the walrus"


def test_a_v5_file_opened_read_only_has_no_attachments(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    v6 = schema_module.MIGRATIONS.index(schema_module._v6_attachments)
    monkeypatch.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:v6])
    with HistoryStore.open(db_path) as old:
        msg = old.add_message(old.create_conversation().id, "user", "hi")
    monkeypatch.undo()
    with HistoryStore.open_readonly(db_path) as s:  # migrated in memory, the file untouched
        assert s.attachment_infos([msg.id]) == {}
        assert s.attachment_data(hashlib.sha256(PNG).hexdigest()) is None
    with closing(sqlite3.connect(db_path)) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == v6


def test_round_trip_bytes_text_and_order(store: HistoryStore) -> None:
    conv = store.create_conversation()
    msg = store.add_message(conv.id, "user", "look")
    other = store.add_message(conv.id, "user", "and this")
    files = [image(), text_file("line one\nline two", "a.md"), image(PNG + b"x", "b.png")]
    store.add_attachments(msg.id, files[:2])
    store.add_attachments(msg.id, files[2:])  # appended after the ones it has
    store.add_attachments(other.id, [files[1]])

    got = store.attachments([msg.id, other.id, 999])
    assert got[msg.id] == files
    assert got[msg.id][1].text == "line one\nline two"
    assert got[other.id] == [files[1]]
    assert 999 not in got
    infos = store.attachment_infos([msg.id])[msg.id]
    assert infos == [AttachmentInfo(f.kind, f.name, f.media_type, f.size, f.sha256)
                     for f in files]
    assert store.attachment_data(files[0].sha256) == PNG
    assert store.attachment_data(files[0].sha256.upper()) == PNG
    assert store.attachment_data("0" * 64) is None
    assert store.attachments([]) == {}


def test_the_head_of_a_file_is_its_first_bytes(store: HistoryStore) -> None:
    conv = store.create_conversation()
    msg = store.add_message(conv.id, "user", "a big one")
    data = bytes(range(256)) * 400  # 100 KB
    big = Attachment(PartKind.IMAGE, "big.png", "image/png", PNG + data)
    store.add_attachments(msg.id, [big])
    assert store.attachment_head(big.sha256) == (PNG + data)[:4096]
    assert store.attachment_head(big.sha256, 10) == (PNG + data)[:10]
    assert store.attachment_head(big.sha256, 10**6) == PNG + data  # shorter than asked
    assert store.attachment_head("0" * 64) is None


def test_same_bytes_are_stored_once(store: HistoryStore) -> None:
    conv = store.create_conversation()
    ids = [store.add_message(conv.id, "user", f"again {n}").id for n in range(3)]
    for msg_id in ids:
        store.add_attachments(msg_id, [image(name=f"copy-{msg_id}.png"), image()])
    assert store.blob_count() == 1
    assert store.db.execute("SELECT count(*) FROM message_parts").fetchone()[0] == 6
    stored = store.db.execute("SELECT sum(length(data)) FROM blobs").fetchone()[0]
    assert stored == len(PNG)
    names = [a.name for a in store.attachments(ids)[ids[1]]]
    assert names == [f"copy-{ids[1]}.png", "shot.png"]


def test_later_text_fills_a_blob_stored_without(store: HistoryStore) -> None:
    conv = store.create_conversation()
    data = b"%PDF-1.4 pretend"
    a = store.add_message(conv.id, "user", "one")
    b = store.add_message(conv.id, "user", "two")
    store.add_attachments(a.id, [Attachment(PartKind.DOCUMENT, "d.pdf", "application/pdf", data)])
    store.add_attachments(b.id, [Attachment(PartKind.DOCUMENT, "d.pdf", "application/pdf", data,
                                            "quarterly zeppelin figures")])
    assert store.attachments([a.id])[a.id][0].text == "quarterly zeppelin figures"


def test_an_address_that_is_not_the_hash_is_refused(store: HistoryStore) -> None:
    msg = store.add_message(store.create_conversation().id, "user", "x")
    forged = Attachment(PartKind.IMAGE, "f.png", "image/png", PNG, sha256="ab" * 32)
    with pytest.raises(ValueError, match="sha256"):
        store.add_attachments(msg.id, [image(b"\x89PNG\r\n\x1a\nother"), forged])
    assert store.blob_count() == 0 and store.attachments([msg.id]) == {}


def test_attaching_to_a_missing_message_saves_nothing(store: HistoryStore) -> None:
    with pytest.raises(NotFoundError):
        store.add_attachments(12345, [image()])
    assert store.blob_count() == 0


def test_a_failed_transaction_keeps_no_bytes(store: HistoryStore) -> None:
    conv = store.create_conversation()
    with pytest.raises(RuntimeError), store.transaction():
        msg = store.add_message(conv.id, "user", "with a file")
        store.add_attachments(msg.id, [image()])
        raise RuntimeError("cancelled")
    assert store.blob_count() == 0
    assert store.db.execute("SELECT count(*) FROM message_parts").fetchone()[0] == 0


def test_purge_removes_parts_and_unreferenced_blobs_only(store: HistoryStore) -> None:
    shared, own = image(), image(PNG + b"own", "own.png")
    keep = store.create_conversation("keep")
    kept_msg = store.add_message(keep.id, "user", "kept")
    store.add_attachments(kept_msg.id, [shared])
    gone = store.create_conversation("gone")
    gone_msg = store.add_message(gone.id, "user", "gone")
    store.add_attachments(gone_msg.id, [shared, own, text_file("unique aardvark words")])
    assert store.blob_count() == 3
    assert [h.message_id for h in store.search("aardvark")] == [gone_msg.id]

    store.delete_conversation(gone.id)  # in the Trash: everything still there
    assert store.blob_count() == 3
    assert store.purge_deleted(0) == 1
    assert store.attachments([gone_msg.id]) == {}
    assert store.blob_count() == 1
    assert store.attachment_data(shared.sha256) == PNG
    assert store.attachment_data(own.sha256) is None
    assert store.search("aardvark") == []
    assert store.db.execute("SELECT count(*) FROM message_parts").fetchone()[0] == 1


def test_deleting_a_message_frees_its_files(store: HistoryStore) -> None:
    msg = store.add_message(store.create_conversation().id, "user", "x")
    store.add_attachments(msg.id, [image()])
    store.delete_message(msg.id)
    assert store.blob_count() == 0


def test_read_only_store_refuses_to_attach(db_path: Path) -> None:
    with HistoryStore.open(db_path) as s:
        msg = s.add_message(s.create_conversation().id, "user", "x")
    with HistoryStore.open_readonly(db_path) as ro, pytest.raises(StoreError):
        ro.add_attachments(msg.id, [image()])


def test_sqlite_utils_sees_the_blob_fts(store: HistoryStore) -> None:
    db: sqlite_utils.Database = store.db
    assert db.table("blobs").detect_fts() == "blobs_fts"


# -- search -------------------------------------------------------------------------------

def test_search_finds_words_in_a_pdf_and_leads_to_its_message(store: HistoryStore) -> None:
    from chatdesk.attachment_files import attachment_from_bytes
    from tests.pdfs import make_pdf

    conv = store.create_conversation("Reports")
    msg = store.add_message(conv.id, "user", "Summarise this please")
    store.add_attachments(msg.id, [attachment_from_bytes(
        "q3.pdf", make_pdf("Revenue of the zeppelin division", "Dirigible margins rose"))])
    store.add_message(conv.id, "assistant", "It is about airships.")

    [hit] = store.search("dirigible margins")
    assert (hit.message_id, hit.conversation_id, hit.role) == (msg.id, conv.id, "user")
    assert hit.attachment == "q3.pdf"
    assert "[Dirigible] [margins]" in hit.snippet
    assert [h.message_id for h in store.search("zeppel*")] == [msg.id]
    assert store.search("airships")[0].attachment is None  # the message's own text

    store.delete_conversation(conv.id)  # in the Trash: not found
    assert store.search("dirigible") == []
    store.restore_conversation(conv.id)
    assert [h.message_id for h in store.search("dirigible")] == [msg.id]


def test_one_hit_per_message_and_every_message_sharing_the_file(store: HistoryStore) -> None:
    conv = store.create_conversation()
    first = store.add_message(conv.id, "user", "the okapi file")
    again = store.add_message(conv.id, "user", "once more")
    notes = text_file("okapi sightings, okapi tracks")
    store.add_attachments(first.id, [notes, notes])
    store.add_attachments(again.id, [notes])
    hits = store.search("okapi")
    assert sorted(h.message_id for h in hits) == [first.id, again.id]
    from chatdesk.store import hit_to_json
    assert hit_to_json(next(h for h in hits if h.message_id == again.id))["attachment"] \
        == "notes.txt"
    assert "attachment" not in hit_to_json(store.search("once")[0])


def test_a_long_attachment_gets_a_short_snippet(store: HistoryStore) -> None:
    msg = store.add_message(store.create_conversation().id, "user", "big log")
    body = ("filler words here " * 5000) + "the quokka appeared" + (" more filler" * 5000)
    store.add_attachments(msg.id, [text_file(body, "big.log")])
    [hit] = store.search("quokka")
    assert "[quokka]" in hit.snippet and len(hit.snippet) < 400


def test_the_attachment_index_stays_consistent(store: HistoryStore) -> None:
    conv = store.create_conversation()
    for n in range(3):
        msg = store.add_message(conv.id, "user", f"m{n}")
        store.add_attachments(msg.id, [text_file(f"word{n} shared", f"f{n}.txt")])
    store.delete_message(msg.id)
    store.db.execute("INSERT INTO blobs_fts(blobs_fts, rank) VALUES ('integrity-check', 1)")
    assert len(store.search("shared")) == 2


def test_repair_salvages_the_files_with_their_messages(db_path: Path) -> None:
    from chatdesk.store.repair import _salvage

    with HistoryStore.open(db_path) as s:
        msg = s.add_message(s.create_conversation().id, "user", "with files")
        s.add_attachments(msg.id, [image(), text_file("salvaged wombat notes")])
        gone = s.add_message(msg.conversation_id, "user", "about to lose its message")
        s.add_attachments(gone.id, [image(PNG + b"lost", "lost.png")])
    with closing(sqlite3.connect(db_path)) as raw:  # as if the message's page were lost
        raw.execute("PRAGMA foreign_keys = OFF")
        raw.execute("DELETE FROM messages WHERE id = ?", (gone.id,))
        raw.commit()
    target = db_path.with_name("repaired.db")
    _salvage(db_path, target)
    with HistoryStore.open(target) as s:
        assert s.attachments([msg.id])[msg.id] == [image(), text_file("salvaged wombat notes")]
        assert s.blob_count() == 2  # lost.png's bytes went with the message
        assert [h.message_id for h in s.search("wombat")] == [msg.id]
