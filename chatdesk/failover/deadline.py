"""The adaptive first-token deadline: a multiple of a provider+model's recent p95, learned from
the history file (so every chatdesk process learns from every other), clamped to a floor and
to the configured first_token_timeout_s."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatdesk.store import HistoryStore


@dataclass(frozen=True)
class DeadlineRule:
    """How the deadline is learned. A provider that answered its latest `window` messages
    with a p95 first token of P seconds is given `multiple` × P (at least `floor_s`) before
    the router asks another provider; with fewer than `min_samples` answers it gets the
    configured first-token timeout."""

    multiple: float = 4.0
    window: int = 20
    min_samples: int = 5
    # Loopback and LAN providers answer in milliseconds: a few seconds still leave room for
    # a network hiccup or a busy machine without asking a second provider.
    floor_s: float = 2.5


DEFAULT_RULE = DeadlineRule()


@dataclass(frozen=True)
class FirstTokenDeadline:
    """How long one attempt may wait for its first token before a backup is asked."""

    seconds: float
    configured_s: float  # the configured first_token_timeout_s: what the provider gets at most
    samples: int  # first-token times it was learned from
    p95_s: float | None  # their 95th percentile (None: too few to learn from)

    @property
    def learned(self) -> bool:
        """Whether the deadline is shorter than the configured timeout: only then is a backup
        asked early (or the provider given up early) at all."""
        return self.p95_s is not None and self.seconds < self.configured_s


def p95(samples: Sequence[float]) -> float:
    """The 95th percentile, nearest rank (of 20 samples: the second largest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def learn(samples: Sequence[float], configured_s: float,
          rule: DeadlineRule = DEFAULT_RULE) -> FirstTokenDeadline:
    """The deadline for `samples` (first-token seconds, any order): `rule.multiple` × their
    p95, clamped to [floor, configured]; the configured timeout with too few samples."""
    usable = [s for s in samples if math.isfinite(s) and s >= 0]
    if len(usable) < rule.min_samples:
        return FirstTokenDeadline(configured_s, configured_s, len(usable), None)
    high = p95(usable)
    seconds = min(configured_s, max(rule.floor_s, rule.multiple * high))
    return FirstTokenDeadline(seconds, configured_s, len(usable), high)


class DeadlineBook:
    """Reads each provider+model's latest first-token times from the history file."""

    def __init__(self, store: HistoryStore, configured_s: Callable[[], float],
                 rule: DeadlineRule = DEFAULT_RULE) -> None:
        self.store = store
        self.configured_s = configured_s  # read at each attempt: the settings may change
        self.rule = rule

    def get(self, provider: str, model: str) -> FirstTokenDeadline:
        times = self.store.first_token_times(provider, self.rule.window, model)
        return learn([t for t, _ in times], self.configured_s(), self.rule)
