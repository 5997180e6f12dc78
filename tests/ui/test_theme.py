"""apply_theme / is_dark: Fusion with our light and dark palettes, following the OS on "system"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from chatdesk.ui import theme as theme_module
from chatdesk.ui.theme import apply_theme, is_dark, theme_watcher
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    """The app, with its look put back afterwards so other tests see the usual palette."""
    palette, style = QPalette(qapp.palette()), qapp.style().name()
    watcher = theme_watcher(qapp)
    old_theme = watcher.theme
    yield qapp
    watcher.theme = old_theme
    if hasattr(qapp.styleHints(), "unsetColorScheme"):
        qapp.styleHints().unsetColorScheme()
    qapp.setStyle(style)
    qapp.setPalette(palette)


def test_dark_and_light(app: QApplication) -> None:
    apply_theme(app, "dark")
    assert is_dark(app)
    assert app.style().name().lower() == "fusion"
    window = app.palette().color(QPalette.ColorRole.Window)
    text = app.palette().color(QPalette.ColorRole.WindowText)
    assert text.lightness() - window.lightness() > 120  # readable contrast
    disabled = app.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert disabled != text
    apply_theme(app, "light")
    assert not is_dark(app)
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200


def test_system_follows_the_os_scheme_and_its_changes(app: QApplication, monkeypatch) -> None:
    watcher = theme_watcher(app)
    prefers = {"dark": False}
    monkeypatch.setattr(watcher, "os_prefers_dark", lambda: prefers["dark"])
    changes: list[bool] = []
    watcher.changed.connect(changes.append)
    try:
        apply_theme(app, "system")
        assert not is_dark(app)
        prefers["dark"] = True
        watcher._on_scheme_changed(None)  # what colorSchemeChanged delivers
        assert is_dark(app)
        apply_theme(app, "light")  # an explicit choice ignores the OS
        watcher._on_scheme_changed(None)
        assert not is_dark(app)
    finally:
        watcher.changed.disconnect(changes.append)
    assert changes[-2:] == [True, False]


def test_unknown_theme_means_system(app: QApplication) -> None:
    apply_theme(app, "purple")
    assert theme_watcher(app).theme == "system"
    assert theme_module.THEMES == ("system", "light", "dark")


def test_one_watcher_per_app(app: QApplication) -> None:
    apply_theme(app, "dark")
    apply_theme(app, "light")
    assert theme_watcher(app) is theme_watcher(app)
    assert len(app.findChildren(theme_module.ThemeWatcher)) == 1


def test_the_app_is_made_with_fusion_whatever_the_desktop_asks() -> None:
    import os
    import subprocess
    import sys

    code = ("from chatdesk.ui.theme import apply_theme, new_application, theme_watcher\n"
            "app = new_application('chatdesk')\n"
            "apply_theme(app, 'system')\n"
            "print(app.style().name(), theme_watcher(app).styled)\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_STYLE_OVERRIDE": "windows"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fusion", "True"]
