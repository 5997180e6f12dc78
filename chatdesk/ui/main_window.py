"""The main window: assembles the sidebar, transcript, composer and status bar around the
ChatController, and connects the widgets' intents to it and its state back to them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QShowEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QSplitter, QVBoxLayout, QWidget

from chatdesk.store import HistoryStore
from chatdesk.ui.banner import Banner
from chatdesk.ui.composer import Composer, ProviderPicker
from chatdesk.ui.controller import STATUS_MS, ChatController, OpenedConversation
from chatdesk.ui.health_bar import HealthBar
from chatdesk.ui.resources import icon
from chatdesk.ui.sidebar import Sidebar
from chatdesk.ui.theme import follow_settings, is_dark, theme_watcher
from chatdesk.ui.transcript import TranscriptView
from chatdesk.ui.transfer_actions import TransferActions

if TYPE_CHECKING:
    from chatdesk.context import AppContext
    from chatdesk.provider_status import ProviderStatus
    from chatdesk.settings import Settings
    from chatdesk.ui.bridge import ChatBridge

log = logging.getLogger("chatdesk.ui")

UNDO_MS = 8000
STATUS_CHECK_DELAY_MS = 2000  # status pages are a background nicety, not start-up work


class MainWindow(QMainWindow):
    """One window over one history. Browse mode (a browse_path, or no ctx) reads only: no
    composer, no provider picker, no rename/delete/pin, and nothing that could reach the
    network. The app shows the window first and attaches the ChatBridge just after its first
    paint (attach_bridge): until then a send keeps the text and does nothing."""

    def __init__(self, store: HistoryStore, *, ctx: AppContext | None = None,
                 bridge: ChatBridge | None = None, browse_path: Path | None = None,
                 state_file: Path | None = None, background: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("chatdesk")
        self.store = store
        self.readonly = browse_path is not None or ctx is None
        self._background = background
        self._state = (QSettings(str(state_file), QSettings.Format.IniFormat)
                       if state_file else None)
        self.controller = ChatController(store, ctx, readonly=self.readonly,
                                         state=self._state, parent=self)

        self.sidebar = Sidebar(self.controller)
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
        if not self.readonly:
            self.health_bar = HealthBar()
            self.statusBar().addPermanentWidget(self.health_bar)
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
        c = self.controller
        if not self.readonly:
            c.reload_settings(keys_now=False)
        problem = c.settings_problem
        if problem is not None:
            self.notice_banner.show_text(
                f"{problem.rstrip('.')}. Using default settings until it is fixed: the "
                "history opens, but sending waits for a valid settings.toml.")
        if self.sidebar.model.error:
            self.notice_banner.show_text(self.sidebar.model.error)

        app = QApplication.instance()
        if isinstance(app, QApplication):
            self.transcript.set_dark(is_dark(app))
            theme_watcher(app).changed.connect(self.transcript.set_dark)
        self.restore_state()
        if bridge is not None:
            self.attach_bridge(bridge)
        if background:
            c.start_background()

    # -- building -----------------------------------------------------------------------

    def _action(self, text: str, slot: Callable[[], Any], shortcut: Any = None,
                icon_name: str = "") -> QAction:
        action = QAction(icon(icon_name) if icon_name else QIcon(), text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.transfers = TransferActions(self.controller, self)
        self.transfers.add_menu(self.menuBar())
        menu = self.menuBar().addMenu("&Chat")
        self.search_action = self._action("Search", self.sidebar.focus_search, "Ctrl+K", "search")
        if not self.readonly:
            c = self.controller
            self.new_action = self._action("New chat", self.new_chat,
                                           QKeySequence.StandardKey.New, "new-chat")
            self.stop_action = self._action("Stop answer", c.stop, Qt.Key.Key_Escape, "stop")
            self.stop_action.setEnabled(False)
            self.regenerate_action = self._action("Regenerate last answer", self.regenerate,
                                                  "Ctrl+R", "retry")
            self.edit_action = self._action("Edit last message", self.edit_last, "Ctrl+E")
            self.retry_action = self._action("Send pending messages now",
                                             c.retry_pending_if_ready)
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
        c, sb = self.controller, self.sidebar
        sb.conversationSelected.connect(self.open_conversation)
        sb.newChatRequested.connect(self.new_chat)
        sb.searchHitActivated.connect(self.jump_to_message)
        sb.problem.connect(self.show_status)
        self.transcript.status.connect(self.show_status)
        self.transcript.actionRequested.connect(self._transcript_action)
        c.conversationOpened.connect(self._show_opened)
        c.conversationAdopted.connect(self._adopted)
        c.messagesSetAside.connect(lambda ids: self.transcript.tmodel.remove_from(ids[0]))
        c.chatEvent.connect(self.transcript.apply_event)
        c.busyChanged.connect(self._busy_changed)
        c.conversationsChanged.connect(sb.reload)
        c.conversationDeleted.connect(self._deleted)
        c.statusChanged.connect(self._status_changed)
        c.nextTryChanged.connect(self.transcript.set_next_try)
        c.notice.connect(self.notice_banner.show_text)
        c.resendOffered.connect(lambda text: self.notice_banner.show_text(
            text, "Send again", c.resend_interrupted))
        c.message.connect(self.show_status)
        c.settingsChanged.connect(self._settings_changed)
        composer, picker = self.composer, self.picker
        if composer is not None:
            composer.textChanged.connect(lambda: c.set_draft(composer.draft_text()))
            composer.sendRequested.connect(self.send_text)
            composer.stopRequested.connect(c.stop)
            composer.editLastRequested.connect(self.edit_last)
        if picker is not None:
            picker.providerChosen.connect(c.choose_provider)
            picker.modelsWanted.connect(c.fetch_models)
            c.providersChanged.connect(self._providers_changed)
            c.modelsLoaded.connect(picker.set_models)
            c.modelsFailed.connect(picker.models_failed)

    def attach_bridge(self, bridge: ChatBridge) -> None:
        """Connect the chat engine: sending, models, pending retries, status pages."""
        self.controller.attach_bridge(bridge)
        if self._background:
            # What a killed chatdesk left: closed now, and "Send again" offered if answers
            # were cut off (before the first retry of pending messages).
            QTimer.singleShot(0, self.controller.recover_interrupted)
            QTimer.singleShot(STATUS_CHECK_DELAY_MS, self.controller.watch_status_pages)

    # -- intents: what the user asked for ---------------------------------------------------

    def open_conversation(self, conversation_id: int | None) -> None:
        if self.composer is not None and self.composer.editing:
            self.composer.cancel_edit()
        self.controller.open_conversation(conversation_id)

    def new_chat(self) -> None:
        self.open_conversation(None)
        if self.composer is not None:
            self.composer.focus()

    def jump_to_message(self, conversation_id: int, message_id: int) -> None:
        if conversation_id != self.controller.conversation_id:
            self.open_conversation(conversation_id)
        if not self.transcript.jump_to(message_id):
            # Search finds alternates too: an edited or regenerated exchange, another branch.
            self.show_status("That message is an earlier version (edited, regenerated or "
                             "another branch): it is kept in the history and in exports, "
                             "not shown in the conversation.")

    def send_text(self, text: str) -> bool:
        """Send what the composer holds (replacing the message being edited, if any)."""
        composer, picker = self.composer, self.picker
        if composer is None:
            return False
        self.transcript.scroll_to_end()
        if not self.controller.send(text, model=picker.current_model() if picker else None,
                                    replacing=composer.editing_id):
            return False
        if composer.editing:
            composer.end_edit()  # the box gets back the draft it held before the edit
        else:
            composer.clear()
        composer.focus()
        return True

    def edit_last(self) -> None:
        row = self.transcript.tmodel.last_user_row()
        if self.composer is None or row is None or self.controller.busy:
            return
        self.composer.begin_edit(row.id, row.content)

    def regenerate(self) -> None:
        if self.composer is None or self.transcript.tmodel.last_user_row() is None:
            return
        if self.composer.editing:
            self.composer.cancel_edit()
        self.transcript.scroll_to_end()
        picker = self.picker
        self.controller.regenerate(model=picker.current_model() if picker else None)

    def _transcript_action(self, name: str, _message_id: int) -> None:
        if name == "send-now":
            self.controller.send_now()
        elif name == "edit":
            self.edit_last()
        elif name == "regenerate":
            self.regenerate()

    def _deleted(self, conversation_id: int, title: str) -> None:
        if self.composer is not None and self.controller.conversation_id is None:
            self.composer.focus()
        self.undo_banner.show_text(f"Deleted “{title}”", "Undo",
                                   lambda: self.controller.restore_conversation(conversation_id),
                                   UNDO_MS)

    def open_settings(self) -> None:
        if self.readonly:
            return
        from chatdesk.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.controller, self)
        dialog.exec()
        dialog.deleteLater()

    # -- state: what the controller says ----------------------------------------------------

    def _show_opened(self, opened: OpenedConversation) -> None:
        if self.composer is not None:
            self.composer.set_text(opened.draft)
        self.transcript.show_conversation(opened.messages)
        if opened.live is not None:
            self.transcript.tmodel.mark_live(*opened.live)
        if self.picker is not None:
            self.picker.set_current(opened.preferred_provider)
        self.sidebar.select_conversation(opened.conversation_id)
        self.transfers.update_enabled()

    def _adopted(self, conversation_id: int) -> None:
        self.sidebar.select_conversation(conversation_id)
        self.transfers.update_enabled()

    def _busy_changed(self, busy: bool) -> None:
        if self.composer is not None:
            self.composer.set_busy(busy)
        self.stop_action.setEnabled(busy)
        self.transcript.tmodel.set_busy(busy)

    def _status_changed(self, statuses: list[ProviderStatus]) -> None:
        if self.health_bar is not None:
            self.health_bar.update_health(statuses)

    def _providers_changed(self, providers: list[tuple[str, str]], current: str | None) -> None:
        if self.picker is not None:
            self.picker.set_providers(providers)
            self.picker.set_current(current)

    def _settings_changed(self, settings: Settings) -> None:
        self.notice_banner.hide()
        follow_settings(settings)

    def show_status(self, text: str, ms: int = STATUS_MS) -> None:
        self.statusBar().showMessage(text, ms)

    # -- window state, closing ------------------------------------------------------------

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
        if last_id is not None and not self.controller.exists(last_id):
            last_id = None
        self.controller.drafts.load()
        self.open_conversation(last_id)

    def save_state(self) -> None:
        s = self._state
        if s is None:
            return
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.splitter.saveState())
        if not self.readonly:  # a browsed file's ids mean nothing in the user's history
            s.setValue("window/last_conversation", self.controller.conversation_id or "")
        s.sync()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.composer is not None:
            self.composer.focus()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.save_state()
        self.transfers.shutdown()
        self.controller.close()
        super().closeEvent(event)
