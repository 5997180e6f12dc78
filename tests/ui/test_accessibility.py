"""What a screen reader gets: a name for every control, and each message with who wrote it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from tests.fakes.server import FakeProvider
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()
CONTROLS = (QAbstractButton, QLineEdit, QPlainTextEdit, QComboBox, QAbstractItemView)


def test_every_control_has_a_name(qtbot: Any, make_ctx: Any, make_window: Any,
                                  fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Named")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    window.toggle_panel()
    unnamed = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(window):
            continue
        iface = QAccessible.queryAccessibleInterface(widget)
        spoken = iface.text(QAccessible.Text.Name) if iface is not None else ""
        if not (widget.accessibleName() or spoken):
            unnamed.append(f"{type(widget).__name__} {widget.objectName()}")
    assert unnamed == []


def test_a_message_is_read_with_who_wrote_it(qtbot: Any, make_ctx: Any, make_window: Any,
                                              fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Read")
    ctx.store.add_message(conv.id, "user", "hello")
    ctx.store.add_message(conv.id, "assistant", "hi there", provider="anthropic",
                          model="claude-x")
    ctx.store.add_message(conv.id, "user", "are you there?", status="pending")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    model = window.transcript.tmodel
    read = [(model.index(i).data(Qt.ItemDataRole.AccessibleTextRole),
             model.index(i).data(Qt.ItemDataRole.AccessibleDescriptionRole))
            for i in range(model.rowCount())]
    assert [text for text, _ in read] == ["hello", "hi there", "are you there?"]
    assert read[0][1].startswith("You, ")
    assert read[1][1].startswith("Anthropic, claude-x, ")
    assert read[2][1].startswith("You, pending, ")
