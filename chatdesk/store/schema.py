"""The history file's schema: DDL, forward-only migrations, backups and opening connections."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chatdesk.paths import make_private, private_opener
from chatdesk.store import errors, walcheck
from chatdesk.store.backups import copy_database
from chatdesk.store.errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
_SQLITE_MAGIC = b"SQLite format 3\x00"

_V1 = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    title TEXT,
    system_prompt TEXT,
    preferred_provider TEXT,
    pinned INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    source TEXT,
    source_id TEXT,
    deleted_at TEXT
);
CREATE UNIQUE INDEX conversations_source ON conversations(source, source_id)
    WHERE source IS NOT NULL AND source_id IS NOT NULL;
CREATE INDEX conversations_order ON conversations(pinned DESC, updated_at DESC);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    provider TEXT,
    model TEXT,
    status TEXT NOT NULL DEFAULT 'complete',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    finish_reason TEXT,
    source_id TEXT,
    is_alternate INTEGER NOT NULL DEFAULT 0,
    claimed_until REAL
);
CREATE INDEX messages_conversation ON messages(conversation_id, created_at, id);
CREATE INDEX messages_parent ON messages(parent_id);
CREATE INDEX messages_pending ON messages(created_at, id) WHERE status = 'pending';
CREATE INDEX messages_source ON messages(conversation_id, source_id)
    WHERE source_id IS NOT NULL;
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    model TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT NOT NULL DEFAULT 'running',
    error_class TEXT,
    error_message TEXT,
    http_status INTEGER,
    streamed_text TEXT NOT NULL DEFAULT '',
    continued_from INTEGER REFERENCES attempts(id) ON DELETE SET NULL
);
CREATE INDEX attempts_message ON attempts(message_id, started_at);
CREATE INDEX attempts_continued ON attempts(continued_from);
CREATE TABLE provider_health (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    down_until REAL,
    last_error TEXT,
    last_error_class TEXT,
    updated_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content="messages",
    content_rowid="id",
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
"""


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several statements without `executescript`, which would COMMIT the migration."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            conn.execute(pending)
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement: {pending.strip()[:60]}")


def _v1_initial(conn: sqlite3.Connection) -> None:
    run_script(conn, _V1)


def _v2_claim_owners(conn: sqlite3.Connection) -> None:
    """Which process holds a claim or runs an attempt, so a dead one's are recovered at once."""
    conn.execute("ALTER TABLE messages ADD COLUMN claimed_by TEXT")
    conn.execute("ALTER TABLE attempts ADD COLUMN owner TEXT")
    # Recovery at each start looks only at these few rows, never at the whole history.
    conn.execute("CREATE INDEX messages_claimed ON messages(id) WHERE claimed_by IS NOT NULL")
    conn.execute("CREATE INDEX attempts_running ON attempts(id) WHERE outcome = 'running'")


def _v3_health_times(conn: sqlite3.Connection) -> None:
    """When each provider last answered and last failed: "never tried" is then a state, and
    the status bar can say when it last worked."""
    conn.execute("ALTER TABLE provider_health ADD COLUMN last_success_at REAL")
    conn.execute("ALTER TABLE provider_health ADD COLUMN last_failure_at REAL")


def _v4_first_token_times(conn: sqlite3.Connection) -> None:
    """How long each attempt waited for its first token: a provider answering much later
    than usual shows as slow. The index keeps reading one provider's latest ones instant."""
    conn.execute("ALTER TABLE attempts ADD COLUMN first_token_s REAL")
    conn.execute("CREATE INDEX attempts_first_token ON attempts(provider, id)"
                 " WHERE first_token_s IS NOT NULL")


def _v5_reasoning(conn: sqlite3.Connection) -> None:
    """An answer's reasoning (thinking) beside its text: kept and shown, never sent back to
    a provider as the answer (issue 14)."""
    conn.execute("ALTER TABLE messages ADD COLUMN reasoning TEXT")


