"""The bulk writer imports use: ids, links, the full-text index, batches, all or nothing."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore, ReadOnlyError, bulk, bulk_txn


class Boom(Exception):
    pass


def triggers(db_path: Path) -> set[str]:
    with closing(sqlite3.connect(db_path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}


def check_index(db_path: Path) -> None:
    """FTS5's own check that the index holds exactly the messages' content (rank 1)."""
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")


def counts(store: HistoryStore) -> tuple[int, ...]:
    """Conversations, messages, attempts and indexed messages."""
    conn = store.db.conn
    return tuple(
        int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        for table in ("conversations", "messages", "attempts", "messages_fts_docsize")
    )


def test_ids_follow_the_existing_rows_and_search_finds_the_messages(
    store: HistoryStore, db_path: Path
) -> None:
    mine = store.create_conversation("mine")
    first = store.add_message(mine.id, "user", "my own aardvark")
    with store.bulk_writer() as w:
        cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00", title="Imported",
                                 source="chatgpt", source_id="c1")
        q = w.add_message(cid, "user", "a question about the aardvark",
                          "2024-05-01T10:00:00.000+00:00", source_id="m1")
        a = w.add_message(cid, "assistant", "the aardvark digs", "2024-05-01T10:00:01.000+00:00",
                          parent_id=q, provider="openai", model="gpt-4o", source_id="m2")
        attempt = w.add_attempt(a, "openai", "2024-05-01T10:00:00.500+00:00", outcome="ok",
                                streamed_text="the aardvark digs")
    assert cid == mine.id + 1 and (q, a) == (first.id + 1, first.id + 2) and attempt == 1
    stored = store.messages(cid)
    assert [(m.id, m.parent_id, m.role, m.status) for m in stored] == [
        (q, None, "user", "complete"), (a, q, "assistant", "complete")]
    assert all(re.fullmatch(r"[0-9a-f]{32}", m.uid) for m in stored)
    assert all(uuid.UUID(hex=m.uid).version == 4 for m in stored)
    assert all(uuid.UUID(hex=m.uid).variant == uuid.RFC_4122 for m in stored)
    assert stored[1].updated_at == stored[1].created_at
    assert {h.message_id for h in store.search("aardvark")} == {first.id, q, a}
    assert store.attempts(a)[0].streamed_text == "the aardvark digs"
    conv = store.get_conversation(cid)
    assert conv is not None and (conv.title, conv.source, conv.source_id) == (
        "Imported", "chatgpt", "c1")
    assert conv.updated_at == conv.created_at  # adding messages does not touch it by itself
    check_index(db_path)
    assert {t for t in triggers(db_path) if t.startswith("messages_fts")} == {
        "messages_fts_insert", "messages_fts_delete", "messages_fts_update"}
    later = store.add_message(cid, "user", "and the pangolin?")  # the trigger works again
    assert [h.message_id for h in store.search("pangolin")] == [later.id]


def test_an_error_leaves_nothing_and_the_index_as_it_was(
    store: HistoryStore, db_path: Path
) -> None:
    cache = store.db.conn.execute("PRAGMA cache_size").fetchone()[0]
    with pytest.raises(Boom), store.bulk_writer() as w:
        cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
        w.add_message(cid, "user", "numbat", "2024-05-01T10:00:00.000+00:00")
        w.flush()  # even rows already sent to SQLite go
        w.add_message(cid, "user", "quoll", "2024-05-01T10:00:00.000+00:00")
        raise Boom()
    assert counts(store) == (0, 0, 0, 0)
    assert store.db.conn.execute("PRAGMA cache_size").fetchone()[0] == cache
    assert "messages_fts_insert" in triggers(db_path)
    conv = store.create_conversation()
    msg = store.add_message(conv.id, "user", "numbat again")
    assert [h.message_id for h in store.search("numbat")] == [msg.id]
    check_index(db_path)


def test_a_bad_role_is_refused_and_nothing_is_kept(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="role must be one of assistant, system, tool, user"):
        with store.bulk_writer() as w:
            cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
            w.add_message(cid, "user", "fine", "2024-05-01T10:00:00.000+00:00")
            w.add_message(cid, "robot", "not fine", "2024-05-01T10:00:00.000+00:00")
    assert counts(store) == (0, 0, 0, 0)


def test_batches_are_sent_as_they_fill(store: HistoryStore, db_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "BATCH_ROWS", 3)
    with store.bulk_writer() as w:
        cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
        parent = None
        for n in range(10):
            parent = w.add_message(cid, "user", f"echidna number{n}",
                                   f"2024-05-01T10:00:{n:02d}.000+00:00", parent_id=parent)
        sent = store.db.conn.execute("SELECT count(*) FROM messages WHERE conversation_id = ?",
                                     (cid,)).fetchone()[0]
        assert sent == 9  # three batches of three, one row still queued
        with HistoryStore.open(db_path) as other:  # committed, but not shown before the end
            assert other.count_conversations() == 0 and other.search("echidna") == []
        w.touch_conversation(cid, "2024-05-01T10:00:09.000+00:00")  # after its row was sent
    assert len(store.search("echidna", limit=50)) == 10
    conv = store.get_conversation(cid)
    assert conv is not None and conv.updated_at == "2024-05-01T10:00:09.000+00:00"
    check_index(db_path)


def test_touch_never_lowers_updated_at(store: HistoryStore) -> None:
    with store.bulk_writer() as w:
        queued = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00",
                                    updated_at="2024-06-01T00:00:00.000+00:00")
        w.touch_conversation(queued, "2024-05-15T00:00:00.000+00:00")  # still queued
        stored = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
        w.touch_conversation(stored, "2024-07-01T00:00:00.000+00:00")
        w.flush()
        w.touch_conversation(stored, "2024-06-15T00:00:00.000+00:00")  # sent: an UPDATE
    first, second = store.get_conversation(queued), store.get_conversation(stored)
    assert first is not None and first.updated_at == "2024-06-01T00:00:00.000+00:00"
    assert second is not None and second.updated_at == "2024-07-01T00:00:00.000+00:00"


def test_lookups_see_rows_still_queued(store: HistoryStore) -> None:
    gone = store.create_conversation(source="claude", source_id="gone")
    store.delete_conversation(gone.id)
    with store.bulk_writer() as w:
        cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00", uid="c" * 32,
                                 source="claude", source_id="here")
        mid = w.add_message(cid, "user", "hello", "2024-05-01T10:00:00.000+00:00",
                            uid="m" * 32, source_id="s1", is_alternate=True)
        assert w.conversation_by_uid("c" * 32) == cid
        assert w.conversation_by_source("claude", "here") == cid
        assert w.conversation_by_source("claude", "nope") is None
        assert w.message_by_uid("m" * 32) == mid and w.message_by_uid("x") is None
        assert w.message_uids(cid) == {"m" * 32: mid}
        assert w.imported_messages(cid) == {"s1": (mid, True)}
        assert w.imported_conversations("claude") == {"gone": (gone.id, True),
                                                      "here": (cid, False)}


def test_flags_and_links_set_afterwards(store: HistoryStore) -> None:
    with store.bulk_writer() as w:
        cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
        child = w.add_message(cid, "assistant", "child", "2024-05-01T10:00:01.000+00:00")
        parent = w.add_message(cid, "user", "parent", "2024-05-01T10:00:00.000+00:00",
                               is_alternate=True)
        w.set_parent(child, parent)
        w.set_alternates([(parent, False), (child, True)])
        first = w.add_attempt(child, "anthropic", "2024-05-01T10:00:00.100+00:00",
                              outcome="failed", error_class="overloaded")
        second = w.add_attempt(child, "openai", "2024-05-01T10:00:00.200+00:00", outcome="ok")
        w.set_continued_from(second, first)
    child_row, parent_row = store.get_message(child), store.get_message(parent)
    assert child_row is not None and parent_row is not None
    assert (child_row.parent_id, child_row.is_alternate, parent_row.is_alternate) == (
        parent, True, False)
    assert [(a.id, a.continued_from) for a in store.attempts(child)] == [(first, None),
                                                                         (second, first)]


def test_kept_ids_when_free_and_the_next_ones_otherwise(
    store: HistoryStore, db_path: Path
) -> None:
    conv = store.create_conversation("mine")
    low = store.add_message(conv.id, "user", "one")
    store.add_message(conv.id, "user", "two")
    top = store.add_message(conv.id, "user", "three")
    store.delete_message(low.id)  # a free id below the others
    with store.bulk_writer() as w:
        taken = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00", id=conv.id)
        far = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00", id=50)
        after = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00", id=0)
        kept = w.add_message(far, "user", "platypus below", "2024-05-01T10:00:00.000+00:00",
                             id=low.id)
        clash = w.add_message(far, "user", "platypus clash", "2024-05-01T10:00:00.000+00:00",
                              id=top.id)
        high = w.add_message(far, "user", "platypus high", "2024-05-01T10:00:00.000+00:00",
                             id=100)
        nxt = w.add_message(far, "user", "platypus next", "2024-05-01T10:00:00.000+00:00")
    assert (taken, far, after) == (conv.id + 1, 50, 51)
    assert (kept, clash, high, nxt) == (low.id, top.id + 1, 100, 101)
    assert {h.message_id for h in store.search("platypus")} == {kept, clash, high, nxt}
    check_index(db_path)


def test_a_read_only_store_has_no_bulk_writer(store: HistoryStore, db_path: Path) -> None:
    with HistoryStore.open_readonly(db_path) as ro, pytest.raises(ReadOnlyError):
        with ro.bulk_writer():
            pass


def test_a_file_without_the_index_trigger_is_written_as_it_is(
    store: HistoryStore, db_path: Path
) -> None:
    store.db.conn.execute("DROP TRIGGER messages_fts_insert")
    with store.bulk_writer() as w:
        cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
        w.add_message(cid, "user", "wallaby", "2024-05-01T10:00:00.000+00:00")
    assert counts(store) == (1, 1, 0, 0)
    assert "messages_fts_insert" not in triggers(db_path)


def test_rows_written_beside_an_import_keep_their_ids_and_the_index_right(
    store: HistoryStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer between the import's transactions: its rows land above the ids the
    import reserved (small here, so the import moves past them often), nothing collides,
    and the index holds every message once."""
    monkeypatch.setattr(bulk, "BATCH_ROWS", 5)
    for table, span in (("conversations", 4), ("messages", 8), ("attempts", 8)):
        monkeypatch.setitem(bulk_txn.RESERVED_IDS, table, span)
    chat: list[int] = []
    with HistoryStore.open(db_path) as other, store.bulk_writer() as w:
        for c in range(6):
            cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
            for m in range(4):
                mid = w.add_message(cid, "user", f"bilby {c} {m}", "2024-05-01T10:00:00.000+00:00")
                w.add_attempt(mid, "openai", "2024-05-01T10:00:00.000+00:00", outcome="ok")
            w.flush(commit=True)
            mine = other.create_conversation()
            chat.append(other.add_message(mine.id, "user", f"bilby chat {c}").id)
            assert {h.message_id for h in other.search("bilby", limit=100)} == set(chat)
        many = [w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
                for _ in range(10)]  # more than reserved, with nothing sent meanwhile
        for cid in many:
            w.add_message(cid, "user", "bilby again", "2024-05-01T10:00:00.000+00:00")
        w.add_message(many[0], "user", "bilby far", "2024-05-01T10:00:00.000+00:00", id=500)
    hits = store.search("bilby", limit=100)
    assert len(hits) == len({h.message_id for h in hits}) == 6 * 4 + 6 + 11
    assert counts(store) == (22, 41, 24, 41)
    assert 500 in {h.message_id for h in hits}
    check_index(db_path)


