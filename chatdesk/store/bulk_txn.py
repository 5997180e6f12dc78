"""The bulk writer's short transactions: the index filled per transaction, hidden rows and
the ids reserved ahead of it, so other writers never wait long."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from chatdesk.states import MessageStatus
from chatdesk.store.errors import StoreError
from chatdesk.store.models import new_uid, now_iso

# How long one of the writer's transactions may hold the write lock before it commits
# (checked as rows are added), so that other writers never wait long.
COMMIT_AFTER_S = 0.5
# Ids kept free ahead of the writer in each table (see ShortTransactions._reserve): more
# than one transaction adds, and few, as others' rows written meanwhile skip them
# (conversation ids are shown to people).
RESERVED_IDS = {"conversations": 5_000, "messages": 50_000, "attempts": 50_000}
# Messages sent (and indexed) per statement; between two, a long transaction commits.
SEND_ROWS = 10_000
# Conversations deleted per transaction when what an import left hidden is thrown away.
DISCARD_ROWS = 200
# The deleted_at of the conversations an import has not shown yet. Every reader that hides
# deleted conversations hides these; it sorts after every time, so no purge takes them.
HIDDEN = "~importing"
_NO_TOP = 2**62  # no reserved row: every id is free to hand out
FTS_TRIGGER = "messages_fts_insert"

INSERT_HIDDEN = (
    "INSERT INTO conversations (id, uid, title, system_prompt, preferred_provider, pinned,"
    " created_at, updated_at, source, source_id, deleted_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (id, uid, conversation_id, parent_id, role, content, provider, model,"
    " status, created_at, updated_at, source_id, is_alternate)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_ATTEMPT = (
    "INSERT INTO attempts (id, message_id, provider, model, started_at, ended_at, outcome,"
    " error_class, error_message, http_status, streamed_text, continued_from)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class ShortTransactions:
    """What BulkWriter stands on: its transactions, each short, and the ids it hands out.

    Each transaction drops the index trigger, indexes the messages it sends as it sends
    them, and puts the trigger back before it commits. A hidden row at the top of each
    table (see `_reserve`) keeps the ids this writer hands out free. `nested`: inside the
    caller's transaction, which holds it all.
    """

    def __init__(self, conn: sqlite3.Connection, begin: Callable[[], None],
                 nested: bool, trigger_sql: str | None) -> None:
        self._conn = conn
        self._begin = begin
        self._nested = nested  # inside the caller's transaction: it commits, not we
        # the index trigger this writer stands in for (None: the file has none)
        self._trigger_sql = trigger_sql
        self._in_txn = False
        self._txn_started = 0.0
        self._next: dict[str, int] = {}
        self._top: dict[str, int] = {}  # the reserved row of each table (see _reserve)

    def flush(self, commit: bool = False) -> None:
        raise NotImplementedError

    def _send_messages(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """INSERT the rows and index them, SEND_ROWS at a time; a transaction open for
        COMMIT_AFTER_S commits between two of those (rows come parents first)."""
        for start in range(0, len(rows), SEND_ROWS):
            part = rows[start:start + SEND_ROWS]
            self._conn.executemany(sql, part)
            if self._trigger_sql is not None:
                ids = [row[0] for row in part]
                first, last = min(ids), max(ids)
                if last - first == len(ids) - 1:  # (distinct ids) all of first..last
                    self._conn.execute(
                        "INSERT INTO messages_fts(rowid, content) SELECT id, content"
                        " FROM messages WHERE id BETWEEN ? AND ?", (first, last))
                else:
                    self._conn.execute(
                        "INSERT INTO messages_fts(rowid, content) SELECT id, content"
                        " FROM messages WHERE id IN (SELECT value FROM json_each(?))",
                        (json.dumps(ids),))
            if time.monotonic() - self._txn_started >= COMMIT_AFTER_S:
                self._commit()
                self._open()

    def _open(self) -> None:
        """Start a short transaction (if none is open) with the index trigger dropped."""
        if self._in_txn:
            return
        if not self._nested:
            self._begin()
        self._in_txn = True
        self._txn_started = time.monotonic()
        if self._trigger_sql is not None:
            self._conn.execute(f"DROP TRIGGER {FTS_TRIGGER}")

    def _commit(self, past: int = 0, table: str = "") -> None:
        """Put the index trigger back, keep the reserved ids ahead (of `past` in `table`
        too); COMMIT. The reserved rows are written with the trigger in place, so
        deleting them later takes out of the index exactly what they put in."""
        if not self._in_txn:
            return
        if self._trigger_sql is not None:
            self._conn.execute(self._trigger_sql)
        self._reserve(past, table)
        self._in_txn = False
        if not self._nested:
            self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        if self._in_txn and not self._nested:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
        self._in_txn = False

    def _start(self) -> None:
        """The first transaction: ids follow every row there, the reserved rows are made."""
        self._open()
        for table in ("conversations", "messages", "attempts"):
            self._next[table] = self._max_id(table) + 1
            self._top[table] = 0
        if self._nested:  # no other writer until the caller commits: nothing to reserve
            self._top = dict.fromkeys(self._next, _NO_TOP)
        self._commit()

    def _reserve(self, past: int = 0, table: str = "") -> None:
        """Keep a hidden row RESERVED_IDS above the next id of each table (and above `past`
        in `table`). Other writers let SQLite pick their ids (the highest + 1), so theirs
        land above it and the ids this writer hands out stay free until it sends them."""
        if self._nested:
            return
        now = now_iso()
        for name in ("conversations", "messages", "attempts"):
            top = self._top[name]
            wanted = max(self._next[name], past + 1 if name == table else 0)
            if top and top - wanted >= RESERVED_IDS[name] // 2:
                continue
            highest = self._conn.execute(
                f"SELECT coalesce(max(id), 0) FROM {name} WHERE id != ?", (top,)).fetchone()[0]
            if highest >= self._next[name]:  # another writer's rows above ours: skip them
                self._next[name] = highest + 1
            new = max(self._next[name], wanted) + RESERVED_IDS[name]
            if name == "conversations":
                self._conn.execute(INSERT_HIDDEN, (new, new_uid(), None, None, None, 0, now, now,
                                                    None, None, HIDDEN))
                if top:
                    self._conn.execute("UPDATE messages SET conversation_id = ?"
                                       " WHERE conversation_id = ?", (new, top))
                    self._conn.execute("DELETE FROM conversations WHERE id = ?", (top,))
            elif name == "messages":
                self._conn.execute(INSERT_MESSAGE, (
                    new, new_uid(), self._top["conversations"], None, "system", "", None, None,
                    MessageStatus.COMPLETE, now, now, None, 0))
                if top:
                    self._conn.execute("UPDATE attempts SET message_id = ? WHERE message_id = ?",
                                       (new, top))
                    self._conn.execute("DELETE FROM messages WHERE id = ?", (top,))
            else:
                self._conn.execute(INSERT_ATTEMPT, (
                    new, self._top["messages"], "", None, now, now, "cancelled", None, None,
                    None, "", None))
                if top:
                    self._conn.execute("DELETE FROM attempts WHERE id = ?", (top,))
            self._top[name] = new

    def _max_id(self, table: str) -> int:
        return int(self._conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])

    def _id(self, sql: str, params: tuple[Any, ...]) -> int | None:
        """The first column of the first row (after sending what is queued), or None."""
        self.flush()
        row = self._conn.execute(sql, params).fetchone()
        return int(row[0]) if row else None

    def _allocate(self, table: str) -> int:
        nxt = self._next[table]
        if nxt >= self._top[table]:  # more added than reserved (rare): reserve more
            self._make_room(table)
            nxt = self._next[table]
        self._next[table] = nxt + 1
        return nxt

    def _make_room(self, table: str, past: int = 0) -> None:
        """Send what is queued and move the reserved row of `table` up (above `past`)."""
        self.flush(commit=True)
        self._open()
        self._commit(past, table)

    def _new_id(self, table: str, keep: Any) -> int:
        """`keep` if it is a free id (an export's own), else the next one after every id."""
        if isinstance(keep, int) and keep > 0:
            kept = int(keep)  # (JSON's true is an int to Python, and 1 to SQLite)
            if kept >= self._top[table]:
                self._make_room(table, kept)
            if kept >= self._next[table]:
                self._next[table] = kept + 1
                return kept
            if self._id(f"SELECT 1 FROM {table} WHERE id = ?", (kept,)) is None:
                return kept
        return self._allocate(table)

    def _discard_hidden(self) -> None:
        """Delete what an import left hidden (this one failed, or an earlier one never
        ended), a few conversations per transaction."""
        self._rollback()
        while True:
            self._open_plain()
            try:
                gone = self._conn.execute(
                    "DELETE FROM conversations WHERE id IN (SELECT id FROM conversations"
                    " WHERE deleted_at = ? LIMIT ?)", (HIDDEN, DISCARD_ROWS)).rowcount
            except BaseException:
                self._rollback()
                raise
            self._commit_plain()
            if gone < DISCARD_ROWS:
                return

    def _open_plain(self) -> None:
        """A transaction of the writer's own that leaves the index trigger alone."""
        if not self._nested:
            self._begin()
        self._in_txn = True

    def _commit_plain(self) -> None:
        self._in_txn = False
        if not self._nested:
            self._conn.execute("COMMIT")



@contextmanager
def import_lock(path: Path) -> Iterator[None]:
    """One import at a time per history file (a lock the OS drops if the process dies), so
    hidden rows found at the start of an import are an unfinished one's."""
    fd = os.open(path.with_name(path.name + "-import.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StoreError(f"Another import into {path.name} is running; wait for it to "
                             "end, then try again.") from None
        yield
    finally:
        os.close(fd)
