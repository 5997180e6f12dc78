"""All providers down in the window: the pending message says why, when it is tried next and
offers "Send now"; the late answer's provenance says who answered after whom; skipped
providers get a notice; the provider picker follows the conversation."""

from __future__ import annotations

import re
from typing import Any

from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.transcript_model import MessageRow
from tests.fakes.server import ErrorResponse, FakeProvider, Synth
from tests.ui.conftest import qt_warning_marks
from tests.ui.test_main_window import rows, send, wait_idle

pytestmark = qt_warning_marks()
NEXT_TRY = re.compile(r"Next try in (\d+):(\d\d) — when (Anthropic|OpenAI)'s cooldown ends")


def doc_text(window: MainWindow, row: MessageRow) -> str:
    return window.transcript.delegate.document_for(row, window.transcript.tmodel).toPlainText()


def click_link(qtbot: Any, window: MainWindow, row: int, label: str) -> None:
    """Click the middle of a link's text in a transcript row, as a user would."""
    from PySide6.QtCore import QPoint, Qt

    view = window.transcript
    index = view.tmodel.index(row)
    view.scrollTo(index)
    doc = view.delegate.document(index)
    cursor = doc.find(label)
    assert not cursor.isNull(), f"no {label!r} in the row"
    block = cursor.block()
    line = block.layout().lineForTextPosition(cursor.selectionStart() - block.position())
    x = (line.cursorToX(cursor.selectionStart() - block.position())[0]
         + line.cursorToX(cursor.selectionEnd() - block.position())[0]) / 2
    top = doc.documentLayout().blockBoundingRect(block).top() + line.y() + line.height() / 2
    origin = view.delegate.doc_origin(view.visualRect(index), view.tmodel.row(index.row()))
    pos = origin + QPoint(int(x), int(top))
    assert view.delegate.anchor_at(index, view.visualRect(index), pos), "not on the link"
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def all_down(qtbot: Any, make_ctx: Any, make_window: Any, anthropic: FakeProvider,
             openai: FakeProvider, **window: Any) -> tuple[Any, MainWindow]:
    anthropic.script(ErrorResponse(529))
    openai.script(ErrorResponse(503))
    ctx = make_ctx([("anthropic", anthropic), ("openai", openai)], cooldown_s=60)
    win = make_window(ctx, **window)
    send(qtbot, win, "Where is the nearest train station?")
    wait_idle(qtbot, win)
    qtbot.waitUntil(lambda: bool(rows(win)[0].pending_note), timeout=5000)
    return ctx, win


def test_all_down_shows_why_the_next_try_and_send_now(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    ctx, window = all_down(qtbot, make_ctx, make_window, fake_anthropic, fake_openai)
    user = rows(window)[0]
    assert user.pending and not window.statusBar().currentMessage()  # nothing that vanishes
    text = doc_text(window, user)
    assert "Anthropic" in user.pending_reason or "anthropic" in user.pending_reason
    assert "Not answered yet" in text and "Send now" in text
    assert text.index("Where is the nearest") < text.index("Send now")  # under the message
    match = NEXT_TRY.search(user.pending_note)
    assert match, user.pending_note
    assert 50 <= int(match[1]) * 60 + int(match[2]) <= 60
    # The countdown counts down (the model's clock, moved on 20 s).
    model = window.transcript.tmodel
    real = model.clock
    model.clock = lambda: real() + 20
    model.tick()
    later = NEXT_TRY.search(rows(window)[0].pending_note)
    assert later and int(later[1]) * 60 + int(later[2]) <= 40
    assert window.transcript._tick.isActive()  # it ticks by itself too
    # Until a provider answers, the "Not answered" row stays under the message.
    assert rows(window)[1].provider is None and rows(window)[1].status == "failed"


def test_send_now_answers_at_once_and_the_not_answered_row_folds_into_the_provenance(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    ctx, window = all_down(qtbot, make_ctx, make_window, fake_anthropic, fake_openai)
    assert not window.controller.retry_pending_if_ready()  # both still cooling down
    fake_anthropic.script(ErrorResponse(529))
    fake_openai.script(Synth(["The station is ", "two streets away."]))
    user = rows(window)[0]
    qtbot.wait(1100)  # the provenance says how much later it was answered: let a second pass
    assert user.pending
    click_link(qtbot, window, 0, "Send now")
    wait_idle(qtbot, window)
    assert len(fake_openai.requests) == 2  # tried although its cooldown had not ended
    shown = rows(window)
    assert [(r.role, r.provider) for r in shown] == [("user", None), ("assistant", "openai")]
    assert shown[0].status == "complete" and not shown[0].pending_note
    answer = shown[1]
    notices = window.transcript.tmodel.notices(answer)
    provenance = [n.text for n in notices if n.kind == "provenance"]
    assert len(provenance) == 1
    assert re.fullmatch(r"Answered by OpenAI \(gpt-test\) after Anthropic and OpenAI were "
                        r"down — \d+ s later", provenance[0]), provenance
    # The failed tries stay visible, inside the answer (a click shows what each wrote).
    assert [n.text for n in notices if n.text.endswith("an earlier try")] == [
        "Anthropic overloaded (529) — an earlier try", "OpenAI overloaded (503) — an earlier try"]
    text = doc_text(window, answer)
    assert "Not answered" not in text and provenance[0] in text
    assert "two streets away" in text
    # The same after opening the conversation again: read from the store.
    window.controller.open_conversation(window.controller.conversation_id)
    again = rows(window)
    assert [(r.role, r.provider) for r in again] == [("user", None), ("assistant", "openai")]
    assert any(n.kind == "provenance" and n.text == provenance[0]
               for n in window.transcript.tmodel.notices(again[1]))
    assert "Not answered" not in doc_text(window, again[1])


def test_a_skipped_provider_gets_a_notice_on_the_answer(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    fake_openai.script(Synth(["Hello."]))
    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
    ctx.health().mark_down("anthropic", "status page: major outage", 120)
    window = make_window(ctx)
    send(qtbot, window, "hi")
    wait_idle(qtbot, window)
    assert fake_anthropic.requests == []
    answer = rows(window)[-1]
    assert answer.provider == "openai"
    skipped = [n.text for n in window.transcript.tmodel.notices(answer) if n.kind == "skipped"]
    assert skipped == ["Skipped Anthropic: down for 2 more minutes "
                       "(outage reported on its status page)"]
    text = doc_text(window, answer)
    assert skipped[0] in text and "OpenAI · gpt-test" in text  # who answered, and what


def test_the_picker_follows_the_conversation(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
    first = ctx.store.create_conversation(preferred_provider="openai")
    ctx.store.add_message(first.id, "user", "one")
    second = ctx.store.create_conversation(preferred_provider="anthropic")
    ctx.store.add_message(second.id, "user", "two")
    window = make_window(ctx)
    picker = window.picker
    assert picker is not None
    window.controller.open_conversation(first.id)
    assert picker.current_provider() == "openai"
    window.controller.open_conversation(second.id)
    assert picker.current_provider() == "anthropic"
    picker.provider_combo.setCurrentIndex(picker.provider_combo.findData("openai"))
    assert ctx.store.get_conversation(second.id).preferred_provider == "openai"
    window.controller.open_conversation(first.id)
    window.controller.open_conversation(second.id)
    assert picker.current_provider() == "openai"
