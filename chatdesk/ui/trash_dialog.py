"""The Trash: conversations deleted in the last 30 days, to restore or delete for good."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.store import TRASH_DAYS
from chatdesk.ui.conversation_model import parse_time, shown_title

if TYPE_CHECKING:
    from chatdesk.ui.controller import ChatController

_ID = Qt.ItemDataRole.UserRole + 1


class TrashDialog(QDialog):
    """Lists the Trash; Restore brings the selected back, Delete forever and Empty Trash
    ask first."""

    def __init__(self, controller: ChatController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trashDialog")
        self.setWindowTitle("Trash")
        self.controller = controller
        self.note = QLabel(f"Deleted conversations stay here for {TRASH_DAYS} days, then "
                           "they are deleted for good.")
        self.note.setWordWrap(True)
        self.list = QListWidget()
        self.list.setObjectName("trashList")
        self.list.setAccessibleName("Deleted conversations")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setSpacing(3)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.itemActivated.connect(lambda _item: self.restore())
        self.empty_note = QLabel("The Trash is empty.")
        self.empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.restore_button = QPushButton("&Restore")
        self.restore_button.setToolTip("Bring the selected conversations back (Enter)")
        self.restore_button.clicked.connect(self.restore)
        self.delete_button = QPushButton("&Delete forever…")
        self.delete_button.clicked.connect(self.delete_selected)
        self.empty_button = QPushButton("&Empty Trash…")
        self.empty_button.clicked.connect(self.empty)
        for button in (self.restore_button, self.delete_button, self.empty_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)

        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_note)
        layout.addWidget(buttons)
        self.resize(520, 420)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        for summary in self.controller.trash.listed():
            when = parse_time(summary.deleted_at).strftime("%Y-%m-%d %H:%M") \
                if summary.deleted_at else ""
            count = summary.message_count
            item = QListWidgetItem(f"{shown_title(summary.title)}\n"
                                   f"deleted {when} · {count} message{'s' if count != 1 else ''}")
            item.setData(_ID, summary.id)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.empty_note.setVisible(self.list.count() == 0)
        self.list.setVisible(self.list.count() > 0)
        self._update_buttons()

    def selected_ids(self) -> list[int]:
        return [int(item.data(_ID)) for item in self.list.selectedItems()]

    def _update_buttons(self) -> None:
        chosen = bool(self.list.selectedItems())
        self.restore_button.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)
        self.empty_button.setEnabled(self.list.count() > 0)

    def restore(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.controller.trash.restore(ids)
            self.reload()

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids and self._confirm(f"Delete {_count(len(ids))} for good? This cannot be undone."):
            self.controller.trash.empty(ids)
            self.reload()

    def empty(self) -> None:
        if self.list.count() and self._confirm(
                f"Delete all {_count(self.list.count())} in the Trash for good? "
                "This cannot be undone."):
            self.controller.trash.empty()
            self.reload()

    def _confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Delete for good", question,
                                      QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes


def _count(n: int) -> str:
    return f"{n} conversation{'s' if n != 1 else ''}"
