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
    """A provider's health as stored and shown: SPEC's `state` in `providers --json`.

    Stored: up, down, no-key, key-rejected (a few old rows: half-open). Derived when read:
    unknown (no success ever recorded), slow (an up provider whose first tokens come late
    lately), half-open (a cooldown that ended). `providers --json` shows slow as up."""

    UNKNOWN = "unknown"  # never answered: no success ever recorded
    UP = "up"
    SLOW = "slow"  # up, but its recent first tokens came much later than usual
    DOWN = "down"  # cooling down after a failure: skipped until the cooldown ends
    HALF_OPEN = "half-open"  # the cooldown ended: the next message (or a probe) tries it
    KEY_REJECTED = "key-rejected"  # the provider refused the key (401/403): retried later
    NO_KEY = "no-key"  # no key was found for it

    @property
    def usable(self) -> bool:
        """The router tries it (a message may be sent to it now)."""
        return self in _USABLE

    @property
    def spec_state(self) -> str:
        """The value `providers --json` shows (SPEC has no `slow`: it is up)."""
        return HealthState.UP.value if self is HealthState.SLOW else self.value


_USABLE = frozenset({HealthState.UNKNOWN, HealthState.UP, HealthState.SLOW,
                     HealthState.HALF_OPEN})


# The finish reason of an answer, and the error class of its attempt, when the chatdesk
# process writing it died (killed, crashed, power lost) before the answer ended.
INTERRUPTED = "interrupted"
# The error class of a cancelled attempt that lost a hedge: another provider, asked too
# because this one was slow to start, gave its first token first (chatdesk/failover/hedge.py).
LOST_HEDGE = "lost_hedge"
