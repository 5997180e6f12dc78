"""Per-provider health: unknown → up (or slow) → down (cooling) → half-open → up, and a
rejected key; shared by every chatdesk process through the history file."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chatdesk.store import HealthRow, HealthState, HistoryStore

if TYPE_CHECKING:
    from chatdesk.failover import policy
    from chatdesk.providers import errors

# A rejected key is not retried on every message, but is tried again after this long
# (the user may have fixed the variable); `keys set` clears it at once.
NO_KEY_RETRY_S = 300.0
# A provider answering message after message rewrites its "last answered" time at most this
# often: the status bar shows it to the minute.
SUCCESS_WRITE_EVERY_S = 30.0

# Slow: the median first-token time of the provider's SLOW_RECENT latest answers (the
# newest within SLOW_WINDOW_S) is at least SLOW_RATIO times, and SLOW_MARGIN_S more than,
# the median of the SLOW_BASELINE answers before them (at least SLOW_MIN_BASELINE of them).
# The median of three: one odd answer neither makes a provider slow nor clears it.
SLOW_RECENT = 3
SLOW_BASELINE = 20
SLOW_MIN_BASELINE = 5
SLOW_RATIO = 2.0
SLOW_MARGIN_S = 2.0
SLOW_WINDOW_S = 1800.0


@dataclass(frozen=True)
class ProviderHealth:
    """What the CLI and the status bar show for one provider."""

    name: str
    state: HealthState
    failures: int
    seconds_left: float  # of the cooldown (or a rejected key's wait); 0 when not waiting
    last_error: str | None
    last_error_class: str | None
    last_success_at: float | None = None  # unix times; None: never
    last_failure_at: float | None = None
    down_until: float | None = None  # unix time the cooldown (or the wait) ends

    @property
    def ever_answered(self) -> bool:
        return self.last_success_at is not None


def _key_rejected(row: HealthRow) -> bool:
    """A key the provider refused (older versions stored it as no-key, error class auth)."""
    from chatdesk.providers.errors import ErrorClass  # cheap, but not at start-up

    return row.state == HealthState.KEY_REJECTED or (
        row.state == HealthState.NO_KEY and row.last_error_class == ErrorClass.AUTH)


class HealthBook:
    """Reads and writes provider health in the history database, so every chatdesk process
    on the same data dir sees the same state (a CLI run skips a provider the app saw fail)."""

    def __init__(self, store: HistoryStore, cooldown_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.cooldown_s = cooldown_s
        self.clock = clock

    def _row(self, name: str) -> HealthRow | None:
        return self.store.get_health(name)

    def get(self, name: str) -> ProviderHealth:
        row = self._row(name)
        if row is None:
            return ProviderHealth(name, HealthState.UNKNOWN, 0, 0.0, None, None)
        now = self.clock()
        left = max(0.0, (row.down_until or 0.0) - now)
        state = self._state(row, left)
        return ProviderHealth(name, state, row.failures, left, row.last_error,
                              row.last_error_class, row.last_success_at, row.last_failure_at,
                              row.down_until)

    def _state(self, row: HealthRow, left: float) -> HealthState:
        """The state a stored row means now (see HealthState)."""
        if row.state in (HealthState.NO_KEY, HealthState.KEY_REJECTED):
            if left <= 0:
                return HealthState.HALF_OPEN
            return HealthState.KEY_REJECTED if _key_rejected(row) else HealthState.NO_KEY
        if left > 0:
            return HealthState.DOWN
        # A probe that reached the provider stores `up` and keeps the failure count (the
        # backoff goes on if the next message fails); a cooldown that merely ended does not.
        if row.failures > 0 and row.state != HealthState.UP:
            return HealthState.HALF_OPEN
        if row.last_success_at is None:
            return HealthState.UNKNOWN
        return HealthState.SLOW if self.slow(row.name) else HealthState.UP

    def slow(self, name: str) -> bool:
        """Whether the provider's latest first tokens came much later than usual (the rule
        is above SLOW_RECENT)."""
        times = self.store.first_token_times(name, SLOW_RECENT + SLOW_BASELINE)
        recent, baseline = times[:SLOW_RECENT], times[SLOW_RECENT:]
        if len(recent) < SLOW_RECENT or len(baseline) < SLOW_MIN_BASELINE:
            return False
        newest = datetime.fromisoformat(recent[0][1]).timestamp()
        if self.clock() - newest > SLOW_WINDOW_S:
            return False  # slow a while ago says nothing about now
        lately = _median([t for t, _ in recent])
        usual = _median([t for t, _ in baseline])
        return lately >= SLOW_RATIO * usual and lately - usual >= SLOW_MARGIN_S

    def available(self, name: str) -> bool:
        """Whether a message may be sent to this provider now (not cooling down)."""
        return self.get(name).state.usable

    def record_success(self, name: str) -> None:
        row = self._row(name)
        now = self.clock()
        if (row is not None and row.state == HealthState.UP and row.failures == 0
                and row.down_until is None and row.last_success_at is not None
                and now - row.last_success_at < SUCCESS_WRITE_EVERY_S):
            return  # nothing to write on the common path
        self._put(name, HealthState.UP, 0, None, row.last_error if row else None,
                  row.last_error_class if row else None, success_at=now)

    def record_failure(self, name: str, error: errors.ProviderError) -> policy.Decision:
        """Apply the policy's decision for this failure to the provider's state."""
        from chatdesk.failover import policy  # the window reads health long before any failure

        decision = policy.decide(error)
        row = self._row(name)
        failures = (row.failures if row else 0) + 1
        now = self.clock()
        if decision.no_key:
            from chatdesk.providers.errors import AuthError

            state = HealthState.KEY_REJECTED if isinstance(error, AuthError) \
                else HealthState.NO_KEY
            self._put(name, state, failures, now + NO_KEY_RETRY_S, error.message,
                      error.kind, failure_at=now)
        elif decision.cool_down:
            cooling = (row is not None and row.state == HealthState.DOWN
                       and (row.down_until or 0.0) > now)
            if cooling:
                # An answer already in flight when the provider went down: the same outage,
                # not one more failure in a row (N parallel answers must not double N times).
                failures -= 1
            until = now + policy.cooldown_seconds(self.cooldown_s, failures, error)
            if cooling and row is not None and row.down_until is not None:
                until = max(until, row.down_until)
            self._put(name, HealthState.DOWN, failures, until, error.message, error.kind,
                      failure_at=now)
        else:
            self._put(name, row.state if row else HealthState.UP, row.failures if row else 0,
                      row.down_until if row else None, error.message, error.kind,
                      failure_at=now)
        return decision

    def record_probe(self, name: str, error: errors.ProviderError | None) -> None:
        """What a cheap probe (a model list) at a cooldown's end found: reached, the provider
        is up at once; a failure is a failure like any other (the policy's cooldown).

        A probe proves the provider reachable, not that it answers: the failure count is
        kept, so a first message failing after it backs off further (a real answer clears
        it). A failure that is no outage (a model list the server lacks: 404) still shows
        the server reachable: up, though not a success."""
        if error is not None:
            decision = self.record_failure(name, error)
            if decision.cool_down or decision.no_key:
                return
        row = self._row(name)
        self._put(name, HealthState.UP, row.failures if row else 0, None,
                  row.last_error if row else None, row.last_error_class if row else None,
                  success_at=self.clock() if error is None else None)

    def mark_down(self, name: str, reason: str, seconds: float) -> None:
        """An early warning (a status page reporting an outage) before any message fails."""
        row = self._row(name)
        failures = row.failures if row else 0
        until = self.clock() + seconds
        if row is not None and row.down_until is not None and row.down_until > until:
            until = row.down_until
        from chatdesk.providers.errors import ErrorClass  # not at start-up: see record_failure

        self._put(name, HealthState.DOWN, max(failures, 1), until, reason, ErrorClass.STATUS_PAGE)

    def reset(self, name: str) -> None:
        """Forget past failures (a new key was set, or the user asked)."""
        self._put(name, HealthState.UP, 0, None, None, None)

    def _put(self, name: str, state: str, failures: int, down_until: float | None,
             last_error: str | None, last_error_class: str | None, *,
             success_at: float | None = None, failure_at: float | None = None) -> None:
        """Write one row; the last success and failure times are kept unless given."""
        row = self._row(name)
        self.store.put_health(HealthRow(
            name=name, state=state, failures=failures, down_until=down_until,
            last_error=last_error, last_error_class=last_error_class,
            updated_at=_iso(self.clock()),
            last_success_at=success_at if success_at is not None else (
                row.last_success_at if row else None),
            last_failure_at=failure_at if failure_at is not None else (
                row.last_failure_at if row else None),
        ))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _median(values: list[float]) -> float:
    """statistics.median, whose import (fractions, decimal: ~4 ms) `ask` paid before its
    first byte once a provider had answered 8 times."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
