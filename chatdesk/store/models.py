"""The store's row dataclasses, allowed values, times, and the SPEC `--json` shapes."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from chatdesk.parts import AttachmentInfo
from chatdesk.plain_text import plain_line
from chatdesk.states import AttemptOutcome, HealthState, MessageStatus

ROLES = frozenset({"system", "user", "assistant", "tool"})
MESSAGE_STATUSES = frozenset(s.value for s in MessageStatus)
ATTEMPT_OUTCOMES = frozenset(o.value for o in AttemptOutcome)
HEALTH_STATES = frozenset(h.value for h in HealthState)

TITLE_LENGTH = 60
_BOOLEAN_COLUMNS = frozenset({"pinned", "is_alternate"})
_T = TypeVar("_T")


def new_uid() -> str:
    """uuid.uuid4().hex, made without the UUID object: a third of the time (a big import
    makes one per message), and without importing uuid (and platform) on every `ask`."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return raw.hex()


def now_iso() -> str:
    """The current time as stored: ISO 8601 UTC with milliseconds."""
    return to_iso(datetime.now(UTC))


def to_iso(when: datetime | float) -> str:
    """A datetime (naive = UTC) or a unix time in the stored format."""
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, UTC)
    elif when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def derive_title(text: str, limit: int = TITLE_LENGTH) -> str | None:
    """A title from a first message: one line of plain text (markdown read as a reader sees
    it), at most ~`limit` characters, cut at a word."""
    line = plain_line(text[:limit * 8])  # a huge first message: its start is enough
    if not line:
        return None
    if len(line) <= limit:
        return line
    cut = line[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def _from_row(cls: type[_T], row: sqlite3.Row) -> _T:
    """Build a row dataclass from a row whose columns carry the field names."""
    values = {f.name: row[f.name] for f in fields(cls)}  # type: ignore[arg-type]
    for name in _BOOLEAN_COLUMNS & values.keys():
        values[name] = bool(values[name])
    return cls(**values)


def check(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(sorted(allowed))}, not {value!r}")
    return value


@dataclass(frozen=True)
class Conversation:
    id: int
    uid: str
    title: str | None
    system_prompt: str | None
    preferred_provider: str | None
    pinned: bool
    created_at: str
    updated_at: str
    source: str | None = None
    source_id: str | None = None
    deleted_at: str | None = None
    preset: str | None = None  # the name of the preset it follows (issue 16)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Conversation:
        return _from_row(cls, row)


@dataclass(frozen=True)
class ConversationSummary:
    """One line of the conversation list; `message_count` counts main-line messages."""

    id: int
    uid: str
    title: str | None
    created_at: str
    updated_at: str
    pinned: bool
    preferred_provider: str | None
    message_count: int
    deleted_at: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ConversationSummary:
        return _from_row(cls, row)


@dataclass(frozen=True)
class StoredMessage:
    id: int
    uid: str
    conversation_id: int
    role: str
    content: str
    status: str
    created_at: str
    updated_at: str
    provider: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    parent_id: int | None = None
    source_id: str | None = None
    is_alternate: bool = False
    reasoning: str | None = None  # the model's thinking before its answer, not part of it

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredMessage:
        return _from_row(cls, row)


@dataclass(frozen=True, slots=True)
class MessageHead:
    """A message without its text: what a long transcript keeps of every row, reading the
    rest of the rows it shows (`MessageText`, `HistoryStore.message_texts`)."""

    id: int
    role: str
    status: str
    provider: str | None = None
    model: str | None = None
    parent_id: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> MessageHead:
        # The same few strings (roles, statuses, providers, models) on every row: one
        # object each, not one per row.
        return cls(row[0], sys.intern(row[1]), sys.intern(row[2]), _interned(row[3]),
                   _interned(row[4]), row[5])


MESSAGE_HEAD_COLUMNS = "id, role, status, provider, model, parent_id"


@dataclass(frozen=True, slots=True)
class MessageText:
    """What a transcript reads of a message it shows, beyond its head."""

    content: str
    reasoning: str | None
    created_at: str
    input_tokens: int | None
    output_tokens: int | None


def _interned(text: str | None) -> str | None:
    return sys.intern(text) if text is not None else None


@dataclass(frozen=True)
class Attempt:
    """One try of one provider at one assistant message."""

    id: int
    message_id: int
    provider: str
    model: str | None
    started_at: str
    ended_at: str | None
    outcome: str
    error_class: str | None
    error_message: str | None
    http_status: int | None
    streamed_text: str
    continued_from: int | None
    key_fingerprint: str | None = None  # which key of the provider's pool it used

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Attempt:
        return _from_row(cls, row)


@dataclass(frozen=True)
class SearchHit:
    """A search result. `rank` is FTS5 bm25: lower (more negative) is a better match."""

    conversation_id: int
    message_id: int
    role: str
    snippet: str
    created_at: str
    conversation_title: str | None
    rank: float
    # The name of the attached file the words were found in (its text, a PDF's extracted
    # text); None: in the message's own text.
    attachment: str | None = None


@dataclass
class HealthRow:
    """One row of provider_health; `down_until`, `last_success_at` and `last_failure_at` are
    unix times."""

    name: str
    state: str
    failures: int = 0
    down_until: float | None = None
    last_error: str | None = None
    last_error_class: str | None = None
    updated_at: str | None = None
    last_success_at: float | None = None  # unix times, like down_until
    last_failure_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> HealthRow:
        return _from_row(cls, row)


@dataclass(frozen=True)
class KeyHealthRow:
    """One row of key_health: one key of a provider's pool, named by its fingerprint;
    `down_until` is a unix time."""

    provider: str
    fingerprint: str
    state: str
    failures: int = 0
    down_until: float | None = None
    last_error_class: str | None = None
    updated_at: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> KeyHealthRow:
        return _from_row(cls, row)


def attachment_to_json(info: AttachmentInfo) -> dict[str, Any]:
    """One element of a message's `attachments` in `history show --json`."""
    return {"name": info.name, "kind": str(info.kind), "media_type": info.media_type,
            "size": info.size, "sha256": info.sha256}


def message_to_json(message: StoredMessage,
                    attachments: Sequence[AttachmentInfo] = ()) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "provider": message.provider,
        "model": message.model,
        "status": message.status,
        "created_at": message.created_at,
        # SPEC allows more keys; reasoning only where an answer has some.
        **({"reasoning": message.reasoning} if message.reasoning else {}),
        # and the attached files (without their bytes) where a message has some
        **({"attachments": [attachment_to_json(a) for a in attachments]}
           if attachments else {}),
    }


