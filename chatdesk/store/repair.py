"""`chatdesk repair`: copy what SQLite can still read of a damaged history into a new file."""

from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chatdesk.store import backups, schema
from chatdesk.store.errors import StoreError
from chatdesk.store.walcheck import is_sound

log = logging.getLogger(__name__)

_MAX_JUMP = 1 << 24
_RECOVERED_TITLE = "Recovered messages (their conversation could not be read)"


@dataclass(frozen=True)
class RepairReport:
    """What `repair_history` did; `damaged` is where the original now is (None: it was sound)."""

    damaged: Path | None
    conversations: int = 0
    messages: int = 0
    unreadable: int = 0  # stretches of rows that could not be read and were skipped


def _copy_table(src: sqlite3.Connection, dest: sqlite3.Connection, table: str) -> tuple[int, int]:
    """Copy the rows of `table` that can be read, by rowid, jumping over unreadable ones.
    Returns (rows copied, stretches skipped)."""
    try:
        theirs = [row[1] for row in src.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError:
        return 0, 1
    ours = {row[1] for row in dest.execute(f"PRAGMA table_info({table})")}
    columns = [c for c in theirs if c in ours]
    if not columns:
        return 0, 0
    names = ", ".join(columns)
    select = f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid"
    insert = (f"INSERT OR IGNORE INTO {table} (rowid, {names}) "
              f"VALUES ({', '.join('?' * (len(columns) + 1))})")
    copied = skipped = 0
    last, jump = -(1 << 62), 0  # the last rowid read; how far past it the next try starts
    while True:
        try:
            for row in src.execute(select, (last + jump,)):
                dest.execute(insert, tuple(row))
                copied, last = copied + 1, row[0]
                if jump:
                    skipped, jump = skipped + 1, 0
            return copied, skipped
        except sqlite3.DatabaseError:
            # Damage after `last`: try further on, twice as far each time, until rows read.
            jump = max(1, jump * 2)
            if jump > _MAX_JUMP:
                return copied, skipped + 1
            last = max(last, 0)


def _adopt_orphans(dest: sqlite3.Connection) -> None:
    """Messages whose conversation was unreadable go into one conversation of their own."""
    orphans = "SELECT id FROM messages WHERE conversation_id NOT IN (SELECT id FROM conversations)"
    if dest.execute(orphans + " LIMIT 1").fetchone() is None:
        return
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    cur = dest.execute(
        "INSERT INTO conversations (uid, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (os.urandom(16).hex(), _RECOVERED_TITLE, now, now))
    dest.execute(f"UPDATE messages SET conversation_id = ? WHERE id IN ({orphans})",
                 (cur.lastrowid,))


def _salvage(path: Path, target: Path) -> RepairReport:
    conn, _ = schema.connect_writable(target)  # a new file of this version's schema
    with closing(conn) as dest, closing(sqlite3.connect(
            path.resolve().as_uri() + "?mode=ro", uri=True)) as src:
        dest.execute("PRAGMA foreign_keys = OFF")
        dest.execute("BEGIN")
        counts: dict[str, int] = {}
        unreadable = 0
        for table in ("conversations", "messages", "attempts", "provider_health", "blobs",
                      "message_parts", "prompts", "presets"):
            counts[table], skipped = _copy_table(src, dest, table)
            unreadable += skipped
        dest.execute("DELETE FROM attempts WHERE message_id NOT IN (SELECT id FROM messages)")
        # A part whose message or bytes were lost goes; so do bytes no part names.
        dest.execute("DELETE FROM message_parts WHERE message_id NOT IN (SELECT id FROM messages)"
                     " OR sha256 NOT IN (SELECT sha256 FROM blobs)")
        dest.execute("DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM message_parts)")
        dest.execute("UPDATE messages SET parent_id = NULL "
                     "WHERE parent_id NOT IN (SELECT id FROM messages)")
        _adopt_orphans(dest)
        dest.execute("COMMIT")
    return RepairReport(None, counts["conversations"], counts["messages"], unreadable)


def repair_history(path: Path) -> RepairReport:
    """Salvage a damaged `path` into a new file that takes its name; the original (and its
    -wal) is kept beside it as `NAME.damaged-STAMP`. A sound file is left alone. Quit the
    app first: a process that has the file open would go on writing to the damaged one."""
    if not path.exists():
        raise StoreError(f"There is no history file at {path}, so there is nothing to repair.")
    if is_sound(path):
        return RepairReport(None)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    target = path.with_name(f"{path.name}.repaired-{stamp}")
    try:
        report = _salvage(path, target)
    except (sqlite3.Error, OSError, StoreError) as exc:
        for leftover in (target, *(target.with_name(target.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
        raise StoreError(f"Could not repair {path.name} ({exc}); it was left as it was.") from exc
    damaged = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        with suppress(FileNotFoundError):
            os.replace(path.with_name(path.name + suffix), damaged.with_name(damaged.name + suffix))
    os.replace(target, path)
    backups.suspect_marker(path).unlink(missing_ok=True)
    log.info("repaired %s: %s; the damaged file is %s", path, report, damaged)
    return RepairReport(damaged, report.conversations, report.messages, report.unreadable)
