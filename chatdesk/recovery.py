"""When to probe a cooling provider: once, as its cooldown (or a rejected key's wait) ends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chatdesk.states import HealthState

if TYPE_CHECKING:
    from chatdesk.provider_status import ProviderStatus

# A wake-up lands this much after the cooldown's end, so the provider reads as half-open.
WAKE_MARGIN_S = 0.05
_WAITING = (HealthState.DOWN, HealthState.KEY_REJECTED)
_NEVER = object()


@dataclass(frozen=True)
class ProbePlan:
    """What to do now: probe `due` (each is then running until `finished`), and look again
    after `wake_in_s[name]` seconds, when that provider's cooldown ends."""

    due: tuple[str, ...] = ()
    wake_in_s: dict[str, float] = field(default_factory=dict)


class ProbeScheduler:
    """Plans probes from provider statuses (read from the shared history, so a cooldown
    another process started counts too). A cooldown's end is probed once: a probe that left
    the provider half-open (it could not be made at all) is not repeated until its health
    changes; the next message tries it then."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._probed: dict[str, object] = {}  # provider -> the cooldown end it was probed at
        self._running: set[str] = set()

    def plan(self, statuses: Iterable[ProviderStatus]) -> ProbePlan:
        now = self.clock()
        due: list[str] = []
        wake: dict[str, float] = {}
        for s in statuses:
            if s.state in _WAITING and s.down_until is not None and s.down_until > now:
                wake[s.name] = s.down_until - now + WAKE_MARGIN_S
            elif s.state not in (*_WAITING, HealthState.HALF_OPEN):
                self._probed.pop(s.name, None)  # up, unknown, no key: nothing to probe
            elif s.name not in self._running and self._probed.get(s.name, _NEVER) != s.down_until:
                due.append(s.name)
                self._running.add(s.name)
                self._probed[s.name] = s.down_until
        return ProbePlan(tuple(due), wake)

    def finished(self, name: str) -> None:
        """A probe of `name` ended (whatever its result: health holds that)."""
        self._running.discard(name)

    @property
    def running(self) -> frozenset[str]:
        return frozenset(self._running)
