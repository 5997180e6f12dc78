"""The states chatdesk stores and shows: a message's status, an attempt's outcome, a
provider's health. Their values are what the history file holds and SPEC's --json shows."""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    """A message's stored status: SPEC's `status` in `history show --json`."""

    COMPLETE = "complete"
    PARTIAL = "partial"  # an answer still streaming, or cut short (stopped by the user)
    PENDING = "pending"  # a user message no provider answered yet; sent again by itself
    FAILED = "failed"  # an answer no provider finished
    REFUSED = "refused"  # the provider refused or blocked the answer: its reply, not an answer


class AttemptOutcome(StrEnum):
    """How one try of one provider at an answer ended (`attempts.outcome`)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"


class HealthState(StrEnum):
    """A provider's health as stored and shown: SPEC's `state` in `providers --json`."""

    UP = "up"
    DOWN = "down"  # cooling down after a failure: skipped until the cooldown ends
    HALF_OPEN = "half-open"  # the cooldown ended: the next message tries it again
    NO_KEY = "no-key"  # the key is missing or was rejected


# The finish reason of an answer, and the error class of its attempt, when the chatdesk
# process writing it died (killed, crashed, power lost) before the answer ended.
INTERRUPTED = "interrupted"
