"""The main window: assembles the sidebar, transcript, composer and status bar around the
ChatController, and connects the widgets' intents to it and its state back to them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from chatdesk.store import HistoryStore
from chatdesk.ui import design, zoom
from chatdesk.ui.banner import Banner
from chatdesk.ui.composer import Composer, ProviderPicker, dropped_files
from chatdesk.ui.controller import STATUS_MS, ChatController, OpenedConversation
from chatdesk.ui.conversation_model import shown_title
from chatdesk.ui.conversation_panel import ConversationPanel
from chatdesk.ui.health_bar import HealthBar
from chatdesk.ui.preset_menu import preset_menu
from chatdesk.ui.resources import icon
from chatdesk.ui.sidebar import Sidebar
from chatdesk.ui.theme import follow_settings, is_dark, theme_watcher
from chatdesk.ui.transcript import TranscriptView
from chatdesk.ui.transfer_actions import TransferActions
from chatdesk.ui.welcome import WelcomeView

if TYPE_CHECKING:
    from chatdesk.context import AppContext
    from chatdesk.local_servers import FoundServer
    from chatdesk.provider_status import ProviderStatus
    from chatdesk.settings import Settings
    from chatdesk.ui.bridge import ChatBridge

log = logging.getLogger("chatdesk.ui")

UNDO_MS = 8000
RENDERER_WARM_UP_MS = 300  # after the engine is attached: the window is idle by then




def remembered_zoom(state: QSettings | None) -> float:
    """The zoom window.ini remembers (zoom.DEFAULT when none or unreadable)."""
    try:
        return float(str(state.value("window/zoom", zoom.DEFAULT))) if state is not None \
            else zoom.DEFAULT
    except (TypeError, ValueError):
        return zoom.DEFAULT


class MainWindow(QMainWindow):
    """One window over one history. Browse mode (a browse_path, or no ctx) reads only: no
    composer, no provider picker, no rename/delete/pin, and nothing that could reach the
    network. The app shows the window first and attaches the ChatBridge just after its first
    paint (attach_bridge): until then a send keeps the text and does nothing."""

    def __init__(self, store: HistoryStore, *, ctx: AppContext | None = None,
                 bridge: ChatBridge | None = None, browse_path: Path | None = None,
                 state_file: Path | None = None, background: bool = True) -> None:
        state = QSettings(str(state_file), QSettings.Format.IniFormat) if state_file else None
        # The remembered zoom sizes the app font: set before any widget of the window is
        # made, they are made in it, instead of each being sent the change when
        # restore_state sets it (~10 ms of the first frame); that set_zoom changes nothing.
        app = QApplication.instance()
        if isinstance(app, QApplication):
            zoom.apply_zoom(app, remembered_zoom(state))
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("chatdesk")
        self._browse_name = browse_path.name if browse_path is not None else None
        self.zoom = zoom.DEFAULT
        self._panel_hid_sidebar = False  # the panel took the sidebar's room on a narrow window
        self.store = store
        self.readonly = browse_path is not None or ctx is None
        self._background = background
        self._state = state
        self.remember_state = True  # False: closing leaves window.ini as it was (--self-test)
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

        self.center = center = QWidget()
        column = QVBoxLayout(center)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        for banner in (self.readonly_banner, self.notice_banner, self.undo_banner):
            column.addWidget(banner)
        if not self.readonly:
            self.picker = ProviderPicker()
            column.addWidget(self.picker)
        # The welcome view takes the transcript's place while no provider is set up.
        self.welcome: WelcomeView | None = None
        self._setup_needed = False
        self.center_stack = QStackedWidget()
        self.center_stack.addWidget(self.transcript)
        if not self.readonly:
            self.welcome = WelcomeView()
            self.center_stack.addWidget(self.welcome)
        column.addWidget(self.center_stack, 1)
        if not self.readonly:
            self.composer = Composer()
            self.setAcceptDrops(True)  # a file dropped anywhere on the window is attached
            # As wide as the transcript's text column and centred with it (docs/design.md).
            self.composer.setMaximumWidth(design.COLUMN_MAX_PX)
            under = QHBoxLayout()
            under.setContentsMargins(0, 0, 0, 0)
            under.addStretch(1)
            under.addWidget(self.composer, 1000)
            under.addStretch(1)
            column.addLayout(under)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(center)
        self.panel: ConversationPanel | None = None
        if not self.readonly:
            self.panel = ConversationPanel(self.controller)
            self.panel.hide()
            self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        low, high = design.SIDEBAR_RANGE_PX
        self.sidebar.setMinimumWidth(low)
        self.sidebar.setMaximumWidth(high)
        self.splitter.setSizes([design.SIDEBAR_PX, 1100 - design.SIDEBAR_PX])
        self.setCentralWidget(self.splitter)
        self.statusBar().setObjectName("statusBar")
        if not self.readonly:
            self.health_bar = HealthBar()
            self.statusBar().addPermanentWidget(self.health_bar)
        self._build_actions()
        self._connect()
        self._name_for_screen_readers()

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
            self.preset_menu = preset_menu(self, lambda: c.prompts.presets(),
                                           self.new_chat_from_preset)
            self.sidebar.set_preset_menu(self.preset_menu)
            self.preset_action = self._action("New chat from a preset…", self.show_preset_menu,
                                              "Ctrl+Shift+N")
            self.stop_action = self._action("Stop answer", c.stop, Qt.Key.Key_Escape, "stop")
            self.stop_action.setEnabled(False)
            self.regenerate_action = self._action("Regenerate last answer", self.regenerate,
                                                  "Ctrl+R", "retry")
            self.edit_action = self._action("Edit last message", self.edit_last, "Ctrl+E")
            self.attach_action = self._action("Attach files…", self.choose_files, "Ctrl+U",
                                              "attach")
            self.retry_action = self._action("Send pending messages now",
                                             c.retry_pending_if_ready)
            self.settings_action = self._action("Settings…", self.open_settings, "Ctrl+,",
                                                "settings")
            self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
            self.trash_action = self._action("Trash…", self.open_trash)
            self.usage_action = self._action("Usage…", self.open_usage)
            self.library_action = self._action("Prompts and presets…", self.open_library,
                                               "Ctrl+Shift+L")
            menu.addAction(self.new_action)
            menu.addMenu(self.preset_menu)
            for action in (self.search_action, None, self.attach_action,
                           self.stop_action, self.regenerate_action, self.edit_action,
                           self.retry_action, None,
                           self.library_action, self.trash_action, self.usage_action,
                           self.settings_action):
                menu.addSeparator() if action is None else menu.addAction(action)
        else:
            menu.addAction(self.search_action)
        self._build_view_menu()
        menu.addSeparator()
        quit_action = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        menu.addAction(quit_action)

    def _name_for_screen_readers(self) -> None:
        """Accessible names for the controls that have no text of their own to be read by."""
        names: list[tuple[QWidget | None, str]] = [
            (self.transcript, "Conversation"),
            (self.sidebar.list, "Conversations"),
            (self.sidebar.search, "Search all chats"),
            (self.sidebar.results, "Search results"),
        ]
        if self.composer is not None:
            names.append((self.composer.edit, "Message"))
        if self.picker is not None:
            names += [(self.picker.provider_combo, "Provider asked first"),
                      (self.picker.model_combo, "Model"),
                      (self.picker.model_combo.lineEdit(), "Model")]
        for widget, name in names:
            if widget is not None:
                widget.setAccessibleName(name)

    def _build_view_menu(self) -> None:
        """Moving between conversations, the sidebar, the shortcut sheet."""
        menu = self.menuBar().addMenu("&View")
        self.sidebar_action = self._action("Show sidebar", self.toggle_sidebar, "Ctrl+B")
        self.sidebar_action.setCheckable(True)
        self.sidebar_action.setChecked(True)
        self.next_action = self._action("Next conversation",
                                        lambda: self.sidebar.select_next(1), "Ctrl+PgDown")
        self.next_action.setShortcuts([QKeySequence("Ctrl+PgDown"), QKeySequence("Ctrl+Tab")])
        self.previous_action = self._action("Previous conversation",
                                            lambda: self.sidebar.select_next(-1), "Ctrl+PgUp")
        self.previous_action.setShortcuts([QKeySequence("Ctrl+PgUp"),
                                           QKeySequence("Ctrl+Shift+Tab")])
        self.zoom_in_action = self._action("Zoom in", lambda: self.set_zoom(
            zoom.step(self.zoom, 1)), QKeySequence.StandardKey.ZoomIn)
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl+="), QKeySequence("Ctrl++")])
        self.zoom_out_action = self._action("Zoom out", lambda: self.set_zoom(
            zoom.step(self.zoom, -1)), "Ctrl+-")
        self.zoom_reset_action = self._action("Actual size", lambda: self.set_zoom(
            zoom.DEFAULT), "Ctrl+0")
        self.panel_action = self._action("Conversation details", self.toggle_panel, "Ctrl+I")
        self.panel_action.setCheckable(True)
        self.panel_action.setEnabled(self.panel is not None)
        self.shortcuts_action = self._action("Keyboard shortcuts", self.show_shortcuts, "F1")
        self.shortcuts_action.setShortcuts([QKeySequence("F1"), QKeySequence("Ctrl+/")])
        for action in (self.sidebar_action, self.panel_action, None, self.next_action,
                       self.previous_action, None, self.zoom_in_action, self.zoom_out_action,
                       self.zoom_reset_action, None, self.shortcuts_action):
            menu.addSeparator() if action is None else menu.addAction(action)

    def toggle_panel(self) -> None:
        """Show or hide the conversation panel (title, system prompt, facts)."""
        if self.panel is None:
            return
        shown = self.panel.isHidden()
        if not shown:
            self.panel.save_prompt()
        self.panel.setVisible(shown)
        self.panel_action.setChecked(shown)
        if shown and not self.sidebar.isHidden():
            center = self.center.minimumSizeHint().width()
            needed = self.sidebar.minimumWidth() + center + self.panel.minimumWidth()
            if self.splitter.width() < needed + 24:  # no room for both side panes
                self._panel_hid_sidebar = True
                self.toggle_sidebar()
        elif not shown and self._panel_hid_sidebar:
            self._panel_hid_sidebar = False
            if self.sidebar.isHidden():
                self.toggle_sidebar()
        if shown:
            sizes = self.splitter.sizes()
            want = max(self.panel.minimumWidth(), 300)
            if sizes[2] < want:  # take its room from the transcript, not the sidebar
                self.splitter.setSizes([sizes[0], max(0, sizes[1] + sizes[2] - want), want])
        if shown:
            self.update_panel()
            self.panel.prompt.setFocus()
        else:
            self.focus_composer()

    def update_panel(self) -> None:
        if self.panel is not None and not self.panel.isHidden():
            self.panel.show_facts(self.controller.conversation_facts())

    def set_zoom(self, factor: float) -> None:
        """The size of all text (1.0: design.BODY_PX); remembered in window.ini."""
        self.zoom = zoom.nearest(factor)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            zoom.apply_zoom(app, self.zoom)
        self.transcript.restyle()
        self.zoom_in_action.setEnabled(self.zoom < zoom.STEPS[-1])
        self.zoom_out_action.setEnabled(self.zoom > zoom.STEPS[0])
        if self.zoom != zoom.DEFAULT:
            self.statusBar().showMessage(f"Zoom {round(self.zoom * 100)} %", STATUS_MS)

    def toggle_sidebar(self) -> None:
        shown = self.sidebar.isHidden()
        focused = QApplication.focusWidget()
        had_focus = focused is not None and self.sidebar.isAncestorOf(focused)
        self.sidebar.setVisible(shown)
        self.sidebar_action.setChecked(shown)
        if not shown and had_focus:
            self.focus_composer()

    def _typed_in_transcript(self, text: str) -> None:
        if self.composer is not None and self.composer.edit.isEnabled():
            self.composer.focus()
            self.composer.edit.insertPlainText(text)

    def focus_composer(self) -> None:
        if self.composer is not None:
            self.composer.focus()
        else:
            self.transcript.setFocus()

    def show_shortcuts(self) -> None:
        from chatdesk.ui.shortcut_sheet import ShortcutSheet

        sheet = ShortcutSheet(self.findChildren(QAction), self)
        sheet.exec()
        sheet.deleteLater()

    def update_title(self) -> None:
        """The window's title: the conversation's ("New chat" before it has one); a browsed
        file's name and "read-only"."""
        if self._browse_name is not None:
            self.setWindowTitle(f"{self._browse_name} — read-only — chatdesk")
            return
        title = self.controller.conversation_title()
        self.setWindowTitle(f"{shown_title(title)} — chatdesk")

    def _connect(self) -> None:
        c, sb = self.controller, self.sidebar
        sb.conversationSelected.connect(self.open_conversation)
        sb.newChatRequested.connect(self.new_chat)
        sb.trashRequested.connect(self.open_trash)
        self.transcript.typed.connect(self._typed_in_transcript)
        sb.searchHitActivated.connect(self.jump_to_message)
        sb.problem.connect(self.show_status)
        self.transcript.status.connect(self.show_status)
        self.transcript.actionRequested.connect(self._transcript_action)
        c.conversationOpened.connect(self._show_opened)
        c.conversationAdopted.connect(self._adopted)
        c.messagesSetAside.connect(lambda ids: self.transcript.tmodel.remove_from(ids[0]))
        c.chatEvent.connect(self.transcript.apply_event)
        c.versionsChanged.connect(self.transcript.tmodel.set_versions)
        c.costsChanged.connect(self.transcript.tmodel.set_costs)
        self.transcript.fileRequested.connect(self._file_requested)
        # Through lambdas: the controller makes these helpers at their first use.
        self.transcript.tmodel.next_provider = \
            lambda name: c.message_actions.next_provider(name)
        c.statusChanged.connect(self.transcript.tmodel.providers_changed)
        c.busyChanged.connect(self._busy_changed)
        c.passphraseNeeded.connect(self.ask_passphrase)
        c.conversationsChanged.connect(sb.reload)
        c.conversationsChanged.connect(self.update_title)
        c.conversationsChanged.connect(self.update_panel)
        sb.model.dataChanged.connect(lambda *_: self.update_title())  # a rename
        c.conversationDeleted.connect(self._deleted)
        c.statusChanged.connect(self._status_changed)
        c.nextTryChanged.connect(self.transcript.set_next_try)
        c.notice.connect(self.notice_banner.show_text)
        c.resendOffered.connect(lambda text: self.notice_banner.show_text(
            text, "Send again", c.resend_interrupted))
        c.message.connect(self.show_status)
        c.settingsChanged.connect(self._settings_changed)
        c.setupNeeded.connect(self._setup_changed)
        if self.welcome is not None:
            w = self.welcome
            w.probeRequested.connect(self._find_local_servers)
            w.keySubmitted.connect(self._set_up_key)
            w.serverChosen.connect(self._set_up_server)
        composer, picker = self.composer, self.picker
        if composer is not None:
            composer.textChanged.connect(lambda: c.set_draft(composer.draft_text()))
            composer.textChanged.connect(c.user_began_writing)
            composer.sendRequested.connect(self.send_text)
            composer.stopRequested.connect(c.stop)
            composer.editLastRequested.connect(self.edit_last)
            composer.pageRequested.connect(self.transcript.page)
            composer.attachRequested.connect(self.choose_files)
            composer.filesGiven.connect(lambda paths: c.files.add_paths(paths))
            composer.imageGiven.connect(lambda image: c.files.add_image(image))
            composer.removeAttachmentRequested.connect(lambda index: c.files.remove(index))
            composer.set_prompt_source(lambda query: c.prompts.find(query))
            composer.promptChosen.connect(lambda prompt: c.prompts.used(prompt))
            c.filesChanged.connect(composer.show_files)
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
            # The message renderer (markdown-it and its link finder, pygments: ~40 ms,
            # ~3.5 MB) and the price table load while the window is idle, not when the
            # first conversation is opened.
            QTimer.singleShot(RENDERER_WARM_UP_MS, self._warm_up)

    def _warm_up(self) -> None:
        """What showing a conversation needs first: the Markdown renderer (and the thread
        that loads lexers), the price table its answers' costs come from, and the
        controller's message actions (versions, costs)."""
        import importlib

        from chatdesk.pricing import shipped_prices
        from chatdesk.ui.render import warm_up

        warm_up()
        shipped_prices()
        importlib.import_module("chatdesk.usage")
        _ = self.controller.message_actions

    # -- intents: what the user asked for ---------------------------------------------------

    def open_conversation(self, conversation_id: int | None, *, fresh: bool = False) -> None:
        if self.composer is not None and self.composer.editing:
            self.composer.cancel_edit()
        self.controller.open_conversation(conversation_id, fresh=fresh)

    def new_chat(self) -> None:
        left = self.controller.drafts.get(None) if not self.readonly else ""
        self.open_conversation(None, fresh=True)  # a new chat starts empty
        if self.composer is not None and left:
            # Not lost either: the text left in the earlier new chat is one Ctrl+Z away.
            self.composer.set_text(left)
            cursor = self.composer.edit.textCursor()
            cursor.select(cursor.SelectionType.Document)
            cursor.removeSelectedText()
            self.show_status("A new chat starts empty; Ctrl+Z brings back the text you left "
                             "in the last one.", 10000)
        if self.composer is not None:
            self.composer.focus()

    def show_preset_menu(self) -> None:
        """Ctrl+Shift+N: the presets, over the composer (one is chosen with the keyboard)."""
        where = self.composer if self.composer is not None else self
        self.preset_menu.popup(where.mapToGlobal(where.rect().topLeft()))

    def new_chat_from_preset(self, name: str) -> None:
        if self.composer is not None and self.composer.editing:
            self.composer.cancel_edit()
        if self.controller.prompts.new_chat_from(name):
            first = self.controller.prompts.first_route(name)
            if self.picker is not None and first is not None:
                self.picker.set_current(*first)  # who the preset asks first
            self.update_panel()
            self.focus_composer()

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
            if self._setup_needed and self.welcome is not None:
                self._show_welcome(True)  # the text stays in the box
            return False
        if composer.editing:
            composer.end_edit()  # the box gets back the draft it held before the edit
        else:
            composer.clear()
        composer.focus()
        return True

    def _file_requested(self, action: str, sha256: str, name: str) -> None:
        """A click on an attachment in the transcript: a picture opens full size, any file
        can be saved."""
        actions = self.controller.message_actions
        if action == "view":
            data = actions.file_bytes(sha256)
            if data is not None:
                from chatdesk.ui.image_viewer import ImageViewer

                viewer = ImageViewer(data, name, self)
                viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                viewer.show()
            return
        if action == "file":  # a file's line: open it, or save it
            chosen = self.open_or_save(name)
            if chosen == "open":
                self._open_file(sha256, name)
                return
            if chosen != "save":
                return
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, f"Save {name}", name)
        if path:
            actions.save_file(sha256, path)

    def open_or_save(self, name: str) -> str | None:
        """A small menu at the mouse: "open", "save", or None (dismissed)."""
        from PySide6.QtGui import QCursor
        from PySide6.QtWidgets import QMenu

        menu = QMenu(self)
        open_it = menu.addAction(f"Open {name}")
        save_it = menu.addAction("Save as…")
        chosen = menu.exec(QCursor.pos())
        return "open" if chosen is open_it else "save" if chosen is save_it else None

    def _open_file(self, sha256: str, name: str) -> None:
        """Open an attached file in the program the system uses for it (a private copy)."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        path = self.controller.message_actions.private_copy(sha256, name)
        if path is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self.show_status(f"No program here opens {name}; Save as… keeps a copy.", 8000)

    def choose_files(self) -> None:
        """The attach button: pick files to go with the next message."""
        from PySide6.QtWidgets import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(
            self, "Attach files", "",
            "Images, PDFs and text (*.png *.jpg *.jpeg *.gif *.webp *.pdf *.txt *.md *.csv "
            "*.json *.py *.log);;All files (*)")
        if paths:
            self.controller.files.add_paths(paths)
            self.focus_composer()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if self.composer is not None and (dropped_files(event.mimeData())
                                          or event.mimeData().hasImage()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        """Files dropped anywhere on the window go with the next message."""
        if self.composer is not None:
            self.composer.dropEvent(event)

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

    def _transcript_action(self, name: str, message_id: int) -> None:
        actions = self.controller.message_actions
        if name == "send-now":
            self.controller.send_now()
        elif name == "edit":
            self.edit_last()
        elif name == "regenerate":
            self.regenerate()
        elif name == "version":
            actions.show_version(message_id)
        elif name == "branch":
            actions.branch_from(message_id)
        elif name == "ask-other":
            actions.ask_other(message_id)

    def _find_local_servers(self) -> None:
        assert self.welcome is not None
        if not self.controller.find_local_servers(self.welcome.show_servers):
            QTimer.singleShot(500, self._find_local_servers)  # the engine is starting

    def _set_up_key(self, name: str, key: str) -> None:
        from chatdesk.onboarding import key_provider

        assert self.welcome is not None
        welcome, c = self.welcome, self.controller

        def done(problem: str | None) -> None:
            welcome.key_result(problem)
            if problem is None and c.keys.place() == "session":  # the welcome view is gone
                self.show_status("Key saved for this session only (no system keyring); "
                                 "Settings can keep it in an encrypted file.", 15000)

        if not self.controller.set_up_provider(key_provider(name).entry(), key, done):
            self.welcome.key_result("chatdesk is still starting; try again in a moment.")

    def _set_up_server(self, found: FoundServer, model: str) -> None:
        assert self.welcome is not None
        if not self.controller.set_up_provider(found.entry(model), None,
                                               self.welcome.server_result):
            self.welcome.server_result("chatdesk is still starting; try again in a moment.")

    def _setup_changed(self, needed: bool) -> None:
        """No provider is set up (True): the welcome view shows in a new chat, or wherever a
        send was refused for it; once one is, the conversation is back."""
        if self.welcome is None:
            return
        self._setup_needed = needed
        self._show_welcome(needed and self.controller.conversation_id is None)

    def _show_welcome(self, show: bool) -> None:
        assert self.welcome is not None
        self.center_stack.setCurrentWidget(self.welcome if show else self.transcript)
        if self.picker is not None:  # no provider to pick until one is set up
            self.picker.setVisible(not show)
        if show:
            self.welcome.probe_once()

    def _deleted(self, conversation_id: int, title: str) -> None:
        if self.composer is not None and self.controller.conversation_id is None:
            self.composer.focus()
        self.undo_banner.show_text(f"Moved “{title}” to the Trash", "Undo",
                                   lambda: self.controller.restore_conversation(conversation_id),
                                   UNDO_MS)

    def open_trash(self) -> None:
        if self.readonly:
            return
        from chatdesk.ui.trash_dialog import TrashDialog

        dialog = TrashDialog(self.controller, self)
        dialog.exec()
        dialog.deleteLater()

    def open_library(self) -> None:
        """Chat ▸ Prompts and presets…: add, edit and delete them."""
        if self.readonly:
            return
        from chatdesk.ui.library_dialog import LibraryDialog

        dialog = LibraryDialog(self.controller.prompts, self)
        dialog.exec()
        dialog.deleteLater()

    def open_usage(self) -> None:
        """Chat ▸ Usage…: the last 30 days' tokens and cost, and this month's budgets."""
        if self.readonly:
            return
        from chatdesk.ui.usage_dialog import UsageDialog

        dialog = UsageDialog(self.controller, self)
        dialog.exec()
        dialog.deleteLater()

    def open_settings(self) -> None:
        if self.readonly:
            return
        from chatdesk.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.controller, self)
        dialog.exec()
        dialog.deleteLater()

    def ask_passphrase(self) -> None:
        """The encrypted key file holds keys and is locked: ask for its passphrase, without
        blocking the window (the controller asks once a run)."""
        from chatdesk.ui.passphrase_dialog import PassphraseDialog, PassphraseMode

        dialog = PassphraseDialog(self.controller, PassphraseMode.UNLOCK, self)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    # -- state: what the controller says ----------------------------------------------------

    def _show_opened(self, opened: OpenedConversation) -> None:
        if self.composer is not None:
            self.composer.set_text(opened.draft)
        if self.welcome is not None:
            self._show_welcome(self._setup_needed and opened.conversation_id is None)
        self.transcript.show_conversation(opened.messages, opened.versions)
        if opened.live is not None:
            self.transcript.tmodel.mark_live(*opened.live)
        if opened.keep_place is not None:
            self.transcript.jump_to(opened.keep_place)
        if self.picker is not None:
            self.picker.set_current(opened.preferred_provider)
        self.sidebar.select_conversation(opened.conversation_id)
        self.transfers.update_enabled()
        self.update_title()
        self.update_panel()

    def _adopted(self, conversation_id: int) -> None:
        self.sidebar.select_conversation(conversation_id)
        self.transfers.update_enabled()
        self.update_title()
        self.update_panel()

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
        if s is not None and str(s.value("window/sidebar_hidden", "")) == "true":
            self.toggle_sidebar()
        self.set_zoom(remembered_zoom(s))
        last = s.value("window/last_conversation") if s is not None and not self.readonly \
            else None
        try:
            last_id = int(last) if last not in (None, "") else None
        except (TypeError, ValueError):
            last_id = None
        if last_id is not None and not self.controller.exists(last_id):
            last_id = None
        self.controller.load_drafts()
        self.open_conversation(last_id)

    def save_state(self) -> None:
        s = self._state
        if s is None or not self.remember_state:
            return
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/sidebar_hidden", "true" if self.sidebar.isHidden() else "")
        s.setValue("window/zoom", self.zoom)
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