def test_a_writers_uids_are_distinct_version_4_uuids_in_ascending_order() -> None:
    made, other = bulk_txn.UidSequence(), bulk_txn.UidSequence()
    uids = [made() for _ in range(1000)]
    assert uids == sorted(uids) and len(set(uids)) == 1000
    assert all(uuid.UUID(hex=u).version == 4 and uuid.UUID(hex=u).variant == uuid.RFC_4122
               for u in uids)
    assert not set(uids) & {other() for _ in range(1000)}


def _write_some(store: HistoryStore, conversations: int = 30) -> None:
    with store.bulk_writer() as w:
        for n in range(conversations):
            cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00",
                                     source="chatgpt", source_id=f"c{n}")
            for i in range(20):
                w.add_message(cid, "user", f"message {i} of {n} " * 20,
                              "2024-05-01T10:00:00.000+00:00", source_id=f"m{i}")


def test_a_bulk_write_leaves_the_wal_empty(
    store: HistoryStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BATCH_ROWS", 100)  # several of the writer's transactions
    _write_some(store)
    wal = Path(f"{db_path}-wal")
    assert wal.exists() and wal.stat().st_size == 0  # checkpointed, and emptied
    assert counts(store)[:2] == (30, 600)
    assert store.db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert store.db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    check_index(db_path)


def test_a_reader_holding_the_wal_does_not_hold_up_the_end_of_a_bulk_write(
    store: HistoryStore, db_path: Path
) -> None:
    store.add_message(store.create_conversation("mine").id, "user", "here before")
    with closing(sqlite3.connect(db_path, isolation_level=None)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM messages").fetchone()  # an old snapshot, held
        started = time.monotonic()
        _write_some(store)
        took = time.monotonic() - started
        assert reader.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
        reader.execute("COMMIT")
    assert took < 3  # the checkpoint gives up on the reader after _SHRINK_WAIT_MS
    assert counts(store)[:2] == (31, 601)
