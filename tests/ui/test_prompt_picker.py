"""The composer's "/" (saved prompts, filtered as you type, variables asked in place, the use
counted) and a new chat from a preset (Ctrl+Shift+N), in the real window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from chatdesk.store.prompts import Route
from chatdesk.ui.main_window import MainWindow
from tests.fakes.server import FakeProvider
from tests.helpers import MODELS
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


def listed(window: MainWindow) -> list[str]:
    assert window.composer is not None
    plist = window.composer.prompt_list
    return [plist.item(i).text().split(" — ")[0] for i in range(plist.count())]


def test_slash_lists_filters_and_inserts_a_prompt_and_counts_its_use(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    ctx.store.add_prompt("summarize", "Summarize this in three lines.")
    ctx.store.add_prompt("translate", "Translate {{text}} into {{language}}.")
    ctx.store.add_prompt("fix grammar", "Fix the grammar and keep my tone.")
    window = make_window(ctx)
    composer = window.composer
    assert composer is not None
    composer.edit.setFocus()
    qtbot.keyClicks(composer.edit, "/")
    assert composer.prompt_list.isVisible()
    assert sorted(listed(window)) == ["fix grammar", "summarize", "translate"]
    qtbot.keyClicks(composer.edit, "sum")
    assert listed(window) == ["summarize"]
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)  # chooses; does not send
    assert not composer.prompt_list.isVisible()
    assert composer.text() == "Summarize this in three lines."
    assert not fake_anthropic.requests
    prompt = ctx.store.get_prompt("summarize")
    assert prompt is not None and prompt.uses == 1 and prompt.last_used_at is not None

    # Esc closes the list and keeps the text; it stays closed while the text is there.
    composer.clear()
    qtbot.keyClicks(composer.edit, "/zz")
    assert composer.prompt_list.isVisible()
    assert composer.prompt_list.item(0).flags() == Qt.ItemFlag.NoItemFlags  # "no match"
    qtbot.keyClick(composer.edit, Qt.Key.Key_Escape)
    assert not composer.prompt_list.isVisible() and composer.text() == "/zz"
    qtbot.keyClicks(composer.edit, "y")
    assert not composer.prompt_list.isVisible()


def test_a_prompt_with_variables_asks_for_them_in_place(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    ctx.store.add_prompt("translate", "Translate {{text}} into {{language}}.")
    ctx.store.add_prompt("other", "unrelated")
    window = make_window(ctx)
    composer = window.composer
    assert composer is not None
    composer.edit.setFocus()
    qtbot.keyClicks(composer.edit, "/tr")
    assert listed(window)[0] == "translate"
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    form = composer.variables_form
    assert form.isVisible() and list(form.fields) == ["text", "language"]
    qtbot.waitUntil(lambda: form.fields["text"].hasFocus(), timeout=2000)
    qtbot.keyClicks(form.fields["text"], "good night")
    qtbot.keyClick(form.fields["text"], Qt.Key.Key_Return)  # on to the next one
    assert form.fields["language"].hasFocus()
    qtbot.keyClicks(form.fields["language"], "French")
    qtbot.keyClick(form.fields["language"], Qt.Key.Key_Return)
    assert not form.isVisible()
    assert composer.text() == "Translate good night into French."
    assert ctx.store.get_prompt("translate").uses == 1  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: composer.edit.hasFocus(), timeout=2000)

    # Down moves the choice; Esc in the form gives up without counting a use.
    composer.clear()
    qtbot.keyClicks(composer.edit, "/")
    assert listed(window) == ["translate", "other"]  # the one used comes first
    qtbot.keyClick(composer.edit, Qt.Key.Key_Down)
    assert composer.prompt_list.current_prompt().name == "other"  # type: ignore[union-attr]
    qtbot.keyClick(composer.edit, Qt.Key.Key_Down)  # stays on the last
    assert composer.prompt_list.current_prompt().name == "other"  # type: ignore[union-attr]
    qtbot.keyClick(composer.edit, Qt.Key.Key_Up)
    assert composer.prompt_list.current_prompt().name == "translate"  # type: ignore[union-attr]
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: form.fields["text"].hasFocus(), timeout=2000)
    qtbot.keyClick(form.fields["text"], Qt.Key.Key_Escape)
    assert not form.isVisible() and composer.text() == "/"
    assert ctx.store.get_prompt("translate").uses == 1  # type: ignore[union-attr]


def test_new_chat_from_a_preset_sends_as_it_says_and_remembers_it(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    ctx = make_ctx([("main", fake_anthropic), ("backup", fake_openai)])
    ctx.store.add_preset("gpt first", "Be brief.", (Route("backup", "gpt-special"),), 0.5, 77)
    window = make_window(ctx)
    assert "Ctrl+Shift+N" in [k.toString() for k in window.preset_action.shortcuts()]
    assert window.sidebar.preset_button.menu() is window.preset_menu  # and in the sidebar
    assert window.sidebar.preset_button.isVisible()
    window.preset_menu.aboutToShow.emit()
    actions = [a for a in window.preset_menu.actions() if a.isEnabled()]
    assert [a.text() for a in actions] == ["gpt first"]
    actions[0].trigger()
    assert window.controller.new_chat_preset == "gpt first"
    composer = window.composer
    assert composer is not None
    composer.edit.setFocus()
    qtbot.keyClicks(composer.edit, "hello")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert window.controller.bridge is not None
    qtbot.waitUntil(lambda: bool(fake_openai.requests) and not window.controller.bridge.busy,
                    timeout=10000)
    body = fake_openai.requests[-1].json
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-special", 0.5, 77)
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert not fake_anthropic.requests
    conversation = ctx.store.get_conversation(window.controller.conversation_id)
    assert conversation is not None and conversation.preset == "gpt first"
    # A plain new chat does not follow it.
    window.new_chat()
    assert window.controller.new_chat_preset is None
    assert MODELS["openai"] != "gpt-special"
