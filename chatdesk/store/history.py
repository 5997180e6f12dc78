"""HistoryStore: the repository of conversations, messages, attempts and provider health."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chatdesk.states import AttemptOutcome, MessageStatus
from chatdesk.store.attachments import Attachments
from chatdesk.store.claims import Claims
from chatdesk.store.connection import insert_row
from chatdesk.store.errors import NotFoundError
from chatdesk.store.models import (
    ATTEMPT_OUTCOMES,
    HEALTH_STATES,
    MESSAGE_HEAD_COLUMNS,
    MESSAGE_STATUSES,
    ROLES,
    Attempt,
    Conversation,
    ConversationSummary,
    HealthRow,
    KeyHealthRow,
    MessageHead,
    MessageText,
    SearchHit,
    StoredMessage,
    check,
    derive_title,
    in_tree_order,
    new_uid,
    now_iso,
    to_iso,
)
from chatdesk.store.owner import this_process
from chatdesk.store.prompts import Prompts
from chatdesk.store.search import search_messages
from chatdesk.store.usage import UsageQueries

_SUMMARY_SQL = """
SELECT c.id, c.uid, c.title, c.created_at, c.updated_at, c.pinned, c.preferred_provider,
       c.deleted_at,
       (SELECT count(*) FROM messages AS m
        WHERE m.conversation_id = c.id AND m.is_alternate = 0) AS message_count
