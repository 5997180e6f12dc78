"""The main states at the smallest and a large window, light and dark: no text is cut off
and nothing is drawn outside the window. Screenshots go to /tmp/chatdesk-shots/layout-*."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from chatdesk.ui.theme import apply_theme
from tests.fakes.server import FakeProvider
from tests.ui.conftest import qt_warning_marks
from tests.ui.layout_check import clipped_text, outside
from tests.ui.test_screenshots import SHOTS, seed_markdown

pytestmark = qt_warning_marks()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def themed(qapp: QApplication) -> Any:
    def use(theme: str) -> None:
        apply_theme(qapp, theme)

    yield use
    apply_theme(qapp, "light")


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", [(800, 500), (2560, 1440)])
def test_main_states_fit(qtbot: Any, make_ctx: Any, make_window: Any, themed: Any,
                         fake_anthropic: FakeProvider, theme: str,
                         size: tuple[int, int], tmp_path: Path) -> None:
    from tests.ui.test_attachments_ui import png

    themed(theme)
    files = []
    for name in ("a rather long screenshot name from today.png", "notes.txt", "data.csv"):
        path = tmp_path / name
        path.write_bytes(png(120, 80) if name.endswith(".png") else f"{name}\n".encode())
        files.append(str(path))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = seed_markdown(ctx.store)
    window = make_window(ctx, size=size)
    SHOTS.mkdir(parents=True, exist_ok=True)
    states = {
        "conversation": lambda: window.open_conversation(conv),
        "new-chat": window.new_chat,
        "panel": lambda: (window.open_conversation(conv), window.toggle_panel()),
        "no-sidebar": lambda: (window.toggle_panel(), window.toggle_sidebar()),
        "files-to-send": lambda: (window.toggle_sidebar(), window.open_conversation(conv),
                                  window.controller.files.add_paths(files)),
    }
    for name, show in states.items():
        show()
        qtbot.wait(60)
        assert window.size().toTuple() == size, f"{name}: the window had to grow"
        assert clipped_text(window) == [], name
        assert outside(window) == [], name
        window.grab().save(str(SHOTS / f"layout-{name}-{size[0]}-{theme}.png"))


@pytest.mark.slow
def test_at_200_percent_scale(tmp_path: Path) -> None:
    """A real process at QT_SCALE_FACTOR=2 (Qt cannot change scale inside one process)."""
    script = tmp_path / "scaled.py"
    script.write_text(f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from PySide6.QtWidgets import QApplication
app = QApplication([])
from chatdesk.context import AppContext
from chatdesk.ui.main_window import MainWindow
from tests.ui.layout_check import clipped_text, outside
from tests.ui.test_screenshots import seed_markdown
ctx = AppContext.create({str(tmp_path / 'data')!r}, warn=False)
conv = seed_markdown(ctx.store)
window = MainWindow(ctx.store, ctx=ctx, background=False)
window.resize(800, 500)
window.show()
window.open_conversation(conv)
for _ in range(20):
    app.processEvents()
image = window.grab()
assert image.devicePixelRatio() == 2, image.devicePixelRatio()
image.save({str(SHOTS / 'layout-200pct.png')!r})
print(clipped_text(window) + outside(window))
""")
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_dialogs_fit(qtbot: Any, make_ctx: Any, make_window: Any, themed: Any,
                     fake_anthropic: FakeProvider, theme: str) -> None:
    from PySide6.QtGui import QAction

    from chatdesk.ui.settings_dialog import SettingsDialog
    from chatdesk.ui.shortcut_sheet import ShortcutSheet
    from chatdesk.ui.trash_dialog import TrashDialog

    themed(theme)
    ctx = make_ctx([("anthropic", fake_anthropic)])
    gone = ctx.store.create_conversation("A deleted conversation with a long title")
    window = make_window(ctx)
    window.controller.delete_conversation(gone.id)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, dialog in (("settings", SettingsDialog(window.controller, window)),
                         ("trash", TrashDialog(window.controller, window)),
                         ("shortcuts", ShortcutSheet(window.findChildren(QAction), window))):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.wait(40)
        assert clipped_text(dialog) == [], name
        assert outside(dialog) == [], name
        dialog.grab().save(str(SHOTS / f"layout-dialog-{name}-{theme}.png"))
        dialog.close()
