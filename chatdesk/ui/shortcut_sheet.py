"""The shortcut sheet (F1, Ctrl+/): every keyboard shortcut of the window, read from its
actions so it can never disagree with them."""

from __future__ import annotations

import html
from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

# Keys handled by widgets themselves rather than by window actions.
WIDGET_KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "Send the message"),
    ("Shift+Enter", "A new line in the message"),
    ("Up (in an empty message box)", "Edit your last message"),
    ("/ (in an empty message box)", "Insert a saved prompt (type to filter, Enter picks)"),
    ("PgUp / PgDown", "Scroll the conversation a page up / down"),
    ("Ctrl+Home / Ctrl+End (on the messages)", "The first / last message of the conversation"),
    ("Down (in the search field)", "Move into the results"),
    ("F2", "Rename the selected conversation"),
    ("Delete", "Move the selected conversation to the Trash"),
    ("Tab (on a message)", "Move through its buttons; Enter or Space presses one"),
    ("Alt+Left / Alt+Right (on a message)", "Its previous / next version"),
    ("Menu key or Shift+F10 (on a message)", "All of its actions, Branch from here included"),
)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(keys, what they do) for every action with a shortcut, in menu order, no repeats."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for action in actions:
        if action.shortcutContext() == Qt.ShortcutContext.WidgetShortcut:
            continue  # one widget's own key: WIDGET_KEYS words it
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        keys = [k for k in keys if k]
        what = action.text().replace("&", "").rstrip("…").rstrip(".")
        if not keys or not what or what in seen:
            continue
        seen.add(what)
        rows.append((" or ".join(keys), what))
    return rows


class ShortcutSheet(QDialog):
    def __init__(self, actions: Iterable[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutSheet")
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = shortcut_rows(actions) + list(WIDGET_KEYS)
        body = "".join(
            f"<tr><td style='padding:3px 18px 3px 0'><b>{html.escape(keys)}</b></td>"
            f"<td style='padding:3px 0'>{html.escape(what)}</td></tr>"
            for keys, what in self.rows)
        self.table = QLabel(f"<table>{body}</table>")
        self.table.setObjectName("shortcutTable")
        self.table.setAccessibleName("Keyboard shortcuts")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
