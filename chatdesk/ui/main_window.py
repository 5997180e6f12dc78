"""The main window: sidebar, transcript, composer and status bar, wired to the ChatBridge."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QSplitter, QVBoxLayout, QWidget

from chatdesk.failover.health import HealthBook
from chatdesk.store import HistoryStore, StoreError
from chatdesk.ui.banner import Banner
from chatdesk.ui.composer import Composer, ProviderPicker
from chatdesk.ui.health_bar import HealthBar
from chatdesk.ui.resources import icon
from chatdesk.ui.sending import SendingMixin
from chatdesk.ui.sidebar import Sidebar
from chatdesk.ui.theme import is_dark, theme_watcher
from chatdesk.ui.transcript import TranscriptView
from chatdesk.ui.transfer_actions import TransferActions

if TYPE_CHECKING:
    from chatdesk.ui.bridge import ChatBridge

log = logging.getLogger("chatdesk.ui")

UNDO_MS = 8000
KEY_CHECK_DELAY_MS = 100  # after the first paint, in practice
STATUS_CHECK_DELAY_MS = 2000  # status pages are a background nicety, not start-up work
HEALTH_REFRESH_MS = 5000
PENDING_RETRY_MS = 30000
STATUS_MS = 6000
DRAFT_SAVE_MS = 1000  # an unsent message is written to window.ini this long after typing


class MainWindow(SendingMixin, QMainWindow):
    """One window over one history. Browse mode (a browse_path, or no ctx) reads only: no
    composer, no provider picker, no rename/delete/pin, and nothing that could reach the
    network. The app shows the window first and attaches the ChatBridge just after its first
    paint (attach_bridge): until then a send keeps the text and does nothing."""

    conversationChanged = Signal(object)  # id or None

    def __init__(self, store: HistoryStore, *, ctx: Any = None, bridge: ChatBridge | None = None,
                 browse_path: Path | None = None, state_file: Path | None = None,
                 background: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("chatdesk")
        self.store, self.ctx = store, ctx
        self.bridge: ChatBridge | None = None
        self.readonly = browse_path is not None or ctx is None
        self._background = background
        self.conversation_id: int | None = None
        self._new_chat_provider: str | None = None
        self._awaiting_new = False
        self._missing_keys: set[str] = set()
        self._drafts: dict[str, str] = {}  # unsent text per conversation ("new": a new chat)
        self._draft_shown = False  # the composer shows the draft of the conversation shown
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_SAVE_MS)
        self._draft_timer.timeout.connect(self.save_drafts)
        self._state = (QSettings(str(state_file), QSettings.Format.IniFormat)
                       if state_file else None)

        self.sidebar = Sidebar(store, readonly=self.readonly)
        self.transcript = TranscriptView(store)
        self.transcript.tmodel.readonly = self.readonly
        self.readonly_banner = Banner("readonlyBanner", closable=False)
        self.notice_banner = Banner("noticeBanner", warning=True)
        self.undo_banner = Banner("undoBanner")
        self.picker: ProviderPicker | None = None
        self.composer: Composer | None = None
        self.health_bar: HealthBar | None = None

        center = QWidget()
        column = QVBoxLayout(center)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        for banner in (self.readonly_banner, self.notice_banner, self.undo_banner):
            column.addWidget(banner)
        if not self.readonly:
            self.picker = ProviderPicker()
            column.addWidget(self.picker)
        column.addWidget(self.transcript, 1)
        if not self.readonly:
            self.composer = Composer()
            column.addWidget(self.composer)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(center)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([260, 740])
        self.setCentralWidget(self.splitter)
        self.statusBar().setObjectName("statusBar")
        self._build_actions()
        self._connect()

        self.transcript.placeholder = (
            "Choose a conversation on the left, or search them all (Ctrl+K)." if self.readonly
            else "Write a message below and press Enter.\n\nEverything stays on this computer; "
                 "if a provider fails, the next one in your list answers.")
        if browse_path is not None:
            self.readonly_banner.show_text(
                f"Read-only: {browse_path.name} — browsing only; nothing can be sent or changed")
            self.readonly_banner.setToolTip(str(browse_path))
        if not self.readonly:
            self.health_bar = HealthBar()
            self.statusBar().addPermanentWidget(self.health_bar)
            self.reload_settings(keys_now=False)
        if ctx is not None and ctx.settings_error is not None:
            self.notice_banner.show_text(
                f"{str(ctx.settings_error).rstrip('.')}. Using default settings until it is "
                "fixed: the history opens, but sending waits for a valid settings.toml.")
        if self.sidebar.model.error:
            self.notice_banner.show_text(self.sidebar.model.error)

        app = QApplication.instance()
        if isinstance(app, QApplication):
            self.transcript.set_dark(is_dark(app))
            theme_watcher(app).changed.connect(self.transcript.set_dark)
        self._timers: list[QTimer] = []
        if background and not self.readonly:
            self._every(HEALTH_REFRESH_MS, self.refresh_health)
            self._every(PENDING_RETRY_MS, self.maybe_retry_pending)
            QTimer.singleShot(3000, self.maybe_retry_pending)
        self.restore_state()
        if bridge is not None:
            self.attach_bridge(bridge)

    # -- building -----------------------------------------------------------------------

    def _action(self, text: str, slot: Any, shortcut: Any = None, icon_name: str = "") -> QAction:
        action = QAction(icon(icon_name) if icon_name else QIcon(), text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.transfers = TransferActions(self)
        self.transfers.add_menu(self.menuBar())
        menu = self.menuBar().addMenu("&Chat")
        self.search_action = self._action("Search", self.sidebar.focus_search, "Ctrl+K", "search")
        if not self.readonly:
            self.new_action = self._action("New chat", self.new_chat,
                                           QKeySequence.StandardKey.New, "new-chat")
            self.stop_action = self._action("Stop answer", self.stop, Qt.Key.Key_Escape, "stop")
            self.stop_action.setEnabled(False)
            self.regenerate_action = self._action("Regenerate last answer", self.regenerate,
                                                  "Ctrl+R", "retry")
            self.edit_action = self._action("Edit last message", self.edit_last, "Ctrl+E")
            self.retry_action = self._action("Send pending messages now",
                                             self.maybe_retry_pending)
            self.settings_action = self._action("Settings…", self.open_settings, "Ctrl+,",
                                                "settings")
            self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
            for action in (self.new_action, self.search_action, None, self.stop_action,
                           self.regenerate_action, self.edit_action, self.retry_action, None,
                           self.settings_action):
                menu.addSeparator() if action is None else menu.addAction(action)
        else:
            menu.addAction(self.search_action)
        menu.addSeparator()
        quit_action = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        menu.addAction(quit_action)

    def _connect(self) -> None:
        sb = self.sidebar
        sb.conversationSelected.connect(self.open_conversation)
        sb.newChatRequested.connect(self.new_chat)
        sb.searchHitActivated.connect(self.jump_to_message)
        sb.conversationDeleted.connect(self._deleted)
        sb.problem.connect(self.show_status)
        self.transcript.status.connect(self.show_status)
        self.transcript.actionRequested.connect(self._transcript_action)
        if self.composer is not None:
            self.composer.textChanged.connect(self._draft_timer.start)
            self.composer.sendRequested.connect(self.send_text)
            self.composer.stopRequested.connect(self.stop)
            self.composer.editLastRequested.connect(self.edit_last)
        if self.picker is not None:
            self.picker.providerChosen.connect(self._provider_chosen)
            self.picker.modelsWanted.connect(self._models_wanted)

    def attach_bridge(self, bridge: ChatBridge) -> None:
        """Connect the chat engine: sending, models, pending retries, status pages."""
        if self.readonly or self.bridge is not None:
            raise RuntimeError("a read-only window, or one that has its bridge already")
        self.bridge = b = bridge
        b.event.connect(self._on_event)
        b.busyChanged.connect(self._busy_changed)
        b.runFinished.connect(self._run_finished)
        b.failed.connect(lambda text: self.notice_banner.show_text(text))
        b.modelsLoaded.connect(self._models_loaded)
        b.modelsFailed.connect(self._models_failed)
        if self._background:
            QTimer.singleShot(STATUS_CHECK_DELAY_MS, b.watch_status_pages)

    def _every(self, ms: int, slot: Any) -> None:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        self._timers.append(timer)

    # -- conversations --------------------------------------------------------------------

    def open_conversation(self, conversation_id: int | None) -> None:
        if self.composer is not None and self.composer.editing:
            self.composer.cancel_edit()
        self._keep_draft()
        try:
            conversation = self.store.get_conversation(conversation_id) if conversation_id \
                else None
            messages = self.store.messages(conversation.id) if conversation else []
        except StoreError as exc:
            self.show_status(str(exc))
            return
        self.conversation_id = conversation.id if conversation else None
        if self.composer is not None:
            self.composer.set_text(self._drafts.get(_draft_key(self.conversation_id), ""))
            self._draft_shown = True
        self.transcript.show_conversation(self.conversation_id, messages)
        b = self.bridge
        if b is not None and b.busy and b.conversation_id == self.conversation_id \
                and b.answer_id is not None:
            self.transcript.tmodel.mark_live(b.answer_id, b.live_text)
        if self.picker is not None:
            self._new_chat_provider = None
            self.picker.set_current(conversation.preferred_provider if conversation else None)
        self.sidebar.select_conversation(self.conversation_id)
        self.conversationChanged.emit(self.conversation_id)

    def new_chat(self) -> None:
        self.open_conversation(None)
        if self.composer is not None:
            self.composer.focus()

    def jump_to_message(self, conversation_id: int, message_id: int) -> None:
        if conversation_id != self.conversation_id:
            self.open_conversation(conversation_id)
        if not self.transcript.jump_to(message_id):
            # Search finds alternates too: an edited or regenerated exchange, another branch.
            self.show_status("That message is an earlier version (edited, regenerated or "
                             "another branch): it is kept in the history and in exports, "
                             "not shown in the conversation.")

    def _deleted(self, conversation_id: int, title: str) -> None:
        if conversation_id == self.conversation_id:
            self.new_chat()
        self.undo_banner.show_text(f"Deleted “{title}”", "Undo",
                                   lambda: self.undo_delete(conversation_id), UNDO_MS)

    def undo_delete(self, conversation_id: int) -> None:
        try:
            self.store.restore_conversation(conversation_id)
        except StoreError as exc:
            self.show_status(str(exc))
            return
        self.sidebar.reload()
        self.open_conversation(conversation_id)
    # -- providers, models, health, settings ----------------------------------------------

    def reload_settings(self, keys_now: bool = True) -> None:
        """Read ctx.settings again (after the settings dialog): picker, keys, health, service.

        At start-up the keys are looked up just after the window shows (`keys_now=False`):
        loading the keyring's backends takes longer than everything else before the paint."""
        if self.ctx is None:
            return
        providers = self.ctx.settings.ordered_providers()
        if keys_now:
            self._check_keys()
        else:
            QTimer.singleShot(KEY_CHECK_DELAY_MS, self._check_keys)
        if self.picker is not None:
            self.picker.set_providers([(p.name, p.model) for p in providers])
            conversation = self.store.get_conversation(self.conversation_id) \
                if self.conversation_id else None
            self.picker.set_current(conversation.preferred_provider if conversation else None)
        self.refresh_health()

    def _check_keys(self) -> None:
        if self.ctx is None:
            return
        missing = set()
        for p in self.ctx.settings.ordered_providers():
            try:
                if self.ctx.keys.needs_key(p) and self.ctx.keys.lookup(p).key is None:
                    missing.add(p.name)
            except Exception:  # a broken keyring must not stop the window
                log.exception("looking up the key of %s failed", p.name)
        self._missing_keys = missing
        self.refresh_health()

    def refresh_health(self) -> None:
        if self.health_bar is None or self.ctx is None:
            return
        try:
            book = HealthBook(self.store, self.ctx.settings.failover.cooldown_s)
            rows = []
            for p in self.ctx.settings.ordered_providers():
                h = book.get(p.name)
                rows.append({"name": p.name, "seconds_left": h.seconds_left,
                             "state": "no-key" if p.name in self._missing_keys else h.state,
                             "last_error": h.last_error, "failures": h.failures})
        except StoreError as exc:
            self.show_status(str(exc))
            return
        self.health_bar.update_health(rows)

    def maybe_retry_pending(self) -> bool:
        if self.transfers.importing:  # the import holds the write lock until it ends
            return False
        return super().maybe_retry_pending()

    def _provider_chosen(self, name: str) -> None:
        if self.conversation_id is None:
            self._new_chat_provider = name
        else:
            self._set_preferred(self.conversation_id, name)

    def _set_preferred(self, conversation_id: int, name: str) -> None:
        try:
            self.store.set_preferred_provider(conversation_id, name)
        except StoreError as exc:
            self.show_status(str(exc))

    def _models_wanted(self, name: str) -> None:
        if self.bridge is not None and name not in self._missing_keys:
            self.bridge.fetch_models(name)

    def _models_loaded(self, name: str, models: list[str]) -> None:
        if self.picker is not None:
            self.picker.set_models(name, models)

    def _models_failed(self, name: str, text: str) -> None:
        if self.picker is not None:
            self.picker.models_failed(name)
        self.show_status(text)

    def open_settings(self) -> None:
        if self.ctx is None:
            return
        from chatdesk.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.ctx, self)
        dialog.saved.connect(self._settings_saved)
        dialog.exec()
        dialog.deleteLater()

    def _settings_saved(self) -> None:
        self.notice_banner.hide()
        if self.bridge is not None and self.ctx is not None:
            self.bridge.replace_service(self.ctx.chat_service)
        self.reload_settings()

    # -- drafts -----------------------------------------------------------------------------

    def _keep_draft(self) -> None:
        """Remember what the composer holds for the conversation shown (during an edit, what
        it held before the edit: the edit's text is the message being edited)."""
        if self.composer is None or not self._draft_shown:
            return
        text = self.composer.before_edit if self.composer.editing else self.composer.text()
        key = _draft_key(self.conversation_id)
        if text.strip():
            self._drafts[key] = text
        else:
            self._drafts.pop(key, None)

    def forget_draft(self, conversation_id: int | None) -> None:
        self._drafts.pop(_draft_key(conversation_id), None)

    def save_drafts(self) -> None:
        """Unsent text survives switching conversations, quitting and crashes (window.ini)."""
        if self._state is not None and self._write_drafts(self._state):
            self._state.sync()

    def _write_drafts(self, s: QSettings) -> bool:
        self._keep_draft()
        if self.readonly:
            return False
        s.remove("drafts")
        for key, text in self._drafts.items():
            s.setValue(f"drafts/{key}", text)
        return True

    def _load_drafts(self) -> None:
        s = self._state
        if s is None or self.readonly:
            return
        s.beginGroup("drafts")
        try:
            for key in s.childKeys():
                text = s.value(key)
                if isinstance(text, str) and text.strip() \
                        and (key == "new" or key.isdigit()):
                    self._drafts[key] = text
        finally:
            s.endGroup()

    # -- status, state, closing -----------------------------------------------------------

    def show_status(self, text: str, ms: int = STATUS_MS) -> None:
        self.statusBar().showMessage(text, ms)

    def restore_state(self) -> None:
        s = self._state
        geometry = s.value("window/geometry") if s is not None else None
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1100, 720)
        splitter = s.value("window/splitter") if s is not None else None
        if splitter is not None:
            self.splitter.restoreState(splitter)
        last = s.value("window/last_conversation") if s is not None and not self.readonly \
            else None
        try:
            last_id = int(last) if last not in (None, "") else None
        except (TypeError, ValueError):
            last_id = None
        if last_id is not None and self.store.get_conversation(last_id) is None:
            last_id = None
        self._load_drafts()
        self.open_conversation(last_id)

    def save_state(self) -> None:
        s = self._state
        if s is None:
            return
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.splitter.saveState())
        if not self.readonly:  # a browsed file's ids mean nothing in the user's history
            s.setValue("window/last_conversation", self.conversation_id or "")
        self._write_drafts(s)
        s.sync()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.composer is not None:
            self.composer.focus()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.save_state()
        self.transfers.shutdown()
        for timer in self._timers:
            timer.stop()
        if self.bridge is not None:
            self.bridge.stop()  # the router stores the partial answer as it unwinds
        super().closeEvent(event)


def _draft_key(conversation_id: int | None) -> str:
    return "new" if conversation_id is None else str(conversation_id)
