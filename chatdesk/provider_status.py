"""Each provider's state as people see it: its health, merged with whether it has a key."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatdesk.secrets import redact
from chatdesk.store import HealthState

if TYPE_CHECKING:
    from chatdesk.failover.health import HealthBook
    from chatdesk.secrets import KeyStore
    from chatdesk.settings import Settings

log = logging.getLogger("chatdesk")


@dataclass(frozen=True)
class ProviderStatus:
    """One provider in the status bar, `providers --json` and the retry gate."""

    name: str
    type: str
    model: str
    base_url: str
    state: HealthState  # NO_KEY also when no key is set at all
    last_error: str | None
    failures: int
    seconds_left: float  # of the cooldown (or of a rejected key's wait); 0 otherwise

    @property
    def ready(self) -> bool:
        """A message may be sent to it now."""
        return self.state in (HealthState.UP, HealthState.HALF_OPEN)

    @property
    def cooldown_left_s(self) -> int:
        """SPEC's `cooldown_left_s`: whole seconds of a cooldown, 0 unless down."""
        return round(self.seconds_left) if self.state == HealthState.DOWN else 0


def missing_keys(settings: Settings, keys: KeyStore) -> frozenset[str]:
    """The providers that need a key and have none (looks in the keyring: may be slow)."""
    missing = set()
    for p in settings.ordered_providers():
        try:
            if keys.needs_key(p) and keys.lookup(p).key is None:
                missing.add(p.name)
        except Exception:  # a broken keyring must not stop anything that only reports
            log.exception("looking up the key of %s failed", p.name)
    return frozenset(missing)


def provider_statuses(settings: Settings, health: HealthBook,
                      missing: frozenset[str]) -> list[ProviderStatus]:
    """Every provider in failover order: its health, or no-key when it has no key."""
    rows = []
    for p in settings.ordered_providers():
        h = health.get(p.name)
        rows.append(ProviderStatus(
            name=p.name, type=p.type, model=p.model, base_url=p.effective_base_url(),
            state=HealthState.NO_KEY if p.name in missing else h.state,
            # Redacted again: a row written by an older version may hold a key.
            last_error=redact(h.last_error) if h.last_error else None,
            failures=h.failures, seconds_left=h.seconds_left))
    return rows
