"""Bundled icons: found from source, wheel or PyInstaller; sharp at any size; themed."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPalette
from PySide6.QtSvg import QSvgRenderer

from chatdesk.ui import resources
from chatdesk.ui.resources import APP_ICON_SIZES, app_icon, icon, icon_names, resource_path
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()

ACTIONS = ["new-chat", "search", "settings", "stop", "send", "copy", "pin"]


def test_resource_path_finds_the_package_data() -> None:
    root = resource_path()
    assert root == Path(resources.__file__).resolve().parents[1] / "resources"
    assert resource_path("icons", "chatdesk.svg").is_file()


def test_resource_path_prefers_a_pyinstaller_bundle(tmp_path: Path, monkeypatch) -> None:
    bundled = tmp_path / "chatdesk" / "resources" / "icons"
    bundled.mkdir(parents=True)
    shutil.copy(resource_path("icons", "chatdesk.svg"), bundled)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_path("icons", "chatdesk.svg") == bundled / "chatdesk.svg"


def test_hicolor_pngs_have_their_sizes(qapp) -> None:
    for size in APP_ICON_SIZES:
        png = resource_path("icons", "hicolor", f"{size}x{size}", "apps", "chatdesk.png")
        image = QImage(str(png))
        assert (image.width(), image.height()) == (size, size), png
        assert image.hasAlphaChannel()
    assert resource_path("icons", "hicolor", "scalable", "apps", "chatdesk.svg").is_file()


def test_app_icon_has_every_size(qapp) -> None:
    sizes = app_icon().availableSizes()
    assert [s.width() for s in sizes] == list(APP_ICON_SIZES)
    assert [s.width() for s in app_icon("cocoa").availableSizes()] == list(APP_ICON_SIZES)


def test_the_x11_window_icon_stops_at_256(qapp) -> None:
    # X11 gets every size as pixels when the window is made: the 512 would be 1 MB of it.
    sizes = [s.width() for s in app_icon("xcb").availableSizes()]
    assert sizes == [s for s in APP_ICON_SIZES if s <= 256]


def test_svgs_are_valid_and_self_contained(qapp) -> None:
    for path in resource_path("icons").rglob("*.svg"):
        text = path.read_text(encoding="utf-8")
        assert QSvgRenderer(str(path)).isValid(), path
        assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', ""), path
        assert "<image" not in text and "<script" not in text


@pytest.mark.parametrize("name", ACTIONS)
def test_action_icons_are_sharp_on_hidpi(qapp, name: str) -> None:
    assert name in icon_names()
    made = icon(name)
    assert not made.isNull()
    pixmap = made.pixmap(QSize(24, 24), 2.0)
    assert pixmap.devicePixelRatio() == 2.0
    assert (pixmap.width(), pixmap.height()) == (48, 48)  # drawn at device pixels
    image = pixmap.toImage()
    inked = sum(image.pixelColor(x, y).alpha() > 0 for x in range(48) for y in range(48))
    assert inked > 40


def test_action_icons_take_the_palette_text_colour(qapp) -> None:
    old = QGuiApplication.palette()
    try:
        for colour in ("#ffffff", "#102030"):
            palette = QPalette(old)
            palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
            QGuiApplication.setPalette(palette)
            image = icon("stop").pixmap(QSize(24, 24)).toImage()
            centre = image.pixelColor(12, 12)  # inside the filled square
            assert centre.name() == colour
    finally:
        QGuiApplication.setPalette(old)


def test_unknown_icon_is_empty_not_an_error(qapp) -> None:
    assert icon("no-such-icon").isNull()
    assert icon("new_chat").isNull() is False  # underscores work too
