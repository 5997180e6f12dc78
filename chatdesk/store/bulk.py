"""BulkWriter: many conversations, messages and attempts written as one all-or-nothing unit."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from chatdesk.states import MessageStatus
from chatdesk.store.models import ATTEMPT_OUTCOMES, MESSAGE_STATUSES, ROLES, check

# Rows queued before they are sent in one executemany.
BATCH_ROWS = 20_000
# The page cache while a bulk write runs (KiB; SQLite's default is 2 MiB).
BULK_CACHE_KIB = 131_072

_INSERT_CONVERSATION = (
    "INSERT INTO conversations (id, uid, title, system_prompt, preferred_provider, pinned,"
    " created_at, updated_at, source, source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_MESSAGE = (
    "INSERT INTO messages (id, uid, conversation_id, parent_id, role, content, provider, model,"
    " status, created_at, updated_at, source_id, is_alternate)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# With the token counts and finish reason, which imports from other services never have:
# every None bound costs the sqlite3 module a failed adaptation, a few % of a big import.
_INSERT_MESSAGE_COUNTED = (
    "INSERT INTO messages (id, uid, conversation_id, parent_id, role, content, provider, model,"
    " status, created_at, updated_at, source_id, is_alternate, input_tokens, output_tokens,"
    " finish_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ATTEMPT = (
    "INSERT INTO attempts (id, message_id, provider, model, started_at, ended_at, outcome,"
    " error_class, error_message, http_status, streamed_text, continued_from)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATED_AT = 7  # the place of updated_at in a queued conversation row
_FTS_TRIGGER = "messages_fts_insert"


def _uid() -> str:
    """uuid.uuid4().hex, made without the UUID object: a third of the time, and a big
    import makes one per message."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return raw.hex()


