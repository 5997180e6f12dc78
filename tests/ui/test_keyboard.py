"""Keyboard use of the window: switching conversations, the sidebar, the shortcut sheet,
and the window title that follows the conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt

from chatdesk.ui.shortcut_sheet import ShortcutSheet
from tests.fakes.server import FakeProvider
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


def test_ctrl_pgdown_and_ctrl_tab_switch_conversations_and_wrap(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    ids = [ctx.store.create_conversation(title).id for title in ("oldest", "middle", "newest")]
    window = make_window(ctx)
    window.open_conversation(ids[2])  # the list shows the newest first
    shown = []
    for keys in ("Ctrl+PgDown", "Ctrl+Tab", "Ctrl+PgDown", "Ctrl+PgUp", "Ctrl+Shift+Tab"):
        action = {"Ctrl+PgDown": window.next_action, "Ctrl+Tab": window.next_action,
                  "Ctrl+PgUp": window.previous_action,
                  "Ctrl+Shift+Tab": window.previous_action}[keys]
        assert keys in [k.toString() for k in action.shortcuts()]
        action.trigger()
        shown.append(window.controller.conversation_id)
    assert shown == [ids[1], ids[0], ids[2], ids[0], ids[1]]  # wraps both ways
    assert window.windowTitle() == "middle — chatdesk"
    # The keys themselves, typed while writing a message.
    assert window.composer is not None
    window.composer.edit.setFocus()
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert window.controller.conversation_id == ids[0]
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_PageUp,
                   Qt.KeyboardModifier.ControlModifier)
    assert window.controller.conversation_id == ids[1]


def test_ctrl_pgdown_reaches_conversations_beyond_the_first_page(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    ids = [ctx.store.create_conversation(f"c{i}").id for i in range(5)]
    window = make_window(ctx)
    window.sidebar.model.page_size = 2
    window.sidebar.model.reload()
    window.open_conversation(ids[4])
    seen = []
    for _ in range(5):
        window.next_action.trigger()
        seen.append(window.controller.conversation_id)
    assert seen == [ids[3], ids[2], ids[1], ids[0], ids[4]]
    window.previous_action.trigger()  # from the first back to the last: loads them all
    assert window.controller.conversation_id == ids[0]


def test_ctrl_b_hides_the_sidebar_and_it_stays_hidden(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    window.sidebar.list.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert not window.sidebar.isVisible() and not window.sidebar_action.isChecked()
    assert window.composer is not None and window.composer.edit.hasFocus()
    state = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    window._state = state
    window.save_state()
    again = make_window(ctx)
    again._state = state
    again.restore_state()
    assert not again.sidebar.isVisible()
    again.toggle_sidebar()
    assert again.sidebar.isVisible() and again.sidebar_action.isChecked()


def test_the_title_follows_the_conversation(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Trip to **Lisbon**")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    assert window.windowTitle() == "Trip to Lisbon — chatdesk"
    index = window.sidebar.model.index(window.sidebar.model.row_of(conv.id))
    window.sidebar.model.setData(index, "Porto instead", Qt.ItemDataRole.EditRole)
    assert window.windowTitle() == "Porto instead — chatdesk"
    window.new_chat()
    assert window.windowTitle() == "New chat — chatdesk"


def test_a_browsed_file_names_itself_read_only(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        data_dir: Path) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(store=ctx.store, browse_path=data_dir / "history.db")
    assert window.windowTitle() == "history.db — read-only — chatdesk"


def test_the_shortcut_sheet_lists_the_windows_shortcuts(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    from PySide6.QtGui import QAction

    sheet = ShortcutSheet(window.findChildren(QAction), window)
    qtbot.addWidget(sheet)
    rows = dict((what, keys) for keys, what in sheet.rows)
    assert rows["Show sidebar"] == "Ctrl+B"
    assert rows["Next conversation"] == "Ctrl+PgDown or Ctrl+Tab"
    assert rows["Keyboard shortcuts"] == "F1 or Ctrl+/"
    assert rows["New chat"] == "Ctrl+N" and rows["Search"] == "Ctrl+K"
    assert rows["Send the message"] == "Enter"
    assert rows["Scroll the conversation a page up / down"] == "PgUp / PgDown"
    assert "Delete" not in rows  # the list's own key is worded in WIDGET_KEYS
    assert "Ctrl+B" in sheet.table.text()


def test_typing_with_the_transcript_focused_writes_in_the_composer(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Chat")
    ctx.store.add_message(conv.id, "user", "hello")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    assert window.composer is not None
    window.transcript.setFocus()
    qtbot.keyClicks(window.transcript, "Hi")
    assert window.composer.text() == "Hi" and window.composer.edit.hasFocus()
    window.transcript.setFocus()
    qtbot.keyClick(window.transcript, Qt.Key.Key_Down)  # moving keys still move
    qtbot.keyClick(window.transcript, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert window.composer.text() == "Hi" and window.transcript.hasFocus()


def test_the_list_cursor_skips_date_headers(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    ids = [ctx.store.create_conversation(title).id for title in ("a", "b")]
    window = make_window(ctx)
    window.open_conversation(ids[0])
    view = window.sidebar.list
    view.setFocus()
    assert view.model().index(0, 0).data(Qt.ItemDataRole.DisplayRole) == "Today"
    qtbot.keyClick(view, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert view.currentIndex().row() == 1 and window.controller.conversation_id == ids[1]
    qtbot.keyClick(view, Qt.Key.Key_Up)  # nothing above but the header: stays
    assert view.currentIndex().row() == 1
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert window.controller.conversation_id == ids[0]


def test_zoom_steps_are_remembered_and_text_follows(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from chatdesk.ui import design, zoom

    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Zoom")
    ctx.store.add_message(conv.id, "user", "a line of text to measure")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    assert QApplication.font().pixelSize() == design.BODY_PX
    row = window.transcript.tmodel.row(0)
    before = window.transcript.delegate.document_for(row).size().height()
    qtbot.keyClick(window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert window.zoom == 1.1 and QApplication.font().pixelSize() == round(design.BODY_PX * 1.1)
    after = window.transcript.delegate.document_for(row).size().height()
    assert after > before  # the messages were rendered again at the new size
    for _ in range(20):
        window.zoom_in_action.trigger()
    assert window.zoom == zoom.STEPS[-1] and not window.zoom_in_action.isEnabled()
    state = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    window._state = state
    window.save_state()
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.zoom == 1.0 and QApplication.font().pixelSize() == design.BODY_PX
    again = make_window(ctx)
    again._state = state
    again.restore_state()
    assert again.zoom == 2.0 and QApplication.font().pixelSize() == 30
    again.set_zoom(zoom.DEFAULT)


def test_zoom_steps() -> None:
    from chatdesk.ui import zoom

    assert zoom.step(1.0, 1) == 1.1 and zoom.step(1.0, -1) == 0.9
    assert zoom.step(2.0, 1) == 2.0 and zoom.step(0.8, -1) == 0.8
    assert zoom.nearest(1.3) == 1.25 and zoom.nearest(7) == 2.0


def test_the_composers_hint_shortens_instead_of_being_cut_off(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    from chatdesk.ui.composer import PLACEHOLDERS

    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx, size=(1100, 600))
    edit = window.composer.edit
    assert edit.placeholderText() == PLACEHOLDERS[0]
    window.resize(520, 500)
    qtbot.waitUntil(lambda: edit.placeholderText() != PLACEHOLDERS[0])
    room = edit.viewport().width() - 2 * int(edit.document().documentMargin())
    assert edit.fontMetrics().horizontalAdvance(edit.placeholderText()) <= room


def test_page_keys_typed_in_the_message_box_scroll_the_conversation(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Long")
    for i in range(300):
        ctx.store.add_message(conv.id, "user" if i % 2 == 0 else "assistant", f"line {i}")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    assert window.composer is not None
    edit, bar = window.composer.edit, window.transcript.verticalScrollBar()
    edit.setFocus()
    qtbot.wait(20)
    bottom = bar.value()
    assert bottom == bar.maximum() > 0
    qtbot.keyClick(edit, Qt.Key.Key_PageUp)
    assert bar.value() < bottom and edit.hasFocus()  # still writing
    qtbot.keyClick(edit, Qt.Key.Key_PageDown)
    assert bar.value() == bottom
    # A long draft scrolls itself: the keys are the box's then.
    edit.setPlainText("\n".join(f"draft line {i}" for i in range(200)))
    qtbot.wait(20)
    assert edit.verticalScrollBar().maximum() > 0
    bottom = bar.value()  # the box grew, the conversation's view did not move from the end
    qtbot.keyClick(edit, Qt.Key.Key_PageUp)
    assert bar.value() == bottom == bar.maximum()
