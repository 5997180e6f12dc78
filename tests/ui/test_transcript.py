"""The transcript model/view: lazy rendering, live updates of one row, notices, safe documents."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication

from chatdesk import events as ev
from chatdesk.store import Attempt, HistoryStore
from chatdesk.ui.delegate import SafeDocument
from chatdesk.ui.transcript import GROW_ROWS, MAX_WINDOW, TranscriptView, open_link
from chatdesk.ui.transcript_model import (
    LIVE_REFRESH_MS,
    WINDOW,
    TranscriptModel,
    display_name,
    notices_from_attempts,
)
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


@pytest.fixture
def store(tmp_path: Any) -> Any:
    with HistoryStore.open(tmp_path / "history.db") as s:
        yield s


def big_conversation(store: HistoryStore, n: int) -> int:
    conv = store.create_conversation("Long")
    with store.transaction():
        for i in range(n):
            role = "user" if i % 2 == 0 else "assistant"
            text = f"Message {i}: " + ("some **markdown** text " * (1 + i % 7))
            if i % 50 == 1:
                text += f"\n\n```python\nprint('block {i}')\n```\n"
            store.add_message(conv.id, role, text, provider="anthropic" if role != "user"
                              else None, model="m" if role != "user" else None)
    return conv.id


def make_view(qtbot: Any, store: HistoryStore, size: tuple[int, int] = (700, 500)) -> Any:
    view = TranscriptView(store)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_a_5000_message_conversation_opens_without_rendering_it_all(
        qtbot: Any, store: HistoryStore) -> None:
    conv = big_conversation(store, 5000)
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv))
    qtbot.wait(50)
    model = view.tmodel
    assert len(model.all_rows) == 5000
    assert model.rowCount() == WINDOW and model.at_end  # the view sees the newest rows
    assert model.row(WINDOW - 1).content.startswith("Message 4999:")
    # Only rows near the bottom were rendered, not thousands.
    assert 0 < view.delegate.renders < 100
    assert view.delegate.cached_count() < 100
    last = model.index(model.rowCount() - 1)
    assert view.viewport().rect().intersects(view.visualRect(last))  # opens at the end


def test_scrolling_up_grows_the_window_and_keeps_the_place(
        qtbot: Any, store: HistoryStore) -> None:
    conv = big_conversation(store, 2000)
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv))
    model = view.tmodel
    lo_before = model.lo
    view.verticalScrollBar().setValue(5)
    qtbot.wait(20)
    top = view.indexAt(QPoint(view.viewport().width() // 2, 1))
    top_id, top_y = model.row(top.row()).id, view.visualRect(top).top()
    qtbot.waitUntil(lambda: model.lo < lo_before, timeout=2000)
    qtbot.wait(50)
    assert model.lo == lo_before - GROW_ROWS
    row = model.row_of(top_id)
    assert row >= GROW_ROWS  # rows were added above it…
    assert abs(view.visualRect(model.index(row)).top() - top_y) <= 2  # …and it did not move
    # Scrolling on and on never lets the window grow past its cap.
    for _ in range(12):
        view.verticalScrollBar().setValue(5)
        qtbot.wait(30)
    assert model.rowCount() <= MAX_WINDOW and model.lo < lo_before - 4 * GROW_ROWS
    # Sending shows the end again.
    view.scroll_to_end()
    assert model.at_end and view.verticalScrollBar().value() == view.verticalScrollBar().maximum()


def test_jumping_far_up_renders_only_around_the_target(qtbot: Any, store: HistoryStore) -> None:
    conv = big_conversation(store, 3000)
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv))
    target = view.tmodel.all_rows[1200]
    assert view.tmodel.row_of(target.id) == -1  # far outside the window
    assert view.jump_to(target.id)
    qtbot.wait(100)
    row = view.tmodel.row_of(target.id)
    index = view.tmodel.index(row)
    assert view.currentIndex().row() == row
    assert view.viewport().rect().intersects(view.visualRect(index))
    assert view.delegate.renders < 150


def test_width_changes_relayout_cached_documents(qtbot: Any, store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "word " * 400)
    view = make_view(qtbot, store, (900, 500))
    view.show_conversation(store.messages(conv.id))
    qtbot.wait(30)
    row = view.tmodel.rows[0]
    wide = view.delegate.row_height(row, view.tmodel)
    renders = view.delegate.renders
    view.resize(450, 500)
    qtbot.wait(30)
    narrow = view.delegate.row_height(row, view.tmodel)
    assert narrow > wide
    assert view.delegate.renders == renders  # re-laid out, not re-rendered
    # Your message's bubble is at most 85 % of the column.
    assert view.delegate.document_for(row).textWidth() == view.delegate.user_text_width()
    assert view.delegate.user_text_width() < 0.86 * view.delegate.text_width()


def test_streaming_updates_only_the_live_row_and_at_most_every_50_ms(
        qtbot: Any, store: HistoryStore) -> None:
    conv = store.create_conversation()
    for i in range(10):
        store.add_message(conv.id, "user" if i % 2 == 0 else "assistant", f"m{i}")
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv.id))
    model: TranscriptModel = view.tmodel
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    model.begin_answer(ev.AttemptStarted("anthropic", "m", 1, 999))
    assert model.rowCount() == 11 and model.live_row is not None
    changed.clear()
    for i in range(200):
        model.append_text(f"t{i} ")
    assert changed == []  # nothing re-rendered synchronously per chunk
    qtbot.wait(LIVE_REFRESH_MS * 3)
    assert changed and set(changed) == {(10, 10)}
    assert len(changed) <= 2
    assert model.rows[10].content.startswith("t0 t1") and "t199" in model.rows[10].content
    model.restart_text()
    assert model.rows[10].content == ""


def test_a_long_answer_is_drawn_part_by_part_and_finished_in_place(
        qtbot: Any, store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "show me")
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv.id))
    model: TranscriptModel = view.tmodel
    model.refresh_interval = lambda: 0  # show each piece at once
    model.begin_answer(ev.AttemptStarted("anthropic", "m", 1, 999))
    pieces = [f"Paragraph {i} says something.\n\n" for i in range(40)]
    shown = [f"Paragraph {i} says something." for i in range(40)]
    pieces[10], shown[10] = "```python\nprint('one')\n\nprint('two')\n```\n\n", "print('two')"
    pieces[30], shown[30] = "```sh\necho three\n```\n\n", "echo three"
    docs = set()
    for piece, last in zip(pieces, shown, strict=True):
        model.append_text(piece)
        qtbot.wait(2)
        row = model.live_row
        assert row is not None
        doc = view.delegate.document_for(row, model)
        docs.add(id(doc))
        assert last in doc.toPlainText()
    assert len(docs) == 1  # one document, changed in place
    text = doc.toPlainText()
    assert "answering…" in text and "Paragraph 39" in text and "print('two')" in text
    links = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            href = it.fragment().charFormat().anchorHref()
            if href.startswith("copy:") and href not in links:
                links.append(href)
            it += 1
        block = block.next()
    assert links == ["copy:0", "copy:1"]  # numbered across the parts, as the whole would be

    model.end_live()
    row = model.rows[-1]
    final = view.delegate.document_for(row, model)
    assert final is doc and "answering…" not in final.toPlainText()
    assert final.toPlainText().count("Paragraph") == 38

    model.begin_answer(ev.AttemptStarted("anthropic", "m", 2, 1000))
    model.append_text("A second answer.\n\nWith two parts.")
    qtbot.wait(2)
    second = view.delegate.document_for(model.live_row, model)
    assert second is not doc and "Paragraph" not in second.toPlainText()


def test_failover_notices_from_attempts() -> None:
    def attempt(i: int, provider: str, outcome: str, **kw: Any) -> Attempt:
        base = dict(id=i, message_id=1, provider=provider, model=kw.pop("model", "m"),
                    started_at="", ended_at=None, outcome=outcome, error_class=None,
                    error_message=None, http_status=None, streamed_text="",
                    continued_from=None)
        base.update(kw)
        return Attempt(**base)

    notices = notices_from_attempts([
        attempt(1, "anthropic", "failed", error_class="overloaded", http_status=529),
        attempt(2, "openai", "ok", model="gpt-4o"),
    ])
    assert [n.text for n in notices] == ["Anthropic overloaded (529) — answered by OpenAI gpt-4o"]
    notices = notices_from_attempts([
        attempt(1, "anthropic", "failed", error_class="stall_timeout",
                streamed_text="The tides are"),
        attempt(2, "anthropic-2", "ok", continued_from=1),
    ])
    # The error class in the same words as the CLI's failover lines (chatdesk.wording).
    assert notices[0].text == ("Anthropic stalled after 3 words — Anthropic-2 m "
                               "continued the answer")
    assert notices[0].detail == "The tides are"
    notices = notices_from_attempts([attempt(1, "mine", "failed", error_class="server_error")])
    assert notices[0].text == "mine server error — no other provider could answer"
    # The same provider's next key of a pool: both keys named by fingerprint.
    notices = notices_from_attempts([
        attempt(1, "anthropic", "failed", error_class="rate_limited", http_status=429,
                key_fingerprint="sk-…3f9a"),
        attempt(2, "anthropic", "ok", key_fingerprint="sk-…91c2"),
    ])
    assert [n.text for n in notices] == [
        "Anthropic key sk-…3f9a rate-limited (429) — trying key sk-…91c2"]
    assert display_name("openrouter") == "OpenRouter" and display_name(None) == "assistant"


def test_documents_never_load_resources(qtbot: Any) -> None:
    doc = SafeDocument()
    doc.setHtml("<p>x<img src='https://example.com/t.png'></p>")
    assert doc.loadResource(QTextDocument.ResourceType.ImageResource,
                            QUrl("https://example.com/t.png")) is None


def test_open_link_refuses_everything_but_web_and_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtGui import QDesktopServices

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toString()) or True))
    assert open_link("https://example.com/a")
    assert open_link("mailto:someone@example.com")
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "copy:0", "toggle:3",
                "data:text/html,hi", "ftp://example.com/x"):
        assert not open_link(bad)
    assert opened == ["https://example.com/a", "mailto:someone@example.com"]


def test_hover_links_and_context_menu_actions(qtbot: Any, store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "question")
    store.add_message(conv.id, "assistant", "answer\n\n```\ncode\n```", provider="p", model="m")
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv.id))
    assert view.tmodel.actions(0) == ["copy", "edit", "branch"]
    assert view.tmodel.actions(1) == ["copy", "regenerate", "branch"]
    view.tmodel.set_busy(True)
    assert view.tmodel.actions(1) == ["copy"]
    view.tmodel.set_busy(False)
    labels = [a.text() for a in view.menu_actions(view.tmodel.index(1))]
    assert labels == ["Copy message", "Copy code block 1", "Regenerate answer",
                      "Branch from here"]
    requested: list[tuple[str, int]] = []
    view.actionRequested.connect(lambda name, mid: requested.append((name, mid)))
    rect = view.visualRect(view.tmodel.index(1))
    buttons = dict(view.delegate.link_rects(rect, view.tmodel.actions(1), view.footer_font(),
                                            view.tmodel.rows[1], view.tmodel))
    assert list(buttons) == ["copy", "regenerate", "branch"]
    assert all(rect.contains(area) for area in buttons.values())  # in the row's footer
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=buttons["regenerate"].center())
    assert requested == [("regenerate", view.tmodel.rows[1].id)]


def _text_point(view: Any, row: int, block: int, x_fraction: float) -> QPoint:
    """A point on the text of a row's document: block number, fraction of its width."""
    index = view.tmodel.index(row)
    doc = view.delegate.document(index)
    rect = doc.documentLayout().blockBoundingRect(doc.findBlockByNumber(block))
    origin = view.delegate.doc_origin(view.visualRect(index), view.tmodel.row(index.row()))
    return origin + QPoint(int(rect.left() + rect.width() * x_fraction), int(rect.center().y()))


