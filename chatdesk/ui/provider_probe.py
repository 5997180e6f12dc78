"""The settings dialog's dealings with one provider: models, a test request, key advice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from chatdesk.providers.base import ChatRequest, Endpoint, Message, TextDelta, Timeouts
from chatdesk.providers.registry import make_provider
from chatdesk.secrets import key_env_vars
from chatdesk.settings import ProviderSettings
from chatdesk.wording import provider_failure

TEST_PROMPT = "Say OK"


@dataclass(frozen=True)
class KeyHint:
    """What the key field shows for one provider."""

    placeholder: str
    note: str
    stored: bool  # a key sits in the keyring and is not about to be forgotten


def key_hint(p: ProviderSettings, source: str, needs_key: bool, secure: bool,
             forgetting: bool) -> KeyHint:
    """Advice for the key field; source is KeyLookup.source ("keyring", "env:VAR", …)."""
    env_vars = key_env_vars(p)
    var = env_vars[0] if env_vars else None
    in_env = source[4:] if source.startswith("env:") else None
    stored = secure and source == "keyring" and not forgetting
    if not secure:
        todo = (f"Set the environment variable {var} to the key instead" if var else
                "Name an environment variable under “Key variable” and set it to the key")
        now = f" ({in_env} is set now)" if in_env else ""
        return KeyHint("no system keyring on this machine",
                       "No system keyring is available on this machine, so keys cannot be "
                       f"saved here. {todo}{now}.", False)
    if forgetting:
        return KeyHint("paste the API key", "The stored key will be removed when you save.",
                       False)
    if stored:
        return KeyHint("stored in the system keyring", "A key is stored in the system "
                       "keyring; type a new one to replace it.", True)
    if in_env:
        return KeyHint(f"using {in_env}", f"Using the key in {in_env}; type one to keep it in "
                       "the system keyring instead.", False)
    if not needs_key:
        return KeyHint("not needed", "This provider needs no key.", False)
    also = f" (or set {var})" if var else ""
    return KeyHint("paste the API key",
                   f"No key yet: paste it here{also}; it is kept in the system keyring.", False)


async def list_model_ids(p: ProviderSettings, key: str | None, client: httpx.AsyncClient,
                         timeouts: Timeouts) -> list[str]:
    """The model ids the provider offers (raises errors.ProviderError)."""
    provider = make_provider(p.type, Endpoint(p.name, p.effective_base_url(), key), client,
                             timeouts)
    return [m.id for m in await provider.list_models()]


async def test_provider(p: ProviderSettings, key: str | None, client: httpx.AsyncClient,
                        timeouts: Timeouts) -> str:
    """Send one tiny real request; the outcome as a sentence ("OK — answered in 0.4 s").
    Failures raise errors.ProviderError (see error_sentence)."""
    provider = make_provider(p.type, Endpoint(p.name, p.effective_base_url(), key), client,
                             timeouts)
    started = time.monotonic()
    request = ChatRequest([Message("user", TEST_PROMPT)], p.model, max_tokens=5)
    got_text = False
    async for event in provider.stream(request):
        got_text = got_text or (isinstance(event, TextDelta) and bool(event.text))
    elapsed = time.monotonic() - started
    if not got_text:
        return f"Reached {p.name}, but its answer was empty ({elapsed:.1f} s)."
    return f"OK — answered in {elapsed:.1f} s"


def error_sentence(exc: BaseException, provider: ProviderSettings) -> str:
    """One sentence for a failed test or model listing, saying what to check."""
    return provider_failure(exc, provider.name, provider.effective_base_url())


def spawn(coro: Coroutine[Any, Any, None]) -> asyncio.Future[None] | None:
    """Schedule coro on the running (qasync) loop; None when there is none."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        coro.close()
        return None
    return asyncio.ensure_future(coro, loop=loop)


