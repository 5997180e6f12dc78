"""ChatService: the one entry point for sending, retrying and stopping, used by CLI and app."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypedDict, Unpack

import httpx

from chatdesk import events as ev
from chatdesk import wording
from chatdesk.attachment_limits import check_sendable
from chatdesk.failover.budget import BudgetBook, BudgetNotice
from chatdesk.failover.deadline import DEFAULT_RULE, DeadlineBook, DeadlineRule
from chatdesk.failover.health import HealthBook
from chatdesk.failover.keys import KeyBook
from chatdesk.failover.router import Candidate, Router, Turn
from chatdesk.parts import Attachment, AttachmentInfo, PartKind
from chatdesk.providers import errors
from chatdesk.providers.base import (
    ChatRequest,
    Endpoint,
    Message,
    Provider,
    Role,
    TextDelta,
    Timeouts,
)
from chatdesk.providers.registry import make_provider, new_http_client
from chatdesk.secrets import KeyStore, key_env_vars
from chatdesk.settings import ProviderSettings, Settings
from chatdesk.setup_rules import SetUp, check
from chatdesk.store import (
    Conversation,
    HistoryStore,
    MessageStatus,
    Recovered,
    StoredMessage,
    StoreError,
)
from chatdesk.store.prompts import Preset

if TYPE_CHECKING:
    from chatdesk.versions import Versions

# Which stored messages a provider sees as the conversation so far.
_SENT_STATUSES = {
    "user": {MessageStatus.COMPLETE, MessageStatus.PENDING},
    "assistant": {MessageStatus.COMPLETE, MessageStatus.PARTIAL},
}

log = logging.getLogger(__name__)

# What the settings dialog's "Test" sends, and how long it waits at most: a test should not
# keep the user waiting a whole first-token timeout.
TEST_PROMPT = "Say OK"
PROBE_TIMEOUT_CAP_S = 30.0


class UnknownProviderError(ValueError):
    """A provider name that settings.toml does not define."""


class UnknownPresetError(ValueError):
    """A preset name that the history does not hold; str() is the sentence."""


@dataclass
class TunedProviderSettings(ProviderSettings):
    """A provider entry as a preset asks it: with the preset's temperature (and its
    max_tokens in the entry's own field). Made per answer, never saved to settings."""

    temperature: float | None = None


class NotSetUpError(Exception):
    """No provider asked for can answer because none is set up: nothing was saved or sent.
    str() is the sentence for the command line; `detail` says why, per provider."""

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(wording.nothing_set_up("cli", detail))


class EditError(LookupError):
    """An edit or regenerate names a message that cannot be replaced."""


class SendOptions(TypedDict, total=False):
    """How to send one message (every key may be left out)."""

    providers: list[str] | None  # exactly these, in this order (the CLI's --provider)
    preferred: str | None  # asked first, then the failover order; remembered for the chat
    model: str | None  # the model to ask the first provider for
    system: str | None  # the conversation's system prompt from now on
    replacing: int | None  # an edit: this user message and all after it become alternates
    preset: str | None  # the preset to follow (a new conversation remembers it)


