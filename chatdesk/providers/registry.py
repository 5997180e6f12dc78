"""Provider types by name, and the one shared HTTP client they all use."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import httpx

from chatdesk import __version__, wording
from chatdesk.providers import errors
from chatdesk.providers.anthropic import AnthropicProvider
from chatdesk.providers.base import Endpoint, Provider, Timeouts
from chatdesk.providers.gemini import GeminiProvider
from chatdesk.providers.ollama import OllamaProvider
from chatdesk.providers.openai import OpenAIProvider
from chatdesk.providers.tls import default_context, ssl_context
from chatdesk.settings import ProviderSettings, plain_http_host

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
    """A provider of type `type_name`; an empty base URL means the type's default.

    Raises errors.InsecureHttp when the key would travel in clear (http:// to another
    machine) and the entry does not say allow_insecure_http: nothing is sent then.
    """
    cls = PROVIDER_TYPES.get(type_name)
    if cls is None:
        known = ", ".join(sorted(PROVIDER_TYPES))
        raise ValueError(f"unknown provider type {type_name!r}: use one of {known}")
    if not endpoint.base_url.strip():
        endpoint = dataclasses.replace(endpoint, base_url=cls.default_base_url)
    host = plain_http_host(endpoint.base_url)
    if endpoint.api_key and host and not endpoint.allow_insecure_http:
        sentence = wording.insecure_http(endpoint.name, host)
        raise errors.InsecureHttp(wording.clause(sentence), provider=endpoint.name)
    return cls(endpoint, client, timeouts)


_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=8, keepalive_expiry=30.0)


def new_http_client(providers: Iterable[ProviderSettings] = ()) -> httpx.AsyncClient:
    """The client every provider shares, so connections are pooled across messages.

    Redirects are never followed: a key must not travel to a host it was not meant for.
    Each request sets its own timeouts (see `Provider._httpx_timeout`); the client's are
    the fallback for anything else. Certificates are checked against SSL_CERT_FILE /
    REQUESTS_CA_BUNDLE / SSL_CERT_DIR when set, else certifi's CAs; a provider's
    `ca_bundle` adds its CAs for that provider's host (one transport per such host).
    """
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    for provider in providers:
        pattern = _https_pattern(provider.effective_base_url())
        if provider.ca_bundle and pattern and pattern not in mounts:
            mounts[pattern] = httpx.AsyncHTTPTransport(
                verify=ssl_context(provider.ca_bundle), http1=True, http2=False,
                limits=_LIMITS)
    return httpx.AsyncClient(
        http1=True,
        http2=False,
        verify=default_context(),
        follow_redirects=False,
        limits=_LIMITS,
        timeout=httpx.Timeout(30.0, connect=10.0),
        headers={"user-agent": f"chatdesk/{__version__}"},
        mounts=mounts or None,
    )


def _https_pattern(base_url: str) -> str | None:
    """The httpx mount pattern of an https:// base URL's host and port, else None."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        return None
    if url.scheme != "https" or not url.host:
        return None
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"https://{host}:{url.port}" if url.port else f"https://{host}"
