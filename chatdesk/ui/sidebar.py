"""The sidebar: New chat, search over the whole history, and the date-grouped conversation list."""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from PySide6 import QtWidgets  # QStyle through it: its ~20 enums are built at first use
from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFocusEvent,
    QHelpEvent,
    QIcon,
    QKeyEvent,
    QMouseEvent,
    QPalette,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from chatdesk.plain_text import plain_line
from chatdesk.store import SearchHit
from chatdesk.ui.conversation_model import (
    ConversationListModel,
    ConversationRole,
    shown_title,
)
from chatdesk.ui.resources import icon

if TYPE_CHECKING:
    from chatdesk.ui.controller import ChatController
    from chatdesk.ui.search_runner import SearchRunner

SEARCH_DEBOUNCE_MS = 150
SEARCH_LIMIT = 50


class SearchRole(IntEnum):
    """The data roles of SearchResultsModel beyond Qt's own."""

    CONVERSATION_ID = Qt.ItemDataRole.UserRole + 101
    MESSAGE_ID = Qt.ItemDataRole.UserRole + 102
    HTML = Qt.ItemDataRole.UserRole + 103  # the hit as rich text (title, snippet)
_MARK_START, _MARK_END = "\x02", "\x03"  # FTS snippet markers, swapped for <b> after escaping
_Index = QModelIndex | QPersistentModelIndex


class SearchResultsModel(QAbstractListModel):
    """Search hits, best first: the conversation's title and a snippet with the match bold."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[SearchHit] = []

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.hits)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.hits):
            return None
        hit = self.hits[index.row()]
        snippet = plain_line(hit.snippet)
        if role == Qt.ItemDataRole.DisplayRole:
            plain = snippet.replace(_MARK_START, "").replace(_MARK_END, "")
            return f"{shown_title(hit.conversation_title)}: {plain}"
        if role == SearchRole.HTML:
            marked = (html.escape(snippet).replace(_MARK_START, "<b>")
                      .replace(_MARK_END, "</b>"))
            who = "You" if hit.role == "user" else hit.role.capitalize()
            if hit.attachment:  # found in an attached file's text: say which
                who += f", in {html.escape(hit.attachment)}"
            title = html.escape(shown_title(hit.conversation_title))
            # The delegate colours class "meta": muted, or the selection's text colour.
            return (f"<div style='font-weight:600'>{title}</div>"
                    f"<div><span class='meta'>{who}, {hit.created_at[:10]}:</span>"
                    f" {marked}</div>")
        if role == SearchRole.CONVERSATION_ID:
            return hit.conversation_id
        if role == SearchRole.MESSAGE_ID:
            return hit.message_id
        return None


class _HtmlDelegate(QStyledItemDelegate):
    """Paints an item's SearchRole.HTML as rich text (search hits); elides nothing, wraps words."""

    PADDING = 6
    # Laid-out hits by (html, width, colours): every row is sized when the hits arrive and
    # painted again on each scroll; parsing its HTML each time made a search stall typing.
    KEPT = 2 * 64

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._laid_out: OrderedDict[tuple[str, int, str, str], QTextDocument] = OrderedDict()

    def _document(self, option: QStyleOptionViewItem, index: _Index) -> QTextDocument:
        color = option.palette.color(QPalette.ColorRole.Text)
        muted = option.palette.color(QPalette.ColorRole.PlaceholderText)
        if option.state & QtWidgets.QStyle.StateFlag.State_Selected:
            # On the selection's background the muted grey all but vanished (1.2:1 in dark).
            color = muted = option.palette.color(QPalette.ColorRole.HighlightedText)
        markup = str(index.data(SearchRole.HTML) or "")
        width = max(40, option.rect.width() - 2 * self.PADDING)
        key = (markup, width, color.name(), muted.name() + option.font.key())
        doc = self._laid_out.get(key)
        if doc is not None:
            self._laid_out.move_to_end(key)
            return doc
        doc = self._make(option, markup, width, color, muted)
        self._laid_out[key] = doc
        if len(self._laid_out) > self.KEPT:
            self._laid_out.popitem(last=False)
        return doc

    @staticmethod
    def _make(option: QStyleOptionViewItem, markup: str, width: int, color: QColor,
              muted: QColor) -> QTextDocument:
        doc = QTextDocument()
        doc.setDocumentMargin(0)
        doc.setDefaultFont(option.font)
        doc.setDefaultStyleSheet(f"body {{ color: {color.name()}; }}"
                                 f" .meta {{ color: {muted.name()}; }}")
        doc.setHtml(f"<body>{markup}</body>")
        doc.setTextWidth(width)
        return doc

    def paint(self, painter: Any, option: QStyleOptionViewItem, index: _Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QtWidgets.QStyle.ControlElement.CE_ItemViewItem, opt, painter,
                              opt.widget)
        doc = self._document(option, index)
        painter.save()
        painter.translate(option.rect.left() + self.PADDING, option.rect.top() + self.PADDING)
        doc.drawContents(painter, QRectF(0, 0, doc.textWidth(), doc.size().height()))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        opt = QStyleOptionViewItem(option)
        if isinstance(opt.widget, QAbstractScrollArea):
            opt.rect.setWidth(opt.widget.viewport().width())
        doc = self._document(opt, index)
        return QSize(int(doc.textWidth()), int(doc.size().height()) + 2 * self.PADDING)


