"""Light, dark and follow-the-OS looks: the Fusion style with our palettes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from chatdesk.ui import design

if TYPE_CHECKING:
    from chatdesk.settings import Settings

THEMES = ("system", "light", "dark")
_WATCHER_NAME = "chatdeskThemeWatcher"

def _palette(tokens: design.Palette) -> QPalette:
    """Qt's colour roles from the design's tokens (docs/design.md)."""
    role = QPalette.ColorRole
    base = QColor(tokens.window)
    dark = base.lightness() < 128
    colors = {
        role.Window: tokens.surface,  # behind widgets: the sidebar, dialogs, bars
        role.WindowText: tokens.text,
        role.Base: tokens.window,  # lists, fields, the transcript
        role.AlternateBase: tokens.surface,
        role.ToolTipBase: tokens.raised,
        role.ToolTipText: tokens.text,
        role.PlaceholderText: tokens.muted,
        role.Text: tokens.text,
        role.Button: tokens.raised,
        role.ButtonText: tokens.text,
        role.BrightText: tokens.danger,
        role.Light: QColor(tokens.raised).lighter(125 if dark else 100).name(),
        role.Midlight: QColor(tokens.raised).lighter(112 if dark else 100).name(),
        role.Mid: tokens.border,
        role.Dark: QColor(tokens.surface).darker(160).name(),
        role.Shadow: "#0c0c0d" if dark else "#8c959f",
        role.Highlight: tokens.highlight,
        role.HighlightedText: tokens.on_highlight,
        role.Link: tokens.link,
        role.LinkVisited: tokens.link,
    }
    palette = QPalette()
    for name, color in colors.items():
        palette.setColor(name, QColor(color))
    for name in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, name, QColor(tokens.disabled))
    palette.setColor(QPalette.ColorGroup.Disabled, role.Highlight, QColor(tokens.border))
    palette.setColor(QPalette.ColorGroup.Disabled, role.HighlightedText, QColor(tokens.text))
    if hasattr(role, "Accent"):  # Qt 6.6+
        palette.setColor(role.Accent, QColor(tokens.accent))
    return palette


def _dark_palette() -> QPalette:
    return _palette(design.DARK)


def _light_palette() -> QPalette:
    return _palette(design.LIGHT)


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
        self.styled = False  # Fusion set on the app
        self.fusion_given = False  # the app was made with it (new_application): do not ask
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


def new_application(argv0: str) -> QApplication:
    """The app's QApplication, made with the Fusion style: Qt makes it from the command
    line's -style, where setStyle() from Python would first build QStyle's ~20 Python enums
    (~5 ms before the first frame, in a window that may paint no item view)."""
    app = QApplication([argv0, "-style", "Fusion"])
    theme_watcher(app).fusion_given = True
    return app


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
    # The first time without asking app.style(): that would make the desktop's own style
    # (on KDE a plugin, Breeze) only for Fusion to replace it — or, made by new_application,
    # build the Python wrapper of the Fusion it already has, and QStyle's enums with it.
    if watcher.fusion_given:
        watcher.fusion_given = False
    elif not watcher.styled or app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    watcher.styled = True
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
