"""Opening files: pragmas, migrations with backups, newer and foreign files, read-only, errors."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
import sqlite_utils

from chatdesk.store import (
    HealthRow,
    HistoryStore,
    NewerSchemaError,
    ReadOnlyError,
    StoreError,
    schema_version,
)
from chatdesk.store import schema as schema_module
from chatdesk.store.errors import translate

V = schema_version()  # what make_v1_file writes: the current version, before extra steps


def make_v1_file(path: Path) -> tuple[int, int]:
    with HistoryStore.open(path) as s:
        conv = s.create_conversation("Kept through migrations")
        msg = s.add_message(conv.id, "user", "remember the walrus")
    return conv.id, msg.id


def add_notes_column(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE conversations ADD COLUMN notes TEXT")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def extra_migration(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    def patch(*steps: Callable[[sqlite3.Connection], None]) -> None:
        monkeypatch.setattr(schema_module, "MIGRATIONS", [*schema_module.MIGRATIONS, *steps])

    return patch


def test_pragmas_and_tables(store: HistoryStore) -> None:
    conn = store.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version() >= 1
    tables = set(store.db.table_names())
    assert {"conversations", "messages", "attempts", "provider_health", "messages_fts"} <= tables
    assert store.db["messages"].columns_dict["is_alternate"] is int
    assert store.db["messages"].detect_fts() == "messages_fts"  # sqlite-utils/Datasette find it
    assert store.backup_path is None  # a brand-new file needs no backup


def test_new_file_gets_no_backup(db_path: Path) -> None:
    HistoryStore.open(db_path).close()
    HistoryStore.open(db_path).close()  # reopening at the current version: no backup either
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["history.db"]


def test_migration_backs_up_and_keeps_data(db_path: Path, extra_migration) -> None:  # noqa: ANN001
    conv_id, msg_id = make_v1_file(db_path)
    extra_migration(add_notes_column)

    with HistoryStore.open(db_path) as s:
        assert s.db.conn.execute("PRAGMA user_version").fetchone()[0] == V + 1
        assert "notes" in s.db["conversations"].columns_dict
        assert s.get_conversation(conv_id).title == "Kept through migrations"  # type: ignore[union-attr]
        assert s.search("walrus")[0].message_id == msg_id
        backup = s.backup_path

    assert backup is not None and backup.parent == db_path.parent
    assert re.fullmatch(rf"history\.db\.bak-v{V}-\d{{14}}", backup.name)
    backups = [p for p in db_path.parent.iterdir() if ".bak-" in p.name]
    assert backups == [backup]
    old = sqlite_utils.Database(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == V
    assert old["messages"].get(msg_id)["content"] == "remember the walrus"
    assert "notes" not in old["conversations"].columns_dict


def test_backup_includes_uncheckpointed_wal(db_path: Path, extra_migration) -> None:  # noqa: ANN001
    make_v1_file(db_path)
    writer = HistoryStore.open(db_path)  # keeps the WAL alive with a fresh commit in it
    writer.db.conn.execute("PRAGMA wal_autocheckpoint = 0")
    late = writer.add_message(1, "user", "only in the wal so far")
    assert Path(str(db_path) + "-wal").stat().st_size > 0
    try:
        extra_migration(add_notes_column)
        with HistoryStore.open(db_path) as s:
            backup = s.backup_path
        assert backup is not None
        assert sqlite_utils.Database(backup)["messages"].get(late.id)["content"] == late.content
    finally:
        writer.close()


def test_failed_migration_changes_nothing(db_path: Path, extra_migration) -> None:  # noqa: ANN001
    conv_id, _ = make_v1_file(db_path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE conversations ADD COLUMN half_done TEXT")
        raise RuntimeError("bug in step")

    extra_migration(broken)
    with pytest.raises(StoreError, match="Could not update history.db") as info:
        HistoryStore.open(db_path)
    assert f"bak-v{V}-" in str(info.value)
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == V
        columns = [r[1] for r in conn.execute("PRAGMA table_info(conversations)")]
        assert "half_done" not in columns
        assert conn.execute("SELECT title FROM conversations").fetchone()[0] is not None


def test_newer_schema_refused_and_untouched(db_path: Path) -> None:
    make_v1_file(db_path)
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("PRAGMA user_version = 99")
    before = snapshot(db_path.parent)
    expected = (
        f"history.db was written by a newer chatdesk (schema 99; this version knows up to "
        f"{schema_version()}). Update chatdesk to open it."
    )
    with pytest.raises(NewerSchemaError) as info:
        HistoryStore.open(db_path)
    assert str(info.value) == expected
    with pytest.raises(NewerSchemaError):
        HistoryStore.open_readonly(db_path)
    assert snapshot(db_path.parent) == before


def test_newer_schema_with_live_wal_is_refused(db_path: Path) -> None:
    make_v1_file(db_path)
    holder = sqlite3.connect(db_path)  # keeps -wal beside the file, so the slow path runs
    try:
        newer = schema_version() + 1
        holder.execute(f"PRAGMA user_version = {newer}")
        holder.commit()
        with pytest.raises(NewerSchemaError, match=f"schema {newer}"):
            HistoryStore.open(db_path)
        assert holder.execute("PRAGMA user_version").fetchone()[0] == newer
    finally:
        holder.close()


@pytest.fixture
def readonly_copy(tmp_path: Path, db_path: Path) -> Iterator[Path]:
    with HistoryStore.open(db_path) as s:
        conv = s.create_conversation("Archived")
        s.add_message(conv.id, "user", "read only please")
        s.add_message(conv.id, "user", "pending text", status="pending")
    folder = tmp_path / "ro"
    folder.mkdir()
    copy = folder / "history.db"
    copy.write_bytes(db_path.read_bytes())
    copy.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        yield copy
    finally:
        folder.chmod(stat.S_IRWXU)
        copy.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_readonly_reads_refuses_writes_and_leaves_no_files(readonly_copy: Path) -> None:
    before = snapshot(readonly_copy.parent)
    with HistoryStore.open_readonly(readonly_copy) as s:
        assert s.readonly and s.path == readonly_copy
        [summary] = s.list_conversations()
        assert summary.title == "Archived" and summary.message_count == 2
        assert s.search("please")[0].snippet == "read only [please]"
        assert [m.content for m in s.pending_messages()] == ["pending text"]
        conv_id, msg_id = summary.id, s.pending_messages()[0].id
        writes: list[Callable[[], object]] = [
            lambda: s.create_conversation("x"),
            lambda: s.add_message(conv_id, "user", "x"),
            lambda: s.rename_conversation(conv_id, "x"),
            lambda: s.delete_conversation(conv_id),
            lambda: s.purge_deleted(),
            lambda: s.claim_pending(msg_id),
            lambda: s.update_message_content(msg_id, "x"),
            lambda: s.start_attempt(msg_id, "p", "m"),
            lambda: s.put_health(HealthRow("p", "up")),
            lambda: s.transaction().__enter__(),
        ]
        for write in writes:
            with pytest.raises(ReadOnlyError, match="read-only"):
                write()
        with pytest.raises(sqlite3.OperationalError):  # even the raw connection refuses
            s.db.conn.execute("DELETE FROM messages")
        assert not any(p.name.endswith(("-wal", "-shm")) for p in readonly_copy.parent.iterdir())
    assert snapshot(readonly_copy.parent) == before


def test_readonly_sees_a_live_writer(db_path: Path) -> None:
    with HistoryStore.open(db_path) as writer:
        conv = writer.create_conversation("live")
        reader = HistoryStore.open_readonly(db_path)
        try:
            writer.add_message(conv.id, "user", "written after the reader opened")
            assert [m.content for m in reader.messages(conv.id)] == [
                "written after the reader opened"
            ]
        finally:
            reader.close()


def test_readonly_older_schema_is_migrated_in_memory(db_path: Path, extra_migration) -> None:  # noqa: ANN001
    conv_id, _ = make_v1_file(db_path)
    before = snapshot(db_path.parent)
    extra_migration(add_notes_column)
    with HistoryStore.open_readonly(db_path) as s:
        assert s.get_conversation(conv_id).title == "Kept through migrations"  # type: ignore[union-attr]
        assert "notes" in s.db["conversations"].columns_dict
        assert s.search("walrus")
        with pytest.raises(ReadOnlyError):
            s.add_message(conv_id, "user", "x")
    assert snapshot(db_path.parent) == before  # still v1, no backup made


def test_missing_file_readonly(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no history file"):
        HistoryStore.open_readonly(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.parametrize("content", [b"this is a text file, not a database\n" * 20, b"x"])
def test_not_a_database(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(content)
    for opener in (HistoryStore.open, HistoryStore.open_readonly):
        with pytest.raises(StoreError, match="not a chatdesk history file"):
            opener(path)
    assert path.read_bytes() == content


def test_sqlite_file_of_another_program(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    before = path.read_bytes()
    for opener in (HistoryStore.open, HistoryStore.open_readonly):
        with pytest.raises(StoreError, match="not a chatdesk history file"):
            opener(path)
    assert path.read_bytes() == before
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StoreError, match="not a chatdesk history file"):
        HistoryStore.open_readonly(empty)

    # A 0-byte history.db is the user's file gone wrong (a sync tool, a full disk): it is
    # not silently re-created empty.
    with pytest.raises(StoreError, match=r"empty \(0 bytes\).*did not start a new history"):
        HistoryStore.open(empty)
    assert empty.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "other.db"]


def test_disk_full_is_a_sentence(store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "small")
    pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
    store.db.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreError) as info:
        store.add_message(conv.id, "user", "x" * 200_000)
    assert str(info.value).startswith(
        f"Could not save to history.db: the disk holding {store.path.parent} is full.")
    assert not isinstance(info.value, sqlite3.Error)
    assert [m.content for m in store.messages(conv.id)] == ["small"]  # rolled back, still usable


def test_translate_io_and_busy_errors() -> None:
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorcode = 10 | (3 << 8)  # SQLITE_IOERR_WRITE
    assert "input/output error" in str(translate(io, "history.db", writing=True))
    busy = sqlite3.OperationalError("database is locked")
    assert "busy" in str(translate(busy, "history.db", writing=False))
    ro = sqlite3.OperationalError("attempt to write a readonly database")
    assert isinstance(translate(ro, "history.db", writing=True), ReadOnlyError)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_open_for_writing_in_a_readonly_place(readonly_copy: Path) -> None:
    with pytest.raises(StoreError, match="read-only|cannot be opened"):
        HistoryStore.open(readonly_copy)


def test_a_new_file_is_never_seen_half_made(db_path: Path, extra_migration) -> None:  # noqa: ANN001
    """Another process opening a file being created finds it empty or whole: were the steps
    committed one by one, it would take the half-made file for an old one and back it up."""
    seen: list[int] = []

    def peek(conn: sqlite3.Connection) -> None:
        with closing(sqlite3.connect(db_path)) as other:
            seen.append(other.execute("PRAGMA user_version").fetchone()[0])

    extra_migration(peek)
    HistoryStore.open(db_path).close()
    assert seen == [0]
    assert [p.name for p in db_path.parent.iterdir() if ".bak-" in p.name] == []