@dataclass(frozen=True)
class PreparedSend:
    """A user message saved (and what it replaces set aside), ready to be answered."""

    conversation_id: int
    message: StoredMessage
    candidates: list[Candidate]
    set_aside: tuple[int, ...] = ()  # messages an edit or regenerate took out of the thread
    created: bool = False  # the conversation was created for this message


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
        deadline_rule: DeadlineRule = DEFAULT_RULE,
    ) -> None:
        self.store = store
        self.settings = settings
        self.keys = keys
        self._client = client
        self.health = HealthBook(store, settings.failover.cooldown_s, clock)
        self.deadlines = DeadlineBook(store, lambda: self.settings.failover.first_token_timeout_s,
                                      deadline_rule)
        self.key_book = KeyBook(store, keys.pool, lambda: self.settings.failover.cooldown_s,
                                clock)
        self.router = Router(store, self.health, self.build_provider,
                             flush_interval_s=flush_interval_s, deadlines=self.deadlines,
                             hedging=lambda: self.settings.failover.hedge, keys=self.key_book)
        self.budget = BudgetBook(store, lambda: self.settings,
                                 lambda: datetime.fromtimestamp(clock(), UTC))
        self.router.budget = self.budget

    def budget_notices(self) -> list[BudgetNotice]:
        """The budget notices due now (80 % of a month's budget used, or all of it), each
        given once per month and provider; none when the history cannot say."""
        try:
            return self.budget.notices()
        except StoreError as exc:
            log.warning("budget notices not read: %s", exc)
            return []

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = new_http_client(self.settings.providers.values())
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

    def build_provider(self, provider: ProviderSettings, key: str | None = None) -> Provider:
        """A ready provider sending `key` (one of its pool), else its first key;
        `errors.MissingKey` when it needs a key nobody gave."""
        if key is not None:
            endpoint = Endpoint(provider.name, provider.effective_base_url(), key,
                                provider.allow_insecure_http)
            return make_provider(provider.type, endpoint, self.client, self.timeouts)
        lookup = self.keys.lookup(provider)
        if lookup.key is None and lookup.source == "locked":
            sentence = wording.key_file_locked(provider.name)
            raise errors.MissingKey(wording.clause(sentence), provider=provider.name)
        if lookup.key is None and self.keys.needs_key(provider):
            env_var = next(iter(key_env_vars(provider)), None)
            sentence = wording.missing_key(provider.name, env_var,
                                           self.keys.secure_store_available())
            raise errors.MissingKey(wording.clause(sentence), provider=provider.name)
        endpoint = Endpoint(provider.name, provider.effective_base_url(), lookup.key,
                            provider.allow_insecure_http,
                            temperature=getattr(provider, "temperature", None))
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
        # Providers that are not set up are left out without a word: they are not down.
        entries = [p for p in entries if self.set_up(p).ok]
        result = [Candidate(p, p.model) for p in entries]
        if model and result:
            result[0] = Candidate(result[0].settings, model)
        return result

    def preset(self, name: str) -> Preset:
        """The preset of that name; UnknownPresetError if there is none."""
        found = self.store.get_preset(name)
        if found is None:
            raise UnknownPresetError(wording.no_such("preset", name))
        return found

    def preset_candidates(self, preset: Preset, names: list[str] | None = None,
                          model: str | None = None) -> list[Candidate]:
        """Providers to try for a preset: its order, each with its model (`names`, the
        CLI's --provider, win over it), all with its temperature and max tokens. Providers
        removed from settings since, or not set up, are left out; a preset without an order
        uses the failover order."""
        if names:
            base = self.candidates(names, model)
        elif preset.routes:
            base = [Candidate(p, route.model or p.model) for route in preset.routes
                    if (p := self.settings.providers.get(route.provider)) is not None
                    and self.set_up(p).ok]
            if model and base:
                base[0] = Candidate(base[0].settings, model)
        else:
            base = self.candidates(None, model)
        return [Candidate(_tuned(c.settings, preset), c.model) for c in base]

    def preset_provider_names(self, preset: Preset) -> list[str] | None:
        """The providers a preset asks for that settings.toml still has (None: it names
        none, so the failover order)."""
        names = [r.provider for r in preset.routes if r.provider in self.settings.providers]
        return names or None

    def _candidates_for(self, conversation: Conversation | None, names: list[str] | None,
                        model: str | None, preferred: str | None,
                        preset: Preset | None = None, first: str | None = None
                        ) -> list[Candidate]:
        """The candidates for a message: its preset's (given, or the conversation's), else
        the preferred provider and the failover order. `first`: a provider asked for by
        name this time ("Ask …"), put first of a preset's order too."""
        if preset is None and conversation is not None and conversation.preset:
            preset = self.store.get_preset(conversation.preset)  # None: deleted since
        if preset is None:
            return self.candidates(names, model, preferred)
        found = self.preset_candidates(preset, names, None if first else model)
        if first and not names and first in self.settings.providers:
            found = [c for c in found if c.name != first]
            entry = self.settings.providers[first]
            if self.set_up(entry).ok:
                found.insert(0, Candidate(_tuned(entry, preset), model or entry.model))
        return found

    def set_up(self, provider: ProviderSettings) -> SetUp:
        """Whether the provider can be asked at all (setup_rules); reads its key."""
        lookup = self.keys.lookup(provider)
        # A key in the locked key file is there: unlocking it is not setting anything up.
        has_key = (not self.keys.needs_key(provider) or lookup.key is not None
                   or lookup.source == "locked")
        return check(provider, has_key=has_key, health=self.health.get(provider.name),
                     built_in=provider.name in self.settings.built_in)

    def require_set_up(self, names: list[str] | None = None) -> None:
        """Raise NotSetUpError when none of `names` (else of all providers) is set up."""
        entries = [self.provider_settings(n) for n in names] if names \
            else self.settings.ordered_providers()
        found = [self.set_up(p) for p in entries]
        if not any(c.ok for c in found):
            raise NotSetUpError("; ".join(f"{c.name}: {c.why_not}" for c in found)
                                if names else "")

    async def watch_status_pages(self) -> None:
        """Read the providers' status pages now and then, until cancelled: a reported major
        outage marks a provider down before any message fails there."""
        from chatdesk.failover.status_page import StatusWatcher

        await StatusWatcher(self.health, self.settings.ordered_providers(), self.client).run()

    # -- probing one provider (the settings dialog) -----------------------------------

    def _probe_provider(self, provider: ProviderSettings, key: str | None) -> Provider:
        f = self.settings.failover
        timeouts = Timeouts(f.connect_timeout_s, min(f.first_token_timeout_s,
                                                     PROBE_TIMEOUT_CAP_S),
                            min(f.stall_timeout_s, PROBE_TIMEOUT_CAP_S))
        endpoint = Endpoint(provider.name, provider.effective_base_url(), key,
                            provider.allow_insecure_http)
        return make_provider(provider.type, endpoint, self.client, timeouts)

    async def list_models(self, name: str) -> list[str]:
        """The model ids a configured provider offers (raises errors.ProviderError)."""
        provider = self.build_provider(self.provider_settings(name))
        return [m.id for m in await provider.list_models()]

    async def probe_models(self, provider: ProviderSettings, key: str | None) -> list[str]:
        """The model ids of a provider as the settings dialog holds it (maybe unsaved)."""
        return [m.id for m in await self._probe_provider(provider, key).list_models()]

    async def probe(self, name: str) -> None:
        """Check cheaply whether a cooling provider answers again (its model list, with the
        short timeouts of a test) and record what was found in its health: reached, it is
        up; a failure cools it down as the policy says. Returns when that is recorded."""
        settings = self.provider_settings(name)
        try:
            self.build_provider(settings)  # raises MissingKey when it has none
            await self._probe_provider(settings, self.keys.lookup(settings).key).list_models()
        except errors.ProviderError as exc:
            self.health.record_probe(name, exc)
        else:
            self.health.record_probe(name, None)

    async def test_provider(self, provider: ProviderSettings, key: str | None) -> str:
        """Send one tiny real request; the outcome as a sentence ("OK — answered in 0.4 s").
        Failures raise errors.ProviderError."""
        started = time.monotonic()
        request = ChatRequest([Message("user", TEST_PROMPT)], provider.model, max_tokens=5)
        got_text = False
        try:
            async for event in self._probe_provider(provider, key).stream(request):
                got_text = got_text or (isinstance(event, TextDelta) and bool(event.text))
        except errors.EmptyAnswer:
            got_text = False  # it answered, with nothing: worth saying so, not an error
        elapsed = time.monotonic() - started
        if not got_text:
            return f"Reached {provider.name}, but its answer was empty ({elapsed:.1f} s)."
        self.health.record_success(provider.name)  # it has answered: a local one is set up
        return f"OK — answered in {elapsed:.1f} s"

    # -- sending ----------------------------------------------------------------------

    def history(self, conversation_id: int, upto_message_id: int) -> list[Message]:
        """The conversation as providers see it, up to and including one user message."""
        return self._sent(self._thread_upto(conversation_id, upto_message_id)[0])

    def _sent(self, messages: list[StoredMessage]) -> list[Message]:
        """`_sent` with each message's attachments read from the store (every earlier
        message's too: a backup gets the whole conversation with its files)."""
        return _sent(messages, self.store.attachments(m.id for m in messages))

    def _thread_upto(self, conversation_id: int, message_id: int
                     ) -> tuple[list[StoredMessage], list[StoredMessage]]:
        """The thread in its stored order, split just after one message. By position, not
        id: an answer to an earlier pending message is placed before later messages."""
        thread = self.store.messages(conversation_id)
        cut = next((i + 1 for i, m in enumerate(thread) if m.id == message_id), len(thread))
        return thread[:cut], thread[cut:]

    def prepare(self, text: str, conversation_id: int | None = None,
                attachments: Sequence[Attachment] = (),
                **options: Unpack[SendOptions]) -> PreparedSend:
        """Save the user's message with its attachments (in a new conversation when
        conversation_id is None) before anything is sent. Raises UnknownProviderError,
        NotSetUpError, AttachmentLimitError (no provider asked takes the conversation's
        files), LookupError/EditError or StoreError, saving nothing."""
        providers, model = options.get("providers"), options.get("model")
        preferred, system = options.get("preferred"), options.get("system")
        replacing = options.get("replacing")
        preset_name = options.get("preset")
        preset = self.preset(preset_name) if preset_name else None
        if preferred is not None and preferred not in self.settings.providers:
            preferred = None  # a provider removed from settings since it was chosen
        # not an outage: nothing is saved, nothing pending
        self.require_set_up(providers or (self.preset_provider_names(preset) if preset
                                          else None))
        with self.store.transaction():  # all of it, or none of it
            if conversation_id is None:
                if replacing is not None:
                    raise EditError("a new conversation has no message to replace")
                # Resolve the order before saving so a typo in --provider is a usage error.
                candidates = self._candidates_for(None, providers, model, preferred, preset)
                if system is None and preset is not None:
                    system = preset.system_prompt
                conversation = self.store.create_conversation(
                    system_prompt=system, preferred_provider=preferred,
                    preset=preset.name if preset else None)
                created = True
            else:
                found = self.store.get_conversation(conversation_id)
                if found is None:
                    raise LookupError(f"no conversation with id {conversation_id}")
                conversation, created = found, False
                if preferred is not None and preferred != conversation.preferred_provider:
                    self.store.set_preferred_provider(conversation.id, preferred)
                if preset is not None and preset.name != conversation.preset:
                    # The conversation follows this preset from now on, its system prompt
                    # included (unless one is given with it).
                    self.store.set_conversation_preset(conversation.id, preset.name)
                    if system is None and preset.system_prompt:
                        system = preset.system_prompt
                candidates = self._candidates_for(
                    conversation, providers, model,
                    preferred or conversation.preferred_provider, preset,
                    first=options.get("preferred"))
                if system is not None:
                    self.store.set_system_prompt(conversation.id, system)
            set_aside = self._set_aside_from(conversation.id, replacing) if replacing else ()
            self._check_limits(None if created else conversation.id, candidates, attachments)
            # Its parent is the message before it: an edit's new text is then a version of
            # the message it replaces (same parent), see versions.py.
            parent = self.store.last_message_id(conversation.id) if not created else None
            saved = self.store.add_message(conversation.id, "user", text, parent_id=parent)
            self.store.add_attachments(saved.id, attachments)
            # Claimed in the same transaction: if this process dies before the answer is
            # saved, the next start finds the claim dead and sends the message again.
            self.store.claim_message(saved.id)
        return PreparedSend(conversation.id, saved, candidates, set_aside, created)

    def check_attachments(self, attachments: Sequence[Attachment],
                          conversation_id: int | None = None, *,
                          providers: list[str] | None = None, model: str | None = None,
                          preferred: str | None = None, preset_name: str | None = None
                          ) -> None:
        """Raise AttachmentLimitError (its sentence) when no provider that would be asked
        takes a request with the conversation's files and these (the composer and `ask
        --attach` call it before sending; `prepare` checks again)."""
        found = None
        if conversation_id is not None:
            found = self.store.get_conversation(conversation_id)
            preferred = preferred or (found.preferred_provider if found else None)
        if preferred is not None and preferred not in self.settings.providers:
            preferred = None
        preset = self.preset(preset_name) if preset_name else None
        self._check_limits(conversation_id,
                           self._candidates_for(found, providers, model, preferred, preset),
                           attachments)

    def _check_limits(self, conversation_id: int | None, candidates: list[Candidate],
                      attachments: Sequence[Attachment]) -> None:
        """A request carries every file of the conversation so far: check them all (the
        bytes of earlier PDFs only, for their pages and text; of images, the sizes)."""
        files: list[Attachment | AttachmentInfo] = list(attachments)
        if conversation_id is not None and candidates:
            thread = self.store.messages(conversation_id)
            infos = self.store.attachment_infos(m.id for m in thread)
            with_pdfs = [i for i, found in infos.items()
                         if any(f.kind is PartKind.DOCUMENT for f in found)]
            pdfs = {(i, a.sha256): a for i, found in self.store.attachments(with_pdfs).items()
                    for a in found if a.kind is PartKind.DOCUMENT}
            files = [pdfs.get((m.id, f.sha256), f) for m in thread
                     for f in infos.get(m.id, ())] + files
        if files and candidates:
            check_sendable(((c.settings.name, c.settings.type) for c in candidates), files)

    def prepare_regenerate(self, conversation_id: int, *, preferred: str | None = None,
                           model: str | None = None) -> PreparedSend:
        """Ask again for the answer to the conversation's last message: that exchange is kept
        as an alternate and the same text is sent as a new message."""
        last = self.last_user_message(conversation_id)
        if last is None:
            raise EditError("this conversation has no message of yours to answer again")
        files = self.store.attachments([last.id]).get(last.id, [])
        return self.prepare(last.content, conversation_id, files, preferred=preferred,
                            model=model, replacing=last.id)

    # -- versions and branches -------------------------------------------------------------

    def versions(self, conversation_id: int) -> dict[int, Versions]:
        """The messages of the conversation's main line that have other versions."""
        from chatdesk.versions import all_versions  # the app's, not on a send's way

        return all_versions(self.store.messages(conversation_id, include_alternates=True))

    def show_version(self, conversation_id: int, message_id: int) -> bool:
        """Put version `message_id` (and what followed it) on the main line; the version
        shown before is kept as an alternate. False when there was nothing to change."""
        from chatdesk.versions import switch_plan

        with self.store.transaction():
            plan = switch_plan(self.store.messages(conversation_id, include_alternates=True),
                               message_id)
            if plan is None:
                return False
            self.store.set_main_line(*plan)
        return True

    def branch_from(self, conversation_id: int, message_id: int) -> int:
        """A new conversation holding a copy of the main line up to `message_id`, to go on
        differently from there; the original is left as it is. Returns the new id."""
        source = self.store.get_conversation(conversation_id)
        if source is None:
            raise LookupError(f"no conversation with id {conversation_id}")
        from chatdesk.versions import main_line_upto

        copied = main_line_upto(self.store.messages(conversation_id), message_id)
        files = self.store.attachments(m.id for m in copied)
        with self.store.transaction():
            branch = self.store.create_conversation(
                wording.branch_title(source.title), system_prompt=source.system_prompt,
                preferred_provider=source.preferred_provider)
            parent: int | None = None
            for m in copied:
                copy = self.store.add_message(
                    branch.id, m.role, m.content,
                    # A copy is never sent by itself: its original may still be pending.
                    status=MessageStatus.COMPLETE if m.status == MessageStatus.PENDING
                    else m.status,
                    provider=m.provider, model=m.model, created_at=m.created_at,
                    parent_id=parent, input_tokens=m.input_tokens,
                    output_tokens=m.output_tokens, finish_reason=m.finish_reason)
                self.store.add_attachments(copy.id, files.get(m.id, ()))
                parent = copy.id
        return branch.id

    def last_user_message(self, conversation_id: int) -> StoredMessage | None:
        """The last message the user wrote in the conversation (what edit and regenerate act
        on), or None."""
        mine = [m for m in self.store.messages(conversation_id) if m.role == "user"]
        return mine[-1] if mine else None

    def _set_aside_from(self, conversation_id: int, message_id: int) -> tuple[int, ...]:
        """Take a user message and everything after it out of the conversation. They stay in
        the history as alternates: what was written and received is never deleted by an edit."""
        messages = self.store.messages(conversation_id)
        start = next((i for i, m in enumerate(messages) if m.id == message_id), None)
        if start is None or messages[start].role != "user":
            raise EditError(f"message {message_id} is not one of yours in conversation "
                            f"{conversation_id}")
        ids = tuple(m.id for m in messages[start:])
        self.store.set_alternate(list(ids))
        return ids

    async def answer(self, prepared: PreparedSend) -> AsyncIterator[ev.ChatEvent]:
        """The events of answering a prepared message, starting with MessageSaved."""
        yield ev.MessageSaved(prepared.conversation_id, prepared.message.id)
        async for event in self._answer(prepared.conversation_id, prepared.message,
                                        prepared.candidates):
            if isinstance(event, ev.AnswerPending) and not prepared.set_aside \
                    and not any(self.set_up(c.settings).ok for c in prepared.candidates):
                yield self._take_back(prepared)  # never reachable: not an outage
                return
            yield event

    async def send(self, text: str, conversation_id: int | None = None,
                   attachments: Sequence[Attachment] = (),
                   **options: Unpack[SendOptions]) -> AsyncIterator[ev.ChatEvent]:
        """Save the user's message (and its attachments), then stream the answer's events."""
        prepared = self.prepare(text, conversation_id, attachments, **options)
        async for event in self.answer(prepared):
            yield event

    async def regenerate(self, conversation_id: int, *, preferred: str | None = None,
                         model: str | None = None) -> AsyncIterator[ev.ChatEvent]:
        """Answer the last message again (the earlier answer is kept as an alternate)."""
        async for event in self.answer(self.prepare_regenerate(
                conversation_id, preferred=preferred, model=model)):
            yield event

    def _take_back(self, prepared: PreparedSend) -> ev.NotSetUp:
        """Take a message no provider could ever be reached for back out of the history
        (with the failed answer the router stored), rather than leave it pending."""
        conversation_id, message = prepared.conversation_id, prepared.message
        reason = "; ".join(f"{c.name}: {self.set_up(c.settings).why_not}"
                           for c in prepared.candidates)
        with self.store.transaction():
            _, after = self._thread_upto(conversation_id, message.id)
            for later in after:
                if later.role == "assistant":
                    self.store.delete_message(later.id)
            self.store.delete_message(message.id)
            removed = prepared.created and not self.store.messages(conversation_id)
            if removed:
                self.store.delete_conversation(conversation_id)
        if removed:  # empty, made for this message alone: not a conversation for the Trash
            self.store.purge_deleted(0, ids=[conversation_id])
        return ev.NotSetUp(conversation_id, message.content, reason, removed)

    def recover(self) -> Recovered:
        """Clean up after chatdesk processes that died answering (run at start-up): their
        attempts are closed, their answers marked interrupted and their messages pending."""
        return self.store.recover_interrupted(wording.INTERRUPTED)

    async def retry_pending(self, *, interrupted: bool = True,
                            force: bool = False) -> AsyncIterator[ev.ChatEvent]:
        """Send every pending message once, in order; a message another process took is
        skipped. A message waits while an earlier one of its conversation is pending (failed
        again, or taken elsewhere): answered before it, it would be answered twice.
        `interrupted=False` leaves those whose answer a crash cut off (the app asks first).
        `force` (the app's "Send now") tries providers still cooling down too.

        A message stays `pending` (claimed) until its answer is saved, so a crash mid-way
        leaves it to be sent again (at once when its process is known dead), never lost."""
        self.recover()
        for message in self.store.pending_messages(interrupted=interrupted):
            before, _ = self._thread_upto(message.conversation_id, message.id)
            if any(m.status == MessageStatus.PENDING for m in before[:-1]):
                continue
            if not self.store.claim_pending(message.id):
                continue
            try:
                conversation = self.store.get_conversation(message.conversation_id)
                if conversation is None:
                    continue
                # The cut-off answer makes way for the new one; it stays as an alternate.
                self.store.set_alternate(self.store.interrupted_answers(message))
                yield ev.MessageSaved(conversation.id, message.id)
                candidates = self._candidates_for(conversation, None, None,
                                                  conversation.preferred_provider)
                async for event in self._answer(conversation.id, message, candidates,
                                                force=force):
                    yield event
            finally:
                current = self.store.get_message(message.id)
                if current is not None and current.status == MessageStatus.PENDING:
                    self.store.release_claim(message.id)

    async def _answer(self, conversation_id: int, user_message: StoredMessage,
                      candidates: list[Candidate], *,
                      force: bool = False) -> AsyncIterator[ev.ChatEvent]:
        conversation = self.store.get_conversation(conversation_id)
        before, after = self._thread_upto(conversation_id, user_message.id)
        turn = Turn(conversation_id, user_message.id, self._sent(before),
                    conversation.system_prompt if conversation else None,
                    _answer_place(before, after))
        try:
            async for event in self.router.answer(turn, candidates, force=force):
                if isinstance(event, ev.AnswerFinished | ev.AnswerStopped):
                    # Answered (or refused for good): this message and earlier pending ones
                    # of the conversation, which the provider saw, are no longer waiting.
                    self._settle_pending(conversation_id, user_message.id)
                yield event
        except (asyncio.CancelledError, GeneratorExit):
            # Stopped by the user, or the app closing: what arrived is stored (the router
            # saw to it) and the message must not be sent again by itself. Only a crash
            # leaves it claimed by a dead process, to be recovered and sent again.
            self._settle_pending(conversation_id, user_message.id)
            raise
        finally:
            current = self.store.get_message(user_message.id)
            if current is not None and current.status != MessageStatus.PENDING:
                self.store.release_claim(user_message.id)

    def _settle_pending(self, conversation_id: int, upto_message_id: int) -> None:
        for message in self._thread_upto(conversation_id, upto_message_id)[0]:
            if message.status == MessageStatus.PENDING:
                self.store.set_message_status(message.id, MessageStatus.COMPLETE)


