"""What a person would see wrong in a window, found from its widgets: text cut off by its
box, widgets drawn outside the window or over each other's text."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QWidget,
)

# QLabel text that Qt elides on purpose, or rich text whose layout we do not measure here.
_SKIPPED_NAMES = frozenset({"shortcutTable"})


def _visible(widget: QWidget, window: QWidget) -> bool:
    return widget.isVisibleTo(window) and widget.width() > 0 and widget.height() > 0


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def clipped_text(window: QWidget) -> list[str]:
    """Every visible label, button, field and combo box whose one-line text is wider than
    the room it has, or whose wrapped text is taller than its box: "objectName: text"."""
    problems: list[str] = []
    for widget in window.findChildren(QWidget):
        if not _visible(widget, window) or widget.objectName() in _SKIPPED_NAMES:
            continue
        metrics = widget.fontMetrics()
        if isinstance(widget, QLabel):
            text = _plain(widget.text()) if widget.buddy() is not None else widget.text()
            if not text or widget.textFormat() == Qt.TextFormat.RichText or \
                    (widget.textFormat() == Qt.TextFormat.AutoText and "<" in text):
                continue
            room = widget.contentsRect()
            if widget.wordWrap():
                needed = metrics.boundingRect(QRect(0, 0, room.width(), 100_000),
                                              int(Qt.TextFlag.TextWordWrap), text).height()
                if needed > room.height() + 1:
                    problems.append(f"{_name(widget)}: {text[:60]!r} needs {needed} px of "
                                    f"height, has {room.height()}")
            else:
                widest = max(metrics.horizontalAdvance(line) for line in text.splitlines())
                if widest > room.width() + 1:
                    problems.append(f"{_name(widget)}: {text[:60]!r} needs {widest} px, "
                                    f"has {room.width()}")
        elif isinstance(widget, QAbstractButton) and widget.text():
            text = _plain(widget.text())
            icon = widget.iconSize().width() + 6 if not widget.icon().isNull() else 0
            needed = metrics.horizontalAdvance(text) + icon
            if needed > widget.width() - 4:
                problems.append(f"{_name(widget)}: {text!r} needs {needed} px, "
                                f"has {widget.width()}")
        elif isinstance(widget, QComboBox) and not widget.isEditable() and widget.currentText():
            text = widget.currentText()
            arrow = 24
            if metrics.horizontalAdvance(text) + arrow > widget.width():
                problems.append(f"{_name(widget)}: {text!r} is cut in a {widget.width()} px box")
        elif isinstance(widget, QComboBox) and widget.isEditable() and widget.currentText():
            edit = widget.lineEdit()  # a long name may scroll, but must show its start
            text = widget.currentText()
            if edit is not None and not edit.hasFocus() and edit.cursorPosition() != 0 \
                    and metrics.horizontalAdvance(text) > edit.width():
                problems.append(f"{_name(widget)}: {text!r} shows its end, not its start")
        elif isinstance(widget, QPlainTextEdit) and widget.placeholderText() \
                and not widget.toPlainText() \
                and widget.viewport().height() < 2.5 * metrics.lineSpacing():  # one line
            room = widget.viewport().width() - 2 * int(widget.document().documentMargin())
            if metrics.horizontalAdvance(widget.placeholderText()) > room:
                problems.append(f"{_name(widget)}: hint {widget.placeholderText()!r} wraps")
        elif isinstance(widget, QLineEdit) and widget.placeholderText() and not widget.text():
            room = widget.width() - 12 - (24 if widget.isClearButtonEnabled() else 0)
            if metrics.horizontalAdvance(widget.placeholderText()) > room:
                problems.append(f"{_name(widget)}: hint {widget.placeholderText()!r} cut off")
    return problems


def outside(window: QWidget) -> list[str]:
    """Visible widgets that reach beyond the window's edges."""
    bounds = window.rect()
    problems = []
    for widget in window.findChildren(QWidget):
        if not _visible(widget, window) or widget.isWindow() or _scrolled(widget, window):
            continue
        top_left = widget.mapTo(window, widget.rect().topLeft())
        rect = QRect(top_left, widget.size())
        if not bounds.contains(rect):
            problems.append(f"{_name(widget)} at {rect.getRect()} is outside "
                            f"{bounds.width()}x{bounds.height()}")
    return problems


def _scrolled(widget: QWidget, window: QWidget) -> bool:
    """Inside a scroll area's content: it may reach past the window, scrolled into view."""
    for area in window.findChildren(QScrollArea):
        content = area.widget()
        if content is not None and (content is widget or content.isAncestorOf(widget)):
            return True
    return False


def _name(widget: QWidget) -> str:
    return widget.objectName() or type(widget).__name__