# Attachments (issue 15). Bytes live in `blobs`, once per SHA-256 however often they are
# attached; `message_parts` says which message has which, in order. `id` is the blob's
# rowid made explicit: VACUUM may renumber an implicit rowid, and blobs_fts is keyed by it.
# `text` is what search and text-only readers get (a text file's text, a PDF's extracted
# text). A blob is deleted with the last part that names it (the trigger), so purging a
# conversation frees its files, and the FTS rows follow the blobs.
_V6 = """
CREATE TABLE blobs (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    text TEXT
);
CREATE TABLE message_parts (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    UNIQUE (message_id, position)
);
CREATE INDEX message_parts_blob ON message_parts(sha256);
CREATE TRIGGER message_parts_unreferenced AFTER DELETE ON message_parts
WHEN NOT EXISTS (SELECT 1 FROM message_parts WHERE sha256 = old.sha256)
BEGIN
    DELETE FROM blobs WHERE sha256 = old.sha256;
END;
CREATE VIRTUAL TABLE blobs_fts USING fts5(
    text,
    content="blobs",
    content_rowid="id",
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER blobs_fts_insert AFTER INSERT ON blobs WHEN new.text IS NOT NULL BEGIN
    INSERT INTO blobs_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER blobs_fts_delete AFTER DELETE ON blobs WHEN old.text IS NOT NULL BEGIN
    INSERT INTO blobs_fts(blobs_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER blobs_fts_update_old AFTER UPDATE OF text ON blobs WHEN old.text IS NOT NULL
BEGIN
    INSERT INTO blobs_fts(blobs_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER blobs_fts_update_new AFTER UPDATE OF text ON blobs WHEN new.text IS NOT NULL
BEGIN
    INSERT INTO blobs_fts(rowid, text) VALUES (new.id, new.text);
END;
"""


def _v6_attachments(conn: sqlite3.Connection) -> None:
    """Messages made of parts: images, PDFs and text files kept inside the history file."""
    run_script(conn, _V6)


# The prompt library and presets (issue 16): kept in the history file, so a copy of it
# carries them. A preset's provider order is a JSON list of {"provider", "model"}; a
# conversation names the preset it follows (by name: a deleted preset leaves the default).
_V7 = """
CREATE TABLE prompts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    last_used_at TEXT
);
CREATE TABLE presets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    system_prompt TEXT,
    providers TEXT NOT NULL DEFAULT '[]',
    temperature REAL,
    max_tokens INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
ALTER TABLE conversations ADD COLUMN preset TEXT;
"""


def _v7_prompts_and_presets(conn: sqlite3.Connection) -> None:
    """Saved prompts with their use counts, presets, and the preset of each conversation."""
    run_script(conn, _V7)


_V8 = """
ALTER TABLE messages ADD COLUMN cached_input_tokens INTEGER;
ALTER TABLE messages ADD COLUMN reasoning_tokens INTEGER;
CREATE TABLE budget_notices (
    provider TEXT NOT NULL,
    month TEXT NOT NULL,
    level INTEGER NOT NULL,
    noticed_at TEXT NOT NULL,
    PRIMARY KEY (provider, month, level)
);
"""


def _v8_usage(conn: sqlite3.Connection) -> None:
    """What an answer cost (issue 16): the prompt tokens read from the provider's cache and
    the thinking tokens, which some providers bill at other rates; and which budget warnings
    (80 %, spent) were given this month, so each is given once across processes."""
    run_script(conn, _V8)


def _v9_key_pools(conn: sqlite3.Connection) -> None:
    """Several keys per provider (issue 16): which key each attempt used, by fingerprint
    ('sk-…3f9a', never the key), and each key's own health, shared by every process like
    provider_health."""
    conn.execute("ALTER TABLE attempts ADD COLUMN key_fingerprint TEXT")
    conn.execute(
        "CREATE TABLE key_health ("
        " provider TEXT NOT NULL,"
        " fingerprint TEXT NOT NULL,"
        " state TEXT NOT NULL,"
        " failures INTEGER NOT NULL DEFAULT 0,"
        " down_until REAL,"
        " last_error_class TEXT,"
        " updated_at TEXT NOT NULL,"
        " PRIMARY KEY (provider, fingerprint))")


