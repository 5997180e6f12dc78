"""The sidebar shows titles and search snippets as plain text, never raw markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatdesk.store import HistoryStore, SearchHit
from chatdesk.ui.conversation_model import ConversationListModel
from chatdesk.ui.sidebar import SearchResultsModel, SearchRole


def test_search_hits_show_plain_titles_and_snippets(qtbot: QtBot) -> None:
    model = SearchResultsModel()
    model.set_hits([SearchHit(1, 2, "assistant", "## File was \x02resized\x03 by **the** window",
                              "2026-12-01T10:00:00.000+00:00", "How to **resize**", -1.0)])
    index = model.index(0)
    assert index.data(Qt.ItemDataRole.DisplayRole) == \
        "How to resize: File was resized by the window"
    rich = index.data(SearchRole.HTML)
    assert "**" not in rich and "##" not in rich
    assert "<b>resized</b>" in rich and ">How to resize<" in rich


def test_conversation_titles_show_plain(qtbot: QtBot, tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "history.db") as store:
        conv = store.create_conversation("Fix the `**window**` size")
        untitled = store.create_conversation(None)
        model = ConversationListModel(store)
        model.reload()
        titles = {model.index(row).data(Qt.ItemDataRole.DisplayRole)
                  for row in range(model.rowCount())}
        assert {"Fix the **window** size", "New chat"} <= titles
        # Renaming starts from the title as stored.
        row = next(r for r in range(model.rowCount())
                   if model.index(r).data(Qt.ItemDataRole.DisplayRole) == "New chat")
        assert model.index(row).data(Qt.ItemDataRole.EditRole) == ""
        assert conv.id != untitled.id


def test_a_selected_hits_metadata_stays_readable_in_the_dark_theme(qtbot: QtBot) -> None:
    from PySide6.QtGui import QTextCursor
    from PySide6.QtWidgets import QApplication, QListView, QStyle, QStyleOptionViewItem

    from chatdesk.ui import design
    from chatdesk.ui.sidebar import _HtmlDelegate
    from chatdesk.ui.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "dark")
    try:
        model = SearchResultsModel()
        model.set_hits([SearchHit(1, 2, "assistant", "some \x02text\x03", "2026-12-01T10:00",
                                  "Title", -1.0)])
        view = QListView()
        qtbot.addWidget(view)
        view.setModel(model)
        delegate = _HtmlDelegate()
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.rect = view.rect()
        option.state |= QStyle.StateFlag.State_Selected
        doc = delegate._document(option, model.index(0))
        found = doc.find("Assistant")
        assert not found.isNull()
        cursor = QTextCursor(doc)
        cursor.setPosition(found.selectionStart() + 1)
        meta = cursor.charFormat().foreground().color().name()
        highlight = option.palette.color(option.palette.ColorRole.Highlight).name()
        assert design.contrast(meta, highlight) >= design.TEXT_CONTRAST
    finally:
        apply_theme(app, "light")


def test_the_selected_row_shows_rename_pin_and_delete_buttons(
        qtbot: QtBot, make_ctx: Any, make_window: Any, fake_anthropic: Any) -> None:
    from PySide6.QtCore import QPoint

    from chatdesk.ui.sidebar import _ConversationDelegate

    ctx = make_ctx([("anthropic", fake_anthropic)])
    keep = ctx.store.create_conversation("Keep")
    conv = ctx.store.create_conversation("Pin then delete me")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    sidebar = window.sidebar
    view = sidebar.list
    delegate = view.itemDelegate()
    assert isinstance(delegate, _ConversationDelegate)

    def click(name: str, conversation_id: int) -> None:
        rect = view.visualRect(sidebar.model.index(sidebar.model.row_of(conversation_id)))
        where = dict(delegate.action_rects(rect))[name].center()
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(where))

    click("pin", conv.id)

    def is_pinned() -> bool:
        found = ctx.store.get_conversation(conv.id)
        return found is not None and found.pinned

    qtbot.waitUntil(is_pinned)
    click("delete", conv.id)
    qtbot.waitUntil(lambda: ctx.store.get_conversation(conv.id) is None)
    assert [s.id for s in ctx.store.trashed_conversations()] == [conv.id]
    window.open_conversation(keep.id)
    click("rename", keep.id)
    qtbot.waitUntil(lambda: view.state() == view.State.EditingState)


def test_search_hits_are_laid_out_once_not_at_every_size_and_paint(
        qtbot: QtBot, monkeypatch: Any) -> None:
    """50 hits arrive while the person types: each is parsed and laid out once, then
    sized and painted from that (a new parse per call made typing stall)."""
    from PySide6.QtWidgets import QListView

    from chatdesk.ui.sidebar import _HtmlDelegate

    made: list[str] = []
    real = _HtmlDelegate._make

    def counted(*args: Any) -> Any:
        made.append(args[1])
        return real(*args)

    monkeypatch.setattr(_HtmlDelegate, "_make", staticmethod(counted))
    model = SearchResultsModel()
    model.set_hits([SearchHit(i, i, "user", f"hit \x02{i}\x03 text", "2026-12-01T10:00",
                              f"Title {i}", -1.0) for i in range(50)])
    view = QListView()
    qtbot.addWidget(view)
    view.setItemDelegate(_HtmlDelegate(view))
    view.setWordWrap(True)
    view.resize(300, 400)
    view.setModel(model)
    view.show()
    qtbot.waitExposed(view)
    qtbot.wait(50)  # the view settles its width (the scroll bar) and lays out again
    settled = len(made)
    assert 0 < settled <= 100
    for _ in range(3):
        view.viewport().repaint()
        view.doItemsLayout()
    assert len(made) == settled
    # a selected row is drawn in other colours: laid out again, once
    view.setCurrentIndex(model.index(0))
    view.viewport().repaint()
    view.viewport().repaint()
    assert len(made) == settled + 1


def test_the_search_field_gets_its_clear_button_at_first_focus_or_text(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QToolButton

    from chatdesk.ui.sidebar import _SearchField

    def clear_button(field: _SearchField) -> QToolButton | None:
        buttons = [b for b in field.findChildren(QToolButton) if b.isVisibleTo(field)]
        return buttons[0] if buttons else None

    typed = _SearchField()
    qtbot.addWidget(typed)
    typed.show()
    qtbot.waitExposed(typed)
    assert not typed.isClearButtonEnabled()  # its icon is looked up when first needed
    typed.setFocus()
    qtbot.waitUntil(typed.hasFocus)
    assert typed.isClearButtonEnabled() and clear_button(typed) is None
    qtbot.keyClicks(typed, "wombat")
    qtbot.waitUntil(lambda: clear_button(typed) is not None)
    qtbot.mouseClick(clear_button(typed), Qt.MouseButton.LeftButton)
    assert typed.text() == ""

    given = _SearchField()  # text set with no focus, as a search started from elsewhere
    qtbot.addWidget(given)
    given.show()
    given.setText("wombat")
    assert given.isClearButtonEnabled()
    qtbot.waitUntil(lambda: clear_button(given) is not None)


def test_many_hits_are_laid_out_in_batches_not_all_before_the_next_key(
        qtbot: QtBot, make_ctx: Any, make_window: Any, monkeypatch: Any) -> None:
    """Showing 50 hits lays out a few, then the rest between the events that follow (all
    at once held the GUI thread ~20 ms, felt as a stall while typing)."""
    from chatdesk.ui.sidebar import _HtmlDelegate

    window = make_window(make_ctx([]))
    window.show()
    qtbot.waitExposed(window)
    sidebar = window.sidebar
    sized: list[int] = []
    real = _HtmlDelegate.sizeHint

    def counted(self: Any, option: Any, index: Any) -> Any:
        sized.append(index.row())
        return real(self, option, index)

    monkeypatch.setattr(_HtmlDelegate, "sizeHint", counted)
    hits = [SearchHit(i, i, "user", f"hit \x02{i}\x03 " + "word " * 30, "2026-12-01T10:00",
                      f"Title {i}", -1.0) for i in range(50)]
    sidebar._asked = 7
    sidebar._show_hits(7, "hit", hits)
    at_once = len(set(sized))
    assert sidebar.results_model.rowCount() == 50
    assert at_once < 20, at_once
    qtbot.waitUntil(lambda: len(set(sized)) == 50, timeout=3000)  # the rest, soon after