def test_text_in_a_message_can_be_selected_and_copied(qtbot: Any, store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "first words")
    store.add_message(conv.id, "assistant", "Tides rise and fall twice a day", provider="x",
                      model="m")
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv.id))
    qtbot.wait(20)
    port = view.viewport()
    start, end = _text_point(view, 1, 1, 0.0), _text_point(view, 1, 1, 0.99)
    qtbot.mousePress(port, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(port, pos=(start + end) / 2)
    qtbot.mouseMove(port, pos=end)
    qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, pos=end)
    assert view.selected_text() == "Tides rise and fall twice a day"
    view.setFocus()
    QApplication.clipboard().clear()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "Tides rise and fall twice a day"
    actions = [a.text() for a in view.menu_actions(view.tmodel.index(1))]
    assert actions[:2] == ["Copy selection", "Copy message"]

    # A double click takes a word; a plain click clears, and Ctrl+C copies the message.
    word = _text_point(view, 1, 1, 0.03)
    qtbot.mouseDClick(port, Qt.MouseButton.LeftButton, pos=word)
    assert view.selected_text() == "Tides"
    qtbot.mouseClick(port, Qt.MouseButton.LeftButton, pos=_text_point(view, 0, 1, 0.5))
    assert view.selected_text() == ""
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "first words"

    view.show_conversation([])
    assert view.delegate.selection is None


