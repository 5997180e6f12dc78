"""SettingsDialog: reorder, add, remove, keys through the keyring, Test and Fetch, save/cancel."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from keyring.backends import fail
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QToolButton,
)

from chatdesk.context import AppContext
from chatdesk.secrets import SERVICE, KeyStore
from chatdesk.settings import DEFAULT_SETTINGS_TOML
from chatdesk.ui.bridge import ChatBridge
from chatdesk.ui.controller import ChatController
from chatdesk.ui.settings_dialog import SettingsDialog
from chatdesk.ui.theme import follow_settings
from tests.fakes.server import FakeProvider
from tests.helpers import MemoryKeyring, write_settings
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()

MY_COMMENT = "# my own note: keep this line\n"


_LOOP: list[qasync.QEventLoop] = []
_BRIDGES: list[ChatBridge] = []  # closed (their connection pools) when the loop ends


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """One loop for qtbot and asyncio, with async-generator hooks so httpx streams close.

    The loop is made once and reused: a closed qasync loop that the garbage collector later
    frees on another thread (a fake server's) crashes Qt ("Timers cannot be stopped from
    another thread").
    """
    if not _LOOP:
        _LOOP.append(qasync.QEventLoop(qapp, already_running=True))
    loop = _LOOP[0]
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter=loop._asyncgen_firstiter_hook,
                           finalizer=loop._asyncgen_finalizer_hook)
    yield loop
    for bridge in _BRIDGES:
        asyncio.ensure_future(bridge.shutdown())
    _BRIDGES.clear()
    deadline = time.monotonic() + 2
    while asyncio.all_tasks(loop) and time.monotonic() < deadline:
        qapp.processEvents()
    sys.set_asyncgen_hooks(*hooks)
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def memory() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def ctx(tmp_path: Path, memory: MemoryKeyring) -> Iterator[AppContext]:
    (tmp_path / "settings.toml").write_text(MY_COMMENT + DEFAULT_SETTINGS_TOML, encoding="utf-8")
    context = AppContext.create(str(tmp_path))
    context.keys = KeyStore(environ={}, backend=memory)
    yield context
    context.close()


def open_dialog(qtbot, ctx: AppContext) -> SettingsDialog:
    """The dialog as the window opens it: over a controller with the chat engine attached."""
    controller = ChatController(ctx.store, ctx)
    bridge = ChatBridge(ctx.chat_service)
    controller.attach_bridge(bridge)
    controller.settingsChanged.connect(follow_settings)  # as the main window does
    _BRIDGES.append(bridge)
    dialog = SettingsDialog(controller)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def w(dialog: SettingsDialog, kind: type, name: str):
    found = dialog.findChild(kind, name)
    assert found is not None, name
    return found


def click(qtbot, dialog: SettingsDialog, kind: type, name: str) -> None:
    qtbot.mouseClick(w(dialog, kind, name), Qt.MouseButton.LeftButton)


def saved_toml(ctx: AppContext) -> tuple[str, dict]:
    text = ctx.paths.settings_file.read_text(encoding="utf-8")
    return text, tomllib.loads(text)


def list_names(dialog: SettingsDialog) -> list[str]:
    lw = w(dialog, QListWidget, "providerList")
    return [lw.item(i).text() for i in range(lw.count())]


def test_up_down_reorders_and_save_keeps_comments(qtbot, ctx: AppContext) -> None:
    dialog = open_dialog(qtbot, ctx)
    assert list_names(dialog) == ["anthropic", "openai", "gemini", "ollama"]
    dialog.providers_page.select("gemini")
    click(qtbot, dialog, QToolButton, "providerUp")
    click(qtbot, dialog, QToolButton, "providerUp")
    dialog.providers_page.select("anthropic")
    click(qtbot, dialog, QToolButton, "providerDown")
    assert list_names(dialog) == ["gemini", "openai", "anthropic", "ollama"]
    click(qtbot, dialog, QPushButton, "settingsSave")
    text, data = saved_toml(ctx)
    assert data["failover"]["order"] == ["gemini", "openai", "anthropic", "ollama"]
    assert MY_COMMENT in text
    assert "# preferred first" in text and "# More examples" in text
    assert ctx.settings.failover.order == ["gemini", "openai", "anthropic", "ollama"]
    assert dialog.result() == SettingsDialog.DialogCode.Accepted


def test_drag_and_drop_move_is_the_saved_order(qtbot, ctx: AppContext) -> None:
    dialog = open_dialog(qtbot, ctx)
    lw = w(dialog, QListWidget, "providerList")
    assert lw.dragDropMode() == QListWidget.DragDropMode.InternalMove
    # what an internal-move drop does to the list's model: ollama to the top
    assert lw.model().moveRow(QModelIndex(), 3, QModelIndex(), 0)
    assert dialog.save()
    assert saved_toml(ctx)[1]["failover"]["order"] == ["ollama", "anthropic", "openai", "gemini"]


def test_key_round_trip_through_the_keyring(qtbot, ctx: AppContext,
                                            memory: MemoryKeyring) -> None:
    secret = "sk-ant-test-0123456789abcdef"
    dialog = open_dialog(qtbot, ctx)
    key = w(dialog, QLineEdit, "providerKey")
    assert key.isEnabled() and key.echoMode() == QLineEdit.EchoMode.Password
    click(qtbot, dialog, QToolButton, "providerKeyShow")
    assert key.echoMode() == QLineEdit.EchoMode.Normal
    click(qtbot, dialog, QToolButton, "providerKeyShow")
    assert key.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(key, secret)
    click(qtbot, dialog, QPushButton, "settingsSave")
    assert memory.entries == {(SERVICE, "anthropic"): secret}
    assert secret not in ctx.paths.settings_file.read_text(encoding="utf-8")

    again = open_dialog(qtbot, ctx)
    key = w(again, QLineEdit, "providerKey")
    assert key.text() == ""  # a stored key is never put back on screen
    assert "keyring" in key.placeholderText()
    assert "stored in the system keyring" in w(again, QLabel, "providerKeyNote").text()
    forget = w(again, QToolButton, "providerKeyForget")
    assert forget.isVisible()
    click(qtbot, again, QToolButton, "providerKeyForget")
    assert again.save()
    assert memory.entries == {}


def screenshot(qtbot, widget, name: str) -> None:
    """Saved to /tmp/chatdesk-shots/ to be looked at (clipped text, layout)."""
    shots = Path("/tmp/chatdesk-shots")
    shots.mkdir(parents=True, exist_ok=True)
    qtbot.wait(50)
    assert widget.grab().save(str(shots / f"{name}.png"))


def no_keyring(ctx: AppContext, environ: dict[str, str] | None = None) -> KeyStore:
    ctx.keys = KeyStore(environ=environ or {}, backend=fail.Keyring(),
                        key_file=ctx.paths.root / "keys.enc")
    return ctx.keys


def test_without_a_keyring_a_typed_key_is_kept_for_this_session(qtbot,
                                                                 ctx: AppContext) -> None:
    keys = no_keyring(ctx)
    dialog = open_dialog(qtbot, ctx)
    key = w(dialog, QLineEdit, "providerKey")
    assert key.isEnabled() and w(dialog, QToolButton, "providerKeyShow").isEnabled()
    store = w(dialog, QComboBox, "keyStore")
    assert store.isVisible() and store.currentText().startswith("This session only")
    note = w(dialog, QLabel, "keyStoreNote").text()
    assert "kept in memory only until chatdesk closes" in note and "encrypted file" in note
    assert "memory for this session only" in w(dialog, QLabel, "providerKeyNote").text()
    screenshot(qtbot, dialog, "settings-no-keyring")
    qtbot.keyClicks(key, "sk-ant-session-key-0123456789")
    assert dialog.save()
    anthropic = ctx.settings.providers["anthropic"]
    assert keys.lookup(anthropic).source == "session"
    assert not (ctx.paths.root / "keys.enc").exists()
    again = open_dialog(qtbot, ctx)
    assert "kept for this session only" in w(again, QLabel, "providerKeyNote").text()
    assert w(again, QToolButton, "providerKeyForget").isVisible()


def test_choosing_the_encrypted_file_asks_for_a_passphrase_twice(qtbot,
                                                                  ctx: AppContext) -> None:
    from chatdesk.ui.passphrase_dialog import PassphraseDialog

    keys = no_keyring(ctx)
    keys.set("openai", "sk-proj-typed-before-0123456789")  # this session's key moves in
    dialog = open_dialog(qtbot, ctx)
    page = dialog.providers_page
    store = w(dialog, QComboBox, "keyStore")
    store.setCurrentIndex(1)
    store.activated.emit(1)
    ask = page.passphrase_dialog
    assert isinstance(ask, PassphraseDialog) and ask.isVisible()  # open(), not exec()
    qtbot.keyClicks(ask.findChild(QLineEdit, "passphrase"), "my passphrase")
    qtbot.keyClicks(ask.findChild(QLineEdit, "passphraseAgain"), "my passphrase!")
    ok = ask.findChild(QPushButton, "passphraseOk")
    assert ok.text() == "Create the file"
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert "differ" in ask.findChild(QLabel, "passphraseError").text() and ask.isVisible()
    screenshot(qtbot, ask, "passphrase-create")
    assert not (ctx.paths.root / "keys.enc").exists()
    again = ask.findChild(QLineEdit, "passphraseAgain")
    again.setText("my passphrase")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.passphrase_dialog is None)
    key_file = ctx.paths.root / "keys.enc"
    assert key_file.exists() and b"typed-before" not in key_file.read_bytes()
    assert store.currentIndex() == 1
    assert str(key_file) in w(dialog, QLabel, "keyStoreNote").text()
    assert w(dialog, QPushButton, "keyFileButton").text() == "Change passphrase…"
    qtbot.keyClicks(w(dialog, QLineEdit, "providerKey"), "sk-ant-into-the-file-0123456789")
    assert dialog.save()
    from chatdesk.keyfile import KeyFile

    assert KeyFile(key_file).names() == ["anthropic", "openai"]
    assert b"into-the-file" not in key_file.read_bytes()


def test_cancelling_the_new_file_keeps_this_session(qtbot, ctx: AppContext) -> None:
    no_keyring(ctx)
    dialog = open_dialog(qtbot, ctx)
    store = w(dialog, QComboBox, "keyStore")
    store.setCurrentIndex(1)
    store.activated.emit(1)
    ask = dialog.providers_page.passphrase_dialog
    assert ask is not None
    qtbot.mouseClick(ask.findChild(QPushButton, "passphraseCancel"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.providers_page.passphrase_dialog is None)
    assert store.currentIndex() == 0 and not (ctx.paths.root / "keys.enc").exists()


def test_a_locked_key_file_is_unlocked_from_the_dialog(qtbot, ctx: AppContext) -> None:
    from chatdesk.keyfile import KeyFile

    KeyFile(ctx.paths.root / "keys.enc").create("the passphrase", {
        "anthropic": "sk-ant-in-the-file-0123456789"})
    keys = no_keyring(ctx)
    dialog = open_dialog(qtbot, ctx)
    assert "in the locked key file" in w(dialog, QLineEdit, "providerKey").placeholderText()
    assert "locked" in w(dialog, QLabel, "keyStoreNote").text()
    screenshot(qtbot, dialog, "settings-key-file-locked")
    button = w(dialog, QPushButton, "keyFileButton")
    assert button.text() == "Unlock…"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    ask = dialog.providers_page.passphrase_dialog
    assert ask is not None and not ask.findChild(QLineEdit, "passphraseAgain").isVisible()
    field = ask.findChild(QLineEdit, "passphrase")
    qtbot.keyClicks(field, "not it at all")
    ok = ask.findChild(QPushButton, "passphraseOk")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    error = ask.findChild(QLabel, "passphraseError").text()
    assert "does not open" in error and ask.isVisible()
    assert field.text() == "not it at all" and field.selectedText() == "not it at all"
    field.setText("the passphrase")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.providers_page.passphrase_dialog is None)
    assert keys.lookup(ctx.settings.providers["anthropic"]).source == "file"
    assert "stored in the encrypted key file" in w(dialog, QLabel, "providerKeyNote").text()


def test_a_damaged_key_file_is_said_and_this_session_still_works(qtbot,
                                                                 ctx: AppContext) -> None:
    key_file = ctx.paths.root / "keys.enc"
    key_file.write_bytes(b"garbage")
    keys = no_keyring(ctx)
    dialog = open_dialog(qtbot, ctx)
    note = w(dialog, QLabel, "keyStoreNote").text()
    assert f"The key file {key_file} is damaged" in note
    store = w(dialog, QComboBox, "keyStore")
    store.setCurrentIndex(0)
    store.activated.emit(0)
    qtbot.keyClicks(w(dialog, QLineEdit, "providerKey"), "sk-ant-session-key-0123456789")
    assert dialog.save()
    assert keys.lookup(ctx.settings.providers["anthropic"]).source == "session"
    assert key_file.read_bytes() == b"garbage"


def test_add_and_remove_providers(qtbot, ctx: AppContext) -> None:
    dialog = open_dialog(qtbot, ctx)
    name = w(dialog, QLineEdit, "newProviderName")
    qtbot.keyClicks(name, "openrouter")
    w(dialog, QComboBox, "newProviderType").setCurrentText("openai")
    click(qtbot, dialog, QPushButton, "providerAdd")
    assert list_names(dialog)[-1] == "openrouter"
    assert w(dialog, QComboBox, "providerType").currentText() == "openai"
    qtbot.keyClicks(w(dialog, QLineEdit, "providerBaseUrl"), "https://openrouter.ai/api/v1")
    model = w(dialog, QComboBox, "providerModel")
    model.setEditText("anthropic/claude-sonnet-4.5")
    # a duplicate and a bad name are refused with a sentence
    for bad in ("openrouter", "bad name!"):
        name.setText(bad)
        click(qtbot, dialog, QPushButton, "providerAdd")
        assert w(dialog, QLabel, "providersError").text()
    assert list_names(dialog).count("openrouter") == 1
    dialog.providers_page.select("gemini")
    click(qtbot, dialog, QToolButton, "providerRemove")
    assert "gemini" not in list_names(dialog)
    assert dialog.save()
    text, data = saved_toml(ctx)
    assert "gemini" not in data["providers"]
    assert data["failover"]["order"] == ["anthropic", "openai", "ollama", "openrouter"]
    assert data["providers"]["openrouter"] == {
        "type": "openai", "model": "anthropic/claude-sonnet-4.5",
        "base_url": "https://openrouter.ai/api/v1"}
    assert MY_COMMENT in text


def test_type_change_moves_default_model_and_base_url_hint(qtbot, ctx: AppContext) -> None:
    dialog = open_dialog(qtbot, ctx)
    dialog.providers_page.select("openai")
    w(dialog, QComboBox, "providerType").setCurrentText("ollama")
    assert w(dialog, QComboBox, "providerModel").currentText() == "llama3.2"
    assert w(dialog, QLineEdit, "providerBaseUrl").placeholderText() == "http://localhost:11434"


def test_invalid_fields_are_reported_inline_and_nothing_is_saved(qtbot, ctx: AppContext) -> None:
    before = ctx.paths.settings_file.read_bytes()
    dialog = open_dialog(qtbot, ctx)
    dialog.providers_page.select("openai")
    w(dialog, QComboBox, "providerModel").setEditText("")
    dialog.providers_page.select("anthropic")
    click(qtbot, dialog, QPushButton, "settingsSave")
    assert "openai has no model" in w(dialog, QLabel, "settingsError").text()
    assert dialog.providers_page.current().name == "openai"  # shows the culprit
    assert dialog.isVisible() and dialog.result() != SettingsDialog.DialogCode.Accepted
    w(dialog, QComboBox, "providerModel").setEditText("gpt-4o")
    qtbot.keyClicks(w(dialog, QLineEdit, "providerBaseUrl"), "api.openai.com")
    assert not dialog.save()
    assert "must start with http" in w(dialog, QLabel, "settingsError").text()
    assert ctx.paths.settings_file.read_bytes() == before


def test_cancel_changes_nothing(qtbot, ctx: AppContext, memory: MemoryKeyring) -> None:
    before = ctx.paths.settings_file.read_bytes()
    order = list(ctx.settings.failover.order)
    dialog = open_dialog(qtbot, ctx)
    dialog.providers_page.select("ollama")
    click(qtbot, dialog, QToolButton, "providerUp")
    dialog.providers_page.select("anthropic")
    qtbot.keyClicks(w(dialog, QLineEdit, "providerKey"), "sk-ant-should-not-be-stored")
    w(dialog, QDoubleSpinBox, "cooldown").setValue(5)
    click(qtbot, dialog, QPushButton, "settingsCancel")
    assert ctx.paths.settings_file.read_bytes() == before
    assert memory.entries == {}
    assert ctx.settings.failover.order == order


def test_failover_timeouts_and_theme_are_saved(qtbot, ctx: AppContext, qapp) -> None:
    from chatdesk.ui.theme import is_dark, theme_watcher

    old_palette, old_theme = qapp.palette(), theme_watcher(qapp).theme
    dialog = open_dialog(qtbot, ctx)
    values = {"connectTimeout": 4.5, "firstTokenTimeout": 20, "stallTimeout": 12,
              "cooldown": 0}
    for name, value in values.items():
        w(dialog, QDoubleSpinBox, name).setValue(value)
    theme = w(dialog, QComboBox, "themeCombo")
    theme.setCurrentIndex(theme.findData("dark"))
    try:
        with qtbot.waitSignal(dialog.saved, timeout=1000):
            assert dialog.save()
        assert is_dark(qapp)
    finally:
        qapp.setPalette(old_palette)
        theme_watcher(qapp).theme = old_theme
    failover = saved_toml(ctx)[1]["failover"]
    assert (failover["connect_timeout_s"], failover["first_token_timeout_s"],
            failover["stall_timeout_s"], failover["cooldown_s"]) == (4.5, 20, 12, 0)
    assert saved_toml(ctx)[1]["ui"]["theme"] == "dark"


def test_a_broken_settings_file_blocks_saving_with_its_reason(qtbot, tmp_path: Path,
                                                             memory: MemoryKeyring) -> None:
    (tmp_path / "settings.toml").write_text("[failover]\norder = [\n", encoding="utf-8")
    ctx = AppContext.create(str(tmp_path), warn=False)
    ctx.keys = KeyStore(environ={}, backend=memory)
    dialog = open_dialog(qtbot, ctx)
    banner = w(dialog, QLabel, "settingsFileError")
    assert banner.isVisible() and "line" in banner.text()
    assert not w(dialog, QPushButton, "settingsSave").isEnabled()
    assert not dialog.save()
    assert (tmp_path / "settings.toml").read_text(encoding="utf-8") == "[failover]\norder = [\n"


@pytest.fixture
def fake_ctx(tmp_path: Path, memory: MemoryKeyring, fake_anthropic: FakeProvider
             ) -> Iterator[AppContext]:
    write_settings(tmp_path, [("anthropic", fake_anthropic)])
    context = AppContext.create(str(tmp_path))
    context.keys = KeyStore(environ={}, backend=memory)
    yield context
    context.close()


def test_test_button_reports_ok_and_a_rejected_key(qtbot, qloop, fake_ctx: AppContext,
                                                   fake_anthropic: FakeProvider) -> None:
    dialog = open_dialog(qtbot, fake_ctx)
    result = w(dialog, QLabel, "providerTestResult")
    key = w(dialog, QLineEdit, "providerKey")
    qtbot.keyClicks(key, fake_anthropic.api_key)
    click(qtbot, dialog, QPushButton, "providerTest")
    qtbot.waitUntil(lambda: result.text().startswith("OK — answered in"), timeout=5000)
    assert w(dialog, QPushButton, "providerTest").isEnabled()
    sent = fake_anthropic.requests[-1]
    assert sent.headers["x-api-key"] == fake_anthropic.api_key
    assert sent.json["max_tokens"] == 5
    assert json.dumps(sent.json["messages"]).count("Say OK") == 1

    key.clear()
    qtbot.keyClicks(key, "sk-wrong-key")
    click(qtbot, dialog, QPushButton, "providerTest")
    qtbot.waitUntil(lambda: result.text().startswith("Key rejected"), timeout=5000)
    assert "(401)" in result.text()
    assert "Traceback" not in result.text() and "Error" not in result.text()
    dialog.reject()


def test_test_without_any_key_says_so_without_a_request(qtbot, qloop, fake_ctx: AppContext,
                                                       fake_anthropic: FakeProvider) -> None:
    dialog = open_dialog(qtbot, fake_ctx)
    click(qtbot, dialog, QPushButton, "providerTest")
    assert "No API key for anthropic" in w(dialog, QLabel, "providerTestResult").text()
    assert fake_anthropic.requests == []


def test_test_reports_an_unreachable_server(qtbot, qloop, tmp_path: Path, memory) -> None:
    from tests.fakes.server import closed_port

    port = closed_port()
    (tmp_path / "settings.toml").write_text(
        '[failover]\norder = ["down"]\n\n[providers.down]\ntype = "ollama"\n'
        f'model = "llama3.2"\nbase_url = "http://127.0.0.1:{port}"\n', encoding="utf-8")
    ctx = AppContext.create(str(tmp_path))
    ctx.keys = KeyStore(environ={}, backend=memory)
    dialog = open_dialog(qtbot, ctx)
    result = w(dialog, QLabel, "providerTestResult")
    click(qtbot, dialog, QPushButton, "providerTest")
    qtbot.waitUntil(lambda: result.text().startswith("Could not connect"), timeout=5000)
    assert f"127.0.0.1:{port}" in result.text()
    dialog.reject()
    ctx.close()


def test_fetch_models_fills_the_model_box(qtbot, qloop, fake_ctx: AppContext,
                                          fake_anthropic: FakeProvider) -> None:
    dialog = open_dialog(qtbot, fake_ctx)
    qtbot.keyClicks(w(dialog, QLineEdit, "providerKey"), fake_anthropic.api_key)
    model = w(dialog, QComboBox, "providerModel")
    typed = model.currentText()
    click(qtbot, dialog, QPushButton, "fetchModels")
    status = w(dialog, QLabel, "fetchModelsStatus")
    qtbot.waitUntil(lambda: "models available" in status.text(), timeout=5000)
    assert [model.itemText(i) for i in range(model.count())] == fake_anthropic.models
    assert model.currentText() == typed  # the choice stays the user's

    key = w(dialog, QLineEdit, "providerKey")
    key.clear()
    qtbot.keyClicks(key, "sk-wrong-key")
    click(qtbot, dialog, QPushButton, "fetchModels")
    qtbot.waitUntil(lambda: status.text().startswith("Key rejected"), timeout=5000)
    dialog.reject()


def test_closing_the_dialog_cancels_a_running_test(qtbot, qloop, tmp_path: Path, memory,
                                                   black_hole) -> None:
    (tmp_path / "settings.toml").write_text(
        '[failover]\norder = ["slow"]\n\n[providers.slow]\ntype = "ollama"\n'
        f'model = "llama3.2"\nbase_url = "http://127.0.0.1:{black_hole.port}"\n',
        encoding="utf-8")
    ctx = AppContext.create(str(tmp_path))
    ctx.keys = KeyStore(environ={}, backend=memory)
    dialog = open_dialog(qtbot, ctx)
    click(qtbot, dialog, QPushButton, "providerTest")
    assert w(dialog, QLabel, "providerTestResult").text() == "Testing…"
    assert not w(dialog, QPushButton, "providerTest").isEnabled()
    qtbot.wait(100)
    assert dialog.providers_page.busy()
    dialog.reject()
    qtbot.waitUntil(lambda: not asyncio.all_tasks(qloop), timeout=2000)
    assert not dialog.providers_page.busy()
    ctx.close()


def test_a_key_from_the_environment_is_named_not_shown(qtbot, ctx: AppContext,
                                                      memory: MemoryKeyring) -> None:
    env_key = "sk-ant-from-env-0123456789"
    ctx.keys = KeyStore(environ={"ANTHROPIC_API_KEY": env_key}, backend=memory)
    dialog = open_dialog(qtbot, ctx)
    assert "Using the key in ANTHROPIC_API_KEY" in w(dialog, QLabel, "providerKeyNote").text()
    assert w(dialog, QLineEdit, "providerKey").text() == ""
    assert env_key not in w(dialog, QLabel, "providerKeyNote").text()
    assert dialog.providers_page.key_for(ctx.settings.providers["anthropic"]) == env_key
    no_keyring(ctx, {"ANTHROPIC_API_KEY": env_key})
    without = open_dialog(qtbot, ctx)
    assert "Using the key in ANTHROPIC_API_KEY; type one to keep it in memory for this " \
        "session only instead." == w(without, QLabel, "providerKeyNote").text()


def test_a_plain_http_base_url_off_this_machine_asks_before_saving(
    qtbot, ctx: AppContext, monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, str]] = []
    answer = False

    def confirm(self: SettingsDialog, name: str, host: str) -> bool:
        asked.append((name, host))
        return answer

    monkeypatch.setattr(SettingsDialog, "confirm_plain_http", confirm)
    before = ctx.paths.settings_file.read_bytes()
    dialog = open_dialog(qtbot, ctx)
    dialog.providers_page.select("openai")
    qtbot.keyClicks(w(dialog, QLineEdit, "providerBaseUrl"), "http://10.0.0.5:8000/v1")
    dialog.providers_page.select("anthropic")
    assert not dialog.save()
    assert asked == [("openai", "10.0.0.5:8000")]
    assert "Not saved" in w(dialog, QLabel, "settingsError").text()
    assert dialog.providers_page.current().name == "openai"
    assert ctx.paths.settings_file.read_bytes() == before
    answer = True
    assert dialog.save()
    _, data = saved_toml(ctx)
    assert data["providers"]["openai"]["allow_insecure_http"] is True
    assert data["providers"]["openai"]["base_url"] == "http://10.0.0.5:8000/v1"
    # Once allowed, saving again does not ask again; loopback and https never ask.
    again = open_dialog(qtbot, ctx)
    again.providers_page.select("anthropic")
    qtbot.keyClicks(w(again, QLineEdit, "providerBaseUrl"), "http://127.0.0.1:8080")
    assert again.save()
    assert len(asked) == 2


def test_saving_keeps_the_prices_and_budgets_it_has_no_page_for(
        qtbot, tmp_path: Path, memory: MemoryKeyring) -> None:
    text = DEFAULT_SETTINGS_TOML.replace(
        "[providers.openai]", "[providers.openai]\nmonthly_budget_usd = 20") + \
        '\n[prices."my-model"]\ninput = 1\noutput = 2\n'
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    context = AppContext.create(str(tmp_path))
    context.keys = KeyStore(environ={}, backend=memory)
    try:
        dialog = open_dialog(qtbot, context)
        dialog.providers_page.select("gemini")
        click(qtbot, dialog, QToolButton, "providerUp")
        click(qtbot, dialog, QPushButton, "settingsSave")
        saved, data = saved_toml(context)
        assert data["prices"] == {"my-model": {"input": 1, "output": 2}}
        assert data["providers"]["openai"]["monthly_budget_usd"] == 20
        assert context.settings.prices["my-model"].output == 2.0
        assert context.settings.providers["openai"].monthly_budget_usd == 20
    finally:
        context.close()


def test_a_provider_with_a_pool_of_keys_says_so_and_forgets_them_all(
        qtbot, ctx: AppContext, memory: MemoryKeyring) -> None:
    ctx.keys.set("anthropic", "sk-ant-first-key-000000001111")
    ctx.keys.add_to_pool("anthropic", "sk-ant-second-key-00000002222")
    dialog = open_dialog(qtbot, ctx)
    note = w(dialog, QLabel, "providerKeyNote").text()
    assert "2 keys (sk-…1111, sk-…2222), tried in turn" in note
    assert "chatdesk keys add anthropic" in note
    assert w(dialog, QToolButton, "providerKeyForget").toolTip() == \
        "Remove all 2 stored keys (on Save)."
    click(qtbot, dialog, QToolButton, "providerKeyForget")
    assert dialog.save()
    assert memory.entries == {}
