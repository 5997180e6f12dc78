"""Finding bundled files (source tree, wheel, PyInstaller) and making icons from them."""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer

log = logging.getLogger(__name__)

APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# On X11 a window's icon goes to the window manager as pixels, every size the QIcon has, in
# one property written when the window is made (before its first frame). 256 px is a 128 px
# icon on a 2x screen, the largest a task bar or switcher draws; the 512 alone would be 3/4
# of the 1.4 MB sent and ~7 ms to decode and send (macOS's Dock, unbundled, does use it).
X11_APP_ICON_MAX = 256
_COLOR_TOKEN = b"currentColor"


def resource_path(*parts: str) -> Path:
    """A file under chatdesk/resources, wherever chatdesk runs from.

    A PyInstaller bundle unpacks data to sys._MEIPASS (collect it as chatdesk/resources);
    a wheel or the source tree keeps it beside the package.
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidate = Path(bundle, "chatdesk", "resources")
        if candidate.is_dir():
            return candidate.joinpath(*parts)
    return Path(__file__).resolve().parents[1].joinpath("resources", *parts)


def app_icon(platform: str | None = None) -> QIcon:
    """The chatdesk mark at every rendered size (the SVG too, for anything larger); on X11
    (Qt platform "xcb"; by default the running app's) up to X11_APP_ICON_MAX."""
    if platform is None:
        platform = QGuiApplication.platformName()
    largest = X11_APP_ICON_MAX if platform == "xcb" else max(APP_ICON_SIZES)
    icon = QIcon()
    for size in (s for s in APP_ICON_SIZES if s <= largest):
        png = resource_path("icons", "hicolor", f"{size}x{size}", "apps", "chatdesk.png")
        if png.is_file():
            icon.addFile(str(png), QSize(size, size))
    svg = resource_path("icons", "chatdesk.svg")
    if icon.isNull() and svg.is_file():
        icon.addFile(str(svg))
    if icon.isNull():
        log.warning("chatdesk icon files are missing under %s", resource_path("icons"))
    return icon


def icon_names() -> list[str]:
    """Names icon() knows, e.g. "new-chat", "send"."""
    return sorted(p.stem for p in resource_path("icons", "actions").glob("*.svg"))


def icon(name: str) -> QIcon:
    """A monochrome action icon ("new-chat", "search", "settings", "stop", "send", "copy",
    "pin", "retry", "delete"), drawn in the palette's text colour at any size and scale.

    An unknown name gives an empty icon (and a log line), never an exception.
    """
    svg = _action_svg(name.replace("_", "-").lower())
    if svg is None:
        log.warning("no icon named %r", name)
        return QIcon()
    return QIcon(_SvgIconEngine(svg))


@functools.cache
def _action_svg(name: str) -> bytes | None:
    path = resource_path("icons", "actions", f"{name}.svg")
    try:
        return path.read_bytes()
    except OSError:
        return None


def _icon_color(mode: QIcon.Mode) -> QColor:
    palette = QGuiApplication.palette()
    if mode == QIcon.Mode.Disabled:
        return palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    if mode == QIcon.Mode.Selected:
        return palette.color(QPalette.ColorRole.HighlightedText)
    return palette.color(QPalette.ColorRole.WindowText)


class _SvgIconEngine(QIconEngine):
    """Renders the SVG at the exact pixel size asked for, recoloured to the current palette,
    so icons stay sharp on HiDPI screens and follow the light/dark theme."""

    def __init__(self, svg: bytes) -> None:
        super().__init__()
        self._svg = svg
        self._renderers: dict[int, QSvgRenderer] = {}

    def _renderer(self, color: QColor) -> QSvgRenderer:
        key = color.rgba()  # not name(NameFormat…): that enum is built on first use (~1 ms)
        renderer = self._renderers.get(key)
        if renderer is None:
            data = self._svg.replace(_COLOR_TOKEN, color.name().encode("ascii"))
            if color.alpha() < 255:
                data = data.replace(b"<svg ", f'<svg opacity="{color.alphaF():.3f}" '.encode(), 1)
            renderer = QSvgRenderer(QByteArray(data))
            self._renderers[key] = renderer
        return renderer

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(rect.width(), rect.height())
        square = QRectF(rect.x() + (rect.width() - side) / 2,
                        rect.y() + (rect.height() - side) / 2, side, side)
        self._renderer(_icon_color(mode)).render(painter, square)
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State,
                     scale: float) -> QPixmap:
        pixmap = QPixmap(max(1, round(size.width() * scale)), max(1, round(size.height() * scale)))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(QPoint(0, 0), pixmap.size()), mode, state)
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        return size

    def clone(self) -> QIconEngine:
        return _SvgIconEngine(self._svg)

    def key(self) -> str:
        return "chatdesk-svg"

    def isNull(self) -> bool:
        return False
