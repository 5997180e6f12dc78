"""Finding model servers on this computer: the usual ports, asked at once, briefly."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from chatdesk.providers import errors
from chatdesk.providers.base import Endpoint, Timeouts
from chatdesk.providers.registry import make_provider
from chatdesk.settings import ProviderSettings

# A server on this machine answers its model list in milliseconds; one that is not running
# refuses at once. This only bounds a port that accepts and then says nothing.
PROBE_TIMEOUT_S = 1.5


@dataclass(frozen=True)
class LocalServer:
    """One place a local model server usually listens."""

    name: str  # the provider entry's name when it is chosen: "ollama", "lmstudio"…
    label: str  # for people: "Ollama", "LM Studio"…
    type: str  # "ollama" (/api/tags) or "openai" (any OpenAI-compatible /v1/models)
    base_url: str


@dataclass(frozen=True)
class FoundServer:
    """A server that answered, with the models it offers."""

    server: LocalServer
    models: list[str]

    def entry(self, model: str | None = None) -> ProviderSettings:
        """The provider entry that uses it (its first model unless `model` is given)."""
        s = self.server
        return ProviderSettings(s.name, s.type, model or (self.models[0] if self.models else ""),
                                base_url=s.base_url)


def default_servers(environ: Mapping[str, str] = os.environ) -> list[LocalServer]:
    """Ollama (at OLLAMA_HOST, else 11434), LM Studio, llama.cpp, vLLM and Jan."""
    ollama = ProviderSettings("ollama", "ollama", "").effective_base_url(environ)
    return [
        LocalServer("ollama", "Ollama", "ollama", ollama),
        LocalServer("lmstudio", "LM Studio", "openai", "http://127.0.0.1:1234/v1"),
        LocalServer("llamacpp", "llama.cpp", "openai", "http://127.0.0.1:8080/v1"),
        LocalServer("vllm", "vLLM", "openai", "http://127.0.0.1:8000/v1"),
        LocalServer("jan", "Jan", "openai", "http://127.0.0.1:1337/v1"),
    ]


async def probe(servers: Sequence[LocalServer], client: httpx.AsyncClient | None = None,
                timeout_s: float = PROBE_TIMEOUT_S) -> list[FoundServer]:
    """The servers that answered their model list, in the order given; all are asked at
    once, and one that does not answer in `timeout_s` is left out."""
    own = client is None
    http = client or httpx.AsyncClient(follow_redirects=False)
    try:
        found = await asyncio.gather(*(_ask(s, http, timeout_s) for s in servers))
    finally:
        if own:
            await http.aclose()
    return [f for f in found if f is not None]


async def _ask(server: LocalServer, client: httpx.AsyncClient,
               timeout_s: float) -> FoundServer | None:
    endpoint = Endpoint(server.name, server.base_url, None, False)
    provider = make_provider(server.type, endpoint, client,
                             Timeouts(timeout_s, timeout_s, timeout_s))
    try:
        models = await asyncio.wait_for(provider.list_models(), timeout_s * 2)
    except (errors.ProviderError, TimeoutError, httpx.HTTPError, OSError):
        return None
    return FoundServer(server, [m.id for m in models])
