"""The conversation panel: a system prompt per conversation (a new chat's goes with its
first message), the title, and the conversation's facts."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from tests.fakes.server import FakeProvider, Synth
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


def test_a_system_prompt_is_saved_and_sent_with_the_next_answer(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("French please")
    ctx.store.add_message(conv.id, "user", "hello")
    ctx.store.add_message(conv.id, "assistant", "hi", provider="anthropic", model="m",
                          input_tokens=10, output_tokens=5)
    window = make_window(ctx)
    window.open_conversation(conv.id)
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    panel = window.panel
    assert panel is not None and panel.isVisible() and panel.prompt.hasFocus()
    assert panel.title.text() == "French please"
    facts = panel.facts.text()
    assert facts.splitlines()[1:] == ["2 messages", "answered by Anthropic", "15 tokens"]
    qtbot.keyClicks(panel.prompt, "Answer in French.")
    qtbot.waitUntil(lambda: (ctx.store.get_conversation(conv.id) or conv).system_prompt
                    == "Answer in French.", timeout=3000)

    fake_anthropic.script(Synth(["Bonjour"]))
    assert window.composer is not None
    window.composer.edit.setFocus()
    qtbot.keyClicks(window.composer.edit, "and now?")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.controller.busy and bool(fake_anthropic.requests),
                    timeout=10000)
    assert fake_anthropic.requests[-1].json["system"] == "Answer in French."


def test_a_new_chats_system_prompt_goes_with_its_first_message(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    window.new_chat()
    window.toggle_panel()
    panel = window.panel
    assert panel is not None and not panel.title.isEnabled()
    panel.prompt.setPlainText("Be brief.")
    panel.prompt.document().setModified(True)
    panel.save_prompt()
    fake_anthropic.script(Synth(["Ok"]))
    assert window.composer is not None
    qtbot.keyClicks(window.composer.edit, "hi")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.controller.conversation_id is not None, timeout=5000)
    conversation = ctx.store.get_conversation(window.controller.conversation_id)
    assert conversation is not None and conversation.system_prompt == "Be brief."
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    # The next new chat starts without it.
    window.new_chat()
    assert panel.prompt.toPlainText() == ""
    # Renaming from the panel.
    window.open_conversation(conversation.id)
    panel.title.setText("Brief answers")
    panel.title.setModified(True)
    panel.title.editingFinished.emit()
    assert window.windowTitle() == "Brief answers — chatdesk"
