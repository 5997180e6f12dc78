"""First run in the app: the welcome view, a local server found by the probe, a pasted key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from chatdesk import onboarding
from chatdesk.context import AppContext
from chatdesk.local_servers import LocalServer
from chatdesk.settings import load_settings
from chatdesk.ui.main_window import MainWindow
from tests.fakes.ports import closed_port
from tests.fakes.server import FakeProvider, Synth
from tests.helpers import MemoryKeyring
from tests.ui.conftest import qt_warning_marks
from tests.ui.layout_check import clipped_text

pytestmark = qt_warning_marks()


@pytest.fixture
def empty_ctx(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A first launch: no settings.toml, no keys anywhere, an in-memory keyring."""
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                "OLLAMA_HOST"):
        monkeypatch.delenv(var, raising=False)
    ctx = AppContext.create(str(data_dir), warn=False)
    ctx.keys._backend = MemoryKeyring()
    yield ctx
    ctx.close()


def type_and_send(qtbot: Any, window: MainWindow, text: str) -> None:
    assert window.composer is not None
    window.composer.edit.setFocus()
    qtbot.keyClicks(window.composer.edit, text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)


def test_a_first_launch_finds_a_local_server_tests_it_saves_it_and_answers(
        qtbot: Any, empty_ctx: AppContext, make_window: Any, run: Any) -> None:
    with FakeProvider("ollama", models=["llama3.2", "qwen3"]) as fake:
        window = make_window(empty_ctx)
        # Only the fake's loopback port is asked: never the real usual ports.
        window.controller.local_servers = [
            LocalServer("ollama", "Ollama", "ollama", fake.base_url),
            LocalServer("lmstudio", "LM Studio", "openai",
                        f"http://127.0.0.1:{closed_port()}/v1")]
        welcome = window.welcome
        assert welcome is not None
        qtbot.waitUntil(lambda: window.center_stack.currentWidget() is welcome, timeout=3000)

        # Enter with nothing set up: nothing is saved or pending, the text stays in the box.
        type_and_send(qtbot, window, "hello there")
        assert window.composer.text() == "hello there"
        assert empty_ctx.store.list_conversations() == []
        assert "Nothing is set up" in window.statusBar().currentMessage()

        qtbot.waitUntil(lambda: welcome.servers_box.count() == 1, timeout=5000)
        assert "LM Studio" not in welcome.server_note.text()
        if Path("/tmp/onboard").is_dir():  # for a person to look at
            window.grab().save("/tmp/onboard/welcome-found.png")
        fake.script(Synth(["OK"]), Synth(["Hi", " from the fake."]))
        use = welcome.servers_box.itemAt(0).widget().findChild(type(welcome.probe_button),
                                                               "welcomeServerUse")
        use.click()
        qtbot.waitUntil(lambda: window.center_stack.currentWidget() is window.transcript,
                        timeout=5000)
        assert "Saved" in welcome.server_note.text()
        saved = load_settings(empty_ctx.paths.settings_file)
        assert saved.failover.order[-1] == "ollama"
        assert saved.providers["ollama"].base_url == fake.base_url
        assert saved.providers["ollama"].model == "llama3.2"

        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)  # the kept text, sent now
        qtbot.waitUntil(lambda: not window.controller.busy
                        and len(window.transcript.tmodel.rows) == 2, timeout=5000)
        assert [r.content for r in window.transcript.tmodel.rows] == [
            "hello there", "Hi from the fake."]


