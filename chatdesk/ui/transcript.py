"""The transcript view: shows a conversation, follows the live answer, handles clicks in it."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QFont,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QTextCursor,
)
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QToolTip, QWidget

from chatdesk.store import (
    Attempt,
    HistoryStore,
    MessageHead,
    MessageStatus,
    StoredMessage,
    StoreError,
)
from chatdesk.ui.bounds import preview_cut, shown_text
from chatdesk.ui.delegate import (
    ATTACHMENT_LINK,
    THUMB_MAX,
    MessageDelegate,
    TextSelection,
    footer_font,
)
from chatdesk.ui.thumbnails import ThumbnailCache
from chatdesk.ui.transcript_model import MessageRow, TranscriptModel, live_refresh_ms

if TYPE_CHECKING:  # event classes are made when the first such event comes
    from PySide6.QtGui import QContextMenuEvent, QHelpEvent, QMouseEvent

    from chatdesk import events as ev
    from chatdesk.parts import AttachmentInfo
    from chatdesk.pending import NextTry
    from chatdesk.versions import Versions

log = logging.getLogger("chatdesk.ui.transcript")

OPENABLE_SCHEMES = frozenset({"http", "https", "mailto"})
PRERENDER_ROWS = 24  # rows around the bottom (or a search hit) measured before showing
JUMP_SETTLE_MS = 1500  # keep re-centring a jumped-to message while rows above get measured
GROW_ROWS = 80  # rows added to the window when scrolling near one of its ends
MAX_WINDOW = 480  # rows the view may see at once; the far end is trimmed beyond that
PAGE_OVERLAP_PX = 48  # a page up or down keeps this much of the last page in sight
TICK_MS = 1000  # a pending message's "Next try in 0:42" counts down this often
TRIM_MS = 1500  # after the last scroll or open this long: give freed memory back to the OS


def release_freed_memory() -> bool:
    """Hand the heap's free pages back to the OS (glibc's malloc_trim): documents let go
    while scrolling are freed, but glibc keeps their pages for the process otherwise."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, looked up once (by its soname: find_library runs ldconfig)."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def open_link(href: str) -> bool:
    """Open a web or mail link in the system's handler; anything else is refused."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    url = QUrl(href)
    if url.scheme().lower() not in OPENABLE_SCHEMES or not url.isValid():
        return False
    return bool(QDesktopServices.openUrl(url))


class TranscriptView(QListView):
    """Messages of one conversation (model/view, rendered lazily by MessageDelegate)."""

    # "edit" | "regenerate" | "send-now" | "branch" | "ask-other" | "version", message id
    # ("version": the id of the version to show)
    actionRequested = Signal(str, int)
    status = Signal(str)  # a short sentence for the status bar
    typed = Signal(str)  # text typed while the transcript had focus: it belongs in the composer
    fileRequested = Signal(str, str, str)  # "view" | "save" | "file", sha256, file name

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcript")
        self.store = store
        self.tmodel = TranscriptModel(self._attempts, self._files,
                                      lambda ids: self.store.message_texts(ids))
        self.tmodel.refresh_interval = lambda: live_refresh_ms(self.delegate.live_build_ms)
        self.delegate = MessageDelegate(self)
        self.thumbnails = ThumbnailCache(self._file_bytes, THUMB_MAX, self._thumbnail_ready,
                                         self._file_head)
        self.delegate.thumbnails = self.thumbnails
        self.setModel(self.tmodel)
        self.setItemDelegate(self.delegate)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_Hover, True)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.verticalScrollBar().setSingleStep(24)
        self._stick = True  # follow the bottom while it grows
        self._jump_id: int | None = None
        self._jump_timer = QTimer(self)
        self._jump_timer.setSingleShot(True)
        self._jump_timer.timeout.connect(self._end_jump)
        self._pressed: tuple[str, int, str] | None = None
        self.placeholder = ""  # shown centred while there is no message
        self._adjusting = False  # moving the scroll bar ourselves
        self._grow_pending = False
        self._anchor: QPersistentModelIndex | None = None  # the row at the top of the view
        self._anchor_y = 0
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(self._range_changed)
        self._selecting = False  # a left-button drag is selecting text
        copy = QAction("Copy", self)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_current)
        self.addAction(copy)
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._tick_pending)
        self._trim = QTimer(self)
        self._trim.setSingleShot(True)
        self._trim.setInterval(TRIM_MS)
        self._trim.timeout.connect(release_freed_memory)

    def set_next_try(self, next_try: NextTry | None) -> None:
        """When pending messages are next sent by themselves (None: not by themselves)."""
        self.tmodel.set_next_try(next_try)
        self._tick_pending()

    def _tick_pending(self) -> None:
        if self.tmodel.tick():
            if not self._tick.isActive():
                self._tick.start()
        else:
            self._tick.stop()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """Printable keys go to the composer (with that text); Enter or Space presses the
        button the keyboard is on; Alt+Left / Alt+Right change the current message's
        version; the rest move and copy."""
        key, alt = event.key(), event.modifiers() == Qt.KeyboardModifier.AltModifier
        focus, row = self.delegate.focus_button, self._current_row()
        if focus is not None and row is not None and focus[0] == row.id \
                and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.press_button(row, focus[1])
            return
        if alt and key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            target = row if row is not None and row.versions is not None else \
                next((r for r in reversed(self.tmodel.rows) if r.versions is not None), None)
            if target is not None:
                self.step_version(target, -1 if key == Qt.Key.Key_Left else 1)
            return
        if self.page_key(event):
            return
        if key == Qt.Key.Key_Escape and focus is not None:
            self.delegate.focus_button = None
            self._update_row(focus[0])
            return
        text = event.text()
        mods = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier
                                     | Qt.KeyboardModifier.KeypadModifier)
        if text and text.isprintable() and not text.isspace() and \
                mods == Qt.KeyboardModifier.NoModifier:
            self.typed.emit(text)
            return
        super().keyPressEvent(event)

    def page_key(self, event: QKeyEvent) -> bool:
        """PageUp / PageDown scroll a page, Ctrl+Home / Ctrl+End go to the first / last
        message, across the whole conversation (not only the rows the view holds)."""
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        plain, ctrl = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ControlModifier
        if mods == plain and key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            self.page(-1 if key == Qt.Key.Key_PageUp else 1)
        elif mods == ctrl and key == Qt.Key.Key_Home:
            self.scroll_to_start()
        elif mods == ctrl and key == Qt.Key.Key_End:
            self.scroll_to_end()
        else:
            return False
        return True

    def page(self, step: int) -> None:
        """Scroll one page up (-1) or down (1); more rows join the window first when the
        page would run past the ones it holds."""
        self._end_jump()
        bar, m = self.verticalScrollBar(), self.tmodel
        amount = max(bar.singleStep(), self.viewport().height() - PAGE_OVERLAP_PX)
        target = bar.value() + step * amount
        if (target < 0 and m.lo > 0) or (target > bar.maximum() and not m.at_end):
            self._grow()  # keeps the rows in sight where they are and moves the bar with them
            target = bar.value() + step * amount
        bar.setValue(max(0, min(bar.maximum(), target)))

    def scroll_to_start(self) -> None:
        """Show the first message of the conversation."""
        self._end_jump()
        m = self.tmodel
        if m.lo > 0:
            m.show_around(0)
        self.prerender(range(min(m.rowCount(), PRERENDER_ROWS)))
        self._stick = False
        self.executeDelayedItemsLayout()
        self.scrollToTop()

    # -- showing --------------------------------------------------------------------------

    def show_conversation(self, messages: Sequence[StoredMessage | MessageHead],
                          versions: dict[int, Versions] | None = None) -> None:
        """Show one conversation's messages (the controller says which conversation)."""
        self._end_jump()
        self._anchor = None
        self.clear_selection()
        self.delegate.focus_button = self.delegate.hover_button = None
        self.thumbnails.drop_waiting()
        self.delegate.set_width(self.viewport().width())
        self.delegate.drop_documents()
        self.tmodel.load(messages, versions)
        self._trim.start()
        self._tick_pending()
        count = self.tmodel.rowCount()
        self.prerender(range(max(0, count - PRERENDER_ROWS), count))
        self._stick = True
        self.scrollToBottom()

    def scroll_to_end(self) -> None:
        """Show the newest messages and follow the bottom again (e.g. after sending)."""
        self._end_jump()
        if not self.tmodel.at_end:
            self.tmodel.show_end()
            count = self.tmodel.rowCount()
            self.prerender(range(max(0, count - PRERENDER_ROWS), count))
        self._stick = True
        self.scrollToBottom()

    def set_dark(self, dark: bool) -> None:
        self.delegate.set_dark(dark)
        self.restyle()

    def restyle(self) -> None:
        """Render every message again (the theme or the text size changed)."""
        self.delegate.clear()
        for row in self.tmodel.all_rows:
            row.version += 1
        self.scheduleDelayedItemsLayout()
        self.viewport().update()

    def prerender(self, rows: range) -> None:
        """Measure some view rows now so they show at their real size at once."""
        for i in rows:
            self.delegate.document_for(self.tmodel.row(i), self.tmodel)

    def jump_to(self, message_id: int) -> bool:
        """Select a message and bring it to the middle of the view."""
        pos = self.tmodel.position_of(message_id)
        if pos < 0:
            return False
        if self.tmodel.row_of(message_id) < 0:
            self.tmodel.show_around(pos)
        row = self.tmodel.row_of(message_id)
        count = self.tmodel.rowCount()
        self.prerender(range(max(0, row - PRERENDER_ROWS // 2),
                             min(count, row + PRERENDER_ROWS // 2)))
        index = self.tmodel.index(row)
        self.setCurrentIndex(index)
        self._stick = False
        self._jump_id = message_id
        self.executeDelayedItemsLayout()
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self._jump_timer.start(JUMP_SETTLE_MS)
        if self.tmodel.row(row).page < 0 and preview_cut(self.tmodel.row(row).content) is not None:
            self.status.emit("This message is long and only its first part is shown: "
                             "“Show all” under it shows the rest.")
        return True

    def _end_jump(self) -> None:
        self._jump_id = None
        self._jump_timer.stop()

    def _scrolled(self, value: int) -> None:
        if self._adjusting:
            return
        bar = self.verticalScrollBar()
        if self._jump_id is None:
            self._stick = value >= bar.maximum() - 4
        self._remember_anchor()
        self._trim.start()
        page = self.viewport().height()
        m = self.tmodel
        near_top = value < page and m.lo > 0
        near_bottom = value > bar.maximum() - page and not m.at_end
        if (near_top or near_bottom) and not self._grow_pending:
            self._grow_pending = True
            QTimer.singleShot(0, self._grow)

    def _grow(self) -> None:
        """Show more rows at the end of the window the user scrolled to."""
        self._grow_pending = False
        bar, m, page = self.verticalScrollBar(), self.tmodel, self.viewport().height()
        with self._anchored():
            if bar.value() < page and m.lo > 0:
                m.grow_up(GROW_ROWS)
                m.trim_bottom(m.rowCount() - MAX_WINDOW)
            elif bar.value() > bar.maximum() - page and not m.at_end:
                m.grow_down(GROW_ROWS)
                m.trim_top(m.rowCount() - MAX_WINDOW)

    def _remember_anchor(self) -> None:
        index = self.indexAt(QPoint(self.viewport().width() // 2, 1))
        self._anchor = QPersistentModelIndex(index) if index.isValid() else None
        self._anchor_y = self.visualRect(index).top() if index.isValid() else 0

    def _restore_anchor(self) -> None:
        """Keep the row that was at the top where it was while rows above it change."""
        anchor = self._anchor
        if anchor is None or not anchor.isValid():
            return
        delta = self.visualRect(self.tmodel.index(anchor.row())).top() - self._anchor_y
        if delta:
            self._adjusting = True
            try:
                bar = self.verticalScrollBar()
                bar.setValue(bar.value() + delta)
            finally:
                self._adjusting = False

    @contextmanager
    def _anchored(self) -> Iterator[None]:
        self._remember_anchor()
        self._adjusting = True
        try:
            yield
            self.executeDelayedItemsLayout()
        finally:
            self._adjusting = False
        self._restore_anchor()
        self._remember_anchor()

    def _range_changed(self, _low: int, high: int) -> None:
        if self._adjusting:
            return
        if self._jump_id is not None:
            row = self.tmodel.row_of(self._jump_id)
            if row >= 0:
                self.scrollTo(self.tmodel.index(row),
                              QAbstractItemView.ScrollHint.PositionAtCenter)
        elif self._stick:
            self.verticalScrollBar().setValue(high)
        else:
            self._restore_anchor()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if self.placeholder and not self.tmodel.all_rows:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            area = self.viewport().rect().adjusted(40, 40, -40, -40)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
            painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        self.delegate.set_width(self.viewport().width())
        super().resizeEvent(event)

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self._end_jump()
        super().wheelEvent(event)

    # -- live events ------------------------------------------------------------------------

    def apply_event(self, event: ev.ChatEvent) -> None:
        """Show one event of an answer in this conversation."""
        from chatdesk import events as ev  # loaded with the chat engine, after start-up

        m = self.tmodel
        if isinstance(event, ev.TextChunk):
            m.append_text(event.text)
        elif isinstance(event, ev.AttemptStarted):
            m.begin_answer(event)
        elif isinstance(event, ev.Restarted):
            m.restart_text()
        elif isinstance(event, ev.AttemptFailed):
            m.add_failure(event)
        elif isinstance(event, ev.Switched):
            m.note_switch(event)
        elif isinstance(event, ev.Skipped):
            m.note_skipped(event)
        elif isinstance(event, ev.MessageSaved):
            self.refresh_message(event.message_id)
            m.mark_sending(event.message_id)  # a pending message being sent again
        elif isinstance(event, ev.AnswerFinished):
            m.end_live()
            self.refresh_message(event.message_id)
            m.fold_into(event.message_id)
            self._refresh_pending()
        elif isinstance(event, ev.AnswerPending):
            live = m.live_row
            m.end_live()
            if live is not None:
                self.refresh_message(live.id)
            self.refresh_message(event.message_id)
            m.note_pending(event)
            self._tick_pending()
        elif isinstance(event, ev.AnswerStopped):
            live = m.live_row
            m.end_live()
            for message_id in {event.message_id, live.id if live else None}:
                if message_id is not None:
                    self.refresh_message(message_id)
            self._refresh_pending()

    def _refresh_pending(self) -> None:
        """An answer settles the user messages that waited before it."""
        for row in self.tmodel.all_rows:
            if row.role == "user" and row.status == MessageStatus.PENDING:
                self.refresh_message(row.id)

    def refresh_message(self, message_id: int) -> None:
        try:
            message = self.store.get_message(message_id)
        except StoreError as exc:
            self.status.emit(str(exc))
            return
        if message is not None:  # the controller sends only the shown conversation's events
            self.tmodel.upsert(message)

    def _files(self, message_ids: list[int]) -> dict[int, list[AttachmentInfo]]:
        try:
            return self.store.attachment_infos(message_ids)
        except StoreError:
            return {}

    def _thumbnail_ready(self, sha256: str) -> None:
        """A picture was decoded: the rows showing it are drawn again with it."""
        self.tmodel.files_changed(sha256)

    def _file_head(self, sha256: str) -> bytes | None:
        try:
            return self.store.attachment_head(sha256)
        except StoreError:
            return None

    def _file_bytes(self, sha256: str) -> bytes | None:
        try:
            return self.store.attachment_data(sha256)
        except StoreError:
            return None

    def _attempts(self, message_id: int) -> list[Attempt]:
        try:
            return self.store.attempts(message_id)
        except StoreError:
            return []

    # -- clicks ---------------------------------------------------------------------------

    def _target_at(self, pos: QPoint) -> tuple[str, int, str] | None:
        """('action', row, name) for a hover link, ('link', row, href) for an anchor."""
        index = self.indexAt(pos)
        if not index.isValid():
            return None
        rect = self.visualRect(index)
        actions = self.tmodel.actions(index.row())
        row = self.tmodel.row(index.row())
        for name, area in self.delegate.link_rects(rect, actions, self.footer_font(), row,
                                                    self.tmodel):
            if area.contains(pos):
                return ("action", index.row(), name)
        href = self.delegate.anchor_at(index, rect, pos)
        return ("link", index.row(), href) if href else None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        pos = event.position().toPoint()
        self._pressed = self._target_at(pos)
        index = self.indexAt(pos)
        if event.button() == Qt.MouseButton.LeftButton:  # a right click keeps it for the menu
            self.clear_selection()
            if self._pressed is None and index.isValid():
                at = self.delegate.position_at(index, self.visualRect(index), pos)
                self._select(TextSelection(self.tmodel.row(index.row()).id, at, at))
                self._selecting = True
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        target = self._target_at(event.position().toPoint())
        super().mouseReleaseEvent(event)
        pressed, self._pressed = self._pressed, None
        self._selecting = False
        if event.button() == Qt.MouseButton.LeftButton and target and target == pressed:
            self.activate(target)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        pos = event.position().toPoint()
        selection = self.delegate.selection
        if self._selecting and selection is not None \
                and event.buttons() & Qt.MouseButton.LeftButton:
            row = self.tmodel.row_of(selection.message_id)
            if row >= 0:  # the rows do not follow the drag: the selection stays in one message
                index = self.tmodel.index(row)
                at = self.delegate.position_at(index, self.visualRect(index), pos)
                self._select(TextSelection(selection.message_id, selection.anchor, at))
            return
        super().mouseMoveEvent(event)
        target = self._target_at(pos)
        self._hover((self.tmodel.row(target[1]).id, target[2])
                    if target is not None and target[0] == "action" else None)
        over_link = target is not None
        shape = Qt.CursorShape.PointingHandCursor if over_link else \
            Qt.CursorShape.IBeamCursor if self.indexAt(pos).isValid() else \
            Qt.CursorShape.ArrowCursor
        if self.viewport().cursor().shape() != shape:
            self.viewport().setCursor(shape)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        if event.button() != Qt.MouseButton.LeftButton or not index.isValid() \
                or self._target_at(pos) is not None:
            super().mouseDoubleClickEvent(event)
            return
        row = self.tmodel.row(index.row())
        cursor = QTextCursor(self.delegate.document(index))
        cursor.setPosition(self.delegate.position_at(index, self.visualRect(index), pos))
        cursor.select(QTextCursor.SelectionType.WordUnderCursor)
        self._select(TextSelection(row.id, cursor.anchor(), cursor.position()))
        self._selecting = False

    # -- selecting text -------------------------------------------------------------------

    def selected_text(self) -> str:
        """The text selected in a message, as plain text ("" when there is none)."""
        selection = self.delegate.selection
        if selection is None or selection.anchor == selection.position:
            return ""
        row = self.tmodel.row_of(selection.message_id)
        if row < 0:
            return ""
        doc = self.delegate.document(self.tmodel.index(row))
        text = selection.cursor(doc).selection().toPlainText().replace("\u200b", "")
        # Rendered paragraphs end in a space; the zero-width spaces part a live document.
        return "\n".join(line.rstrip(" ") for line in text.split("\n"))

    def clear_selection(self) -> None:
        self._select(None)

    def _select(self, selection: TextSelection | None) -> None:
        for old_or_new in (self.delegate.selection, selection):
            if old_or_new is not None:
                row = self.tmodel.row_of(old_or_new.message_id)
                if row >= 0:
                    self.viewport().update(self.visualRect(self.tmodel.index(row)))
        self.delegate.selection = selection

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ToolTip:
            help_event = cast("QHelpEvent", event)
            target = self._target_at(help_event.pos())
            if target and target[0] == "action":
                row = self.tmodel.row(target[1])
                QToolTip.showText(help_event.globalPos(),
                                  self.delegate.button_tip(target[2], row, self.tmodel), self)
                return True
            if target and target[0] == "link" and ":" in target[2]:
                scheme = target[2].split(":", 1)[0].lower()
                if scheme in OPENABLE_SCHEMES:
                    QToolTip.showText(help_event.globalPos(), target[2], self)
                    return True
            QToolTip.hideText()
            event.ignore()
            return True
        return super().viewportEvent(event)

    def activate(self, target: tuple[str, int, str]) -> None:
        kind, row_index, value = target
        if row_index >= self.tmodel.rowCount():
            return
        row = self.tmodel.row(row_index)
        if kind == "action":
            self.press_button(row, value)
            return
        if value == "reasoning:":
            self.tmodel.toggle_reasoning(row_index)
            return
        from chatdesk.ui.render import code_blocks, copy_index  # loaded after start-up

        block = copy_index(value)
        if block is not None:
            blocks = code_blocks(shown_text(row.content, -1))  # a huge one: its first part
            if block < len(blocks):
                QGuiApplication.clipboard().setText(blocks[block])
                self.status.emit("Code copied to the clipboard.")
            return
        if value.startswith("page:"):
            try:
                self.tmodel.show_page(row_index, int(value.split(":", 1)[1]))
            except ValueError:
                pass
            return
        if value.startswith(ATTACHMENT_LINK):
            action, _, sha = value[len(ATTACHMENT_LINK):].partition(":")
            # Only this row's own files: a link in a message's text cannot name another.
            if action in ("view", "file") and any(f.sha256 == sha
                                                  for f in self.tmodel.files(row)):
                self.fileRequested.emit(action, sha, self._file_name(row, sha))
            return
        if value.startswith("sendnow:"):
            self.actionRequested.emit("send-now", row.id)
            return
        if value.startswith("toggle:"):
            try:
                self.tmodel.toggle_notice(row_index, int(value.split(":", 1)[1]))
            except ValueError:
                pass
            return
        if not open_link(value):
            self.status.emit("Only web and mail links are opened; this one was not.")

    # -- copying and the context menu -----------------------------------------------------

    def _file_name(self, row: MessageRow, sha256: str) -> str:
        return next((f.name for f in self.tmodel.files(row) if f.sha256 == sha256), "attachment")

    def press_button(self, row: MessageRow, name: str) -> None:
        """What a footer button does (by mouse or keyboard)."""
        if name == "copy":
            self.copy_row(row)
        elif name in ("prev", "next"):
            self.step_version(row, -1 if name == "prev" else 1)
        else:
            self.actionRequested.emit(name, row.id)

    def step_version(self, row: MessageRow, step: int) -> bool:
        """Show the version before or after the one shown of this message."""
        versions = row.versions
        if versions is None or self.tmodel.busy or self.tmodel.readonly:
            return False
        target = versions.current + step
        if not 0 <= target < len(versions.ids):
            self.status.emit("This is the first version." if step < 0
                             else "This is the latest version.")
            return False
        self.actionRequested.emit("version", versions.ids[target])
        return True

    def footer_font(self) -> QFont:
        """The font the footer is drawn (and hit-tested) in."""
        return footer_font(self.font())

    def _hover(self, button: tuple[int, str] | None) -> None:
        if button != self.delegate.hover_button:
            for message_id in {b[0] for b in (button, self.delegate.hover_button) if b}:
                self._update_row(message_id)
            self.delegate.hover_button = button

    def _update_row(self, message_id: int) -> None:
        row = self.tmodel.row_of(message_id)
        if row >= 0:
            self.viewport().update(self.visualRect(self.tmodel.index(row)))

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        self._hover(None)
        super().leaveEvent(event)

    # -- the keyboard in a message's buttons ----------------------------------------------

    def _current_row(self) -> MessageRow | None:
        index = self.currentIndex()
        return self.tmodel.row(index.row()) if index.isValid() else None

    def _buttons_of(self, row: MessageRow) -> list[str]:
        pos = self.tmodel.row_of(row.id)
        return self.tmodel.actions(pos) if pos >= 0 else []

    def focus_buttons(self, forward: bool) -> bool:
        """Tab / Shift+Tab: move through the current message's buttons; False when past
        either end (focus then leaves the transcript, as Tab does elsewhere)."""
        row = self._current_row()
        if row is None:
            return False
        names = self._buttons_of(row)
        focus = self.delegate.focus_button
        at = names.index(focus[1]) if focus and focus[0] == row.id and focus[1] in names \
            else (-1 if forward else len(names))
        at += 1 if forward else -1
        self.delegate.focus_button = (row.id, names[at]) if 0 <= at < len(names) else None
        self._update_row(row.id)
        if self.delegate.focus_button is not None:
            name = self.delegate.focus_button[1]
            self.status.emit(self.delegate.button_tip(name, row, self.tmodel))
        return self.delegate.focus_button is not None

    def focusNextPrevChild(self, forward: bool) -> bool:  # noqa: N802 - Qt's name
        if self.hasFocus() and self.focus_buttons(forward):
            return True
        return super().focusNextPrevChild(forward)

    def currentChanged(self, current: QModelIndex | QPersistentModelIndex,  # noqa: N802
                       previous: QModelIndex | QPersistentModelIndex) -> None:
        if self.delegate.focus_button is not None:
            self._update_row(self.delegate.focus_button[0])
            self.delegate.focus_button = None
        super().currentChanged(current, previous)

    def copy_row(self, row: MessageRow) -> None:
        QGuiApplication.clipboard().setText(row.content)
        self.status.emit("Message copied to the clipboard.")

    def copy_current(self) -> None:
        """Ctrl+C: the selected text, else the whole current message."""
        text = self.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.status.emit("Selection copied to the clipboard.")
            return
        index = self.currentIndex()
        if index.isValid():
            self.copy_row(self.tmodel.row(index.row()))

    def menu_actions(self, index: QModelIndex) -> list[QAction]:
        if not index.isValid():
            return []
        row = self.tmodel.row(index.row())
        actions: list[QAction] = []
        selection = self.delegate.selection
        if selection is not None and selection.message_id == row.id and self.selected_text():
            copy_selection = QAction("Copy selection", self)
            copy_selection.triggered.connect(self.copy_current)
            actions.append(copy_selection)
        copy = QAction("Copy message", self)
        copy.triggered.connect(lambda: self.copy_row(row))
        actions.append(copy)
        from chatdesk.ui.render import code_blocks

        for n, source in enumerate(code_blocks(shown_text(row.content, -1))):
            action = QAction(f"Copy code block {n + 1}", self)
            action.triggered.connect(
                lambda _=False, s=source: QGuiApplication.clipboard().setText(s))
            actions.append(action)
        names = self.tmodel.actions(index.row())
        labels = {"edit": "Edit and resend", "regenerate": "Regenerate answer",
                  "ask-other": self.delegate.button_label("ask-other", row, self.tmodel),
                  "branch": "Branch from here", "prev": "Previous version",
                  "next": "Next version"}
        for name in ("edit", "regenerate", "ask-other", "branch", "prev", "next"):
            if name in names:
                action = QAction(labels[name], self)
                action.triggered.connect(
                    lambda _=False, n=name, r=row: self.press_button(r, n))
                actions.append(action)
        if row.reasoning:
            toggle = QAction("Hide the thought process" if row.reasoning_open
                             else "Show the thought process", self)
            toggle.triggered.connect(lambda: self.tmodel.toggle_reasoning(index.row()))
            actions.append(toggle)
        return actions

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt's name
        keyboard = event.reason() == event.Reason.Keyboard  # the menu key or Shift+F10
        index = self.currentIndex() if keyboard else self.indexAt(event.pos())
        actions = self.menu_actions(index)
        if not actions:
            return
        self.setCurrentIndex(index)
        menu = QMenu(self)
        for action in actions:
            menu.addAction(action)
        where = event.globalPos()
        if keyboard:
            rect = self.visualRect(index)
            where = self.viewport().mapToGlobal(
                QPoint(rect.left() + 40, max(0, min(rect.top() + 20,
                                                     self.viewport().height() - 20))))
        menu.exec(where)
