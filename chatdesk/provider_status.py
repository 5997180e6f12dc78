"""Each provider's state as people see it: its health, merged with whether it has a key."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from chatdesk.secrets import redact
from chatdesk.store import HealthState

if TYPE_CHECKING:
    from chatdesk.failover.health import HealthBook, ProviderHealth
    from chatdesk.failover.keys import KeyBook
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
    state: HealthState  # NO_KEY when no key is found, whatever its health says
    last_error: str | None
    failures: int
    seconds_left: float  # of the cooldown (or of a rejected key's wait); 0 otherwise
    last_error_class: str | None = None
    last_success_at: float | None = None  # unix times; None: never
    last_failure_at: float | None = None
    down_until: float | None = None  # unix time the cooldown (or the key's wait) ends
    not_set_up: str | None = None  # why it is never asked (setup_rules), or None
    keys_usable: int | None = None  # of its pool's keys, when it has more than one
    keys_total: int | None = None

    @property
    def keys_words(self) -> str | None:
        """'2 of 3 keys usable' for a provider with a pool of keys, else None."""
        from chatdesk.wording import keys_usable

        if self.keys_total is None or self.keys_usable is None:
            return None
        return keys_usable(self.keys_usable, self.keys_total)

    @property
    def ready(self) -> bool:
        """A message may be sent to it now (the router tries it)."""
        return self.state.usable

    @property
    def cooldown_left_s(self) -> int:
        """SPEC's `cooldown_left_s`: whole seconds of a cooldown, 0 unless down."""
        return round(self.seconds_left) if self.state == HealthState.DOWN else 0


def missing_keys(settings: Settings, keys: KeyStore) -> frozenset[str]:
    """The providers that need a key and have none (looks in the keyring: may be slow)."""
    missing = set()
    for p in settings.ordered_providers():
        try:
            # A key in the environment answers it without loading keyring (~4 MB at idle);
            # which key is used when sending is still the lookup's order.
            if keys.needs_key(p) and keys.lookup(p, keyring=False).key is None \
                    and keys.lookup(p).key is None:
                missing.add(p.name)
        except Exception:  # a broken keyring must not stop anything that only reports
            log.exception("looking up the key of %s failed", p.name)
    return frozenset(missing)


def provider_statuses(settings: Settings, health: HealthBook, missing: frozenset[str],
                      keys: KeyBook | None = None) -> list[ProviderStatus]:
    """Every provider in failover order: its health, or no-key when it has no key; with
    `keys`, how many keys of a pool are usable."""
    from chatdesk.setup_rules import checks

    why_not = {c.name: c.why_not for c in checks(settings, health, missing)}
    found = []
    for p in settings.ordered_providers():
        status = replace(merged(p.name, p.type, p.model, p.effective_base_url(),
                                health.get(p.name), p.name in missing),
                         # No key has its own state; the rest of "not set up" is said here.
                         not_set_up=None if p.name in missing else why_not.get(p.name))
        if keys is not None and p.name not in missing:
            try:
                usable, total = keys.usable_count(p)
            except Exception:  # a broken keyring must not stop anything that only reports
                log.exception("reading the key pool of %s failed", p.name)
                usable, total = 0, 0
            if total > 1:
                status = replace(status, keys_usable=usable, keys_total=total)
        found.append(status)
    return found


def merged(name: str, type_: str, model: str, base_url: str, h: ProviderHealth,
           key_missing: bool) -> ProviderStatus:
    """The one merge of health and keys: no key found wins over any health; a `no-key` the
    health remembers while a key is there now means the next message tries it."""
    state = h.state
    if key_missing:
        state = HealthState.NO_KEY
    elif state == HealthState.NO_KEY:
        state = HealthState.HALF_OPEN
    return ProviderStatus(
        name=name, type=type_, model=model, base_url=base_url, state=state,
        # Redacted again: a row written by an older version may hold a key.
        last_error=redact(h.last_error) if h.last_error else None,
        failures=h.failures, seconds_left=h.seconds_left, last_error_class=h.last_error_class,
        last_success_at=h.last_success_at, last_failure_at=h.last_failure_at,
        down_until=h.down_until)