def test_a_pasted_key_is_tested_then_saved_with_the_key(
        qtbot: Any, empty_ctx: AppContext, make_window: Any, monkeypatch: pytest.MonkeyPatch,
        fake_anthropic: FakeProvider) -> None:
    monkeypatch.setattr(onboarding, "KEY_PROVIDERS", tuple(
        dataclasses.replace(p, base_url=fake_anthropic.base_url) if p.name == "anthropic"
        else p for p in onboarding.KEY_PROVIDERS))
    window = make_window(empty_ctx)
    window.controller.local_servers = []
    welcome = window.welcome
    assert welcome is not None
    qtbot.waitUntil(lambda: window.center_stack.currentWidget() is welcome, timeout=3000)

    welcome.radios["openai"].click()
    assert "platform.openai.com/api-keys" in welcome.where_label.text()
    welcome.radios["anthropic"].click()
    welcome.key_edit.setText("not-the-key")
    welcome.key_button.click()
    qtbot.waitUntil(lambda: "Nothing was saved" in welcome.key_note.text(), timeout=5000)
    assert not empty_ctx.paths.settings_file.exists()

    fake_anthropic.script(Synth(["OK"]))
    welcome.key_edit.setText(fake_anthropic.api_key)
    welcome.key_button.click()
    qtbot.waitUntil(lambda: window.center_stack.currentWidget() is window.transcript,
                    timeout=5000)
    saved = load_settings(empty_ctx.paths.settings_file)
    assert "anthropic" in saved.providers and "ollama" not in saved.providers
    assert empty_ctx.keys.lookup(saved.providers["anthropic"]).key == fake_anthropic.api_key


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", [(1100, 720), (600, 720)])
def test_screenshot_of_the_welcome_view(
        qtbot: Any, empty_ctx: AppContext, make_window: Any, theme: str,
        size: tuple[int, int], tmp_path: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from chatdesk.ui.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme)
    window = make_window(empty_ctx, size=size)
    window.controller.local_servers = []
    qtbot.waitUntil(lambda: window.center_stack.currentWidget() is window.welcome,
                    timeout=3000)
    qtbot.waitUntil(lambda: window.welcome.server_note.text().startswith("No model"),
                    timeout=5000)
    qtbot.wait(60)
    assert clipped_text(window) == []  # (the page scrolls: it may reach below the window)
    out = Path("/tmp/onboard") if Path("/tmp/onboard").is_dir() else tmp_path
    window.grab().save(str(out / f"welcome-{size[0]}-{theme}.png"))
    apply_theme(app, "light")


def test_ctrl_n_starts_an_empty_chat_not_an_old_new_chats_draft(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    # Issue 12: a draft left in an earlier new chat came back on Ctrl+N and went out with
    # the new text. A new chat starts empty; a draft stays with its own conversation.
    fake_anthropic.script(Synth(["One."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    type_and_send(qtbot, window, "first")
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=5000)
    first = window.controller.conversation_id
    window.new_chat()
    qtbot.keyClicks(window.composer.edit, "an old thought")
    window.open_conversation(first)
    assert window.composer.text() == ""
    window.new_action.trigger()
    assert window.controller.conversation_id is None
    assert window.composer.text() == ""


def test_a_send_to_a_server_never_reachable_comes_back_to_the_composer(
        qtbot: Any, data_dir: Path, make_window: Any) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "settings.toml").write_text(
        '[failover]\norder = ["mine"]\n\n[providers.mine]\ntype = "ollama"\nmodel = "m"\n'
        f'base_url = "http://127.0.0.1:{closed_port()}"\n', encoding="utf-8")
    ctx = AppContext.create(str(data_dir), warn=False)
    try:
        window = make_window(ctx)
        window.controller.local_servers = []
        assert window.center_stack.currentWidget() is window.transcript  # set up, so far
        type_and_send(qtbot, window, "anyone home?")
        qtbot.waitUntil(lambda: window.center_stack.currentWidget() is window.welcome,
                        timeout=5000)
        assert window.composer.text() == "anyone home?"
        assert ctx.store.pending_messages() == [] and ctx.store.list_conversations() == []
        assert "never reachable" in window.statusBar().currentMessage()
    finally:
        ctx.close()


def test_without_a_keyring_a_pasted_key_answers_for_this_session(
        qtbot: Any, data_dir: Path, make_window: Any, monkeypatch: pytest.MonkeyPatch,
        fake_anthropic: FakeProvider) -> None:
    monkeypatch.setattr(onboarding, "KEY_PROVIDERS", tuple(
        dataclasses.replace(p, base_url=fake_anthropic.base_url) if p.name == "anthropic"
        else p for p in onboarding.KEY_PROVIDERS))
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    ctx = AppContext.create(str(data_dir), warn=False)  # the test-wide failing keyring
    try:
        window = make_window(ctx)
        window.controller.local_servers = []
        welcome = window.welcome
        qtbot.waitUntil(lambda: window.center_stack.currentWidget() is welcome, timeout=3000)
        fake_anthropic.script(Synth(["OK"]), Synth(["Hi."]))
        welcome.key_edit.setText(fake_anthropic.api_key)
        welcome.key_button.click()
        qtbot.waitUntil(lambda: window.center_stack.currentWidget() is window.transcript,
                        timeout=5000)
        assert "this session only" in window.statusBar().currentMessage()
        type_and_send(qtbot, window, "hello")
        qtbot.waitUntil(lambda: not window.controller.busy
                        and len(window.transcript.tmodel.rows) == 2, timeout=5000)
        assert window.transcript.tmodel.rows[1].content == "Hi."
    finally:
        ctx.close()