def test_an_answer_to_an_earlier_pending_message_is_shown_before_the_next_question(
        qtbot: Any, store: HistoryStore) -> None:
    conv = store.create_conversation()
    a = store.add_message(conv.id, "user", "Question A", status="pending")
    b = store.add_message(conv.id, "user", "Question B", status="pending")
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv.id))
    model: TranscriptModel = view.tmodel

    model.mark_sending(a.id)  # the retry sends A first
    model.begin_answer(ev.AttemptStarted("anthropic", "m", 1, 999))
    model.append_text("Answer A.")
    model.end_live()
    assert [r.id for r in model.rows] == [a.id, 999, b.id]

    model.mark_sending(b.id)
    model.begin_answer(ev.AttemptStarted("anthropic", "m", 2, 1000))
    assert [r.id for r in model.rows] == [a.id, 999, b.id, 1000]
    assert model.live_row is not None and model.live_row.id == 1000


def test_a_key_switch_names_both_keys_in_the_live_notice(
        qtbot: Any, store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "hello")
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv.id))
    model: TranscriptModel = view.tmodel
    model.begin_answer(ev.AttemptStarted("anthropic", "m", 1, 999))
    model.add_failure(ev.AttemptFailed("anthropic", "m", "rate_limited", "slow down", 429, ""))
    why = "Anthropic key sk-…3f9a rate-limited (429)"
    model.note_switch(ev.Switched("anthropic", "anthropic", why, False,
                                  from_key="sk-…3f9a", to_key="sk-…91c2"))
    row = model.live_row
    assert row is not None and row.notices is not None
    assert [n.text for n in row.notices] == [
        "Anthropic key sk-…3f9a rate-limited (429) — trying key sk-…91c2…"]


