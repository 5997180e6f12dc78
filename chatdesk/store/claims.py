"""Claims on messages being answered, and recovery from a process that died answering one."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from chatdesk.states import INTERRUPTED, AttemptOutcome, MessageStatus
from chatdesk.store.connection import StoreConnection
from chatdesk.store.models import StoredMessage, now_iso
from chatdesk.store.owner import is_dead, this_process

LEASE_S = 900.0  # how long a claim lasts when its owner's liveness cannot be checked

_PENDING_SQL = """
SELECT m.*, (SELECT a.finish_reason FROM messages AS a
             WHERE a.conversation_id = m.conversation_id AND a.is_alternate = 0
               AND (a.created_at, a.id) > (m.created_at, m.id)
             ORDER BY a.created_at, a.id LIMIT 1) AS answer_end
FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.status = 'pending' AND m.role = 'user' AND c.deleted_at IS NULL
  AND m.is_alternate = 0
ORDER BY m.created_at, m.id
"""

# The messages after a user message up to the next user one: its answers.
_ANSWERS_SQL = """
SELECT a.id, a.status, a.finish_reason FROM messages AS a
WHERE a.conversation_id = ? AND a.is_alternate = 0 AND a.role = 'assistant'
  AND (a.created_at, a.id) > (?, ?)
  AND NOT EXISTS (SELECT 1 FROM messages AS u
                  WHERE u.conversation_id = a.conversation_id AND u.role = 'user'
                    AND u.is_alternate = 0 AND (u.created_at, u.id) > (?, ?)
                    AND (u.created_at, u.id) < (a.created_at, a.id))
"""


@dataclass(frozen=True)
class Recovered:
    """What a start-up recovery found left by dead processes."""

    attempts_closed: int
    answers_interrupted: tuple[int, ...]  # assistant messages cut off
    made_pending: tuple[int, ...]  # user messages waiting again to be sent


def _free(row: sqlite3.Row, now: float) -> bool:
    """Whether a message's claim (if any) no longer holds: lapsed, or its owner died."""
    until = row["claimed_until"]
    return until is None or until < now or is_dead(row["claimed_by"])


_UNANSWERED = frozenset({MessageStatus.PARTIAL, MessageStatus.FAILED})


def _answers(conn: sqlite3.Connection, conversation_id: int, created_at: str, id: int
             ) -> list[sqlite3.Row]:
    """The answers to one user message: assistant messages after it, before the next one."""
    return list(conn.execute(_ANSWERS_SQL, (conversation_id, created_at, id, created_at, id)))


def _started_before(started_at: str, seconds: float) -> bool:
    started = datetime.fromisoformat(started_at)
    return (datetime.now(UTC) - started).total_seconds() > seconds


