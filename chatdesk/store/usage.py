"""The SQL of usage and cost: every answer's tokens, model and key, and the budget notices."""

from __future__ import annotations

from dataclasses import dataclass

from chatdesk.states import AttemptOutcome, MessageStatus
from chatdesk.store.connection import StoreConnection
from chatdesk.store.models import now_iso

# One row per answer a provider gave (complete or refused: both were billed), alternates
# (regenerated answers) included, in conversations made in chatdesk (an imported ChatGPT
# or Claude history was not paid through chatdesk). Its time is when its answering attempt
# started, else the message's.
_ANSWERS_SQL = """
SELECT m.id, m.conversation_id, m.provider, m.model, m.input_tokens, m.output_tokens,
       m.cached_input_tokens, m.reasoning_tokens,
       coalesce(a.started_at, m.created_at) AS at, {key} AS key_fingerprint
FROM messages AS m
JOIN conversations AS c ON c.id = m.conversation_id
LEFT JOIN attempts AS a ON a.id = (
    SELECT max(id) FROM attempts WHERE message_id = m.id AND outcome = ?)
WHERE m.role = 'assistant' AND m.provider IS NOT NULL AND m.status IN (?, ?)
  AND c.source IS NULL
  AND coalesce(a.started_at, m.created_at) >= ?
  AND (? IS NULL OR m.provider = ?)
  AND (? IS NULL OR m.conversation_id = ?)
ORDER BY at, m.id
"""


@dataclass(frozen=True)
class AnswerUsage:
    """What one answer used: its provider entry, model, tokens and (if known) key."""

    message_id: int
    conversation_id: int
    provider: str
    model: str | None
    at: str  # ISO time, UTC
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    reasoning_tokens: int | None
    key_fingerprint: str | None  # None: not recorded (or from before keys were named)


class UsageQueries(StoreConnection):
    """The usage half of HistoryStore (see history.py)."""

    def answer_usage(self, since: str, *, provider: str | None = None,
                     conversation_id: int | None = None) -> list[AnswerUsage]:
        """Every answer given at or after `since` (an ISO time), oldest first."""
        key = "a.key_fingerprint" if self._has_key_fingerprints() else "NULL"
        rows = self._rows(_ANSWERS_SQL.format(key=key), (
            AttemptOutcome.OK, MessageStatus.COMPLETE, MessageStatus.REFUSED, since,
            provider, provider, conversation_id, conversation_id))
        return [AnswerUsage(
            message_id=r["id"], conversation_id=r["conversation_id"], provider=r["provider"],
            model=r["model"], at=r["at"], input_tokens=r["input_tokens"],
            output_tokens=r["output_tokens"], cached_input_tokens=r["cached_input_tokens"],
            reasoning_tokens=r["reasoning_tokens"], key_fingerprint=r["key_fingerprint"],
        ) for r in rows]

    def _has_key_fingerprints(self) -> bool:
        """Whether attempts name the key they used (the key pools' column)."""
        return any(r["name"] == "key_fingerprint"
                   for r in self._rows("PRAGMA table_info(attempts)"))

    def note_budget_notice(self, provider: str, month: str, level: int) -> bool:
        """Record that the `level` % notice of `provider`'s budget was given in `month`
        ("2026-12"); False if it had been already (or the history is read-only)."""
        if self.readonly or self.refusal is not None:
            return False
        with self._write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO budget_notices (provider, month, level, noticed_at)"
                " VALUES (?, ?, ?, ?)", (provider, month, level, now_iso()))
            return cur.rowcount == 1