FROM conversations AS c
{where}
ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC
LIMIT ? OFFSET ?
"""


# deleted_at values are ISO times ("2026-…"); an import's hidden conversations carry a marker
# that sorts after every time ("~importing"): `deleted_at < this` means a real deletion.
_NOT_A_TIME = "~"
TRASH_DAYS = 30  # how long a deleted conversation stays in the Trash
TEXTS_PER_QUERY = 500  # ids in one `message_texts` query (SQLite's limit of variables)


class HistoryStore(Attachments, Claims, Prompts, UsageQueries):
    """One open history file. Use one object per thread; several may share a file.

    Every write method commits at once (a person's text is durable before anything is
    sent) unless it runs inside `transaction()`, which commits once at the end.
    """

    # -- conversations ------------------------------------------------------------------

    def create_conversation(
        self,
        title: str | None = None,
        system_prompt: str | None = None,
        preferred_provider: str | None = None,
        *,
        source: str | None = None,
        source_id: str | None = None,
        created_at: str | None = None,
        uid: str | None = None,
        preset: str | None = None,
    ) -> Conversation:
        """A new conversation; `source`/`source_id`/`created_at` are for importers; `preset`:
        the name of the preset it follows."""
        created = created_at or now_iso()
        conv = Conversation(
            id=0,
            uid=uid or new_uid(),
            title=(title or "").strip() or None,
            system_prompt=system_prompt,
            preferred_provider=preferred_provider,
            pinned=False,
            created_at=created,
            updated_at=created,
            source=source,
            source_id=source_id,
            preset=preset,
        )
        with self._write() as conn:
            return replace(conv, id=insert_row(conn, "conversations", conv,
                                               omit_if_none=("preset",)))

    def get_conversation(self, id: int, *, include_deleted: bool = False) -> Conversation | None:
        sql = "SELECT * FROM conversations WHERE id = ?"
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        row = self._one(sql, (id,))
        return Conversation.from_row(row) if row else None

    def find_conversation_by_source(self, source: str, source_id: str) -> Conversation | None:
        """An imported conversation (deleted ones too, so a re-import does not revive it)."""
        row = self._one(
            "SELECT * FROM conversations WHERE source = ? AND source_id = ?", (source, source_id)
        )
        return Conversation.from_row(row) if row else None

    def latest_conversation(self) -> Conversation | None:
        row = self._one(
            "SELECT * FROM conversations WHERE deleted_at IS NULL"
            " ORDER BY updated_at DESC, id DESC LIMIT 1"
        )
        return Conversation.from_row(row) if row else None

    def list_conversations(
        self, limit: int = 100, offset: int = 0, include_deleted: bool = False
    ) -> list[ConversationSummary]:
        """Pinned first, then most recently updated first."""
        where = "" if include_deleted else "WHERE c.deleted_at IS NULL"
        rows = self._rows(_SUMMARY_SQL.format(where=where), (limit, offset))
        return [ConversationSummary.from_row(row) for row in rows]

    def count_conversations(self, include_deleted: bool = False) -> int:
        where = "" if include_deleted else " WHERE deleted_at IS NULL"
        row = self._one("SELECT count(*) FROM conversations" + where)
        return int(row[0]) if row else 0

    def rename_conversation(self, id: int, title: str | None) -> None:
        self._update(
            "UPDATE conversations SET title = ? WHERE id = ?",
            ((title or "").strip() or None, id),
            f"There is no conversation {id}.",
        )

    def set_pinned(self, id: int, pinned: bool) -> None:
        self._update(
            "UPDATE conversations SET pinned = ? WHERE id = ?",
            (int(bool(pinned)), id),
            f"There is no conversation {id}.",
        )

    def set_system_prompt(self, id: int, prompt: str | None) -> None:
        self._update(
            "UPDATE conversations SET system_prompt = ? WHERE id = ?",
            (prompt or None, id),
            f"There is no conversation {id}.",
        )

    def set_preferred_provider(self, id: int, name: str | None) -> None:
        self._update(
            "UPDATE conversations SET preferred_provider = ? WHERE id = ?",
            (name, id),
            f"There is no conversation {id}.",
        )

    def delete_conversation(self, id: int) -> None:
        """Soft delete: hidden from lists and search until restored or purged."""
        self._update(
            "UPDATE conversations SET deleted_at = coalesce(deleted_at, ?) WHERE id = ?",
            (now_iso(), id),
            f"There is no conversation {id}.",
        )

    def restore_conversation(self, id: int) -> None:
        self._update(
            "UPDATE conversations SET deleted_at = NULL WHERE id = ?",
            (id,),
            f"There is no conversation {id}.",
        )

    def trashed_conversations(self, limit: int = 500) -> list[ConversationSummary]:
        """The Trash: conversations deleted and not yet purged, the latest deleted first
        (an import's hidden conversations are not in it)."""
        rows = self._rows(
            _SUMMARY_SQL.replace("ORDER BY c.pinned DESC, c.updated_at DESC",
                                 "ORDER BY c.deleted_at DESC")
            .format(where="WHERE c.deleted_at IS NOT NULL AND c.deleted_at < ?"),
            (_NOT_A_TIME, limit, 0))
        return [ConversationSummary.from_row(row) for row in rows]

    def purge_trash(self, *, now: datetime | None = None) -> int:
        """Delete for good what has been in the Trash for TRASH_DAYS."""
        return self.purge_deleted(TRASH_DAYS * 86_400, now=now)

    def purge_deleted(self, older_than_s: float = 0, *, now: datetime | None = None,
                      ids: list[int] | None = None) -> int:
        """Really delete conversations soft-deleted at least `older_than_s` ago (only those
        of `ids` when given); returns how many. An import's hidden ones are never touched."""
        cutoff = to_iso((now or datetime.now(UTC)) - timedelta(seconds=older_than_s))
        sql = ("DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?"
               " AND deleted_at < ?")
        params: list[object] = [cutoff, _NOT_A_TIME]
        if ids is not None:
            if not ids:
                return 0
            sql += f" AND id IN ({', '.join('?' * len(ids))})"
            params.extend(ids)
        if not self.readonly and self._one(
                sql.replace("DELETE FROM", "SELECT 1 FROM", 1) + " LIMIT 1",
                tuple(params)) is None:
            return 0  # the common case at start-up: no write at all
        with self._write() as conn:
            cur = conn.execute(sql, tuple(params))
        return cur.rowcount

    # -- messages -----------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        status: str = MessageStatus.COMPLETE,
        provider: str | None = None,
        model: str | None = None,
        created_at: str | None = None,
        parent_id: int | None = None,
        source_id: str | None = None,
        is_alternate: bool = False,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        finish_reason: str | None = None,
        uid: str | None = None,
    ) -> StoredMessage:
        """Store a message and commit (unless in `transaction()`); the extras are for importers.

        The first user message names an untitled conversation.
        """
        check(role, ROLES, "role")
        check(status, MESSAGE_STATUSES, "status")
        created = created_at or now_iso()
        msg = StoredMessage(
            id=0,
            uid=uid or new_uid(),
            conversation_id=conversation_id,
            role=role,
            content=content,
            status=status,
            created_at=created,
            updated_at=created,
            provider=provider,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            finish_reason=finish_reason,
            parent_id=parent_id,
            source_id=source_id,
            is_alternate=bool(is_alternate),
        )
        with self._write() as conn:
            conv = conn.execute(
                "SELECT title FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if conv is None:
                raise NotFoundError(f"There is no conversation {conversation_id}.")
            msg_id = insert_row(conn, "messages", msg)
            title = conv["title"]
            if not title and role == "user" and not is_alternate:
                earlier = conn.execute(
                    "SELECT 1 FROM messages WHERE conversation_id = ? AND role = 'user'"
                    " AND id != ? LIMIT 1",
                    (conversation_id, msg_id),
                ).fetchone()
                if earlier is None:
                    title = derive_title(content)
            conn.execute(
                "UPDATE conversations SET title = ?, updated_at = max(updated_at, ?) WHERE id = ?",
                (title, created, conversation_id),
            )
        return replace(msg, id=msg_id)

    def messages(
        self, conversation_id: int, include_alternates: bool = False
    ) -> list[StoredMessage]:
        """The conversation's messages in order: each after the one it answers, else by
        time (created_at, then id)."""
        sql = "SELECT * FROM messages WHERE conversation_id = ?"
        if not include_alternates:
            sql += " AND is_alternate = 0"
        rows = self._rows(sql + " ORDER BY created_at, id", (conversation_id,))
        return in_tree_order([StoredMessage.from_row(row) for row in rows])

    def message_heads(self, conversation_id: int) -> list[MessageHead]:
        """The conversation's main-line messages in the order of `messages`, without their
        text: a transcript reads the text of the rows it shows with `message_texts`."""
        conn = self._connection()
        try:
            cur = conn.execute(
                f"SELECT {MESSAGE_HEAD_COLUMNS} FROM messages WHERE conversation_id = ?"
                " AND is_alternate = 0 ORDER BY created_at, id", (conversation_id,))
            # Tuples, not sqlite3.Row objects: each row becomes its head as it comes.
            cur.row_factory = None
            heads = [MessageHead.from_row(row) for row in cur]
        except sqlite3.Error as exc:
            raise self._translate(exc, writing=False) from exc
        return in_tree_order(heads)

    def message_texts(self, ids: Sequence[int]) -> dict[int, MessageText]:
        """The text (content, reasoning), time and token counts of each of these messages,
        by id (a deleted one is left out)."""
        found: dict[int, MessageText] = {}
        for start in range(0, len(ids), TEXTS_PER_QUERY):
            part = list(ids[start:start + TEXTS_PER_QUERY])
            marks = ", ".join("?" * len(part))
            for row in self._rows(f"SELECT id, content, reasoning, created_at, input_tokens,"
                                  f" output_tokens FROM messages WHERE id IN ({marks})", part):
                found[row[0]] = MessageText(row[1], row[2], row[3], row[4], row[5])
        return found

    def has_alternates(self, conversation_id: int) -> bool:
        """Whether the conversation keeps any earlier version of a message (an edit or a
        regenerate): without one, no message has versions to show."""
        return self._one("SELECT 1 FROM messages WHERE conversation_id = ? AND is_alternate = 1"
                         " LIMIT 1", (conversation_id,)) is not None

    def last_message_id(self, conversation_id: int) -> int | None:
        """The id of the last message of the conversation's main line (None: empty)."""
        # the newest main-line message that nothing on the main line answers: an imported
        # conversation's clock may put a message before the one it answers
        row = self._one("SELECT id FROM messages AS m WHERE conversation_id = ?"
                        " AND is_alternate = 0 AND NOT EXISTS (SELECT 1 FROM messages AS c"
                        " WHERE c.parent_id = m.id AND c.is_alternate = 0 AND c.id != m.id)"
                        " ORDER BY created_at DESC, id DESC LIMIT 1", (conversation_id,))
        return int(row[0]) if row else None

    def get_message(self, id: int) -> StoredMessage | None:
        row = self._one("SELECT * FROM messages WHERE id = ?", (id,))
        return StoredMessage.from_row(row) if row else None

    def set_message_status(self, id: int, status: str) -> None:
        check(status, MESSAGE_STATUSES, "status")
        self._update(
            "UPDATE messages SET status = ?, claimed_until = NULL, claimed_by = NULL,"
            " updated_at = ? WHERE id = ?",
            (status, now_iso(), id),
            f"There is no message {id}.",
        )

    def update_message_content(self, id: int, content: str) -> None:
        """Save the text streamed so far: one UPDATE (the FTS trigger follows it)."""
        self._update(
            "UPDATE messages SET content = ?, updated_at = ? WHERE id = ?",
            (content, now_iso(), id),
            f"There is no message {id}.",
        )

    def finish_message(
        self,
        id: int,
        *,
        content: str,
        status: str,
        provider: str | None,
        model: str | None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        finish_reason: str | None = None,
        reasoning: str | None = None,
        cached_input_tokens: int | None = None,
        reasoning_tokens: int | None = None,
    ) -> StoredMessage:
        """Record an answer's final text and outcome; the conversation counts as updated.
        `cached_input_tokens` are part of `input_tokens`, `reasoning_tokens` of
        `output_tokens` (what some providers bill at other rates)."""
        check(status, MESSAGE_STATUSES, "status")
        now = now_iso()
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE messages SET content = ?, status = ?, provider = ?, model = ?,"
                " input_tokens = ?, output_tokens = ?, finish_reason = ?, reasoning = ?,"
                " updated_at = ? WHERE id = ?",
                (
                    content,
                    status,
                    provider,
                    model,
                    input_tokens,
                    output_tokens,
                    finish_reason,
                    reasoning,
                    now,
                    id,
                ),
            )
            if cached_input_tokens is not None or reasoning_tokens is not None:
                conn.execute("UPDATE messages SET cached_input_tokens = ?, reasoning_tokens = ?"
                             " WHERE id = ?", (cached_input_tokens, reasoning_tokens, id))
            if cur.rowcount == 0:
                raise NotFoundError(f"There is no message {id}.")
            conn.execute(
                "UPDATE conversations SET updated_at = max(updated_at, ?)"
                " WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)",
                (now, id),
            )
            row = conn.execute("SELECT * FROM messages WHERE id = ?", (id,)).fetchone()
        return StoredMessage.from_row(row)

    def delete_message(self, id: int) -> None:
        """Really delete one message (its attempts go with it)."""
        self._update("DELETE FROM messages WHERE id = ?", (id,), f"There is no message {id}.")

    def set_alternate(self, ids: Sequence[int]) -> None:
        """Set messages aside as alternates (an exchange edited or regenerated): kept, found
        by search and exported, but no longer part of the conversation or sent again."""
        with self._write() as conn:
            conn.executemany("UPDATE messages SET is_alternate = 1 WHERE id = ?",
                             [(id,) for id in ids])

    def set_main_line(self, leaving: Sequence[int], joining: Sequence[int]) -> None:
        """Move the main line, in one transaction: `leaving` become alternates, `joining`
        come back (showing another version of a message)."""
        with self._write() as conn:
            conn.executemany("UPDATE messages SET is_alternate = 1 WHERE id = ?",
                             [(id,) for id in leaving])
            conn.executemany("UPDATE messages SET is_alternate = 0 WHERE id = ?",
                             [(id,) for id in joining])

    # -- attempts -----------------------------------------------------------------------

    def start_attempt(
        self, message_id: int, provider: str, model: str | None, continued_from: int | None = None,
        key_fingerprint: str | None = None,
    ) -> int:
        """A running attempt; `key_fingerprint` names the key it sends ('sk-…3f9a')."""
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO attempts (message_id, provider, model, started_at, outcome,"
                " continued_from, owner, key_fingerprint) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (message_id, provider, model, now_iso(), continued_from, this_process(),
                 key_fingerprint),
            )
        return int(cur.lastrowid or 0)

    def update_attempt_text(self, attempt_id: int, text: str) -> None:
        self._update(
            "UPDATE attempts SET streamed_text = ? WHERE id = ?",
            (text, attempt_id),
            f"There is no attempt {attempt_id}.",
        )

    def finish_attempt(
        self,
        attempt_id: int,
        *,
        outcome: str,
        error_class: str | None = None,
        error_message: str | None = None,
        http_status: int | None = None,
        streamed_text: str | None = None,
        first_token_s: float | None = None,
    ) -> None:
        """Close an attempt; `streamed_text=None` keeps the text saved so far.
        `first_token_s`: how long it waited for its first token (None: none came)."""
        check(outcome, ATTEMPT_OUTCOMES - {AttemptOutcome.RUNNING}, "outcome")
        self._update(
            "UPDATE attempts SET outcome = ?, ended_at = ?, error_class = ?, error_message = ?,"
            " http_status = ?, streamed_text = coalesce(?, streamed_text),"
            " first_token_s = coalesce(?, first_token_s) WHERE id = ?",
            (
                outcome,
                now_iso(),
                error_class,
                error_message,
                http_status,
                streamed_text,
                first_token_s,
                attempt_id,
            ),
            f"There is no attempt {attempt_id}.",
        )

    def attempts(self, message_id: int) -> list[Attempt]:
        rows = self._rows(
            "SELECT * FROM attempts WHERE message_id = ? ORDER BY started_at, id", (message_id,)
        )
        return [Attempt.from_row(row) for row in rows]

    def first_token_times(self, provider: str, limit: int,
                          model: str | None = None) -> list[tuple[float, str]]:
        """(seconds to the first token, started_at) of the provider's latest answered
        attempts (of `model` only, if given), newest first."""
        rows = self._rows(
            "SELECT first_token_s, started_at FROM attempts WHERE provider = ?"
            " AND first_token_s IS NOT NULL AND outcome = 'ok'"
            " AND (? IS NULL OR model = ?) ORDER BY id DESC LIMIT ?",
            (provider, model, model, limit))
        return [(float(r["first_token_s"]), str(r["started_at"])) for r in rows]

    def get_attempt(self, attempt_id: int) -> Attempt | None:
        row = self._one("SELECT * FROM attempts WHERE id = ?", (attempt_id,))
        return Attempt.from_row(row) if row else None

    # -- search -------------------------------------------------------------------------

    def search(
        self, query: str, limit: int = 20, *, start: str = "[", end: str = "]"
    ) -> list[SearchHit]:
        """Full-text search, best first; matches in snippets are wrapped in start/end."""
        try:
            return search_messages(self._connection(), query, limit, start=start, end=end)
        except sqlite3.Error as exc:
            raise self._translate(exc, writing=False) from exc

    # -- provider health ----------------------------------------------------------------

    def get_health(self, name: str) -> HealthRow | None:
        row = self._one("SELECT * FROM provider_health WHERE name = ?", (name,))
        return HealthRow.from_row(row) if row else None

    def all_health(self) -> dict[str, HealthRow]:
        rows = self._rows("SELECT * FROM provider_health ORDER BY name")
        return {row["name"]: HealthRow.from_row(row) for row in rows}

    def put_health(self, row: HealthRow) -> None:
        """Insert or replace one provider's row; a missing updated_at is set to now."""
        check(row.state, HEALTH_STATES, "state")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO provider_health (name, state, failures, down_until, last_error,"
                " last_error_class, updated_at, last_success_at, last_failure_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET state = excluded.state,"
                " failures = excluded.failures, down_until = excluded.down_until,"
                " last_error = excluded.last_error, last_error_class = excluded.last_error_class,"
                " updated_at = excluded.updated_at, last_success_at = excluded.last_success_at,"
                " last_failure_at = excluded.last_failure_at",
                (
                    row.name,
                    row.state,
                    row.failures,
                    row.down_until,
                    row.last_error,
                    row.last_error_class,
                    row.updated_at or now_iso(),
                    row.last_success_at,
                    row.last_failure_at,
                ),
            )

    # -- key health (one row per key of a pool, by fingerprint) ---------------------------

    def key_health(self, provider: str) -> dict[str, KeyHealthRow]:
        """The stored health of provider's keys, by fingerprint."""
        rows = self._rows("SELECT * FROM key_health WHERE provider = ?", (provider,))
        return {row["fingerprint"]: KeyHealthRow.from_row(row) for row in rows}

    def put_key_health(self, row: KeyHealthRow) -> None:
        """Insert or replace one key's row; a missing updated_at is set to now."""
        check(row.state, HEALTH_STATES, "state")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO key_health (provider, fingerprint, state, failures, down_until,"
                " last_error_class, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(provider, fingerprint) DO UPDATE SET state = excluded.state,"
                " failures = excluded.failures, down_until = excluded.down_until,"
                " last_error_class = excluded.last_error_class,"
                " updated_at = excluded.updated_at",
                (row.provider, row.fingerprint, row.state, row.failures, row.down_until,
                 row.last_error_class, row.updated_at or now_iso()),
            )

    def clear_key_health(self, provider: str, fingerprint: str | None = None) -> None:
        """Forget the health of one key of provider (None: of all its keys)."""
        with self._write() as conn:
            conn.execute("DELETE FROM key_health WHERE provider = ?"
                         " AND (? IS NULL OR fingerprint = ?)",
                         (provider, fingerprint, fingerprint))
