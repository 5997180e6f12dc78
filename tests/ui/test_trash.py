"""The Trash in the app: a deletion outlives its Undo, and is restored or emptied from there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from chatdesk.ui.trash_dialog import TrashDialog
from tests.fakes.server import FakeProvider
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


def test_a_deletion_stays_in_the_trash_after_the_undo_is_gone(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    gone = ctx.store.create_conversation("Trip to **Lisbon**")
    ctx.store.add_message(gone.id, "user", "where to eat?")
    other = ctx.store.create_conversation("Other")
    window = make_window(ctx)
    window.controller.delete_conversation(gone.id)
    window.controller.delete_conversation(other.id)
    window.undo_banner.hide()  # the few seconds of Undo are over
    assert "Trash" in window.undo_banner.label.text()

    dialog = TrashDialog(window.controller, window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.list.count() == 2
    first = dialog.list.item(1).text()
    assert first.startswith("Trip to Lisbon\ndeleted ") and "1 message" in first
    dialog.list.setCurrentRow(1)
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    assert ctx.store.get_conversation(gone.id) is not None
    assert window.sidebar.model.row_of(gone.id) >= 0
    assert dialog.list.count() == 1
    dialog.grab().save(str(tmp_path / "trash.png"))


@pytest.mark.parametrize("confirm", [False, True])
def test_delete_forever_and_empty_ask_first(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        monkeypatch: pytest.MonkeyPatch, confirm: bool) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    ids = [ctx.store.create_conversation(t).id for t in ("a", "b", "c")]
    window = make_window(ctx)
    for conversation_id in ids:
        window.controller.delete_conversation(conversation_id)
    asked: list[str] = []

    def question(_parent: Any, _title: str, text: str, *_args: Any) -> Any:
        asked.append(text)
        return QMessageBox.StandardButton.Yes if confirm else QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", question)
    dialog = TrashDialog(window.controller, window)
    qtbot.addWidget(dialog)
    dialog.list.setCurrentRow(0)
    dialog.delete_selected()
    assert asked[-1] == "Delete 1 conversation for good? This cannot be undone."
    assert len(ctx.store.trashed_conversations()) == (2 if confirm else 3)
    dialog.empty()
    assert "Delete all" in asked[-1]
    assert len(ctx.store.trashed_conversations()) == (0 if confirm else 3)
    assert dialog.empty_note.isVisibleTo(dialog) == confirm
    assert not dialog.empty_button.isEnabled() if confirm else dialog.empty_button.isEnabled()
