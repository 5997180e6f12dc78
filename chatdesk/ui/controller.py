"""ChatController: the one object between the widgets and the core.

Widgets call its methods (intents) and render what its signals carry (state). It owns the
conversation shown, sending, edit/regenerate, stopping, when pending messages are retried,
provider status for the status bar, drafts and settings changes. The product rules it applies
live in the core (ChatService, AppContext); it only decides when to ask for them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from chatdesk import wording
from chatdesk.facts import conversation_summary
from chatdesk.providers import errors
from chatdesk.recovery import ProbeScheduler
from chatdesk.store import HistoryStore, MessageHead, StoredMessage, StoreError
from chatdesk.ui.drafts import DraftBook
from chatdesk.versions import Versions

if TYPE_CHECKING:
    import asyncio

    from chatdesk import events as ev
    from chatdesk.chat import ChatService, PreparedSend
    from chatdesk.context import AppContext, KeyChanges
    from chatdesk.local_servers import FoundServer, LocalServer
    from chatdesk.prompts import Preset
    from chatdesk.provider_status import ProviderStatus
    from chatdesk.settings import ProviderSettings, Settings
    from chatdesk.ui.bridge import ChatBridge
    from chatdesk.ui.key_actions import KeyActions
    from chatdesk.ui.message_actions import MessageActions
    from chatdesk.ui.outgoing_files import OutgoingFiles
    from chatdesk.ui.prompt_actions import PromptActions
    from chatdesk.ui.search_runner import SearchRunner
    from chatdesk.ui.trash_actions import TrashActions
    from chatdesk.usage import UsageReport

log = logging.getLogger("chatdesk.ui")
T = TypeVar("T")

KEY_CHECK_DELAY_MS = 100  # after the bridge is attached, which is after the first paint
HEALTH_REFRESH_MS = 3000  # health is shared through the file: another process may change it
PENDING_RETRY_MS = 30000
FIRST_RETRY_MS = 3000
DRAFT_SAVE_MS = 1000  # an unsent message is written to window.ini this long after typing
STATUS_MS = 6000
BUDGET_MS = 20000  # 80 % of a month's budget: long enough to be read
TRASH_PURGE_MS = 20000  # well after start-up: never in the way of the first paint


@dataclass(frozen=True)
class OpenedConversation:
    """What the window shows when a conversation (or a new chat: id None) is opened."""

    conversation_id: int | None
    messages: Sequence[StoredMessage | MessageHead]  # heads: without their text
    preferred_provider: str | None
    draft: str
    live: tuple[int, str] | None  # (answer id, text so far) of an answer streaming into it
    versions: dict[int, Versions] = field(default_factory=dict)  # of its main-line messages
    keep_place: int | None = None  # a message to keep in view (a version was switched)


@dataclass(frozen=True)
class ConversationFacts:
    """What the conversation panel shows of the conversation shown."""

    conversation_id: int | None
    title: str | None
    system_prompt: str | None
    summary: str  # "Started 3 Dec 2026 · 12 messages · answered by Anthropic, OpenAI · …"


class ChatController(QObject):
    """One window's application state over one history. A read-only controller (browse
    mode: no ctx) opens conversations and nothing else."""

    conversationOpened = Signal(object)  # OpenedConversation
    conversationAdopted = Signal(int)  # a new chat got its id (its first message was saved)
    messagesSetAside = Signal(object)  # tuple of message ids an edit took out of the thread
    chatEvent = Signal(object)  # an event of the answer in the conversation shown
    busyChanged = Signal(bool)
    conversationsChanged = Signal()  # the list of conversations should be read again
    conversationDeleted = Signal(int, str)  # id, title: the window offers Undo
    providersChanged = Signal(object, object)  # [(name, model)], the conversation's provider
    statusChanged = Signal(object)  # list[ProviderStatus], in failover order
    nextTryChanged = Signal(object)  # pending.NextTry | None: when pending messages go next
    modelsLoaded = Signal(str, object)  # provider name, list[str]
    modelsFailed = Signal(str)  # provider name (the sentence comes on `message`)
    notice = Signal(str)  # a problem that needs the user: shown until dismissed
    resendOffered = Signal(str)  # answers a crash cut off: the window offers "Send again"
    message = Signal(str, int)  # a passing sentence for the status bar, how long (ms)
    settingsChanged = Signal(object)  # Settings, after a save
    setupNeeded = Signal(bool)  # True: no provider is set up, the window shows its welcome
    passphraseNeeded = Signal()  # the encrypted key file holds keys and is locked (once a run)
    versionsChanged = Signal(object)  # {message id: Versions} of the conversation shown
    filesChanged = Signal(object)  # list[Attachment]: the files to go with the next message
    costsChanged = Signal(object)  # {message id: USD or None} of the conversation shown

    def __init__(self, store: HistoryStore, ctx: AppContext | None, *, readonly: bool = False,
                 state: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store, self.ctx = store, ctx
        self.readonly = readonly or ctx is None
        self._status_watch_due = False  # set by start_background, spent by the first keystroke
        self.bridge: ChatBridge | None = None
        self.conversation_id: int | None = None  # the conversation shown; None: a new chat
        self._new_chat_provider: str | None = None
        self._new_chat_system: str | None = None
        self.new_chat_preset: str | None = None  # the preset a new chat's first message takes
        self._answering: int | None = None  # the conversation of the answer running
        self._live: tuple[int, str] | None = None
        self._missing_keys: frozenset[str] = frozenset()
        self._keys_read = False  # check_keys has run once
        self._keys_due = False  # check_keys waits for the bridge (see reload_settings)
        self._import_running = False
        self._passphrase_asked = False
        self.drafts = DraftBook(state if not self.readonly else None)
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_SAVE_MS)
        self._draft_timer.timeout.connect(self.save_drafts)
        self._timers: list[QTimer] = []
        self._probes = ProbeScheduler()
        self._probe_timers: dict[str, QTimer] = {}  # one per cooling provider: its cooldown end
        self._retry_when_idle = False  # a probe found a provider back while an answer ran
        self.local_servers: list[LocalServer] | None = None  # where to look; None: the usual

    # -- its helpers, made (and their modules loaded) at first use, after the first paint --

    @functools.cached_property
    def keys(self) -> KeyActions:
        """The settings dialog's key matters."""
        from chatdesk.ui.key_actions import KeyActions

        return KeyActions(self.ctx, self.check_keys)

    @functools.cached_property
    def message_actions(self) -> MessageActions:
        """Versions, branches, "Ask …"."""
        from chatdesk.ui.message_actions import MessageActions

        return MessageActions(self)

    @functools.cached_property
    def trash(self) -> TrashActions:
        """The Trash dialog's matters."""
        from chatdesk.ui.trash_actions import TrashActions

        return TrashActions(self)

    @functools.cached_property
    def files(self) -> OutgoingFiles:
        """The files to go with the next message."""
        from chatdesk.ui.outgoing_files import OutgoingFiles

        return OutgoingFiles(self)

    @functools.cached_property
    def prompts(self) -> PromptActions:
        """The prompt library ("/") and presets."""
        from chatdesk.ui.prompt_actions import PromptActions

        return PromptActions(self)

    @functools.cached_property
    def searches(self) -> SearchRunner:
        """Searches of the whole history, on a thread of their own (started at the first)."""
        from chatdesk.ui.search_runner import SearchRunner

        return SearchRunner(self.store.path, self)

    # -- settings and the engine ----------------------------------------------------------

    @property
    def settings(self) -> Settings | None:
        return self.ctx.settings if self.ctx is not None else None

    @property
    def settings_problem(self) -> str | None:
        """settings.toml's error, when it has one (sending waits until it is fixed)."""
        error = self.ctx.settings_error if self.ctx is not None else None
        return str(error) if error is not None else None

    def attach_bridge(self, bridge: ChatBridge) -> None:
        """Connect the chat engine (after the first paint): sending, models, status pages."""
        if self.readonly or self.bridge is not None:
            raise RuntimeError("a read-only controller, or one that has its bridge already")
        self.bridge = bridge
        bridge.chatEvent.connect(self._on_event)
        bridge.busyChanged.connect(self.busyChanged)
        bridge.runFinished.connect(self._run_finished)
        bridge.failed.connect(self.notice)
        if self._keys_due:
            self._keys_due = False
            QTimer.singleShot(KEY_CHECK_DELAY_MS, self.check_keys)

    @property
    def busy(self) -> bool:
        return self.bridge is not None and self.bridge.busy

    @property
    def live_answer(self) -> tuple[int, str] | None:
        """(answer id, text so far) of the answer streaming now, once it has an id."""
        return self._live if self.busy else None

    def start_background(self) -> None:
        """Refresh provider status and retry pending messages now and then."""
        if self.readonly:
            return
        self._every(HEALTH_REFRESH_MS, self.refresh_status)
        self._every(PENDING_RETRY_MS, self.retry_pending_if_ready)
        self._once(FIRST_RETRY_MS, self.retry_pending_if_ready)
        self._once(TRASH_PURGE_MS, self.trash.purge_old)
        self._status_watch_due = True

    def user_began_writing(self) -> None:
        """Status pages are read from the first keystroke on, not at start: reading them
        costs a TLS client (~15-20 MB, 0.16 s CPU) that a window only looked at need not
        pay, and a person who writes is seconds from sending."""
        if self._status_watch_due and self.bridge is not None:
            self._status_watch_due = False
            self.watch_status_pages()

    def watch_status_pages(self) -> None:
        """Read the providers' status pages in the background from now on."""
        if self.bridge is not None:
            self.bridge.watch_status_pages()

    def _every(self, ms: int, slot: Callable[[], Any], *, once: bool = False) -> None:
        """A timer that `close` stops (a closed history is never touched by one)."""
        timer = QTimer(self)
        timer.setSingleShot(once)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        self._timers.append(timer)

    def _once(self, ms: int, slot: Callable[[], Any]) -> None:
        self._every(ms, slot, once=True)

    def reload_settings(self, keys_now: bool = True) -> None:
        """Tell the widgets about the providers, then look up keys and refresh their status.

        At start-up the keys are looked up just after the window shows (`keys_now=False`):
        loading the keyring's backends takes longer than everything else before the paint."""
        settings = self.settings
        if settings is None:
            return
        providers = [(p.name, p.model) for p in settings.ordered_providers()]
        self.providersChanged.emit(providers, self._preferred_of(self.conversation_id))
        if keys_now:
            self.check_keys()
        elif self.bridge is not None:
            QTimer.singleShot(KEY_CHECK_DELAY_MS, self.check_keys)
        else:
            self._keys_due = True  # read when the engine is attached: after the first paint
        self.refresh_status()

    def check_keys(self) -> None:
        if self.ctx is None:
            return
        self._missing_keys = self.ctx.missing_keys()
        self._keys_read = True
        self.refresh_status()
        if not self._passphrase_asked and not self.readonly and self.keys.file_locked_in_use():
            self._passphrase_asked = True  # once per session: "Not now" is an answer
            self.passphraseNeeded.emit()
        self.setupNeeded.emit(not self.any_set_up())

    def any_set_up(self) -> bool:
        """Whether some provider can answer at all (setup_rules), as far as keys were read."""
        if self.ctx is None:
            return True
        try:
            return bool(self._set_up_checks(any_only=True))
        except StoreError:
            return True  # the history is busy: say nothing rather than the wrong thing

    def set_up_names(self) -> list[str]:
        """The providers set up (setup_rules), in failover order ([] when unknown)."""
        if self.ctx is None:
            return []
        try:
            return self._set_up_checks()
        except StoreError:
            return []

    def _set_up_checks(self, any_only: bool = False) -> list[str]:
        from chatdesk.setup_rules import checks

        assert self.ctx is not None
        settings, keys = self.ctx.settings, self.ctx.keys
        # A key in the locked key file is there (the passphrase dialog asks for it).
        missing = {n for n in self._missing_keys if n in settings.providers
                   and keys.lookup(settings.providers[n]).source != "locked"}
        names = [c.name for c in checks(settings, self.ctx.health(), missing) if c.ok]
        return names[:1] if any_only else names

    def refresh_status(self) -> None:
        statuses = self.provider_statuses()
        if statuses is not None:
            self.statusChanged.emit(statuses)
            self._plan_probes(statuses)
            self._emit_next_try()

    def _plan_probes(self, statuses: list[ProviderStatus]) -> None:
        """Probe each provider whose cooldown ended; wake up as the next ones end (re-armed
        on every refresh, so a cooldown changed by another process is followed)."""
        if self.bridge is None:
            return
        plan = self._probes.plan(statuses)
        for name in plan.due:
            self._probe(name)
        for name, seconds in plan.wake_in_s.items():
            timer = self._probe_timers.get(name)
            if timer is None:
                timer = self._probe_timers[name] = QTimer(self)
                timer.setSingleShot(True)
                timer.timeout.connect(self.refresh_status)
            timer.start(max(1, int(seconds * 1000)))

    def _probe(self, name: str) -> None:
        async def job(service: ChatService) -> None:
            await service.probe(name)

        def ended(_: object) -> None:
            self._probed(name)

        if self.run_job(job, ended, ended) is None:
            self._probes.finished(name)

    def _probed(self, name: str) -> None:
        """A probe ended: show what it found, and send what waits if it found a way."""
        self._probes.finished(name)
        self.refresh_status()
        if not self.retry_pending_if_ready() and self.busy:
            self._retry_when_idle = True

    def _emit_next_try(self) -> None:
        from chatdesk.pending import next_try

        if self.ctx is None or self.settings is None:
            return
        names = [p.name for p in self.settings.ordered_providers()
                 if p.name not in self._missing_keys]
        try:
            self.nextTryChanged.emit(next_try(self.ctx.health(), names))
        except StoreError as exc:
            self.say(str(exc))

    def provider_statuses(self) -> list[ProviderStatus] | None:
        if self.ctx is None or self.readonly:
            return None
        try:
            # Until the keys are first read (just after the first paint), the pools are
            # not counted: that would load the keyring's backends before the window shows.
            return self.ctx.provider_statuses(self._missing_keys, pools=self._keys_read)
        except StoreError as exc:
            self.say(str(exc))
            return None

    def save_settings(self, settings: Settings, keys: KeyChanges) -> str | None:
        """Store keys and settings.toml; on success every listener hears `settingsChanged`.
        Returns what stopped the save, as a sentence, or None."""
        if self.ctx is None:
            return "This history is open read-only; settings cannot be changed here."
        from chatdesk.context import SettingsChangeError

        try:
            self.ctx.save_settings(settings, keys)
        except SettingsChangeError as exc:
            return str(exc)
        finally:
            self.keys.forget()
        if self.bridge is not None:
            self.bridge.replace_service(self.ctx.chat_service)
        self.settingsChanged.emit(settings)
        self.reload_settings()
        return None

    # -- conversations --------------------------------------------------------------------

    def open_conversation(self, conversation_id: int | None, *, fresh: bool = False,
                          keep_place: int | None = None) -> bool:
        """Show a conversation (None: a new chat; `fresh`: an empty one, as New chat starts,
        not the text left in an earlier one); False, and a sentence, if it cannot."""
        if fresh and conversation_id is None:
            self.drafts.forget(None)
            self.files.forget(None)
        try:
            conversation = self.store.get_conversation(conversation_id) \
                if conversation_id else None
            # Without their text: the transcript reads the text of the rows it shows.
            messages = self.store.message_heads(conversation.id) if conversation else []
        except StoreError as exc:
            self.say(str(exc))
            return False
        self.conversation_id = conversation.id if conversation else None
        self._new_chat_provider = self._new_chat_system = None
        self.new_chat_preset = None
        live = self._live if self.busy and self._answering == self.conversation_id \
            and self.conversation_id is not None else None
        self.conversationOpened.emit(OpenedConversation(
            self.conversation_id, messages,
            conversation.preferred_provider if conversation else None,
            self.drafts.get(self.conversation_id), live,
            self.message_actions.versions(self.conversation_id)
            if self.conversation_id is not None else {}, keep_place))
        if self.conversation_id is not None:  # priced after the first paint: never in its way
            shown = self.conversation_id
            QTimer.singleShot(0, lambda: self._emit_costs(shown))
        # Before any file was given (the window's start) there is none to show.
        self.filesChanged.emit(self.files.shown() if "files" in self.__dict__ else [])
        return True

    def start_new_chat_with(self, preset: Preset) -> None:
        """The new chat shown follows `preset`: its first message goes as the preset says,
        with the preset's system prompt (which the conversation panel shows and may change)."""
        self.new_chat_preset = preset.name
        self._new_chat_system = preset.system_prompt

    def _emit_costs(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            self.costsChanged.emit(self.message_actions.costs(conversation_id))

    def conversation_title(self) -> str | None:
        """The stored title of the conversation shown (None: a new chat, or untitled)."""
        if self.conversation_id is None:
            return None
        try:
            conversation = self.store.get_conversation(self.conversation_id)
        except StoreError:
            return None
        return conversation.title if conversation else None

    def conversation_facts(self) -> ConversationFacts:
        if self.conversation_id is None:
            return ConversationFacts(None, None, self._new_chat_system,
                                     "A new chat: the title comes from your first message.")
        try:
            conversation = self.store.get_conversation(self.conversation_id)
            messages = self.store.messages(self.conversation_id) if conversation else []
        except StoreError as exc:
            return ConversationFacts(self.conversation_id, None, None, str(exc))
        if conversation is None:
            return ConversationFacts(None, None, None, "")
        return ConversationFacts(conversation.id, conversation.title,
                                 conversation.system_prompt,
                                 conversation_summary(conversation, messages))

    def set_system_prompt(self, text: str) -> None:
        """The system prompt of the conversation shown from its next answer on ("" none);
        a new chat's goes with its first message."""
        prompt = text.strip() or None
        if self.conversation_id is None:
            self._new_chat_system = prompt
            return
        try:
            self.store.set_system_prompt(self.conversation_id, prompt)
        except StoreError as exc:
            self.say(str(exc))

    def rename_shown(self, title: str) -> None:
        if self.conversation_id is None:
            return
        problem = self.rename_conversation(self.conversation_id, title.strip() or None)
        if problem:
            self.say(problem)
        else:
            self.conversationsChanged.emit()

    def exists(self, conversation_id: int) -> bool:
        try:
            return self.store.get_conversation(conversation_id) is not None
        except StoreError:
            return False

    def choose_provider(self, name: str) -> None:
        """The provider picked for the conversation shown (or the new chat's first message)."""
        if self.conversation_id is None:
            self._new_chat_provider = name
            return
        try:
            self.store.set_preferred_provider(self.conversation_id, name)
        except StoreError as exc:
            self.say(str(exc))

    def _preferred_of(self, conversation_id: int | None) -> str | None:
        if conversation_id is None:
            return self._new_chat_provider
        try:
            conversation = self.store.get_conversation(conversation_id)
        except StoreError:
            return None
        return conversation.preferred_provider if conversation else None

    def restore_conversation(self, conversation_id: int) -> None:
        """Undo a deletion and show the conversation again."""
        try:
            self.store.restore_conversation(conversation_id)
        except StoreError as exc:
            self.say(str(exc))
            return
        self.conversationsChanged.emit()
        self.open_conversation(conversation_id)

    def imported(self, conversations_updated: int) -> None:
        """An import ended: the list changed, and so may the conversation shown."""
        self.conversationsChanged.emit()
        if conversations_updated and self.conversation_id is not None:
            self.open_conversation(self.conversation_id)

    def rename_conversation(self, conversation_id: int, title: str | None) -> str | None:
        """Rename (None: back to the automatic title); what stopped it, or None."""
        try:
            self.store.rename_conversation(conversation_id, title)
        except StoreError as exc:
            return str(exc)
        return None

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        try:
            self.store.set_pinned(conversation_id, pinned)
        except StoreError as exc:
            self.say(str(exc))
            return
        self.conversationsChanged.emit()

    def delete_conversation(self, conversation_id: int) -> None:
        """Soft delete: `conversationDeleted` lets the window offer Undo for a while."""
        try:
            conversation = self.store.get_conversation(conversation_id)
            self.store.delete_conversation(conversation_id)
        except StoreError as exc:
            self.say(str(exc))
            return
        self.conversationsChanged.emit()
        if conversation_id == self.conversation_id:
            self.open_conversation(None)
        self.conversationDeleted.emit(conversation_id,
                                      (conversation.title if conversation else None) or "New chat")

    # -- drafts ---------------------------------------------------------------------------

    def set_draft(self, text: str) -> None:
        """What the composer holds for the conversation shown (during an edit: what it held
        before the edit, since the edit's text is the message being edited)."""
        if self.readonly:
            return
        self.drafts.put(self.conversation_id, text)
        self._draft_timer.start()

    def load_drafts(self) -> None:
        """The drafts of window.ini, and those `chatdesk ask` kept when it could not send."""
        self.drafts.load()
        if self.ctx is not None and not self.readonly:
            from chatdesk.draft_file import take_drafts

            kept = take_drafts(self.ctx.paths.root)
            if kept:
                self.drafts.add_kept(kept)
                self.drafts.write()

    def save_drafts(self) -> None:
        self._draft_timer.stop()
        self.drafts.write()

    # -- sending --------------------------------------------------------------------------

    def _service(self) -> ChatService | None:
        """The chat service, or None (and a notice saying why) when nothing can be sent."""
        if self.bridge is None or self.busy:
            return None
        problem = self.settings_problem
        if problem is not None:
            self.notice.emit(f"{problem.rstrip('.')}. Fix settings.toml (Chat ▸ Settings…) "
                             "before sending; your text is kept.")
            return None
        return self.engine_service()

    def engine_service(self) -> ChatService | None:
        """The bridge's chat service; None (and a notice) when it cannot be made."""
        assert self.bridge is not None
        try:
            return self.bridge.service
        except Exception as exc:  # building it can fail on settings the checks let through
            log.exception("the chat service cannot start")
            self.notice.emit(wording.unexpected(exc))
            return None

    def send(self, text: str, *, model: str | None = None, replacing: int | None = None) -> bool:
        """Send text in the conversation shown; `model` is for the provider asked first (the
        conversation's chosen one, else the first of the failover order), `replacing` edits
        a message. False (and the text is the caller's to keep) when it could not be saved."""
        service = self._service()
        if service is None:
            return False
        # A chosen provider is stored with its conversation (choose_provider); a new chat's
        # choice goes with its first message. Otherwise the failover order decides.
        new_chat = self.conversation_id is None
        preferred = self._new_chat_provider if new_chat else None
        system = self._new_chat_system if new_chat else None
        preset = self.new_chat_preset if new_chat else None
        if preset is not None or self._follows_preset(self.conversation_id):
            model = None  # a preset's chat is answered as the preset says, model included
        files = self.files.shown()
        sent_from = self.conversation_id
        started = self._start(lambda: service.prepare(
            text, self.conversation_id, files, preferred=preferred, model=model,
            replacing=replacing, system=system, preset=preset))
        if started and files:
            self.files.sent(sent_from, self.conversation_id if new_chat else None)
        return started

    def _follows_preset(self, conversation_id: int | None) -> bool:
        if conversation_id is None:
            return False
        try:
            conversation = self.store.get_conversation(conversation_id)
        except StoreError:
            return False
        return conversation is not None and conversation.preset is not None

    def regenerate(self, *, model: str | None = None, preferred: str | None = None) -> bool:
        """Ask again for the last answer of the conversation shown (`preferred`: asking
        that provider first)."""
        service = self._service()
        if service is None or self.conversation_id is None:
            return False
        conversation_id = self.conversation_id
        if preferred is None and self._follows_preset(conversation_id):
            model = None  # the preset's model, unless another provider is asked for
        return self._start(lambda: service.prepare_regenerate(
            conversation_id, model=model, preferred=preferred))

    def _start(self, prepare: Callable[[], PreparedSend]) -> bool:
        from chatdesk.attachment_limits import AttachmentLimitError
        from chatdesk.chat import (
            EditError,
            NotSetUpError,
            UnknownPresetError,
            UnknownProviderError,
        )

        assert self.bridge is not None
        try:
            prepared = prepare()
        except NotSetUpError:  # not an outage: nothing is pending, the text stays put
            self.setupNeeded.emit(True)
            self.say(wording.nothing_set_up("app"), 15000)
            return False
        except AttachmentLimitError as exc:  # the files cannot go: nothing was saved
            self.say(str(exc), 15000)
            return False
        except (StoreError, EditError, UnknownProviderError, UnknownPresetError,
                LookupError) as exc:
            self.say(wording.not_done(exc))
            return False
        self.drafts.forget(None if prepared.created else prepared.conversation_id)
        # At once, not on the draft timer: a window.ini still holding the sent text would
        # bring it back into the next new chat if chatdesk ended within that second.
        self.save_drafts()
        self._answering, self._live = prepared.conversation_id, None
        if prepared.created and self.conversation_id is None:
            self._adopt(prepared.conversation_id)
        if prepared.set_aside:
            self.messagesSetAside.emit(prepared.set_aside)
        self.bridge.start(self.bridge.service.answer(prepared), "send")
        return True

    def _adopt(self, conversation_id: int) -> None:
        self.conversation_id = conversation_id
        self._new_chat_provider = self._new_chat_system = None
        self.conversationsChanged.emit()
        self.conversationAdopted.emit(conversation_id)

    def stop(self) -> bool:
        if self.bridge is not None and self.bridge.stop():
            self.say("Stopping…")
            return True
        return False

    def set_import_running(self, running: bool) -> None:
        """An import holds the history's write lock until it ends: no retries meanwhile."""
        self._import_running = running

    def retry_pending_if_ready(self) -> bool:
        """Send pending messages if there are any and some provider may be tried now."""
        b = self.bridge
        if b is None or b.busy or self._import_running or self.ctx is None \
                or self.settings_problem is not None:
            return False
        try:
            if not self.ctx.retry_ready(self._missing_keys):
                return False
        except StoreError as exc:
            self.say(str(exc))
            return False
        return self._start_retry(b, interrupted=False)

    def send_now(self) -> bool:
        """"Send now" under a pending message: one try at once, even of providers still
        cooling down (the user chose to)."""
        b = self.bridge
        if b is None or b.busy or self._import_running or self.settings_problem is not None:
            self.say("Wait for the answer running (or the import) to end, then try again.")
            return False
        return self._start_retry(b, interrupted=False, force=True)

    def recover_interrupted(self) -> int:
        """Close what chatdesk processes that died mid-answer left running; if answers were cut
        off, `resendOffered` lets the user send their messages again. Returns how many wait."""
        if self.bridge is None or self.ctx is None:
            return 0
        try:
            # The store's own clean-up (what ChatService.recover does), without building the
            # chat service: httpx and the providers load when something is sent, not at idle.
            self.store.recover_interrupted(wording.INTERRUPTED)
            waiting = self.ctx.interrupted_pending()
        except StoreError as exc:
            self.say(str(exc))
            return 0
        if waiting:
            self.resendOffered.emit(wording.interrupted_found(waiting))
        return waiting

    def resend_interrupted(self) -> bool:
        """"Send again": send the messages whose answer a crash cut off (and other pending
        ones); the cut-off answers stay as alternates."""
        b = self.bridge
        if b is None or b.busy or self._import_running:
            self.say("Wait for the answer running (or the import) to end, then try again.")
            return False
        return self._start_retry(b, interrupted=True)

    def _start_retry(self, bridge: ChatBridge, *, interrupted: bool,
                     force: bool = False) -> bool:
        """Send the pending messages (`interrupted`: those a crash cut off too; `force`:
        to providers cooling down too)."""
        service = self.engine_service()
        if service is None:
            return False
        self._answering, self._live = None, None
        bridge.start(service.retry_pending(interrupted=interrupted, force=force),
                     "resend" if interrupted else "retry")
        return True

    def _on_event(self, event: ev.ChatEvent) -> None:
        from chatdesk import events as ev  # loaded with the chat engine, after start-up

        if isinstance(event, ev.MessageSaved):
            self._answering, self._live = event.conversation_id, None
        elif isinstance(event, ev.AttemptStarted):
            self._live = (event.answer_id, self._live[1] if self._live else "")
        elif isinstance(event, ev.TextChunk) and self._live is not None:
            self._live = (self._live[0], self._live[1] + event.text)
        elif isinstance(event, ev.Restarted) and self._live is not None:
            self._live = (self._live[0], "")
        if self._answering is not None and self._answering == self.conversation_id:
            self.chatEvent.emit(event)
        if isinstance(event, ev.NotSetUp):
            self._taken_back(event)
        elif isinstance(event, ev.AnswerPending):
            self.refresh_status()  # the pending message shows its next try at once
        elif isinstance(event, ev.AnswerStopped) and not event.cancelled:
            self.notice.emit(event.reason)
        elif isinstance(event, ev.AnswerStopped):
            self.say(event.reason)
        elif isinstance(event, ev.Hedged):
            self.say(wording.hedging(event.provider, event.backup, event.waited_s))
        elif isinstance(event, ev.AnswerFinished):
            self._tell_budgets()

    def _tell_budgets(self) -> None:
        """After an answer: 80 % of a month's budget on the status bar, a spent one as a
        notice; each once per month and provider (the history remembers)."""
        service = self.bridge.service if self.bridge is not None else None
        if service is None:
            return
        for budget_notice in service.budget_notices():
            if budget_notice.level >= 100:
                self.notice.emit(budget_notice.text)
            else:
                self.say(budget_notice.text, BUDGET_MS)

    def usage_report(self, days: int = 30) -> UsageReport | str:
        """The usage view's numbers for the last `days` days, or why they cannot be read."""
        from datetime import UTC, datetime

        from chatdesk.usage import usage_report

        settings = self.settings
        if settings is None:
            return "Usage needs the settings (to know each provider's prices)."
        try:
            return usage_report(self.store, settings, datetime.now(UTC), days)
        except StoreError as exc:
            return str(exc)

    def _taken_back(self, event: ev.NotSetUp) -> None:
        """Nothing could be reached: the message left the history; its text goes back to
        the composer (as the draft of its conversation) and the welcome view shows."""
        where = None if event.conversation_removed else event.conversation_id
        self.drafts.put(where, event.text)
        self.save_drafts()
        self.conversationsChanged.emit()
        if self.conversation_id == event.conversation_id:
            self.open_conversation(where)
        self.setupNeeded.emit(True)
        self.say(wording.nothing_set_up("app", event.reason), 15000)

    def _run_finished(self, kind: str, finished: int) -> None:
        self._live = None
        self.conversationsChanged.emit()
        if self.conversation_id is not None:  # an edit or regenerate kept another version
            self.versionsChanged.emit(self.message_actions.versions(self.conversation_id))
            self.costsChanged.emit(self.message_actions.costs(self.conversation_id))
        self.refresh_status()
        if kind in ("retry", "resend") and finished:
            self.say(f"Sent {finished} pending message{'s' if finished != 1 else ''}.")
        if kind == "resend" and self.conversation_id is not None:
            self.open_conversation(self.conversation_id)  # the cut-off answers are set aside
        if finished or self._retry_when_idle:
            self._retry_when_idle = False
            QTimer.singleShot(0, self.retry_pending_if_ready)

    def fetch_models(self, name: str) -> None:
        """The picker wants the models of a provider: modelsLoaded or modelsFailed."""
        if self.bridge is None or name in self._missing_keys:
            return
        self.run_job(lambda service: service.list_models(name),
                     lambda models: self.modelsLoaded.emit(name, models),
                     lambda exc: self._models_failed(name, exc))

    def _models_failed(self, name: str, exc: BaseException) -> None:
        self.modelsFailed.emit(name)
        settings = self.settings
        provider = settings.providers.get(name) if settings is not None else None
        self.say(wording.models_failure(name, exc, provider.effective_base_url()
                                        if provider is not None else None))

    # -- first run: the welcome view's choices ------------------------------------------

    def find_local_servers(self, done: Callable[[list[FoundServer]], None]) -> bool:
        """Ask the usual local ports (or `local_servers`) which model servers answer."""
        if self.bridge is None:
            return False  # the engine is not up yet (nor httpx loaded: not before the paint)
        from chatdesk.local_servers import default_servers, probe

        servers = self.local_servers if self.local_servers is not None else default_servers()
        return self.run_job(lambda service: probe(servers, service.client), done,
                            lambda exc: done([])) is not None

    def set_up_provider(self, entry: ProviderSettings, key: str | None,
                        done: Callable[[str | None], None]) -> bool:
        """Test a first-run choice with one tiny request, then save it (with its key) as a
        provider; done(None) once saved, else done(why not, as a sentence)."""
        from chatdesk.context import KeyChanges
        from chatdesk.onboarding import with_provider

        def save(_outcome: str) -> None:
            ctx = self.ctx
            assert ctx is not None and self.bridge is not None
            service = self.bridge.service
            keep = [p.name for p in ctx.settings.providers.values() if service.set_up(p).ok]
            done(self.save_settings(with_provider(ctx.settings, entry, keep),
                                    KeyChanges(typed={entry.name: key} if key else {})))

        def failed(exc: BaseException) -> None:
            done(wording.provider_failure(exc, entry.name, entry.effective_base_url()))

        return self.run_job(lambda service: service.test_provider(entry, key), save,
                            failed) is not None

    # -- one-off jobs on the engine (models, the settings dialog's probes) ----------------

    def run_job(self, job: Callable[[ChatService], Coroutine[Any, Any, T]],
                done: Callable[[T], None], failed: Callable[[BaseException], None]
                ) -> asyncio.Task[None] | None:
        """Run job(service) on the engine's loop; then done(result) or failed(error) (not
        when the job is cancelled). None (and nothing runs) before the engine is up."""
        if self.bridge is None:
            return None
        bridge = self.bridge

        async def run() -> None:
            try:
                result = await job(bridge.service)
            except Exception as exc:  # every failure is worded for people, never raised
                if not isinstance(exc, errors.ProviderError):
                    log.exception("a request to a provider failed")
                failed(exc)
            else:
                done(result)

        import asyncio  # loaded with the engine, after the first paint

        try:  # a timer firing while the app shuts down: there is no loop to run on
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = None
        if loop is None or loop.is_closed():
            run().close()
            return None
        return bridge.spawn(run())

    # -- status, closing --------------------------------------------------------------------

    def say(self, text: str, ms: int = STATUS_MS) -> None:
        self.message.emit(text, ms)

    def close(self) -> None:
        """The window is closing: keep the drafts, stop the timers and the answer running
        (the router stores its partial text as it unwinds)."""
        self.save_drafts()
        if "searches" in self.__dict__:  # made at the first search
            self.searches.close()
        for timer in [*self._timers, *self._probe_timers.values()]:
            timer.stop()
        if self.bridge is not None:
            self.bridge.stop()
