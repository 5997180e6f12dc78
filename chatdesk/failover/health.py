"""Per-provider health: up → down (cooling) → half-open → up, shared through the data dir."""

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


@dataclass(frozen=True)
class ProviderHealth:
    """What the CLI and the status bar show for one provider."""

    name: str
    state: HealthState
    failures: int
    seconds_left: float  # of the cooldown; 0 when not cooling down
    last_error: str | None
    last_error_class: str | None
    last_success_at: float | None = None  # unix times; None: never
    last_failure_at: float | None = None

    @property
    def ever_answered(self) -> bool:
        return self.last_success_at is not None


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
            return ProviderHealth(name, HealthState.UP, 0, 0.0, None, None)
        now = self.clock()
        left = max(0.0, (row.down_until or 0.0) - now)
        if row.state == HealthState.NO_KEY:
            state = HealthState.NO_KEY if left > 0 else HealthState.HALF_OPEN
        elif left > 0:
            state = HealthState.DOWN
        elif row.failures > 0:
            state = HealthState.HALF_OPEN
        else:
            state = HealthState.UP
        return ProviderHealth(name, state, row.failures, left, row.last_error,
                              row.last_error_class, row.last_success_at, row.last_failure_at)

    def available(self, name: str) -> bool:
        """Whether a message may be sent to this provider now (not cooling down)."""
        return self.get(name).state in (HealthState.UP, HealthState.HALF_OPEN)

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
            self._put(name, HealthState.NO_KEY, failures, now + NO_KEY_RETRY_S, error.message,
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