class _ConversationList(QListView):
    """The conversation list; the keyboard's cursor never rests on a date header."""

    def moveCursor(self, action: QAbstractItemView.CursorAction,  # noqa: N802 - Qt's name
                   modifiers: Qt.KeyboardModifier) -> QModelIndex:
        index = super().moveCursor(action, modifiers)
        model = self.model()
        if not index.isValid() or not index.data(ConversationRole.IS_HEADER):
            return index
        up = action in (QAbstractItemView.CursorAction.MoveUp,
                        QAbstractItemView.CursorAction.MovePrevious)
        for step in ((-1, 1) if up else (1, -1)):
            row = index.row() + step
            while 0 <= row < model.rowCount():
                candidate = model.index(row, 0)
                if not candidate.data(ConversationRole.IS_HEADER):
                    return candidate
                row += step
        return self.currentIndex()


class _ConversationDelegate(QStyledItemDelegate):
    """A conversation row; the selected or hovered one shows Rename, Pin and Delete as icon
    buttons at its right end (the same actions as its context menu)."""

    ICON = 16
    GAP = 6
    ACTIONS = (("rename", "edit", "Rename (F2)"), ("pin", "pin", "Pin to the top"),
               ("delete", "delete", "Move to the Trash (Delete)"))

    def __init__(self, view: QListView, chosen: Callable[[str, QModelIndex], None]) -> None:
        super().__init__(view)
        self.view = view
        self.chosen = chosen

    def has_actions(self, index: _Index) -> bool:
        return not index.data(ConversationRole.IS_HEADER) \
            and not getattr(self.view, "readonly", False)

    def shows_actions(self, option: QStyleOptionViewItem, index: _Index) -> bool:
        """Painted on the selected and the hovered row (a click is always on a hovered one)."""
        flag = QtWidgets.QStyle.StateFlag
        return self.has_actions(index) and bool(
            option.state & (flag.State_Selected | flag.State_MouseOver))

    def action_rects(self, rect: QRect) -> list[tuple[str, QRect]]:
        """Where each action's icon is in a row of `rect`, right to left: delete, pin, rename."""
        out: list[tuple[str, QRect]] = []
        right = rect.right() - self.GAP
        top = rect.top() + (rect.height() - self.ICON) // 2
        for name, _icon, _tip in reversed(self.ACTIONS):
            out.append((name, QRect(right - self.ICON + 1, top, self.ICON, self.ICON)))
            right -= self.ICON + self.GAP
        return out[::-1]

    def paint(self, painter: Any, option: QStyleOptionViewItem, index: _Index) -> None:
        if not self.shows_actions(option, index):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        reserve = len(self.ACTIONS) * (self.ICON + self.GAP) + self.GAP
        text, opt.text = opt.text, ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        qstyle = QtWidgets.QStyle
        style.drawControl(qstyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        text_rect = style.subElementRect(qstyle.SubElement.SE_ItemViewItemText, opt, opt.widget)
        text_rect.setRight(text_rect.right() - reserve)
        selected = bool(option.state & qstyle.StateFlag.State_Selected)
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(opt.palette.color(QPalette.ColorRole.HighlightedText if selected
                                         else QPalette.ColorRole.Text))
        elided = opt.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight,
                                            max(0, text_rect.width() - 4))
        painter.drawText(text_rect.adjusted(2, 0, 0, 0),
                         int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), elided)
        painter.restore()
        mode = QIcon.Mode.Selected if selected else QIcon.Mode.Normal
        for (_name, rect), (_, icon_name, _tip) in zip(self.action_rects(option.rect),
                                                        self.ACTIONS, strict=True):
            icon(icon_name).paint(painter, rect, Qt.AlignmentFlag.AlignCenter, mode)

    def editorEvent(self, event: QEvent, model: Any, option: QStyleOptionViewItem,  # noqa: N802
                    index: _Index) -> bool:
        if event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent) \
                and self.has_actions(index):
            for name, rect in self.action_rects(option.rect):
                if rect.adjusted(-3, -3, 3, 3).contains(event.position().toPoint()):
                    self.chosen(name, self.view.model().index(index.row(), 0))
                    return True
        return super().editorEvent(event, model, option, index)

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView,  # noqa: N802
                  option: QStyleOptionViewItem, index: _Index) -> bool:
        if self.has_actions(index):
            for (_name, rect), (_, _icon, tip) in zip(self.action_rects(option.rect),
                                                       self.ACTIONS, strict=True):
                if rect.adjusted(-3, -3, 3, 3).contains(event.pos()):
                    QToolTip.showText(event.globalPos(), tip, view)
                    return True
        return super().helpEvent(event, view, option, index)


