"""Key pools in failover: each key's own health and cooldown (by fingerprint, in the history
file, so every process sees it) and which key of a provider to send next."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chatdesk.providers import errors
from chatdesk.secrets import PoolKey
from chatdesk.settings import ProviderSettings
from chatdesk.store import HealthState, HistoryStore, KeyHealthRow


@dataclass(frozen=True)
class KeyHealth:
    """One key of a pool as failover sees it now (never the key: its fingerprint)."""

    fingerprint: str
    source: str  # where it was found: "keyring", "env:NAME"…
    state: HealthState  # UP, DOWN (cooling after a rate limit or quota) or KEY_REJECTED
    seconds_left: float  # of its cooldown; 0 when usable
    last_error_class: str | None = None

    @property
    def usable(self) -> bool:
        return self.state == HealthState.UP


@dataclass(frozen=True)
class KeyChoice:
    """The key to send to a provider, or none: `key` None and `waiting_s` > 0 means every
    key of its pool is cooling down (or rejected) for at least that long."""

    key: str | None = field(repr=False)
    fingerprint: str | None
    pooled: bool  # the provider has more than one key (notices then name the key)
    waiting_s: float = 0.0


class KeyBook:
    """Reads and writes the health of each key of each provider's pool. A provider with one
    key keeps no key health: its provider health says it all, as before pools."""

    def __init__(self, store: HistoryStore, pool: Callable[[ProviderSettings], list[PoolKey]],
                 cooldown_s: Callable[[], float], clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.pool = pool
        self.cooldown_s = cooldown_s
        self.clock = clock

    def health(self, settings: ProviderSettings,
               keys: list[PoolKey] | None = None) -> list[KeyHealth]:
        """Every key of the provider's pool (`keys`: as just read) in the order they are
        tried, with its health."""
        keys = self.pool(settings) if keys is None else keys
        rows = self.store.key_health(settings.name) if len(keys) > 1 else {}
        now = self.clock()
        found = []
        for key in keys:
            row = rows.get(key.fingerprint)
            left = max(0.0, (row.down_until or 0.0) - now) if row else 0.0
            state = HealthState(row.state) if row is not None and left > 0 else HealthState.UP
            found.append(KeyHealth(key.fingerprint, key.source, state, left,
                                   row.last_error_class if row else None))
        return found

    def choose(self, settings: ProviderSettings, force: bool = False) -> KeyChoice:
        """The first usable key of the pool. None usable: the key whose wait ends first if
        `force` (the user's "Send now"), else no key and how long until one is usable. An
        empty pool gives no key and no wait (the provider then has no key at all)."""
        keys = self.pool(settings)
        if len(keys) <= 1:
            only = keys[0] if keys else None
            return KeyChoice(only.key if only else None, only.fingerprint if only else None,
                             pooled=False)
        by_print = {k.fingerprint: k for k in keys}
        states = self.health(settings, keys)
        usable = [h for h in states if h.usable]
        if usable:
            return KeyChoice(by_print[usable[0].fingerprint].key, usable[0].fingerprint, True)
        soonest = min(states, key=lambda h: h.seconds_left)
        if force:
            return KeyChoice(by_print[soonest.fingerprint].key, soonest.fingerprint, True)
        return KeyChoice(None, None, True, waiting_s=max(soonest.seconds_left, 1.0))

    def usable_count(self, settings: ProviderSettings) -> tuple[int, int]:
        """(usable keys, keys) of the provider's pool: the status bar's "2 of 3 keys"."""
        states = self.health(settings)
        return sum(h.usable for h in states), len(states)

    def record_failure(self, settings: ProviderSettings, fingerprint: str,
                       error: errors.ProviderError) -> bool:
        """A key's own failure (rate limit, quota, rejected): it cools down or waits, as the
        policy says. Whether another key of the pool is usable now (then the provider is
        not to blame); False for a provider with one key."""
        keys = self.pool(settings)
        if len(keys) <= 1:
            return False
        row = self.store.key_health(settings.name).get(fingerprint)
        failures = (row.failures if row else 0) + 1
        now = self.clock()
        state = HealthState.KEY_REJECTED if isinstance(error, errors.AuthError) \
            else HealthState.DOWN
        from chatdesk.failover import policy  # a failure's: not before the first send

        until = now + policy.key_cooldown_seconds(self.cooldown_s(), failures, error)
        self.store.put_key_health(KeyHealthRow(settings.name, fingerprint, state, failures,
                                               until, error.kind, _iso(now)))
        return any(h.usable for h in self.health(settings, keys)
                   if h.fingerprint != fingerprint)

    def record_success(self, name: str, fingerprint: str | None) -> None:
        """The key answered: its past failures are forgotten (nothing to write if none)."""
        if fingerprint is not None and fingerprint in self.store.key_health(name):
            self.store.clear_key_health(name, fingerprint)

    def forget(self, name: str, fingerprint: str | None = None) -> None:
        """A key was added or removed: its (or every key's) health starts afresh."""
        self.store.clear_key_health(name, fingerprint)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
