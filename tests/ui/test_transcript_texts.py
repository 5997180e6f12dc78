"""A long transcript keeps its rows without their text, reading it from the store when shown."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from chatdesk.store import HistoryStore, StoreError
from chatdesk.ui import transcript_texts
from tests.ui.conftest import qt_warning_marks
from tests.ui.test_transcript import big_conversation, make_view

pytestmark = qt_warning_marks()


@pytest.fixture
def store(tmp_path: Any) -> Any:
    with HistoryStore.open(tmp_path / "history.db") as s:
        yield s


def with_text(view: Any) -> int:
    return sum(r.has_text() for r in view.tmodel.all_rows)


def test_opening_reads_the_text_of_the_rows_shown_only(qtbot: Any, store: HistoryStore) -> None:
    conv = big_conversation(store, 2000)
    view = make_view(qtbot, store)
    view.show_conversation(store.message_heads(conv))
    qtbot.wait(20)
    model = view.tmodel
    assert len(model.all_rows) == 2000
    assert model.row(model.rowCount() - 1).content.startswith("Message 1999:")
    assert 0 < with_text(view) <= transcript_texts.KEEP_ROWS
    assert not model.all_rows[0].has_text()


def test_paging_to_the_first_message_shows_its_text_and_lets_go_of_others(
        qtbot: Any, store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transcript_texts, "KEEP_ROWS", 200)
    conv = big_conversation(store, 1500)
    view = make_view(qtbot, store)
    view.show_conversation(store.message_heads(conv))
    model, bar = view.tmodel, view.verticalScrollBar()
    for _ in range(3000):
        if model.lo == 0 and bar.value() == 0:
            break
        view.page(-1)
        QApplication.processEvents()
        assert with_text(view) <= 200
    assert model.lo == 0 and bar.value() == 0
    top = view.indexAt(QPoint(view.viewport().width() // 2, 1))
    first = model.row(top.row())
    assert first is model.all_rows[0]
    assert first.content == store.message_texts([first.id])[first.id].content
    assert not model.all_rows[-1].has_text()  # read long ago: let go...
    assert model.all_rows[-1].content.startswith("Message 1499:")  # ...and read again
    view.copy_row(first)
    assert QGuiApplication.clipboard().text().startswith("Message 0:")


def test_the_live_answer_keeps_its_text(qtbot: Any, store: HistoryStore,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transcript_texts, "KEEP_ROWS", 40)
    conv = big_conversation(store, 400)
    view = make_view(qtbot, store)
    view.show_conversation(store.message_heads(conv))
    model = view.tmodel
    last = model.all_rows[-1]
    model.mark_live(last.id, "streamed so far")
    view.scroll_to_start()
    for row in model.all_rows[:200]:
        assert row.content  # read, page by page: the oldest are let go
    assert last.content == "streamed so far"


def test_a_text_that_cannot_be_read_is_asked_for_again(
        qtbot: Any, store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    conv = big_conversation(store, 1000)
    view = make_view(qtbot, store)
    view.show_conversation(store.message_heads(conv))
    row = view.tmodel.all_rows[0]  # far above the rows shown: not read yet
    assert not row.has_text()
    real = store.message_texts

    def busy(ids: Any) -> Any:
        raise StoreError("the history is busy")

    monkeypatch.setattr(store, "message_texts", busy)
    assert row.content == "" and not row.has_text()
    monkeypatch.setattr(store, "message_texts", real)
    assert row.content.startswith("Message 0:")


def test_rows_drawn_while_the_store_was_busy_are_drawn_again(
        qtbot: Any, store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    conv = big_conversation(store, 1000)
    view = make_view(qtbot, store)
    real = store.message_texts

    def busy(ids: Any) -> Any:
        raise StoreError("the history is busy")

    monkeypatch.setattr(store, "message_texts", busy)
    view.show_conversation(store.message_heads(conv))
    model = view.tmodel
    last = model.row(model.rowCount() - 1)
    before = last.version
    assert not last.has_text()  # drawn empty for now
    monkeypatch.setattr(store, "message_texts", real)
    qtbot.waitUntil(lambda: last.version > before, timeout=3000)
    # Drawn again: the repaint comes when Qt's loop gets to it (later on a loaded machine).
    qtbot.waitUntil(lambda: last.has_text() and view.delegate.has_document(last), timeout=3000)