class _SearchField(QLineEdit):
    """Down moves into the results, Enter opens the first (or chosen) result, Esc clears."""

    downPressed = Signal()
    enterPressed = Signal()
    focused = Signal()

    def __init__(self) -> None:
        super().__init__()
        # The clear button's icon is looked up in the desktop's icon theme (~3 ms on X11,
        # before the first frame): it is added at the first focus or text. An empty field
        # draws the same with it or without it.
        self.textChanged.connect(self._add_clear_button)

    def _add_clear_button(self) -> None:
        if not self.isClearButtonEnabled():
            self.setClearButtonEnabled(True)
            self.textChanged.disconnect(self._add_clear_button)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        self._add_clear_button()
        super().focusInEvent(event)
        self.focused.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Down:
            self.downPressed.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enterPressed.emit()
            return
        if key == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


class Sidebar(QWidget):
    """The conversation list and search. It reads the history to show it; renaming, pinning
    and deleting are the controller's."""

    conversationSelected = Signal(int)
    newChatRequested = Signal()
    trashRequested = Signal()
    searchHitActivated = Signal(int, int)  # conversation id, message id
    problem = Signal(str)  # a sentence to show in the status bar

    def set_preset_menu(self, menu: QMenu) -> None:
        """The presets a new chat may start from, on the button beside New chat."""
        self.preset_button.setMenu(menu)
        self.preset_button.setVisible(not self.readonly)

    def __init__(self, controller: ChatController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.controller = controller
        self.store = store = controller.store
        self.readonly = readonly = controller.readonly
        self._quiet = False

        # Made with their parent: a parentless widget made visible is a window of its own,
        # which on X11 is created, mapped and destroyed again (~8 ms each) before the first frame.
        self.new_button = QPushButton("New chat", self)
        self.new_button.setObjectName("newChatButton")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.newChatRequested)
        self.new_button.setVisible(not readonly)
        # Beside it: a new chat from a preset (the window gives the menu).
        self.preset_button = QToolButton()
        self.preset_button.setObjectName("presetButton")
        self.preset_button.setText("▾")
        self.preset_button.setToolTip("A new chat from a preset (Ctrl+Shift+N)")
        self.preset_button.setAccessibleName("New chat from a preset")
        self.preset_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.preset_button.setVisible(False)

        self.search = _SearchField()
        self.search.setObjectName("searchField")
        self.search.setPlaceholderText("Search all chats")
        self.search.setToolTip("Search every message (Ctrl+K)")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.run_search)
        self.search.textChanged.connect(self._search_changed)
        self._asked: int | None = None  # the ticket of the search whose hits are awaited
        self._activate_when_found = False
        self._searches_connected = False
        self.search.focused.connect(self._searcher)
        self.search.downPressed.connect(self._focus_results)
        self.search.enterPressed.connect(self._activate_first_result)

        self.model = ConversationListModel(
            store, rename=None if readonly else controller.rename_conversation)
        self.list = _ConversationList()
        self.list.setObjectName("conversationList")
        self.list.setModel(self.model)
        self.list.setUniformItemSizes(False)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.setMouseTracking(True)  # the hovered row shows its actions
        self.list.readonly = readonly  # type: ignore[attr-defined]
        self.list.setItemDelegate(_ConversationDelegate(self.list, self._row_action))
        self.list.customContextMenuRequested.connect(self._show_menu)
        self.list.selectionModel().currentChanged.connect(self._current_changed)
        self.list.setFrameShape(QListView.Shape.NoFrame)

        self.results_model = SearchResultsModel()
        self.results = QListView()
        self.results.setObjectName("searchResults")
        self.results.setModel(self.results_model)
        self.results.setItemDelegate(_HtmlDelegate(self.results))
        # Each hit is laid out as rich text (~0.3 ms): 50 at once held the GUI thread ~20 ms
        # while typing; in batches, Qt handles the keys typed between them.
        self.results.setLayoutMode(QListView.LayoutMode.Batched)
        self.results.setBatchSize(8)
        self.results.setWordWrap(True)
        self.results.setFrameShape(QListView.Shape.NoFrame)
        self.results.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.results.clicked.connect(self._hit_chosen)
        self.results.activated.connect(self._hit_chosen)

        self.results_note = QLabel()  # "3 messages", "No messages match …"
        self.results_note.setObjectName("searchNote")
        self.results_note.setWordWrap(True)
        self.results_note.setContentsMargins(4, 2, 4, 2)
        self.results_note.hide()

        self.stack = QStackedWidget()
        self.stack.addWidget(self.list)
        self.stack.addWidget(self.results)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 0, 0)
        layout.setSpacing(6)
        new_row = QHBoxLayout()
        new_row.setContentsMargins(0, 0, 0, 0)
        new_row.setSpacing(4)
        new_row.addWidget(self.new_button, 1)
        new_row.addWidget(self.preset_button)
        layout.addLayout(new_row)
        layout.addWidget(self.search)
        layout.addWidget(self.results_note)
        layout.addWidget(self.stack, 1)
        self.trash_button = QPushButton(icon("delete"), "Trash", self)
        self.trash_button.setObjectName("trashButton")
        self.trash_button.setFlat(True)
        self.trash_button.setToolTip("Deleted conversations, kept 30 days: restore or delete "
                                     "them for good")
        self.trash_button.clicked.connect(self.trashRequested)
        self.trash_button.setVisible(not readonly)
        layout.addWidget(self.trash_button, 0, Qt.AlignmentFlag.AlignLeft)

        self.delete_action = QAction("Delete", self.list)
        self.delete_action.setShortcut(Qt.Key.Key_Delete)
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_action.triggered.connect(self._delete_current)
        if not readonly:
            self.list.addAction(self.delete_action)
        self.model.reload()

    # -- conversations ----------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read the list (after a send, rename, delete…), keeping the selection."""
        current = self.current_conversation_id()
        self.model.reload()
        if self.model.error:
            self.problem.emit(self.model.error)
        self.select_conversation(current)

    def current_conversation_id(self) -> int | None:
        index = self.list.currentIndex()
        value = index.data(ConversationRole.CONVERSATION_ID) if index.isValid() else None
        return int(value) if value is not None else None

    def select_conversation(self, conversation_id: int | None) -> None:
        """Show a conversation as selected without emitting conversationSelected."""
        self._quiet = True
        try:
            row = -1 if conversation_id is None else self.model.row_of(conversation_id, True)
            if row < 0:
                self.list.selectionModel().clearSelection()
                self.list.setCurrentIndex(QModelIndex())
            else:
                index = self.model.index(row)
                self.list.setCurrentIndex(index)
                self.list.scrollTo(index)
        finally:
            self._quiet = False

    def select_next(self, step: int) -> None:
        """Open the conversation `step` rows below (above, when negative) the selected one,
        skipping date headers and wrapping around; the list loads more rows as needed."""
        model = self.model

        def rows() -> list[int]:
            return [r for r in range(model.rowCount())
                    if not model.index(r).data(ConversationRole.IS_HEADER)]

        found = rows()
        if not found:
            return
        current = self.list.currentIndex().row()
        at = found.index(current) if current in found else (-1 if step > 0 else 0)
        beyond = at + step >= len(found) if step > 0 else at + step < 0
        if beyond and model.canFetchMore():
            # Past the rows loaded so far: the next page, or (wrapping to the end) all.
            while model.canFetchMore():
                model.fetchMore()
                if step > 0:
                    break
            found = rows()
        target = found[(at + step) % len(found)]
        self.list.setCurrentIndex(model.index(target))  # emits conversationSelected
        self.list.scrollTo(model.index(target))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet or not current.isValid():
            return
        conversation_id = current.data(ConversationRole.CONVERSATION_ID)
        if conversation_id is not None:
            self.conversationSelected.emit(int(conversation_id))

    def context_actions(self, index: QModelIndex) -> list[QAction]:
        """The context-menu actions of one row (none in read-only mode or on headers)."""
        if self.readonly or not index.isValid() or index.data(ConversationRole.IS_HEADER):
            return []
        conversation_id = int(index.data(ConversationRole.CONVERSATION_ID))
        pinned = bool(index.data(ConversationRole.PINNED))
        kept = QPersistentModelIndex(index)
        rename = QAction("Rename", self)
        rename.triggered.connect(lambda: self.list.edit(self.model.index(kept.row())))
        pin = QAction("Unpin" if pinned else "Pin", self)
        pin.triggered.connect(lambda: self.set_pinned(conversation_id, not pinned))
        delete = QAction("Delete", self)
        delete.triggered.connect(lambda: self.delete_conversation(conversation_id))
        return [rename, pin, delete]

    def _row_action(self, name: str, index: QModelIndex) -> None:
        """A row's icon button: the same as its context-menu action."""
        wanted = {"rename": "Rename", "pin": ("Pin", "Unpin"), "delete": "Delete"}[name]
        for action in self.context_actions(index):
            if action.text() in (wanted if isinstance(wanted, tuple) else (wanted,)):
                # After the view has finished with the click: deleting or editing the row
                # from inside its own mouse handling confuses it.
                QTimer.singleShot(0, action.trigger)
                return

    def _show_menu(self, pos: QPoint) -> None:
        actions = self.context_actions(self.list.indexAt(pos))
        if not actions:
            return
        menu = QMenu(self)
        for action in actions:
            menu.addAction(action)
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self.controller.set_pinned(conversation_id, pinned)

    def delete_conversation(self, conversation_id: int) -> None:
        """Soft delete; the window offers Undo (restore) for a few seconds."""
        self.controller.delete_conversation(conversation_id)

    def _delete_current(self) -> None:
        conversation_id = self.current_conversation_id()
        if conversation_id is not None and not self.readonly:
            self.delete_conversation(conversation_id)

    # -- search ---------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _search_changed(self, text: str) -> None:
        if text.strip():
            self._search_timer.start()
        else:
            self._search_timer.stop()
            self._asked = None  # hits still on their way are for a search no longer wanted
            self._activate_when_found = False
            self.results_model.set_hits([])
            self.results_note.hide()
            self.stack.setCurrentWidget(self.list)

    def run_search(self) -> None:
        """Search now (the field calls this ~150 ms after the last keystroke); the hits are
        shown when they come back from the search thread."""
        query = self.search.text().strip()
        if not query:
            return
        if query[-1].isalnum():
            query += "*"  # results as you type: the word being typed is a prefix
        self._asked = self._searcher().search(query, SEARCH_LIMIT, _MARK_START, _MARK_END)

    def _searcher(self) -> SearchRunner:
        """The controller's search runner, connected to this sidebar: made when the search
        field first gets the focus (not before the first frame, not at a keystroke)."""
        searches = self.controller.searches
        if not self._searches_connected:
            self._searches_connected = True
            searches.found.connect(self._show_hits)
            searches.failed.connect(self._search_failed)
        return searches

    @property
    def searching(self) -> bool:
        """A search was asked for and its hits are not shown yet."""
        return self._asked is not None

    def _search_failed(self, ticket: int, why: str) -> None:
        if ticket == self._asked:
            self.problem.emit(why)
            self._show_hits(ticket, "", [])

    def _show_hits(self, ticket: int, _query: str, hits: list[SearchHit]) -> None:
        if ticket != self._asked:
            return  # an older search, or one cleared since
        self._asked = None
        self.results_model.set_hits(hits)
        shown = self.search.text().strip()
        if not hits:
            self.results_note.setText(f"No messages match “{shown}”.")
        elif len(hits) >= SEARCH_LIMIT:
            self.results_note.setText(f"The {SEARCH_LIMIT} best matches; type more words to "
                                      "narrow them.")
        else:
            self.results_note.setText(f"{len(hits)} message{'s' if len(hits) != 1 else ''}")
        self.results_note.show()
        self.stack.setCurrentWidget(self.results)
        if self._activate_when_found:
            self._activate_when_found = False
            self._activate_first_result()

    def _hit_chosen(self, index: QModelIndex) -> None:
        if index.isValid():
            self.searchHitActivated.emit(int(index.data(SearchRole.CONVERSATION_ID)),
                                         int(index.data(SearchRole.MESSAGE_ID)))

    def _focus_results(self) -> None:
        if self.results_model.rowCount():
            self.results.setFocus()
            self.results.setCurrentIndex(self.results_model.index(0))

    def _activate_first_result(self) -> None:
        if self._search_timer.isActive():
            self._search_timer.stop()
            self.run_search()
        if self.searching:
            self._activate_when_found = True  # Enter typed before the hits came: then
            return
        index = self.results.currentIndex()
        if not index.isValid() and self.results_model.rowCount():
            index = self.results_model.index(0)
        self._hit_chosen(index)
