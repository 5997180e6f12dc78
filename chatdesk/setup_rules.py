"""Whether a provider is set up, and why not: the one rule the chat service, CLI and app use.

A provider that is not set up is skipped without a word: it never makes a message pending
(pending is for outages of providers that work) and is never named in an error."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chatdesk.providers.errors import never_connected

if TYPE_CHECKING:
    from chatdesk.failover.health import HealthBook, ProviderHealth
    from chatdesk.settings import ProviderSettings, Settings

@dataclass(frozen=True)
class SetUp:
    """One provider's answer to "can it be asked?" — `why_not` is a clause for people."""

    name: str
    why_not: str | None = None

    @property
    def ok(self) -> bool:
        return self.why_not is None


def is_local(provider: ProviderSettings) -> bool:
    """A server on this machine (Ollama, or any endpoint on a loopback address)."""
    if provider.type == "ollama":
        return True
    host = (urlsplit(provider.effective_base_url()).hostname or "").rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(provider: ProviderSettings, *, has_key: bool, health: ProviderHealth,
          built_in: bool) -> SetUp:
    """The rule. Not set up: no key found; a local server from the built-in defaults that
    has never answered; or a local server that was never reachable (no connection could be
    made and it has never answered). An entry the user wrote, with its key, is set up."""
    name = provider.name
    if not has_key:
        return SetUp(name, "no key found")
    if health.ever_answered:
        return SetUp(name)
    if built_in and is_local(provider):
        return SetUp(name, "a local server from the built-in list that has never answered")
    # Only a server on this computer: a service elsewhere that cannot be reached is an
    # outage (or this computer is offline), and its messages wait as pending.
    if is_local(provider) and never_connected(health.last_error_class, health.last_error):
        return SetUp(name, "never reachable")
    return SetUp(name)


def checks(settings: Settings, health: HealthBook, missing_keys: Iterable[str],
           names: Iterable[str] | None = None) -> list[SetUp]:
    """The rule for each provider (`names`, else all in failover order); `missing_keys`
    are the providers that need a key and have none."""
    missing = set(missing_keys)
    wanted = list(names) if names is not None else \
        [p.name for p in settings.ordered_providers()]
    return [check(settings.providers[n], has_key=n not in missing, health=health.get(n),
                  built_in=n in settings.built_in)
            for n in wanted if n in settings.providers]


def any_set_up(settings: Settings, health: HealthBook, missing_keys: Iterable[str]) -> bool:
    """Whether some provider could answer at all (else the app shows its welcome view)."""
    return any(c.ok for c in checks(settings, health, missing_keys))
