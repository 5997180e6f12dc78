"""ChatService: the one entry point for sending, retrying and stopping, used by CLI and app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import httpx

from chatdesk import events as ev
from chatdesk import wording
from chatdesk.failover.health import HealthBook
from chatdesk.failover.router import Candidate, Router, Turn
from chatdesk.providers import errors
from chatdesk.providers.base import Endpoint, Message, Provider, Timeouts
from chatdesk.providers.registry import make_provider, new_http_client
from chatdesk.secrets import KeyStore, key_env_vars
from chatdesk.settings import ProviderSettings, Settings
from chatdesk.store import HistoryStore, MessageStatus, StoredMessage

# Which stored messages a provider sees as the conversation so far.
_SENT_STATUSES = {
    "user": {MessageStatus.COMPLETE, MessageStatus.PENDING},
    "assistant": {MessageStatus.COMPLETE, MessageStatus.PARTIAL},
}


class UnknownProviderError(ValueError):
    """A provider name that settings.toml does not define."""


class ChatService:
    """Saves the user's text first, then gets the answer through the failover router."""

    def __init__(
        self,
        store: HistoryStore,
        settings: Settings,
        keys: KeyStore,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        flush_interval_s: float = 0.25,
    ) -> None:
        self.store = store
        self.settings = settings
        self.keys = keys
        self._client = client
        self.health = HealthBook(store, settings.failover.cooldown_s, clock)
        self.router = Router(store, self.health, self.build_provider,
                             flush_interval_s=flush_interval_s)

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = new_http_client()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- providers --------------------------------------------------------------------

    @property
    def timeouts(self) -> Timeouts:
        f = self.settings.failover
        return Timeouts(f.connect_timeout_s, f.first_token_timeout_s, f.stall_timeout_s)

    def build_provider(self, provider: ProviderSettings) -> Provider:
        """A ready provider, or `errors.MissingKey` when it needs a key nobody gave."""
        lookup = self.keys.lookup(provider)
        if lookup.key is None and self.keys.needs_key(provider):
            env_var = next(iter(key_env_vars(provider)), None)
            sentence = wording.missing_key(provider.name, env_var,
                                           self.keys.secure_store_available())
            raise errors.MissingKey(wording.clause(sentence), provider=provider.name)
        endpoint = Endpoint(provider.name, provider.effective_base_url(), lookup.key)
        return make_provider(provider.type, endpoint, self.client, self.timeouts)

    def provider_settings(self, name: str) -> ProviderSettings:
        try:
            return self.settings.providers[name]
        except KeyError:
            known = ", ".join(self.settings.providers) or "none"
            raise UnknownProviderError(
                f"no provider named {name!r} in settings.toml (configured: {known})"
            ) from None

    def candidates(self, names: list[str] | None = None, model: str | None = None,
                   preferred: str | None = None) -> list[Candidate]:
        """Providers to try, in order: `names` if given, else the conversation's preferred
        provider first, then the failover order. `model` applies to the first one."""
        if names:
            entries = [self.provider_settings(n) for n in names]
        else:
            entries = self.settings.ordered_providers()
            if preferred and preferred in self.settings.providers:
                entries.sort(key=lambda p: p.name != preferred)
        result = [Candidate(p, p.model) for p in entries]
        if model and result:
            result[0] = Candidate(result[0].settings, model)
        return result

    # -- sending ----------------------------------------------------------------------

    def history(self, conversation_id: int, upto_message_id: int) -> list[Message]:
        """The conversation as providers see it, up to and including one user message."""
        history: list[Message] = []
        for message in self.store.messages(conversation_id):
            if message.id > upto_message_id:
                break
            if message.status in _SENT_STATUSES.get(message.role, ()):
                history.append(Message(message.role, message.content))
        return history

    async def send(
        self,
        text: str,
        conversation_id: int | None = None,
        *,
        providers: list[str] | None = None,
        model: str | None = None,
        system: str | None = None,
    ) -> AsyncIterator[ev.ChatEvent]:
        """Save the user's message, then stream the answer's events."""
        # Resolve the order before saving so a typo in --provider is a usage error.
        if conversation_id is None:
            candidates = self.candidates(providers, model)
            conversation = self.store.create_conversation(system_prompt=system)
        else:
            conversation = self.store.get_conversation(conversation_id)
            if conversation is None:
                raise LookupError(f"no conversation with id {conversation_id}")
            candidates = self.candidates(providers, model, conversation.preferred_provider)
            if system is not None:
                self.store.set_system_prompt(conversation.id, system)
        saved = self.store.add_message(conversation.id, "user", text)
        yield ev.MessageSaved(conversation.id, saved.id)
        async for event in self._answer(conversation.id, saved, candidates):
            yield event

    async def retry_pending(self) -> AsyncIterator[ev.ChatEvent]:
        """Send every pending message once; a message another process took is skipped.

        A message stays `pending` (claimed) until its answer is saved, so a crash mid-way
        leaves it to be sent again once the claim lapses, never lost."""
        for message in self.store.pending_messages():
            if not self.store.claim_pending(message.id):
                continue
            try:
                conversation = self.store.get_conversation(message.conversation_id)
                if conversation is None:
                    continue
                yield ev.MessageSaved(conversation.id, message.id)
                candidates = self.candidates(preferred=conversation.preferred_provider)
                async for event in self._answer(conversation.id, message, candidates):
                    yield event
            finally:
                current = self.store.get_message(message.id)
                if current is not None and current.status == MessageStatus.PENDING:
                    self.store.release_claim(message.id)

    async def _answer(self, conversation_id: int, user_message: StoredMessage,
                      candidates: list[Candidate]) -> AsyncIterator[ev.ChatEvent]:
        conversation = self.store.get_conversation(conversation_id)
        turn = Turn(conversation_id, user_message.id,
                    self.history(conversation_id, user_message.id),
                    conversation.system_prompt if conversation else None)
        try:
            async for event in self.router.answer(turn, candidates):
                if isinstance(event, ev.AnswerFinished | ev.AnswerStopped):
                    # Answered (or refused for good): this message and earlier pending ones
                    # of the conversation, which the provider saw, are no longer waiting.
                    self._settle_pending(conversation_id, user_message.id)
                yield event
        except (asyncio.CancelledError, GeneratorExit):
            # Stopped by the user, or the app closing: what arrived is stored (the router
            # saw to it) and the message must not be sent again by itself. Only a crash
            # leaves it pending, to be sent once its claim lapses.
            self._settle_pending(conversation_id, user_message.id)
            raise

    def _settle_pending(self, conversation_id: int, upto_message_id: int) -> None:
        for message in self.store.messages(conversation_id):
            if message.id <= upto_message_id and message.status == MessageStatus.PENDING:
                self.store.set_message_status(message.id, MessageStatus.COMPLETE)
