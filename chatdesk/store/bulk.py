"""BulkWriter: many conversations, messages and attempts written as one all-or-nothing unit."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from chatdesk.states import MessageStatus
from chatdesk.store.bulk_txn import (
    COMMIT_AFTER_S,
    FTS_TRIGGER,
    HIDDEN,
    INSERT_ATTEMPT,
    INSERT_HIDDEN,
    INSERT_MESSAGE,
    ShortTransactions,
    import_lock,
)
from chatdesk.store.models import ATTEMPT_OUTCOMES, MESSAGE_STATUSES, ROLES, check, new_uid

# Rows queued before they are sent in one executemany.
BATCH_ROWS = 20_000
# The page cache while a bulk write runs (KiB; SQLite's default is 2 MiB).
BULK_CACHE_KIB = 131_072
_INSERT_MESSAGE_COUNTED = (
    "INSERT INTO messages (id, uid, conversation_id, parent_id, role, content, provider, model,"
    " status, created_at, updated_at, source_id, is_alternate, input_tokens, output_tokens,"
    " finish_reason, reasoning) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATED_AT = 7  # the place of updated_at in a queued conversation row


class BulkWriter(ShortTransactions):
    """Writes an import: rows are queued and sent in batches, ids are allocated here.

    Get one from `HistoryStore.bulk_writer()`; what it writes is kept when that `with`
    block ends and dropped entirely if the block raises. It commits in short transactions
    (`COMMIT_AFTER_S`), so other windows and commands write in between, and stays
    all-or-nothing to readers: the conversations it adds are hidden (their `deleted_at`
    holds `HIDDEN`) and its messages for conversations already there wait in a hidden
    holding conversation, until one short transaction at the end shows them all.
    Changes to rows already there (alternate flags, updated_at) wait for that transaction.

    Ids returned by the `add_*` methods name rows in later calls of this writer (parents,
    lookups, updates) and count what was added. Lookups see every row added so far. The
    writer only adds rows and sets links and flags: it never deletes a row or changes a
    message's content (the index is filled for new rows, once per transaction).
    """

    def __init__(self, conn: sqlite3.Connection, begin: Callable[[], None],
                 nested: bool, trigger_sql: str | None) -> None:
        super().__init__(conn, begin, nested, trigger_sql)
        self._conversations: list[list[Any]] = []
        self._queued: dict[int, list[Any]] = {}  # conversation id -> its queued row
        self._messages: list[tuple[Any, ...]] = []
        self._message_sql = INSERT_MESSAGE  # the statement every queued message row fits
        self._attempts: list[tuple[Any, ...]] = []
        self._updates: list[tuple[str, tuple[Any, ...]]] = []  # links, sent with the rows
        self._at_end: list[tuple[str, tuple[Any, ...]]] = []  # changes to rows already there
        self._own: set[int] = set()  # the conversations this writer added
        self._held: dict[int, list[int]] = {}  # conversation already there -> held messages

    def _check_full(self) -> None:
        if len(self._messages) + len(self._attempts) >= BATCH_ROWS:
            self.flush(commit=True)

    # -- lookups -----------------------------------------------------------------------

    def imported_conversations(self, source: str) -> dict[str, tuple[int, bool]]:
        """Conversations imported from `source`: source_id -> (id, deleted here)."""
        self.flush()
        rows = self._conn.execute(
            "SELECT source_id, id, deleted_at FROM conversations WHERE source = ?", (source,)
        )
        return {r[0]: (r[1], r[2] is not None and r[2] != HIDDEN) for r in rows}

    def _held_rows(self, conversation_id: int, columns: str) -> list[Any]:
        held = self._held.get(conversation_id)
        if not held:
            return []
        return self._conn.execute(
            f"SELECT {columns} FROM messages WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(held),)).fetchall()

    def imported_messages(self, conversation_id: int) -> dict[str, tuple[int, bool]]:
        """A conversation's imported messages: source_id -> (id, is_alternate)."""
        self.flush()
        rows = self._conn.execute(
            "SELECT source_id, id, is_alternate FROM messages"
            " WHERE conversation_id = ? AND source_id IS NOT NULL",
            (conversation_id,),
        ).fetchall()
        rows += [r for r in self._held_rows(conversation_id, "source_id, id, is_alternate")
                 if r[0] is not None]
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
        ).fetchall()
        rows += self._held_rows(conversation_id, "uid, id")
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
        row = [cid, uid or new_uid(), title, system_prompt, preferred_provider, int(bool(pinned)),
               created_at, updated_at or created_at, source, source_id, HIDDEN]
        self._conversations.append(row)
        self._queued[cid] = row
        self._own.add(cid)
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
        reasoning: str | None = None,
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
        if self._in_txn and time.monotonic() - self._txn_started >= COMMIT_AFTER_S:
            self.flush(commit=True)
        if id is None:  # the common case, kept short: a big import adds a million of these
            mid = self._next["messages"]
            if mid < self._top["messages"]:
                self._next["messages"] = mid + 1
            else:
                mid = self._allocate("messages")
        else:
            mid = self._new_id("messages", id)
        stored_in = conversation_id
        if conversation_id not in self._own and not self._nested:  # held until the end
            stored_in = self._top["conversations"]
            self._held.setdefault(conversation_id, []).append(mid)
        row: tuple[Any, ...] = (
            mid, uid or new_uid(), stored_in, parent_id, role, content, provider, model,
            status, created_at, updated_at or created_at, source_id, int(is_alternate))
        sql = INSERT_MESSAGE
        if (input_tokens is not None or output_tokens is not None or finish_reason is not None
                or reasoning):
            sql = _INSERT_MESSAGE_COUNTED
            row += (input_tokens, output_tokens, finish_reason, reasoning or None)
        if sql is not self._message_sql:  # one statement per batch, rows kept in order
            self.flush()
            self._message_sql = sql
        self._messages.append(row)
        if len(self._messages) >= BATCH_ROWS:
            self.flush(commit=True)
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
        aid = self._allocate("attempts")
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
        change = ("UPDATE conversations SET updated_at = max(updated_at, ?) WHERE id = ?",
                  (when, conversation_id))
        (self._updates if conversation_id in self._own else self._at_end).append(change)

    def set_alternates(self, flags: Iterable[tuple[int, bool]]) -> None:
        """(message id, is_alternate) for each message whose place changed (at the end)."""
        self._at_end += [("UPDATE messages SET is_alternate = ? WHERE id = ?", (int(alt), mid))
                         for mid, alt in flags]

    def set_parent(self, message_id: int, parent_id: int) -> None:
        """Link a message this writer added to its parent."""
        self._updates.append(
            ("UPDATE messages SET parent_id = ? WHERE id = ?", (parent_id, message_id)))

    def set_continued_from(self, attempt_id: int, continued_from: int) -> None:
        self._updates.append(("UPDATE attempts SET continued_from = ? WHERE id = ?",
                              (continued_from, attempt_id)))

    def flush(self, commit: bool = False) -> None:
        """Send the queued rows (conversations, then messages, attempts and links), and
        commit if asked or if the transaction has been open for COMMIT_AFTER_S."""
        if self._conversations or self._messages or self._attempts or self._updates:
            self._open()
            if self._conversations:
                self._conn.executemany(INSERT_HIDDEN, self._conversations)
                self._conversations.clear()
                self._queued.clear()
            if self._messages:
                self._send_messages(self._message_sql, self._messages)
                self._messages.clear()
            if self._attempts:
                self._conn.executemany(INSERT_ATTEMPT, self._attempts)
                self._attempts.clear()
            for sql, params in self._updates:
                self._conn.execute(sql, params)
            self._updates.clear()
        if self._in_txn and (commit or time.monotonic() - self._txn_started >= COMMIT_AFTER_S):
            self._commit()

    def _finish(self) -> None:
        """Send what is queued, then show it all in one short transaction."""
        self.flush(commit=True)
        self._open_plain()
        holding = self._top["conversations"]
        self._conn.execute("UPDATE conversations SET deleted_at = NULL"
                           " WHERE deleted_at = ? AND id != ?", (HIDDEN, holding))
        self._conn.executemany("UPDATE messages SET conversation_id = ? WHERE id = ?",
                               [(cid, mid) for cid, mids in self._held.items() for mid in mids])
        for sql, params in self._at_end:
            self._conn.execute(sql, params)
        if not self._nested:
            self._conn.execute("DELETE FROM conversations WHERE id = ?", (holding,))
        self._commit_plain()

@contextmanager
def bulk_session(conn: sqlite3.Connection, begin: Callable[[], None], nested: bool,
                 path: Path) -> Iterator[BulkWriter]:
    """A BulkWriter on `conn`: `begin` starts a write transaction (nested: the caller's
    transaction holds everything, and a rollback of it drops everything).

    The per-row index trigger is dropped during each of the writer's transactions and the
    new messages indexed in one INSERT … SELECT before it commits: ten times faster for a
    big export. Other writers, between those transactions, find the trigger in place.
    """
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        with import_lock(path):
            row = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                (FTS_TRIGGER,)).fetchone()
            own_txn = row is None and not nested
            if own_txn:  # no index to keep right: rows as they are, in one transaction
                begin()
            writer = BulkWriter(conn, begin, nested or own_txn, row[0] if row else None)
            try:
                writer._discard_hidden()
                writer._start()
                yield writer
                writer._finish()
                if own_txn:
                    conn.execute("COMMIT")
            except BaseException:
                writer._rollback()
                if own_txn:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                elif not nested:
                    with suppress(sqlite3.Error):
                        writer._discard_hidden()
                raise
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