def conversation_to_json(conv: Conversation, messages: list[StoredMessage],
                         attachments: Mapping[int, Sequence[AttachmentInfo]] | None = None
                         ) -> dict[str, Any]:
    """The `history show ID --json` shape; `attachments`: by message id."""
    files = attachments or {}
    return {
        "id": conv.id,
        "title": conv.title,
        "created_at": conv.created_at,
        "messages": [message_to_json(m, files.get(m.id, ())) for m in messages],
    }


def summary_to_json(summary: ConversationSummary) -> dict[str, Any]:
    """One element of the `history list --json` array."""
    return {
        "id": summary.id,
        "title": summary.title,
        "created_at": summary.created_at,
        "updated_at": summary.updated_at,
        "message_count": summary.message_count,
    }


def hit_to_json(hit: SearchHit) -> dict[str, Any]:
    """One element of the `search QUERY --json` array."""
    return {
        "conversation_id": hit.conversation_id,
        "message_id": hit.message_id,
        "role": hit.role,
        "snippet": hit.snippet,
        "created_at": hit.created_at,
        # SPEC allows more keys: where the words were found, when in an attached file.
        **({"attachment": hit.attachment} if hit.attachment is not None else {}),
    }


class _Threaded(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def parent_id(self) -> int | None: ...


_M = TypeVar("_M", bound=_Threaded)


def in_tree_order(messages: list[_M]) -> list[_M]:
    """`messages` (in time order) with every message after the one it answers: an
    imported conversation keeps its export's times, and a skewed clock may stamp an
    answer before its question. Otherwise the time order is kept."""
    position = {m.id: i for i, m in enumerate(messages)}
    if all(position.get(m.parent_id, -1) < i  # type: ignore[arg-type]
           for i, m in enumerate(messages)):
        return messages  # the common case: time order is tree order
    by_id = {m.id: m for m in messages}
    placed: set[int] = set()
    out: list[_M] = []
    for m in messages:
        chain: list[_M] = []
        step: _M | None = m
        while step is not None and step.id not in placed:
            placed.add(step.id)
            chain.append(step)
            step = by_id.get(step.parent_id) if step.parent_id is not None else None
        out.extend(reversed(chain))
    return out
