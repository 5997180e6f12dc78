"""The menu of presets for a new chat (Chat ▸ New chat from a preset, the sidebar's ▾)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMenu, QWidget

if TYPE_CHECKING:
    from chatdesk.prompts import Preset


def preset_menu(parent: QWidget, presets: Callable[[], list[Preset]],
                choose: Callable[[str], object]) -> QMenu:
    """"New chat from a preset": filled with the presets each time it opens."""
    menu = QMenu("New chat from a preset", parent)
    menu.setObjectName("presetMenu")

    def fill_menu() -> None:
        menu.clear()
        found = presets()
        for preset in found:
            order = ", ".join(str(r) for r in preset.routes) or "the failover order"
            action = menu.addAction(preset.name)
            action.setToolTip(order)
            action.setStatusTip(order)
            action.triggered.connect(lambda _=False, name=preset.name: choose(name))
        if not found:
            none = menu.addAction("No presets yet: Chat ▸ Prompts and presets… makes one")
            none.setEnabled(False)

    menu.aboutToShow.connect(fill_menu)
    return menu
