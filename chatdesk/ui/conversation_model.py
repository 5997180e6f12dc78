"""The sidebar's list model: conversations grouped by date, loaded from the store in pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPalette
from PySide6.QtWidgets import QApplication

from chatdesk.plain_text import plain_line
from chatdesk.store import ConversationSummary, HistoryStore, StoreError
from chatdesk.ui.zoom import small_font

PAGE_SIZE = 60  # about two screens; the view fetches more as it scrolls



def shown_title(title: str | None) -> str:
    """A conversation's title as the list shows it: plain text, never markdown."""
    return (plain_line(title) if title else "") or "New chat"

class ConversationRole(IntEnum):
    """The data roles of ConversationListModel beyond Qt's own."""

    CONVERSATION_ID = Qt.ItemDataRole.UserRole + 1
    IS_HEADER = Qt.ItemDataRole.UserRole + 2
    PINNED = Qt.ItemDataRole.UserRole + 3
_Index = QModelIndex | QPersistentModelIndex


def parse_time(iso: str) -> datetime:
    """A stored ISO time as an aware datetime in the local zone."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone()


def group_label(summary: ConversationSummary, today: date) -> str:
    """Pinned, Today, Yesterday, Previous 7 days, Previous 30 days, then "March 2024"."""
    if summary.pinned:
        return "Pinned"
    day = parse_time(summary.updated_at).date()
    age = (today - day).days
    if age <= 0:
        return "Today"
    if age == 1:
        return "Yesterday"
    if age <= 7:
        return "Previous 7 days"
    if age <= 30:
        return "Previous 30 days"
    return f"{day.strftime('%B')} {day.year}"


@dataclass
class _Row:
    header: str | None = None
    summary: ConversationSummary | None = None


class ConversationListModel(QAbstractListModel):
    """Header rows ("Today", …) interleaved with conversation rows, newest first.

    The store already orders pinned first and then by last update, so a header is due
    whenever the label changes; pages are appended with fetchMore as the view scrolls.
    """

    def __init__(self, store: HistoryStore, *, readonly: bool = False,
                 rename: Callable[[int, str | None], str | None] | None = None,
                 today: Callable[[], date] = date.today, page_size: int = PAGE_SIZE) -> None:
        """rename(id, title) renames a conversation: None, or what stopped it as a sentence
        (without it the list is read-only)."""
        super().__init__()
        self.store = store
        self.readonly = readonly or rename is None
        self._rename = rename
        self._today = today
        self.page_size = page_size
        self._rows: list[_Row] = []
        self._loaded = 0  # conversations (not headers) loaded so far
        self._total = 0
        self._last_label: str | None = None
        self.error: str | None = None

    # -- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        """Read again from the store, keeping at least as many conversations as shown now."""
        keep = max(self.page_size, self._loaded)
        self.beginResetModel()
        self._rows, self._loaded, self._last_label = [], 0, None
        try:
            self._total = self.store.count_conversations()
            self._append(self.store.list_conversations(limit=keep, offset=0))
            self.error = None
        except StoreError as exc:
            self._total, self.error = 0, str(exc)
        self.endResetModel()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._loaded < self._total

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._loaded >= self._total:
            return
        try:
            page = self.store.list_conversations(limit=self.page_size, offset=self._loaded)
        except StoreError as exc:
            # What follows cannot be read (a damaged file): stop here, or every scroll and
            # row_of(fetch=True) would ask again, for ever.
            self.error, self._total = str(exc), self._loaded
            return
        if not page:
            self._total = self._loaded
            return
        rows = self._make_rows(page)
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self._rows.extend(rows)
        self._loaded += len(page)
        self.endInsertRows()

    def _append(self, summaries: list[ConversationSummary]) -> None:
        self._rows.extend(self._make_rows(summaries))
        self._loaded += len(summaries)

    def _make_rows(self, summaries: list[ConversationSummary]) -> list[_Row]:
        today = self._today()
        rows: list[_Row] = []
        for summary in summaries:
            label = group_label(summary, today)
            if label != self._last_label:
                rows.append(_Row(header=label))
                self._last_label = label
            rows.append(_Row(summary=summary))
        return rows

    # -- lookups --------------------------------------------------------------------------

    @property
    def loaded_conversations(self) -> int:
        return self._loaded

    @property
    def total_conversations(self) -> int:
        return self._total

    def summary(self, row: int) -> ConversationSummary | None:
        if 0 <= row < len(self._rows):
            return self._rows[row].summary
        return None

    def headers(self) -> list[str]:
        return [r.header for r in self._rows if r.header is not None]

    def row_of(self, conversation_id: int, fetch: bool = False) -> int:
        """The row showing a conversation, -1 if absent; fetch=True loads pages to find it."""
        while True:
            for i, r in enumerate(self._rows):
                if r.summary is not None and r.summary.id == conversation_id:
                    return i
            if not fetch or not self.canFetchMore():
                return -1
            self.fetchMore()

    # -- Qt model API ---------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._rows[index.row()].header is not None:
            return Qt.ItemFlag.ItemIsEnabled
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not self.readonly:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if row.header is not None:
            return self._header_data(row.header, role)
        summary = row.summary
        assert summary is not None
        if role == Qt.ItemDataRole.DisplayRole:
            return shown_title(summary.title)
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(-1, QFontMetrics(QApplication.font()).height() + 12)
        if role == Qt.ItemDataRole.EditRole:
            return summary.title or ""
        if role == Qt.ItemDataRole.ToolTipRole:
            when = parse_time(summary.updated_at).strftime("%Y-%m-%d %H:%M")
            count = summary.message_count
            return (f"{shown_title(summary.title)}\n{count} message{'s' if count != 1 else ''}"
                    f" · last updated {when}")
        if role == ConversationRole.CONVERSATION_ID:
            return summary.id
        if role == ConversationRole.PINNED:
            return summary.pinned
        if role == ConversationRole.IS_HEADER:
            return False
        return None

    def _header_data(self, label: str, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return label
        if role == ConversationRole.IS_HEADER:
            return True
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(-1, QFontMetrics(QApplication.font()).height() + 16)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
        if role == Qt.ItemDataRole.FontRole:
            font = small_font(QApplication.font())
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole:
            return QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if self._rename is None or self.readonly or role != Qt.ItemDataRole.EditRole \
                or not index.isValid():
            return False
        summary = self._rows[index.row()].summary
        if summary is None:
            return False
        title = str(value).strip() or None
        problem = self._rename(summary.id, title)
        if problem is not None:
            self.error = problem
            return False
        self._rows[index.row()].summary = replace(summary, title=title)
        self.dataChanged.emit(index, index)
        return True
