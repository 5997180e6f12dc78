"""A message's footer in the real window: versions in place, Branch from here, a refusal's
"Ask <next provider>", reasoning collapsed, usage, and the same by keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from chatdesk.store import MessageStatus
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.transcript_model import spoken_provenance
from tests.fakes.server import FakeProvider, Stream, Synth
from tests.ui.conftest import qt_warning_marks
from tests.ui.test_main_window import rows, send, wait_idle
from tests.wirefiles import WIRE_COPY

pytestmark = qt_warning_marks()


def buttons(window: MainWindow, row: int) -> dict[str, Any]:
    """The footer buttons of a view row: name → rectangle in the viewport."""
    view = window.transcript
    view.scrollTo(view.tmodel.index(row))
    for _ in range(3):  # painted rows tell their real heights: let the layout settle
        view.viewport().repaint()
        QApplication.processEvents()
    rect = view.visualRect(view.tmodel.index(row))
    return dict(view.delegate.link_rects(rect, view.tmodel.actions(row), view.footer_font(),
                                         view.tmodel.row(row), view.tmodel))


def click(qtbot: Any, window: MainWindow, row: int, name: str) -> None:
    area = buttons(window, row)[name]
    qtbot.mouseClick(window.transcript.viewport(), Qt.MouseButton.LeftButton, pos=area.center())


def doc_text(window: MainWindow, row: int) -> str:
    view = window.transcript
    return view.delegate.document(view.tmodel.index(row)).toPlainText()


def test_regenerate_keeps_versions_you_can_step_through_in_place(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth(["One."]), Synth(["Two."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    send(qtbot, window, "count")
    wait_idle(qtbot, window)
    assert rows(window)[0].versions is None
    assert "prev" not in window.transcript.tmodel.actions(0)

    window.regenerate()
    wait_idle(qtbot, window)
    assert [r.content for r in rows(window)] == ["count", "Two."]
    question = rows(window)[0]
    assert question.versions is not None and question.versions.label == "2/2"
    assert window.transcript.tmodel.actions(0)[-2:] == ["prev", "next"]
    assert "version 2 of 2" in spoken_provenance(question)

    click(qtbot, window, 0, "prev")  # ‹ : the first exchange comes back, nothing deleted
    qtbot.waitUntil(lambda: [r.content for r in rows(window)] == ["count", "One."])
    assert rows(window)[0].versions.label == "1/2"
    conv = window.controller.conversation_id
    everything = ctx.store.messages(conv, include_alternates=True)
    assert sorted(m.content for m in everything) == ["One.", "Two.", "count", "count"]

    messages: list[str] = []
    window.transcript.status.connect(messages.append)
    window.transcript.setFocus()
    window.transcript.setCurrentIndex(window.transcript.tmodel.index(0))
    qtbot.keyClick(window.transcript, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert messages[-1] == "This is the first version."  # nothing before the first
    qtbot.keyClick(window.transcript, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: [r.content for r in rows(window)] == ["count", "Two."])
    assert rows(window)[0].versions.label == "2/2"


def test_tab_walks_a_messages_buttons_and_enter_presses_one(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth(["An answer."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    send(qtbot, window, "question")
    wait_idle(qtbot, window)
    view = window.transcript
    view.setFocus()
    view.setCurrentIndex(view.tmodel.index(1))
    said: list[str] = []
    view.status.connect(said.append)
    for expected in ("copy", "regenerate", "branch"):
        qtbot.keyClick(view, Qt.Key.Key_Tab)
        assert view.delegate.focus_button == (rows(window)[1].id, expected)
        assert QApplication.focusWidget() is view
    assert said[-1].startswith("Branch from here")  # the button's name, for the keyboard user
    qtbot.keyClick(view, Qt.Key.Key_Tab)  # past the last button: focus moves on
    assert view.delegate.focus_button is None and QApplication.focusWidget() is not view

    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    assert view.delegate.focus_button == (rows(window)[1].id, "copy")
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert QApplication.clipboard().text() == "An answer."
    qtbot.keyClick(view, Qt.Key.Key_Up)  # another message: the button focus is gone
    assert view.delegate.focus_button is None


def test_branch_from_here_opens_a_copy_up_to_that_message(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth(["First answer."]), Synth(["Second answer."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    send(qtbot, window, "first")
    wait_idle(qtbot, window)
    send(qtbot, window, "second")
    wait_idle(qtbot, window)
    original = window.controller.conversation_id
    click(qtbot, window, 1, "branch")
    branch = window.controller.conversation_id
    assert branch != original
    assert [r.content for r in rows(window)] == ["first", "First answer."]
    assert window.windowTitle().startswith(ctx.store.get_conversation(branch).title)
    assert "(branch)" in ctx.store.get_conversation(branch).title
    assert [m.content for m in ctx.store.messages(original)] == [
        "first", "First answer.", "second", "Second answer."]
    assert window.sidebar.model.row_of(branch) >= 0  # it is in the list


def test_a_refusal_shows_its_reply_and_asks_the_next_provider_on_request(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    refusal = (WIRE_COPY / "sdk" / "anthropic" / "thinking_then_refusal.sse").read_bytes()
    fake_anthropic.script(Stream(refusal))
    fake_openai.script(Synth(["An eclipse is the Moon's shadow."]))
    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
    window = make_window(ctx)
    send(qtbot, window, "What is a solar eclipse?")
    wait_idle(qtbot, window)
    answer = rows(window)[1]
    assert answer.status == MessageStatus.REFUSED and fake_openai.requests == []
    view = window.transcript
    assert "declined to answer" in view.delegate.header_text(answer)
    text = doc_text(window, 1)
    assert "Anthropic declined to answer" in text and "Hi" in text
    # The thinking is there, collapsed: one line, not its text.
    assert "▸ Thought process" in text and "Simple educational question" not in text
    view.tmodel.toggle_reasoning(1)
    assert "Simple educational question" in doc_text(window, 1)
    assert "reasoning" not in spoken_provenance(answer)

    assert "ask-other" in view.tmodel.actions(1)
    assert view.delegate.button_label("ask-other", answer, view.tmodel) == "Ask OpenAI"
    click(qtbot, window, 1, "ask-other")
    wait_idle(qtbot, window)
    assert len(fake_openai.requests) == 1
    assert [r.content for r in rows(window)] == ["What is a solar eclipse?",
                                                 "An eclipse is the Moon's shadow."]
    assert rows(window)[1].provider == "openai"
    assert rows(window)[0].versions is not None  # the refused exchange is kept as a version


def test_an_answer_shows_its_tokens_and_time_quietly(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth(["Three", " small", " words."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    send(qtbot, window, "hello")
    wait_idle(qtbot, window)
    view = window.transcript
    view.delegate.document(view.tmodel.index(1))  # read with its attempts, as when shown
    answer = rows(window)[1]
    footer = view.delegate.footer_text(answer)
    assert footer.startswith("10 → 3 tokens · ") and footer.endswith(" s")
    assert "10 tokens in, 3 out" in spoken_provenance(answer)
    assert view.delegate.footer_text(rows(window)[0]) == ""  # your message: no usage


def test_a_buttons_tooltip_names_it_and_its_shortcut(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QToolTip

    fake_anthropic.script(Synth(["Answer."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    send(qtbot, window, "hi")
    wait_idle(qtbot, window)
    view = window.transcript
    area = buttons(window, 1)["regenerate"]
    port = view.viewport()
    event = QHelpEvent(QHelpEvent.Type.ToolTip, area.center(), port.mapToGlobal(area.center()))
    QApplication.sendEvent(port, event)
    qtbot.waitUntil(QToolTip.isVisible, timeout=2000)
    assert QToolTip.text() == "Ask again for this answer (Ctrl+R)"
    QToolTip.hideText()
    assert view.delegate.column_rect(view.visualRect(view.tmodel.index(1))).contains(
        area.topLeft() - QPoint(0, 30))  # under the answer's text, inside its column


def test_an_answer_shows_what_it_cost_when_its_price_is_known(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        data_dir: Any) -> None:
    from chatdesk.context import AppContext

    fake_anthropic.script(Synth(["Three", " small", " words."]))
    make_ctx([("anthropic", fake_anthropic)])
    settings = data_dir / "settings.toml"  # the fake's entry priced: $3 in, $15 out per M
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        'type = "anthropic"', 'type = "anthropic"\nprice_input = 3.0\nprice_output = 15.0'),
        encoding="utf-8")
    ctx = AppContext.create(str(data_dir), warn=False)
    window = make_window(ctx)
    send(qtbot, window, "hello")
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: rows(window)[1].cost_usd is not None)
    answer = rows(window)[1]
    assert answer.cost_usd == pytest.approx(10 * 3.0 / 1e6 + 3 * 15.0 / 1e6)  # 10 in, 3 out
    assert window.transcript.delegate.footer_text(answer).endswith(" · $0.0001")
    assert "0.0001 dollars" in spoken_provenance(answer)
    window.open_conversation(window.controller.conversation_id)  # read again from the store
    qtbot.waitUntil(lambda: rows(window)[1].cost_usd == answer.cost_usd)  # after the paint
    ctx.close()
