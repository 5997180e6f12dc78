"""Huge messages: a bounded first part, "Show all" as plain text part by part, whole copies."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from chatdesk.store import HistoryStore
from chatdesk.ui.bounds import (
    CELL_LIMIT,
    PLAIN_PAGE,
    PREVIEW_CHARS,
    PREVIEW_LINES,
    page_end,
    preview_cut,
)
from chatdesk.ui.transcript import TranscriptView
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()
QT_MAX_ROW = 32_767  # px: Qt's item views cut taller rows


@pytest.fixture
def store(tmp_path: Any) -> Any:
    with HistoryStore.open(tmp_path / "history.db") as s:
        yield s


def table(rows: int, cols: int) -> str:
    head = "| " + " | ".join(f"h{c}" for c in range(cols)) + " |\n|" + "---|" * cols + "\n"
    return head + "".join("| " + " | ".join(f"r{r}c{c}" for c in range(cols)) + " |\n"
                          for r in range(rows))


def huge_text(chars: int) -> str:
    para = "The quick brown fox jumps over the lazy dog. " * 10 + "\n\n"
    return ("# Start\n\n" + para * (chars // len(para) + 1))[:chars]


def open_with(qtbot: Any, store: HistoryStore, last: str,
              size: tuple[int, int] = (700, 500)) -> tuple[TranscriptView, int]:
    conv = store.create_conversation("Huge")
    store.add_message(conv.id, "user", "Give me everything")
    msg = store.add_message(conv.id, "assistant", last, provider="anthropic", model="m")
    view = TranscriptView(store)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.show_conversation(store.messages(conv.id))
    return view, msg.id


def links(doc: Any) -> list[str]:
    html = doc.toHtml()
    return [part.split('"', 1)[0] for part in html.split('href="')[1:]]


def test_bounds_of_the_first_part() -> None:
    assert preview_cut("short **text**\n" * 100) is None
    assert preview_cut(table(8, 20)) is None  # a table of 180 cells renders whole
    cut = preview_cut(table(3000, 20))
    assert cut is not None and table(3000, 20)[:cut].count("|") <= CELL_LIMIT
    assert table(3000, 20)[cut - 1] == "\n"  # whole rows: the part is still a table
    text = "line\n" * 10_000
    assert preview_cut(text) == PREVIEW_LINES * 5
    one_line = "word " * 10_000
    cut = preview_cut(one_line)
    assert cut is not None and cut <= PREVIEW_CHARS and one_line[cut - 1] == " "


def test_a_part_ends_within_its_lines_and_characters() -> None:
    text = "x" * 50 + "\n" + "word " * 100_000
    end = page_end(text, 0, per_line=100, max_lines=10)
    assert text[end - 1] in " \n" and end <= 10 * 100
    assert page_end("a\n" * 1_000_000, 0, 100, 100) == 200
    assert page_end("y" * 10 * PLAIN_PAGE, 0, 10**9, 10**9) == PLAIN_PAGE
    assert page_end("abc", 3, 10, 10) == 3


@pytest.mark.slow
def test_a_50_mb_message_renders_a_bounded_first_part_and_copies_whole(
        qtbot: Any, store: HistoryStore) -> None:
    content = huge_text(50_000_000)
    view, msg_id = open_with(qtbot, store, content)
    row_index = view.tmodel.row_of(msg_id)
    row = view.tmodel.row(row_index)
    doc = view.delegate.document_for(row, view.tmodel)
    assert doc.characterCount() < PREVIEW_CHARS + 1000
    assert "Start" in doc.toPlainText() and "Show all (50.0 MB)" in doc.toPlainText()
    assert "page:0" in links(doc)
    view.copy_row(row)
    assert QApplication.clipboard().text() == content
    view.setCurrentIndex(view.tmodel.index(row_index))
    view.copy_current()  # Ctrl+C without a selection: the whole message too
    assert len(QApplication.clipboard().text()) == len(content)
    QApplication.clipboard().clear()


def test_show_all_shows_plain_text_part_by_part(qtbot: Any, store: HistoryStore) -> None:
    content = huge_text(5_000_000)
    view, msg_id = open_with(qtbot, store, content, size=(420, 500))
    row_index = view.tmodel.row_of(msg_id)
    view.activate(("link", row_index, "page:0"))  # "Show all"
    row = view.tmodel.row(row_index)
    doc = view.delegate.document_for(row, view.tmodel)
    shown = doc.toPlainText()
    assert "# Start" in shown  # plain text: the markdown is not parsed
    assert doc.characterCount() < PLAIN_PAGE + 1000
    assert doc.size().height() < QT_MAX_ROW  # a narrow window too: the row is not cut
    nexts = [href for href in links(doc) if href.startswith("page:") and href != "page:0"
             and href != "page:-1"]
    assert nexts, "no link to the next part"
    start = int(nexts[0].split(":")[1])
    assert content[start - 200:start] in shown.replace("\u2029", "\n")
    view.activate(("link", row_index, nexts[0]))
    doc = view.delegate.document_for(view.tmodel.row(row_index), view.tmodel)
    assert content[start:start + 100] in doc.toPlainText()
    assert doc.size().height() < QT_MAX_ROW
    assert "page:-1" in links(doc)
    view.activate(("link", row_index, "page:-1"))  # "Show less": the first part again
    doc = view.delegate.document_for(view.tmodel.row(row_index), view.tmodel)
    assert "Show all" in doc.toPlainText() and doc.characterCount() < PREVIEW_CHARS + 1000


def test_a_huge_table_is_cut_to_its_first_rows(qtbot: Any, store: HistoryStore) -> None:
    view, msg_id = open_with(qtbot, store, table(3000, 20))
    doc = view.delegate.document_for(view.tmodel.row(view.tmodel.row_of(msg_id)), view.tmodel)
    cells = doc.toHtml().count("<td")
    assert 0 < cells <= CELL_LIMIT
    assert "Show all" in doc.toPlainText()
    view.viewport().repaint()  # painting the bounded part works (and stays bounded)


def test_a_normal_message_is_rendered_whole(qtbot: Any, store: HistoryStore) -> None:
    content = "Some **bold** text.\n\n" + table(5, 4) + "\n" + "more words " * 800
    view, msg_id = open_with(qtbot, store, content)
    doc = view.delegate.document_for(view.tmodel.row(view.tmodel.row_of(msg_id)), view.tmodel)
    assert "Show all" not in doc.toPlainText() and "more words" in doc.toPlainText()
    assert doc.toHtml().count("<td") == 6 * 4  # the header row too


def test_jumping_to_a_collapsed_message_says_so(qtbot: Any, store: HistoryStore) -> None:
    view, msg_id = open_with(qtbot, store, huge_text(100_000))
    said: list[str] = []
    view.status.connect(said.append)
    assert view.jump_to(msg_id)
    assert said and "Show all" in said[0]


def test_the_menu_of_a_huge_message_parses_only_its_first_part(
        qtbot: Any, store: HistoryStore) -> None:
    content = "```\nfirst\n```\n\n" + huge_text(100_000) + "\n\n```\nlate\n```\n"
    view, msg_id = open_with(qtbot, store, content)
    index = view.tmodel.index(view.tmodel.row_of(msg_id))
    view.activate(("link", index.row(), "page:0"))  # plain text shown: still the first part
    labels = [action.text() for action in view.menu_actions(index)]
    assert labels.count("Copy code block 1") == 1 and "Copy code block 2" not in labels
    assert "Copy message" in labels
