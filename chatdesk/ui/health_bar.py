"""The status-bar strip that shows each provider's health as a coloured dot and a word."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from chatdesk.states import HealthState
from chatdesk.wording import health_tooltip, health_words

if TYPE_CHECKING:
    from PySide6.QtGui import QMouseEvent

    from chatdesk.provider_status import ProviderStatus

UP, DOWN, HALF_OPEN, NO_KEY = (HealthState.UP, HealthState.DOWN, HealthState.HALF_OPEN,
                              HealthState.NO_KEY)
STATE_COLORS: dict[str, str] = {UP: "#2ea043", HALF_OPEN: "#d29922", DOWN: "#da3633",
                                NO_KEY: "#8b949e"}
_UNKNOWN_COLOR = "#8b949e"


@dataclass(frozen=True)
class HealthRow:
    """What the bar needs of one provider (ProviderHealth or a providers --json row)."""

    name: str
    state: str
    seconds_left: float = 0.0
    last_error: str | None = None
    failures: int = 0

    @classmethod
    def of(cls, row: ProviderStatus | Mapping[str, Any]) -> HealthRow:
        get = row.get if isinstance(row, Mapping) else (lambda k, d=None: getattr(row, k, d))
        return cls(
            name=str(get("name")),
            state=str(get("state") or UP),
            seconds_left=float(get("seconds_left", 0.0) or 0.0),
            last_error=get("last_error") or None,
            failures=int(get("failures", 0) or 0),
        )


class _Dot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color = QColor(_UNKNOWN_COLOR)
        self.setFixedSize(QSize(10, 10))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.color)
        painter.drawEllipse(self.rect().adjusted(1, 1, -1, -1))


class HealthItem(QWidget):
    """One provider: a dot and 'name · cooling 42 s'."""

    clicked = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.name = name
        self.clock = clock
        self.setObjectName(f"health-{name}")
        self.row = HealthRow(name, UP)
        self.deadline = 0.0  # clock() when the cooldown ends
        self.dot = _Dot(self)
        self.dot.setObjectName(f"healthDot-{name}")
        self.label = QLabel(name, self)
        self.label.setObjectName(f"healthLabel-{name}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(5)
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    @property
    def state(self) -> str:
        """The state shown now (a finished cooldown shows as half-open)."""
        if self.row.state == DOWN and self.seconds_left() <= 0 and self.deadline > 0:
            return HALF_OPEN
        return self.row.state

    def seconds_left(self) -> float:
        return max(0.0, self.deadline - self.clock()) if self.deadline else 0.0

    def set_row(self, row: HealthRow) -> None:
        self.row = row
        self.deadline = self.clock() + row.seconds_left if row.seconds_left > 0 else 0.0
        self.refresh()

    def refresh(self) -> None:
        state, left = self.state, self.seconds_left()
        words = health_words(state, left)
        self.label.setText(f"{self.name} · {words}" if words else self.name)
        self.dot.color = QColor(STATE_COLORS.get(state, _UNKNOWN_COLOR))
        self.dot.update()
        self.setToolTip(health_tooltip(self.name, state, left, self.row.failures,
                                       self.row.last_error))
        self.setAccessibleName(f"{self.name}: {words or 'up'}")

    def cooling(self) -> bool:
        return self.row.state == DOWN and self.seconds_left() > 0

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.name)
        super().mouseReleaseEvent(event)


class HealthBar(QWidget):
    """Provider health for the status bar; counts cooldowns down by itself between updates.

    `providerClicked(name)` fires when the user clicks a provider (e.g. to open settings).
    """

    providerClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.setObjectName("healthBar")
        self._clock = clock
        self._items: dict[str, HealthItem] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        self._timer = QTimer(self)
        self._timer.setObjectName("healthBarTimer")
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)

    def update_health(self, rows: Iterable[ProviderStatus | Mapping[str, Any]]) -> None:
        """Show rows (ProviderStatus objects or dicts with name/state/seconds_left/last_error)
        in the order given; state "no-key" is for providers the caller found without a key."""
        parsed = [HealthRow.of(r) for r in rows]
        names = [r.name for r in parsed]
        if names != list(self._items):
            self._rebuild(names)
        for row in parsed:
            self._items[row.name].set_row(row)
        self._sync_timer()

    def item(self, name: str) -> HealthItem | None:
        return self._items.get(name)

    def names(self) -> list[str]:
        return list(self._items)

    def _rebuild(self, names: list[str]) -> None:
        for item in self._items.values():
            self._layout.removeWidget(item)
        keep = {n: self._items.pop(n) for n in names if n in self._items}
        for old in self._items.values():
            old.deleteLater()
        self._items = {}
        for name in names:
            item = keep.get(name) or HealthItem(name, self, self._clock)
            if name not in keep:
                item.clicked.connect(self.providerClicked)
            self._layout.addWidget(item)
            self._items[name] = item

    def _tick(self) -> None:
        for item in self._items.values():
            if item.row.state == DOWN:
                item.refresh()
        self._sync_timer()

    def _sync_timer(self) -> None:
        if any(item.cooling() for item in self._items.values()):
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()
