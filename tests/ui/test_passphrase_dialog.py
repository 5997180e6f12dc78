"""The passphrase dialog over the main window: a locked key file holding a provider's key is
asked for once a run, a wrong passphrase is said and nothing is lost, then sending works."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton

from chatdesk.keyfile import KeyFile
from chatdesk.ui.passphrase_dialog import PassphraseDialog
from tests.fakes.server import FakeProvider
from tests.helpers import key_var
from tests.ui.conftest import qt_warning_marks
from tests.ui.test_main_window import rows, send, wait_idle

pytestmark = qt_warning_marks()
SHOTS = Path("/tmp/chatdesk-shots")
PASS = "the key file passphrase"


def locked_window(make_ctx: Any, make_window: Any, fake: FakeProvider,
                  monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Any:
    ctx = make_ctx([("main", fake)])
    monkeypatch.delenv(key_var("main"))  # the key is only in the file
    KeyFile(data_dir / "keys.enc").create(PASS, {"main": fake.api_key})
    return make_window(ctx)


def asked(qtbot: Any, window: Any) -> PassphraseDialog:
    qtbot.waitUntil(lambda: window.findChild(PassphraseDialog) is not None
                    and window.findChild(PassphraseDialog).isVisible(), timeout=3000)
    dialog = window.findChild(PassphraseDialog)
    assert dialog is not None
    return dialog


def test_the_window_asks_once_and_the_key_then_answers(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    window = locked_window(make_ctx, make_window, fake_anthropic, monkeypatch, data_dir)
    dialog = asked(qtbot, window)
    assert window.isEnabled()  # open(), not exec(): the window keeps painting
    intro = dialog.findChild(QLabel, "passphraseIntro").text()
    assert str(data_dir / "keys.enc") in intro
    field = dialog.findChild(QLineEdit, "passphrase")
    assert field.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(field, "wrong one")
    ok = dialog.findChild(QPushButton, "passphraseOk")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    error = dialog.findChild(QLabel, "passphraseError")
    assert "does not open" in error.text() and dialog.isVisible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    qtbot.wait(50)
    shot = data_dir / "passphrase-dialog.png"
    assert dialog.grab().save(str(shot))
    shutil.copy(shot, SHOTS / shot.name)
    field.setText(PASS)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert window.health_bar.names() == ["main"]
    send(qtbot, window, "hello through the key file")
    wait_idle(qtbot, window)
    assert rows(window)[-1].status == "complete"
    assert fake_anthropic.requests[-1].headers["x-api-key"] == fake_anthropic.api_key
    window.controller.check_keys()  # unlocked: never asked again
    assert window.findChild(PassphraseDialog) is None or not \
        window.findChild(PassphraseDialog).isVisible()


def test_not_now_is_an_answer_for_this_run(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    window = locked_window(make_ctx, make_window, fake_anthropic, monkeypatch, data_dir)
    dialog = asked(qtbot, window)
    qtbot.mouseClick(dialog.findChild(QPushButton, "passphraseCancel"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(PassphraseDialog) is None, timeout=3000)
    seen: list[int] = []
    window.controller.passphraseNeeded.connect(lambda: seen.append(1))
    window.controller.check_keys()
    assert seen == []
    assert window.controller.keys.file_locked_in_use()


def test_without_keyring_or_file_a_pasted_key_answers_at_once(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """The onboarding path: save_settings with a typed key keeps it for this session."""
    from chatdesk.context import KeyChanges

    ctx = make_ctx([("main", fake_anthropic)])
    monkeypatch.delenv(key_var("main"))
    window = make_window(ctx)
    assert window.controller.save_settings(
        ctx.settings, KeyChanges(typed={"main": fake_anthropic.api_key})) is None
    assert dict(ctx.key_status())["main"] == "this session only"
    send(qtbot, window, "hello from memory")
    wait_idle(qtbot, window)
    assert rows(window)[-1].status == "complete"
    assert not (data_dir / "keys.enc").exists()
    assert window.findChild(PassphraseDialog) is None