# Forward only: MIGRATIONS[n] takes a file from user_version n to n + 1. Never edit a
# released entry; append a new function instead.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1_initial, _v2_claim_owners, _v3_health_times, _v4_first_token_times, _v5_reasoning,
    _v6_attachments, _v7_prompts_and_presets, _v8_usage, _v9_key_pools,
]


def schema_version() -> int:
    """The schema version this chatdesk writes (read at call time so tests can patch it)."""
    return len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


@dataclass(frozen=True)
class Header:
    """What the first 100 bytes of a file say, read without opening it with SQLite."""

    exists: bool
    size: int = 0
    is_sqlite: bool = False
    wal: bool = False
    user_version: int = 0


def read_header(path: Path) -> Header:
    try:
        with path.open("rb") as f:
            head = f.read(100)
        size = path.stat().st_size
    except FileNotFoundError:
        return Header(exists=False)
    except OSError as exc:
        raise StoreError(f"Could not read {path.name}: {exc.strerror or exc}.") from exc
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        return Header(exists=True, size=size)
    return Header(
        exists=True,
        size=size,
        is_sqlite=True,
        wal=head[18] == 2,
        user_version=int.from_bytes(head[60:64], "big", signed=True),
    )


def _wal_path(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


EMPTY_WAIT_S = 1.0  # how long a 0-byte file may be another process creating the history


def _refuse_empty(path: Path, header: Header) -> Header:
    """SQLite would build a new history over a 0-byte file (a sync tool or a full disk may
    leave one): refuse it, unless another process is just creating it. Returns the header."""
    deadline = time.monotonic() + EMPTY_WAIT_S
    while header.exists and header.size == 0:
        if time.monotonic() > deadline:
            raise errors.empty_file(path)
        time.sleep(0.02)
        header = read_header(path)
    return header


def _refuse_stray_wal(path: Path) -> None:
    """SQLite would replay another file's -wal into this one: refuse it."""
    if _wal_path(path).exists():
        why = walcheck.stray_wal(path)
        if why is not None:
            raise errors.stray_wal(path, why)


def _create_private(path: Path) -> bool:
    """Create the new history file 0600 (sqlite3 would make it 0644); False if another
    process got there first, or if it cannot be made (then SQLite will say why)."""
    try:
        os.close(private_opener(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except OSError:
        return False
    return True


def _make_files_private(path: Path) -> None:
    """history.db and its -wal/-shm 0600 (SQLite gives -wal/-shm the file's own mode)."""
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        make_private(path.with_name(name))


def _check_is_chatdesk(conn: sqlite3.Connection, name: str) -> int:
    """The file's user_version, after making sure the file is ours (or empty)."""
    conn.execute("BEGIN")  # one snapshot: another process may be creating the tables right now
    try:
        version = user_version(conn)
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        if conn.in_transaction:  # SQLite ends it by itself on some errors (a full disk)
            conn.execute("COMMIT")
    if version > schema_version():
        raise errors.newer_schema(name, version, schema_version())
    if version == 0 and tables:
        raise errors.not_a_history_file(name, "it is a SQLite database of another program")
    if version > 0 and not {"conversations", "messages"} <= tables:
        raise errors.not_a_history_file(name, "it has no conversations in it")
    return version


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. The switch needs an exclusive lock and SQLite does not wait for it."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 5) & 0xFF != 5 or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def connect_writable(path: Path) -> tuple[sqlite3.Connection, Path | None]:
    """Open (creating or migrating) a history file for writing; returns (conn, backup made)."""
    name = path.name
    header = _refuse_empty(path, read_header(path))
    if header.exists:
        _refuse_stray_wal(path)
    if header.size and not header.is_sqlite:
        raise errors.not_a_history_file(name, "it is not a SQLite database")
    if header.user_version > schema_version() and not _wal_path(path).exists():
        raise errors.newer_schema(name, header.user_version, schema_version())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Could not create the folder for {name}: {exc.strerror or exc}.") from exc
    created = not header.exists and _create_private(path)
    _make_files_private(path)
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_is_chatdesk(conn, name)
        _use_wal(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        backup = migrate(conn, path)
    except BaseException as exc:
        conn.close()
        if created:
            with suppress(OSError):  # ours, and never written: not a file to refuse next time
                if path.stat().st_size == 0:
                    path.unlink()
        if isinstance(exc, sqlite3.Error):
            raise errors.translate(exc, name, writing=True, path=path) from exc
        raise
    return conn, backup


def connect_readonly(path: Path) -> sqlite3.Connection:
    """Open a history file with `mode=ro`: no migration, no write, no -wal/-shm left behind.

    A WAL file that no one has open (no -wal beside it) is opened `immutable=1`, which also
    works on read-only media. An older schema is copied into memory and migrated there.
    """
    name = path.name
    header = read_header(path)
    if not header.exists:
        raise StoreError(f"There is no history file at {path}. Check the path and try again.")
    _refuse_stray_wal(path)
    if not header.is_sqlite:
        why = "it is empty" if header.size == 0 else "it is not a SQLite database"
        raise errors.not_a_history_file(name, why)
    immutable = header.wal and not _wal_path(path).exists()
    try:
        try:
            conn, version = _connect_uri(path, immutable)
        except sqlite3.OperationalError:
            if immutable:
                raise
            conn, version = _connect_uri(path, immutable=True)  # e.g. a read-only folder
        try:
            if version > schema_version():
                raise errors.newer_schema(name, version, schema_version())
            if version == 0:
                raise errors.not_a_history_file(name, "it has no chatdesk tables")
            _check_is_chatdesk(conn, name)
            if version < schema_version():
                conn = _migrated_copy_in_memory(conn)
            conn.execute("PRAGMA query_only = ON")
        except BaseException:
            conn.close()
            raise
    except sqlite3.Error as exc:
        raise errors.translate(exc, name, writing=False, path=path) from exc
    return conn


def _connect_uri(path: Path, immutable: bool) -> tuple[sqlite3.Connection, int]:
    uri = path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn, user_version(conn)  # the first read is where opening errors surface
    except BaseException:
        conn.close()
        raise


def _migrated_copy_in_memory(conn: sqlite3.Connection) -> sqlite3.Connection:
    memory = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.backup(memory)
        conn.close()
        memory.row_factory = sqlite3.Row
        migrate(memory, None)
    except BaseException:
        memory.close()
        raise
    return memory


def backup_beside(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the open database (its WAL included) to `NAME.bak-v{version}-{UTC stamp}`."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    target = path.with_name(f"{path.name}.bak-v{version}-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bak-v{version}-{stamp}-{n}")
        n += 1
    try:
        copy_database(conn, target)
    except (sqlite3.Error, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreError(
            f"Could not back up {path.name} before updating its format ({reason}); nothing "
            "was changed. Free some disk space or check the folder's permissions and try again."
        ) from exc
    log.info("backed up %s (schema %d) to %s", path, version, target)
    return target


def migrate(conn: sqlite3.Connection, path: Path | None) -> Path | None:
    """Bring `conn` to schema_version(); one transaction per step. Returns the backup made."""
    known = schema_version()
    start = user_version(conn)
    name = path.name if path else "the history file"
    if start > known:
        raise errors.newer_schema(name, start, known)
    if start == known:
        return None
    backup = backup_beside(conn, path, start) if start >= 1 and path is not None else None
    # A new file is created at the latest version in one transaction: a second process
    # opening it meanwhile must never find it half made (and back up a file of nothing).
    steps = [range(0, known)] if start == 0 else [range(v, v + 1) for v in range(start, known)]
    for step in steps:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for version in step:
                if user_version(conn) <= version:  # another process may have done this step
                    MIGRATIONS[version](conn)
                    conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error) and errors.is_environmental(exc):
                raise errors.translate(exc, name, writing=True) from exc
            if not isinstance(exc, Exception):
                raise
            kept = f" A copy from before the update is at {backup.name}." if backup else ""
            raise StoreError(
                f"Could not update {name} to this chatdesk's format (step {version + 1}: "
                f"{exc}). The file was left as it was before that step.{kept} "
                "Please report this."
            ) from exc
    return backup
