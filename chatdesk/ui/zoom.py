"""Zoom: the whole window's text size, in steps around design.BODY_PX, remembered."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from chatdesk.ui.design import BODY_PX, SMALL_PX

STEPS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)
DEFAULT = 1.0


def nearest(zoom: float) -> float:
    """The step closest to `zoom` (a remembered value from an older or edited window.ini)."""
    return min(STEPS, key=lambda step: abs(step - zoom))


def step(zoom: float, direction: int) -> float:
    """The next step up (1) or down (-1) from `zoom`, kept within STEPS."""
    at = STEPS.index(nearest(zoom))
    return STEPS[max(0, min(len(STEPS) - 1, at + direction))]


def body_px(zoom: float) -> int:
    return round(BODY_PX * zoom)


def small_font(base: QFont) -> QFont:
    """design.SMALL_PX beside a body-sized `base`, at the same zoom."""
    font = QFont(base)
    size = base.pixelSize()
    if size > 0:
        font.setPixelSize(max(9, round(size * SMALL_PX / BODY_PX)))
    else:
        font.setPointSizeF(max(7.0, base.pointSizeF() * SMALL_PX / BODY_PX))
    return font


def apply_zoom(app: QApplication, zoom: float) -> None:
    """Set the application font to the body size at this zoom (every widget follows it)."""
    font = QFont(app.font())
    font.setPixelSize(body_px(nearest(zoom)))
    app.setFont(font)
