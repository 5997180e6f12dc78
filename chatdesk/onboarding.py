"""First run: the providers a key can be pasted for, and how a tested choice joins settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass

from chatdesk.settings import FailoverSettings, ProviderSettings, Settings
from chatdesk.setup_rules import is_local

# Why set up more than one: shown under the choices, in one line.
WHY_A_SECOND = ("Set up a second provider later and chatdesk keeps answering when one is "
                "down: the next one in your list takes over.")


@dataclass(frozen=True)
class KeyProvider:
    """A service an API key can be pasted for."""

    name: str  # the provider entry's name (and its key's name in the key store)
    label: str
    type: str  # anthropic | openai | gemini (OpenAI-compatible services are "openai")
    model: str
    key_url: str  # where a person gets a key
    base_url: str | None = None  # None: the type's default

    def entry(self, base_url: str | None = None) -> ProviderSettings:
        """Its provider entry (`base_url` overrides the service's own, e.g. a proxy)."""
        return ProviderSettings(self.name, self.type, self.model,
                                base_url=base_url or self.base_url)


KEY_PROVIDERS: tuple[KeyProvider, ...] = (
    KeyProvider("anthropic", "Anthropic (Claude)", "anthropic", "claude-sonnet-4-5",
                "https://console.anthropic.com/settings/keys"),
    KeyProvider("openai", "OpenAI (GPT)", "openai", "gpt-4o",
                "https://platform.openai.com/api-keys"),
    KeyProvider("gemini", "Google Gemini", "gemini", "gemini-2.5-flash",
                "https://aistudio.google.com/apikey"),
    KeyProvider("openrouter", "OpenRouter (many models)", "openai",
                "openrouter/auto", "https://openrouter.ai/settings/keys",
                "https://openrouter.ai/api/v1"),
    KeyProvider("mistral", "Mistral", "openai", "mistral-small-latest",
                "https://console.mistral.ai/api-keys", "https://api.mistral.ai/v1"),
    KeyProvider("groq", "Groq", "openai", "llama-3.3-70b-versatile",
                "https://console.groq.com/keys", "https://api.groq.com/openai/v1"),
    KeyProvider("deepseek", "DeepSeek", "openai", "deepseek-chat",
                "https://platform.deepseek.com/api_keys", "https://api.deepseek.com/v1"),
)


def key_provider(name: str) -> KeyProvider:
    """One of KEY_PROVIDERS by name (raises KeyError)."""
    for p in KEY_PROVIDERS:
        if p.name == name:
            return p
    raise KeyError(name)


def with_provider(settings: Settings, entry: ProviderSettings,
                  keep: Collection[str] = ()) -> Settings:
    """Settings with a tested provider entry added (or replacing one of the same name), last
    in the failover order, or first when nothing else is set up yet (`settings` is not
    changed). Built-in local entries not in `keep` (the providers set up) are dropped:
    they would be written into settings.toml as if the user had asked for them."""
    providers = {n: p for n, p in settings.providers.items()
                 if n == entry.name or n in keep
                 or not (n in settings.built_in and is_local(p))}
    providers[entry.name] = entry
    order = [n for n in settings.failover.order if n in providers and n != entry.name]
    order.append(entry.name)
    failover = dataclasses.replace(settings.failover, order=order)
    assert isinstance(failover, FailoverSettings)
    built_in = frozenset(n for n in settings.built_in if n in providers and n != entry.name)
    return Settings(failover, providers, dataclasses.replace(settings.ui), built_in=built_in)