class BulkWriter:
    """Writes an import: rows are queued and sent in batches, ids are allocated here.

    Get one from `HistoryStore.bulk_writer()`; what it writes is kept when that `with`
    block ends and dropped entirely if the block raises. Today that is one transaction
    holding the write lock, with the full-text index filled once at the end.

    Ids returned by the `add_*` methods name rows in later calls of this writer (parents,
    lookups, updates) and count what was added. Lookups see every row added so far. The
    writer only adds rows and sets links and flags: it never deletes a row or changes a
    message's content (the index is only filled for new rows, once, at the end).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._conversations: list[list[Any]] = []
        self._queued: dict[int, list[Any]] = {}  # conversation id -> its queued row
        self._messages: list[tuple[Any, ...]] = []
        self._message_sql = _INSERT_MESSAGE  # the statement every queued message row fits
        self._attempts: list[tuple[Any, ...]] = []
        self._next = {table: self._max_id(table) + 1
                      for table in ("conversations", "messages", "attempts")}
        self._first_message = self._next["messages"]
        # messages added with a kept id below _first_message, indexed one by one at the end
        self._index_too: list[int] = []

    def _max_id(self, table: str) -> int:
        return int(self._conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])

    def _id(self, sql: str, params: tuple[Any, ...]) -> int | None:
        """The first column of the first row (after sending what is queued), or None."""
        self.flush()
        row = self._conn.execute(sql, params).fetchone()
        return int(row[0]) if row else None

    def _new_id(self, table: str, keep: Any) -> int:
        """`keep` if it is a free id (an export's own), else the next one after every id."""
        nxt = self._next[table]
        if isinstance(keep, int) and keep > 0:
            kept = int(keep)  # (JSON's true is an int to Python, and 1 to SQLite)
            if kept >= nxt:
                self._next[table] = kept + 1
                return kept
            if self._id(f"SELECT 1 FROM {table} WHERE id = ?", (kept,)) is None:
                if table == "messages" and kept < self._first_message:
                    self._index_too.append(kept)
                return kept
        self._next[table] = nxt + 1
        return nxt

    def _check_full(self) -> None:
        if len(self._messages) + len(self._attempts) >= BATCH_ROWS:
            self.flush()

    # -- lookups -----------------------------------------------------------------------

    def imported_conversations(self, source: str) -> dict[str, tuple[int, bool]]:
        """Conversations imported from `source`: source_id -> (id, deleted here)."""
        self.flush()
        rows = self._conn.execute(
            "SELECT source_id, id, deleted_at FROM conversations WHERE source = ?", (source,)
        )
        return {r[0]: (r[1], r[2] is not None) for r in rows}

    def imported_messages(self, conversation_id: int) -> dict[str, tuple[int, bool]]:
        """A conversation's imported messages: source_id -> (id, is_alternate)."""
        self.flush()
        rows = self._conn.execute(
            "SELECT source_id, id, is_alternate FROM messages"
            " WHERE conversation_id = ? AND source_id IS NOT NULL",
            (conversation_id,),
        )
        return {r[0]: (r[1], bool(r[2])) for r in rows}

    def conversation_by_uid(self, uid: str) -> int | None:
        return self._id("SELECT id FROM conversations WHERE uid = ?", (uid,))

    def conversation_by_source(self, source: str, source_id: str) -> int | None:
        """Deleted ones too, so that an import does not bring one back."""
        return self._id(
            "SELECT id FROM conversations WHERE source = ? AND source_id = ?", (source, source_id)
        )

    def message_by_uid(self, uid: str) -> int | None:
        return self._id("SELECT id FROM messages WHERE uid = ?", (uid,))

    def message_uids(self, conversation_id: int) -> dict[str, int]:
        """A conversation's messages: uid -> id."""
        self.flush()
        rows = self._conn.execute(
            "SELECT uid, id FROM messages WHERE conversation_id = ?", (conversation_id,)
        )
        return {r[0]: r[1] for r in rows}

    # -- adding rows -------------------------------------------------------------------

    def add_conversation(
        self,
        *,
        created_at: str,
        updated_at: str | None = None,
        title: str | None = None,
        system_prompt: str | None = None,
        preferred_provider: str | None = None,
        pinned: bool = False,
        source: str | None = None,
        source_id: str | None = None,
        uid: str | None = None,
        id: int | None = None,
    ) -> int:
        """Queue a conversation; `id` is kept if free, a missing `uid` is made up."""
        cid = self._new_id("conversations", id)
        row = [cid, uid or _uid(), title, system_prompt, preferred_provider, int(bool(pinned)),
               created_at, updated_at or created_at, source, source_id]
        self._conversations.append(row)
        self._queued[cid] = row
        return cid

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        created_at: str,
        *,
        updated_at: str | None = None,
        status: str = MessageStatus.COMPLETE,
        parent_id: int | None = None,
        provider: str | None = None,
        model: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        finish_reason: str | None = None,
        source_id: str | None = None,
        is_alternate: bool = False,
        uid: str | None = None,
        id: int | None = None,
    ) -> int:
        """Queue a message of a conversation added or found through this writer.

        `parent_id` must be added already. The conversation's updated_at is left alone
        (see `touch_conversation`).
        """
        if role not in ROLES:
            check(role, ROLES, "role")
        if status not in MESSAGE_STATUSES:
            check(status, MESSAGE_STATUSES, "status")
        if id is None:  # the common case, kept short: a big import adds a million of these
            mid = self._next["messages"]
            self._next["messages"] = mid + 1
        else:
            mid = self._new_id("messages", id)
        row: tuple[Any, ...] = (
            mid, uid or _uid(), conversation_id, parent_id, role, content, provider, model,
            status, created_at, updated_at or created_at, source_id, int(is_alternate))
        sql = _INSERT_MESSAGE
        if input_tokens is not None or output_tokens is not None or finish_reason is not None:
            sql = _INSERT_MESSAGE_COUNTED
            row += (input_tokens, output_tokens, finish_reason)
        if sql is not self._message_sql:  # one statement per batch, rows kept in order
            self.flush()
            self._message_sql = sql
        self._messages.append(row)
        if len(self._messages) >= BATCH_ROWS:
            self.flush()
        return mid

    def add_attempt(
        self,
        message_id: int,
        provider: str,
        started_at: str,
        *,
        outcome: str,
        model: str | None = None,
        ended_at: str | None = None,
        error_class: str | None = None,
        error_message: str | None = None,
        http_status: int | None = None,
        streamed_text: str = "",
    ) -> int:
        """Queue one provider attempt at a message (see `set_continued_from`)."""
        check(outcome, ATTEMPT_OUTCOMES, "outcome")
        aid = self._new_id("attempts", None)
        self._attempts.append(
            (aid, message_id, provider, model, started_at, ended_at, outcome, error_class,
             error_message, http_status, streamed_text, None)
        )  # fmt: skip
        self._check_full()
        return aid

    # -- changing what is there --------------------------------------------------------

    def touch_conversation(self, conversation_id: int, when: str) -> None:
        """Raise the conversation's updated_at to `when` (never lowers it)."""
        row = self._queued.get(conversation_id)
        if row is not None:
            row[_UPDATED_AT] = max(row[_UPDATED_AT], when)
            return
        self.flush()
        self._conn.execute(
            "UPDATE conversations SET updated_at = max(updated_at, ?) WHERE id = ?",
            (when, conversation_id),
        )

    def set_alternates(self, flags: Iterable[tuple[int, bool]]) -> None:
        """(message id, is_alternate) for each message whose place changed."""
        self.flush()
        self._conn.executemany(
            "UPDATE messages SET is_alternate = ? WHERE id = ?",
            [(int(alt), mid) for mid, alt in flags],
        )

    def set_parent(self, message_id: int, parent_id: int) -> None:
        self.flush()
        self._conn.execute(
            "UPDATE messages SET parent_id = ? WHERE id = ?", (parent_id, message_id)
        )

    def set_continued_from(self, attempt_id: int, continued_from: int) -> None:
        self.flush()
        self._conn.execute(
            "UPDATE attempts SET continued_from = ? WHERE id = ?", (continued_from, attempt_id)
        )

    def flush(self) -> None:
        """Send the queued rows (conversations, then messages, then attempts)."""
        if self._conversations:
            self._conn.executemany(_INSERT_CONVERSATION, self._conversations)
            self._conversations.clear()
            self._queued.clear()
        if self._messages:
            self._conn.executemany(self._message_sql, self._messages)
            self._messages.clear()
        if self._attempts:
            self._conn.executemany(_INSERT_ATTEMPT, self._attempts)
            self._attempts.clear()

    def _finish(self) -> None:
        """Send what is queued and index the new messages (the caller then commits)."""
        self.flush()
        self._conn.execute(
            "INSERT INTO messages_fts(rowid, content)"
            " SELECT id, content FROM messages WHERE id >= ?",
            (self._first_message,),
        )
        self._conn.executemany(
            "INSERT INTO messages_fts(rowid, content) SELECT id, content FROM messages"
            " WHERE id = ?",
            [(mid,) for mid in self._index_too],
        )


@contextmanager
def bulk_session(conn: sqlite3.Connection) -> Iterator[BulkWriter]:
    """A BulkWriter on `conn`, which must be inside a write transaction (rolled back on error).

    The per-row index trigger is dropped for the session and the new messages indexed in
    one INSERT … SELECT at the end: ten times faster for a big export. Dropping and
    re-creating it happen inside the transaction, so a rollback leaves it as it was.
    """
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        row = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_FTS_TRIGGER,)
        ).fetchone()
        writer = BulkWriter(conn)
        if row is None:  # not ours to index (the file has no such trigger): rows as they are
            yield writer
            writer.flush()
            return
        conn.execute(f"DROP TRIGGER {_FTS_TRIGGER}")
        yield writer
        writer._finish()
        conn.execute(row[0])
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