def _tuned(settings: ProviderSettings, preset: Preset) -> ProviderSettings:
    """The entry as the preset asks it: its temperature and longest answer, where it sets
    them."""
    fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(ProviderSettings)}
    if preset.max_tokens is not None:
        fields["max_tokens"] = preset.max_tokens
    temperature = preset.temperature if preset.temperature is not None \
        else getattr(settings, "temperature", None)
    return TunedProviderSettings(**fields, temperature=temperature)


def _sent(messages: list[StoredMessage],
          attachments: dict[int, list[Attachment]] | None = None) -> list[Message]:
    """The messages a provider sees, of those stored, each with its attachments
    (`attachments`: by message id).

    No protocol takes a tool turn (an imported code run, a page read) without the tool call
    it answers, so each is sent as text of the assistant turn it belongs to: joined, under
    its heading, to the assistant message before it, and the assistant message after it
    joins that turn too (code, output, answer: one turn, as the model wrote them)."""
    history: list[Message] = []
    joining = False  # the last turn ends with a tool turn: the next answer continues it
    for message in messages:
        if message.role == "tool":
            if message.status != MessageStatus.COMPLETE or not message.content.strip():
                continue
            text = f"**{wording.tool_heading(message.model)}**\n\n{message.content}"
            kept: tuple[Attachment, ...] = ()
            if history and history[-1].role == "assistant":
                text = history[-1].content + "\n\n" + text
                kept = history.pop().attachments
            tool_files = tuple(attachments.get(message.id, ())) if attachments else ()
            history.append(Message("assistant", text, kept + tool_files))
            joining = True
            continue
        role: Role | None = "user" if message.role == "user" else \
            "assistant" if message.role == "assistant" else None
        if role is None or message.status not in _SENT_STATUSES[role]:
            continue
        files = tuple(attachments.get(message.id, ())) if attachments else ()
        if joining and role == "assistant" and history and history[-1].role == "assistant":
            if message.content.strip() or files:
                joined = history[-1]
                history[-1] = Message("assistant",
                                      joined.content + "\n\n" + message.content
                                      if message.content.strip() else joined.content,
                                      joined.attachments + files)
        else:
            history.append(Message(role, message.content, files))
        joining = False
    return history


def _answer_place(before: list[StoredMessage], after: list[StoredMessage]) -> str | None:
    """The created_at for the answer to the last message of `before`: None (now, at the end)
    unless the user wrote more since (a pending message answered late). Then it is the time
    of the message just before that next one, so the thread orders it there (created_at,
    then id: the answer's id is the highest)."""
    if not any(m.role == "user" for m in after):
        return None
    nxt = next(i for i, m in enumerate(after) if m.role == "user")
    return (after[nxt - 1] if nxt else before[-1]).created_at
