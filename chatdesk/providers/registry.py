"""Provider types by name, and the one shared HTTP client they all use."""

from __future__ import annotations

import dataclasses

import httpx

from chatdesk import __version__
from chatdesk.providers.anthropic import AnthropicProvider
from chatdesk.providers.base import Endpoint, Provider, Timeouts
from chatdesk.providers.gemini import GeminiProvider
from chatdesk.providers.ollama import OllamaProvider
from chatdesk.providers.openai import OpenAIProvider

PROVIDER_TYPES: dict[str, type[Provider]] = {
    cls.protocol: cls
    for cls in (AnthropicProvider, OpenAIProvider, GeminiProvider, OllamaProvider)
}
DEFAULT_TIMEOUTS = Timeouts()


def make_provider(
    type_name: str,
    endpoint: Endpoint,
    client: httpx.AsyncClient,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> Provider:
    """A provider of type `type_name`; an empty base URL means the type's default."""
    cls = PROVIDER_TYPES.get(type_name)
    if cls is None:
        known = ", ".join(sorted(PROVIDER_TYPES))
        raise ValueError(f"unknown provider type {type_name!r}: use one of {known}")
    if not endpoint.base_url.strip():
        endpoint = dataclasses.replace(endpoint, base_url=cls.default_base_url)
    return cls(endpoint, client, timeouts)


def new_http_client() -> httpx.AsyncClient:
    """The client every provider shares, so connections are pooled across messages.

    Redirects are never followed: a key must not travel to a host it was not meant for.
    Each request sets its own timeouts (see `Provider._httpx_timeout`); the client's are
    the fallback for anything else.
    """
    return httpx.AsyncClient(
        http1=True,
        http2=False,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=8,
                            keepalive_expiry=30.0),
        timeout=httpx.Timeout(30.0, connect=10.0),
        headers={"user-agent": f"chatdesk/{__version__}"},
    )