def top_message(view: Any) -> str:
    index = view.indexAt(QPoint(view.viewport().width() // 2, 1))
    assert index.isValid()
    return str(view.tmodel.row(index.row()).content.split(":")[0])


def test_page_keys_reach_the_first_message_of_a_5000_message_conversation(
        qtbot: Any, store: HistoryStore) -> None:
    conv = big_conversation(store, 5000)
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv))
    view.setFocus()
    qtbot.wait(20)
    bar = view.verticalScrollBar()
    seen = []
    model = view.tmodel
    for _ in range(6000):  # each page shows new messages: never stuck at one place
        before = (model.lo, bar.value())
        top = view.indexAt(QPoint(view.viewport().width() // 2, 1))
        top_id = model.row(top.row()).id
        qtbot.keyClick(view, Qt.Key.Key_PageUp)
        seen.append(top_message(view))
        if seen[-1] == "Message 0" and bar.value() == 0:
            break
        assert (model.lo, bar.value()) != before, f"PageUp stuck at {seen[-1]}"
        # A page keeps a little of the last one in sight: no message is skipped over.
        kept = view.visualRect(model.index(model.row_of(top_id)))
        assert view.viewport().rect().intersects(kept), f"skipped past {seen[-2:]}"
    assert seen[-1] == "Message 0" and model.lo == 0
    numbers = [int(t.split()[1]) for t in seen]
    assert numbers == sorted(numbers, reverse=True)  # always upwards

    qtbot.keyClick(view, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert view.tmodel.at_end and bar.value() == bar.maximum()
    assert top_message(view) != "Message 0"
    qtbot.keyClick(view, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert top_message(view) == "Message 0" and bar.value() == 0
    for _ in range(3):
        qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert int(top_message(view).split()[1]) > 0
    assert view.tmodel.rowCount() <= MAX_WINDOW


def test_paging_through_a_long_conversation_keeps_few_documents_and_rows_in_place(
        qtbot: Any, store: HistoryStore) -> None:
    """Issue 18: documents are kept for the rows painted last only (each is ~50-100 KB), and
    a row whose document was let go keeps its measured height, so nothing moves."""
    from chatdesk.ui.delegate import CACHE_SIZE

    conv = big_conversation(store, 600)
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv))
    qtbot.wait(20)
    model, delegate = view.tmodel, view.delegate
    first = model.row(model.rowCount() - 1)
    real = delegate.row_height(first, model)
    for _ in range(80):
        view.page(-1)
        QApplication.processEvents()
    assert delegate.cached_count() <= CACHE_SIZE
    assert not delegate.has_document(first)  # scrolled far away: let go
    assert delegate.row_height(first, model) == real  # ...but measured as it was
    view.scroll_to_start()
    QApplication.processEvents()
    assert delegate.cached_count() <= CACHE_SIZE


def test_opening_another_conversation_lets_the_documents_of_the_last_go(
        qtbot: Any, store: HistoryStore) -> None:
    first, second = big_conversation(store, 300), big_conversation(store, 4)
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(first))
    qtbot.wait(20)
    assert view.delegate.cached_count() > 4
    view.show_conversation(store.messages(second))
    assert view.delegate.cached_count() == 4  # only the new conversation's rows


def _colours_of(doc: QTextDocument, text: str) -> set[str]:
    """The text colours of the fragments that hold some of `text`."""
    found = set()
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.text().strip() and fragment.text().strip() in text:
                found.add(fragment.charFormat().foreground().color().name())
            it += 1
        block = block.next()
    return found


def _look(doc: QTextDocument) -> list[tuple[Any, ...]]:
    """What a document shows: its blocks' margins and text runs with their colour, weight
    and font, without the zero-width spaces that part a live document (how many parts
    there were depends on when it was refreshed)."""
    shown = []
    block = doc.begin()
    while block.isValid():
        fmt = block.blockFormat()
        runs = []
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            text = fragment.text().replace("\u200b", "")
            if text:
                char = fragment.charFormat()
                runs.append((text, char.foreground().color().name(), char.fontWeight(),
                             char.fontFixedPitch(), char.anchorHref()))
            it += 1
        shown.append((fmt.topMargin(), fmt.bottomMargin(), fmt.leftMargin(),
                       block.textList() is not None, runs))
        block = block.next()
    return shown


@pytest.mark.parametrize("slow_worker", [False, True])
def test_a_code_block_being_written_is_plain_until_closed_and_the_answer_ends_as_before(
        qtbot: Any, store: HistoryStore, monkeypatch: pytest.MonkeyPatch,
        slow_worker: bool) -> None:
    from chatdesk.ui import lexers, render
    from chatdesk.ui.delegate import _LiveDocument
    from tests.ui.conftest import wait_for_lexer

    wait_for_lexer("python")
    if slow_worker:  # each block's highlighting is there only at its third refresh
        asked: dict[str, int] = {}
        real = render._highlighted

        def slow(code: str, language: str, dark: bool, wait: bool = True) -> str | None:
            asked[code] = asked.get(code, 0) + 1
            return None if not wait and asked[code] < 3 else real(code, language, dark, wait)

        monkeypatch.setattr(render, "_highlighted", slow)
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "show me")
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv.id))
    model: TranscriptModel = view.tmodel
    model.refresh_interval = lambda: 0
    model.begin_answer(ev.AttemptStarted("anthropic", "m", 1, 999))
    code = "def f(x):\n    return x + 1  # one more\n"
    pieces = ["Here:\n\n", "```python\n", *code.splitlines(keepends=True), "```\n",
              "\n", "After the code.\n\n", "- a list\n\n", "```python\nprint(", "'open')"]
    shown: list[str] = []
    for piece in pieces:
        model.append_text(piece)
        qtbot.wait(2)
        assert model.live_row is not None
        doc = view.delegate.document_for(model.live_row, model)
        shown.append(doc.toPlainText())
        if piece == "    return x + 1  # one more\n":  # open: one colour
            assert len(_colours_of(doc, code)) == 1
    lexers.later(lambda: None).result()  # what the worker was asked for is made
    model.append_text("")
    qtbot.wait(2)
    doc = view.delegate.document_for(model.live_row, model)
    assert len(_colours_of(doc, code)) > 1  # closed: highlighted
    assert len(_colours_of(doc, "print('open')")) == 1  # still open: plain
    # Nothing lost or reordered while it streamed: each view holds the lines so far, in order.
    for upto, text in enumerate(shown, 1):
        at = 0
        for line in "".join(pieces[:upto]).splitlines():
            if line.strip() and not line.startswith("```"):
                at = text.index(line.lstrip("- "), at) + len(line.lstrip("- "))
    model.end_live()
    final = view.delegate.document_for(model.rows[-1], model)
    assert final is doc and len(_colours_of(final, "print('open')")) > 1  # at the end: all
    # The finished document shows what the same refreshes showed before live parts existed.
    content = "".join(pieces)
    before = _LiveDocument(view.delegate._new_document(), False, "")
    before.doc.setHtml(view.delegate.head_html(model.rows[-1], []))
    for upto in range(1, len(pieces) + 1):
        before.update("".join(pieces[:upto]), final=True)
    before.finish(content, view.delegate.header_html(model.rows[-1]))
    # (An empty block's margins depend on where the parts were cut, i.e. on when refreshes
    # came, as they did before: only the blocks that show text are compared.)
    assert [b for b in _look(before.doc) if b[-1]] == [b for b in _look(final) if b[-1]]
    assert before.doc.toPlainText().replace("\u200b", "") == \
        final.toPlainText().replace("\u200b", "")


def test_each_refresh_of_a_growing_answer_paints_the_view_once(
        qtbot: Any, store: HistoryStore) -> None:
    from PySide6.QtCore import QEvent, QObject

    class Paints(QObject):
        count = 0

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint:
                Paints.count += 1
            return False

    conv = store.create_conversation()
    store.add_message(conv.id, "user", "show me")
    view = make_view(qtbot, store)
    view.show_conversation(store.messages(conv.id))
    model: TranscriptModel = view.tmodel
    model.begin_answer(ev.AttemptStarted("anthropic", "m", 1, 999))
    model.append_text("First words.\n\n")
    qtbot.wait(LIVE_REFRESH_MS * 3)
    paints = Paints()
    view.viewport().installEventFilter(paints)
    renders = view.delegate.renders
    for i in range(10):  # each piece a new paragraph: the row grows every time
        model.append_text(f"Paragraph {i} " + "says something more. " * 8 + "\n\n")
        qtbot.wait(LIVE_REFRESH_MS * 3)
    refreshes = view.delegate.renders - renders
    assert refreshes >= 8
    # Measured when laid out, not when painted: no second paint once the paint found it taller.
    assert Paints.count <= refreshes + 2, (Paints.count, refreshes)
