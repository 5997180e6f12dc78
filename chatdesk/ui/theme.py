"""Light, dark and follow-the-OS looks: the Fusion style with our palettes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

if TYPE_CHECKING:
    from chatdesk.settings import Settings

THEMES = ("system", "light", "dark")
_WATCHER_NAME = "chatdeskThemeWatcher"

_DARK = {
    QPalette.ColorRole.Window: "#2b2d30",
    QPalette.ColorRole.WindowText: "#e4e6e8",
    QPalette.ColorRole.Base: "#1e1f22",
    QPalette.ColorRole.AlternateBase: "#26282b",
    QPalette.ColorRole.ToolTipBase: "#3c3f43",
    QPalette.ColorRole.ToolTipText: "#e4e6e8",
    QPalette.ColorRole.PlaceholderText: "#8b9098",
    QPalette.ColorRole.Text: "#e4e6e8",
    QPalette.ColorRole.Button: "#393b40",
    QPalette.ColorRole.ButtonText: "#e4e6e8",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Light: "#4e5157",
    QPalette.ColorRole.Midlight: "#43464b",
    QPalette.ColorRole.Mid: "#303236",
    QPalette.ColorRole.Dark: "#1b1c1f",
    QPalette.ColorRole.Shadow: "#0c0c0d",
    QPalette.ColorRole.Highlight: "#3574f0",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6cb6ff",
    QPalette.ColorRole.LinkVisited: "#b392f0",
}
_DARK_DISABLED = {
    QPalette.ColorRole.WindowText: "#7d8188",
    QPalette.ColorRole.Text: "#7d8188",
    QPalette.ColorRole.ButtonText: "#7d8188",
    QPalette.ColorRole.Base: "#26282b",
    QPalette.ColorRole.Button: "#313337",
    QPalette.ColorRole.Highlight: "#4a4d52",
    QPalette.ColorRole.HighlightedText: "#a0a4aa",
}


def _dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in _DARK.items():
        palette.setColor(role, QColor(color))
    for role, color in _DARK_DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))
    if hasattr(QPalette.ColorRole, "Accent"):  # Qt 6.6+
        palette.setColor(QPalette.ColorRole.Accent, QColor(_DARK[QPalette.ColorRole.Highlight]))
    return palette


def _light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    palette = QPalette(style.standardPalette()) if style is not None else QPalette()
    palette.setColor(QPalette.ColorRole.Link, QColor("#0969da"))
    palette.setColor(QPalette.ColorRole.LinkVisited, QColor("#8250df"))
    return palette


class ThemeWatcher(QObject):
    """Holds the chosen theme and re-applies it when the OS switches light/dark.

    `changed(dark)` fires whenever the look flips, so views can re-render (code colours).
    """

    changed = Signal(bool)

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.setObjectName(_WATCHER_NAME)
        self._app = app
        self.theme = "system"
        self._dark: bool | None = None
        app.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)

    def os_prefers_dark(self) -> bool:
        return self._app.styleHints().colorScheme() == Qt.ColorScheme.Dark

    def wants_dark(self) -> bool:
        if self.theme == "dark":
            return True
        if self.theme == "light":
            return False
        return self.os_prefers_dark()

    def apply(self) -> None:
        dark = self.wants_dark()
        self._app.setPalette(_dark_palette() if dark else _light_palette())
        if dark != self._dark:
            self._dark = dark
            self.changed.emit(dark)

    def _on_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self.theme == "system":
            self.apply()


def theme_watcher(app: QApplication) -> ThemeWatcher:
    """The app's one ThemeWatcher (made on first use)."""
    watcher = app.findChild(ThemeWatcher, _WATCHER_NAME)
    return watcher if watcher is not None else ThemeWatcher(app)


def apply_theme(app: QApplication, theme: str) -> None:
    """Use theme "system" (follow the OS, also when it changes), "light" or "dark"."""
    if theme not in THEMES:
        theme = "system"
    watcher = theme_watcher(app)
    watcher.theme = theme
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):  # Qt 6.8+: also dark title bars on Windows/macOS
        if theme == "system":
            hints.unsetColorScheme()
        else:
            hints.setColorScheme(
                Qt.ColorScheme.Dark if theme == "dark" else Qt.ColorScheme.Light
            )
    watcher.apply()


def is_dark(app: QApplication) -> bool:
    """Whether the app currently looks dark (decides the code-highlighting colours)."""
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def follow_settings(settings: Settings) -> None:
    """After a settings change: use the theme it names (a listener of settingsChanged)."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_theme(app, settings.ui.theme)
