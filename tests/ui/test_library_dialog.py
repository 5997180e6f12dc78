"""Chat ▸ Prompts and presets…: a prompt and a preset made, edited, renamed and deleted in
the app, each problem one sentence in the dialog, and what "/" and a new chat then use."""

from __future__ import annotations

from typing import Any

from chatdesk.store.prompts import Route
from chatdesk.ui.library_dialog import LibraryDialog
from tests.fakes.server import FakeProvider
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


def test_a_prompt_is_made_edited_renamed_and_deleted(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    dialog = LibraryDialog(window.controller.prompts, window)
    qtbot.addWidget(dialog)
    page = dialog.prompts
    assert page.list.count() == 0 and page.current is None
    page.name.setText("translate")
    page.text.setPlainText("Translate {{text}} into {{language}}.")
    assert page.facts.text() == "Asks for: text, language."
    page.save_button.click()
    assert page.problem.text() == "Saved prompt 'translate'."
    assert ctx.store.get_prompt("translate").text == "Translate {{text}} into {{language}}."
    assert window.controller.prompts.find("tra")[0].name == "translate"  # what "/" offers

    page.text.setPlainText("Translate {{text}} into {{language}}, politely.")
    page.name.setText("polite translation")  # a new name renames it
    page.save_button.click()
    assert [p.name for p in ctx.store.prompts()] == ["polite translation"]
    page.start_new()
    page.name.setText("polite translation")
    page.text.setPlainText("other")
    page.save_button.click()
    assert page.problem.text() == "A prompt named 'polite translation' exists already."
    page.name.setText("   ")
    page.save_button.click()
    assert page.problem.text() == "A name cannot be empty."
    page.list.setCurrentRow(0)
    page.delete_button.click()
    assert ctx.store.prompts() == [] and page.list.count() == 0


def test_a_preset_that_prefers_claude_then_gpt_then_a_local_model(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider, fake_ollama: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai),
                    ("ollama", fake_ollama)])
    window = make_window(ctx)
    dialog = LibraryDialog(window.controller.prompts, window)
    qtbot.addWidget(dialog)
    page = dialog.presets
    page.name.setText("careful")
    page.system.setPlainText("Be careful.")
    page.providers.setText("anthropic:claude-sonnet-4-5, openai:gpt-4o, ollama")
    page.temperature.setText("warm")
    page.save_button.click()
    assert page.problem.text().startswith("The temperature is a number")
    page.temperature.setText("0.3")
    page.providers.setText("anthropic, nobody")
    page.save_button.click()
    assert page.problem.text().startswith("There is no provider named 'nobody'")
    page.providers.setText("anthropic:claude-sonnet-4-5, openai:gpt-4o, ollama")
    page.max_tokens.setText("900")
    page.save_button.click()
    assert page.problem.text() == "Saved preset 'careful'."
    preset = ctx.store.get_preset("careful")
    assert (preset.system_prompt, preset.routes, preset.temperature, preset.max_tokens) == (
        "Be careful.", (Route("anthropic", "claude-sonnet-4-5"), Route("openai", "gpt-4o"),
                        Route("ollama")), 0.3, 900)
    page.reload(keep="careful")
    assert page.providers.text() == "anthropic:claude-sonnet-4-5, openai:gpt-4o, ollama"
    assert window.controller.prompts.new_chat_from("careful")  # the new chat follows it


def test_the_dialog_fits_and_reads_well(qtbot: Any, make_ctx: Any, make_window: Any,
                                        fake_anthropic: FakeProvider) -> None:
    from tests.ui.layout_check import clipped_text
    from tests.ui.test_screenshots import SHOTS

    ctx = make_ctx([("anthropic", fake_anthropic)])
    ctx.store.add_prompt("code review", "Review this {{language}} code for bugs:\n\n{{code}}")
    ctx.store.add_prompt("summarise", "Summarise in three sentences:\n\n{{text}}")
    ctx.store.add_preset("careful", "Be careful.", (Route("anthropic", "claude-sonnet-4-5"),), 0.2)
    window = make_window(ctx)
    dialog = LibraryDialog(window.controller.prompts, window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "18-library-prompts.png"))
    assert clipped_text(dialog) == []
    dialog.tabs.setCurrentIndex(1)
    qtbot.wait(30)
    dialog.grab().save(str(SHOTS / "18-library-presets.png"))
    assert clipped_text(dialog) == []
    assert dialog.presets.providers.text() == "anthropic:claude-sonnet-4-5"