class Claims(StoreConnection):
    """Which process is answering which message, and recovery when one died doing it.

    Claims name their process (`owner.this_process()`), so a claim held by a dead process is
    free at once; the lease is the fallback when liveness cannot be told (another machine)."""

    def pending_messages(self, *, interrupted: bool = True) -> list[StoredMessage]:
        """User messages waiting to be sent, oldest first (deleted conversations left out).
        `interrupted=False` leaves out those whose answer was cut off by a crash: the app
        offers to send those again instead of sending them by itself."""
        now = time.time()
        return [StoredMessage.from_row(row) for row in self._rows(_PENDING_SQL)
                if _free(row, now) and (interrupted or row["answer_end"] != INTERRUPTED)]

    def claim_message(self, message_id: int, lease_s: float = LEASE_S) -> None:
        """Mark a message as being answered by this process (it has just been saved)."""
        self._update("UPDATE messages SET claimed_until = ?, claimed_by = ? WHERE id = ?",
                     (time.time() + lease_s, this_process(), message_id),
                     f"There is no message {message_id}.")

    def claim_pending(self, message_id: int, lease_s: float = LEASE_S) -> bool:
        """Take a pending message to send it; True for exactly one caller across processes.

        The message stays `pending` until its answer is saved (set_message_status clears the
        claim); if the sender dies, the claim is free at once (or, when that cannot be told,
        after `lease_s`) and the message is sent again."""
        now = time.time()
        with self._write() as conn:
            row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None or row["status"] != MessageStatus.PENDING or not _free(row, now):
                return False
            if row["claimed_until"] is not None and any(
                    a["status"] not in _UNANSWERED for a in _answers(
                        conn, row["conversation_id"], row["created_at"], row["id"])):
                # Its sender died after saving the answer, before saying so: not again.
                conn.execute("UPDATE messages SET status = ?, claimed_until = NULL,"
                             " claimed_by = NULL WHERE id = ?", (MessageStatus.COMPLETE,
                                                                message_id))
                return False
            conn.execute("UPDATE messages SET claimed_until = ?, claimed_by = ? WHERE id = ?",
                         (now + lease_s, this_process(), message_id))
        return True

    def release_claim(self, message_id: int) -> None:
        """Give a claimed message back (the sender stopped without an answer)."""
        self._update("UPDATE messages SET claimed_until = NULL, claimed_by = NULL WHERE id = ?",
                     (message_id,), f"There is no message {message_id}.")

    def interrupted_answers(self, message: StoredMessage) -> list[int]:
        """The answers to a user message that a dead process left cut off."""
        rows = _answers(self._connection(), message.conversation_id, message.created_at,
                        message.id)
        return [row["id"] for row in rows if row["finish_reason"] == INTERRUPTED]

    def recover_interrupted(self, reason: str, lease_s: float = LEASE_S) -> Recovered:
        """Clean up after processes that died answering: close their running attempts (failed,
        `interrupted`, with `reason`), mark their answers interrupted (status partial, or
        failed if empty), and make every message they had not answered pending again.
        Live processes' work is left alone. One transaction: safe to run concurrently."""
        now, stamp = time.time(), now_iso()
        with self._write() as conn:
            dead = [row for row in conn.execute(
                "SELECT id, message_id, owner, started_at FROM attempts"
                " WHERE outcome = 'running'")
                if is_dead(row["owner"]) or (row["owner"] is None
                                             and _started_before(row["started_at"], lease_s))]
            conn.executemany(
                "UPDATE attempts SET outcome = ?, ended_at = ?, error_class = ?,"
                " error_message = ? WHERE id = ?",
                [(AttemptOutcome.FAILED, stamp, INTERRUPTED, reason, row["id"])
                 for row in dead])
            answers: list[int] = []
            for answer_id in sorted({row["message_id"] for row in dead}):
                cur = conn.execute(
                    "UPDATE messages SET status = CASE WHEN content = '' THEN ? ELSE ? END,"
                    " finish_reason = ?, updated_at = ? WHERE id = ? AND status = 'partial'"
                    " AND NOT EXISTS (SELECT 1 FROM attempts WHERE message_id = ?"
                    " AND outcome = 'running')",
                    (MessageStatus.FAILED, MessageStatus.PARTIAL, INTERRUPTED, stamp,
                     answer_id, answer_id))
                if cur.rowcount:
                    answers.append(answer_id)
            asked = [row for row in conn.execute(
                "SELECT * FROM messages WHERE claimed_by IS NOT NULL AND role = 'user'")
                if _free(row, now)]
            asked += self._askers(conn, answers, {row["id"] for row in asked}, now)
            pending: list[int] = []
            for row in asked:
                answers_to = _answers(conn, row["conversation_id"], row["created_at"], row["id"])
                if row["is_alternate"]:
                    status = row["status"]
                elif any(a["status"] not in _UNANSWERED for a in answers_to):
                    status = MessageStatus.COMPLETE  # it died after the answer was saved
                else:
                    status = MessageStatus.PENDING
                conn.execute("UPDATE messages SET status = ?, claimed_until = NULL,"
                             " claimed_by = NULL WHERE id = ?", (status, row["id"]))
                if status == MessageStatus.PENDING:
                    pending.append(row["id"])
        return Recovered(len(dead), tuple(answers), tuple(pending))

    @staticmethod
    def _askers(conn: sqlite3.Connection, answers: list[int], known: set[int], now: float
                ) -> list[sqlite3.Row]:
        """The user messages that interrupted answers answer (for rows written without a
        claim, e.g. by an older chatdesk)."""
        found = []
        for answer_id in answers:
            row = conn.execute(
                "SELECT u.* FROM messages AS u JOIN messages AS a ON a.id = ?"
                " WHERE u.conversation_id = a.conversation_id AND u.role = 'user'"
                " AND u.is_alternate = 0 AND (u.created_at, u.id) < (a.created_at, a.id)"
                " ORDER BY u.created_at DESC, u.id DESC LIMIT 1", (answer_id,)).fetchone()
            if row is not None and row["id"] not in known and _free(row, now):
                known.add(row["id"])
                found.append(row)
        return found
