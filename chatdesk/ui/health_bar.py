"""The status-bar strip that shows each provider's health as a coloured dot and words."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QWidget

from chatdesk.states import HealthState
from chatdesk.wording import (
    display_name,
    health_tooltip,
    health_words,
    not_set_up_tooltip,
    providers_usable,
)

if TYPE_CHECKING:
    from PySide6.QtGui import QMouseEvent

    from chatdesk.provider_status import ProviderStatus

S = HealthState
# One colour per state, each at least 3:1 against both palettes' window colour (a dot is
# not text, WCAG 1.4.11); the words beside it say the state, so colour is never alone.
STATE_COLORS: dict[str, str] = {
    S.UNKNOWN: "#8b949e",  # drawn as a ring: nothing known yet
    S.UP: "#2ea043",
    S.SLOW: "#b87d00",
    S.HALF_OPEN: "#3b82f6",
    S.DOWN: "#da3633",
    S.KEY_REJECTED: "#b84fd6",
    S.NO_KEY: "#6e7781",
}
_COUNTING = (S.DOWN, S.KEY_REJECTED)  # states with a time left that the bar counts down
_USABLE = frozenset(s.value for s in S if s.usable)
# Room the status bar keeps for its passing sentences before the strip becomes one line.
MESSAGE_ROOM_PX = 320


@dataclass(frozen=True)
class HealthRow:
    """What the bar needs of one provider (a ProviderStatus or a providers --json row)."""

    name: str
    state: str
    seconds_left: float = 0.0
    last_error: str | None = None
    failures: int = 0
    last_error_class: str | None = None
    last_success_at: float | None = None  # unix times
    last_failure_at: float | None = None
    not_set_up: str | None = None  # why it is never asked; shown instead of its health
    keys_words: str | None = None  # '2 of 3 keys usable' for a provider with a pool

    @classmethod
    def of(cls, row: ProviderStatus | Mapping[str, Any]) -> HealthRow:
        get = row.get if isinstance(row, Mapping) else (lambda k, d=None: getattr(row, k, d))
        return cls(
            name=str(get("name")),
            state=str(get("state") or S.UNKNOWN),
            seconds_left=float(get("seconds_left", 0.0) or 0.0),
            last_error=get("last_error") or None,
            failures=int(get("failures", 0) or 0),
            last_error_class=get("last_error_class") or None,
            last_success_at=get("last_success_at"),
            last_failure_at=get("last_failure_at"),
            not_set_up=get("not_set_up") or None,
            keys_words=get("keys_words") or None,
        )


class _Dot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color = QColor(STATE_COLORS[S.UNKNOWN])
        self.ring = True
        self.setFixedSize(QSize(10, 10))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.ring:
            painter.setPen(QPen(self.color, 1.6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self.rect().adjusted(2, 2, -2, -2))
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.color)
            painter.drawEllipse(self.rect().adjusted(1, 1, -1, -1))


class HealthItem(QWidget):
    """One provider: a dot and 'Anthropic · down 2:13'."""

    clicked = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.name = name
        self.clock, self.wall = clock, wall
        self.setObjectName(f"health-{name}")
        self.row = HealthRow(name, S.UNKNOWN)
        self.deadline = 0.0  # clock() when the cooldown (or a rejected key's wait) ends
        self.dot = _Dot(self)
        self.dot.setObjectName(f"healthDot-{name}")
        self.label = QLabel(display_name(name), self)
        self.label.setObjectName(f"healthLabel-{name}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(5)
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    @property
    def state(self) -> str:
        """The state shown now (a wait that ended shows as half-open: tried again)."""
        if self.row.state in _COUNTING and self.deadline > 0 and self.seconds_left() <= 0:
            return S.HALF_OPEN
        return self.row.state

    def seconds_left(self) -> float:
        return max(0.0, self.deadline - self.clock()) if self.deadline else 0.0

    def set_row(self, row: HealthRow) -> None:
        self.row = row
        self.deadline = self.clock() + row.seconds_left if row.seconds_left > 0 else 0.0
        self.refresh()

    def words(self) -> str:
        """'Anthropic · down 2:13': the name and what its state is now."""
        if self.row.not_set_up:
            return f"{display_name(self.name)} · not set up"
        words = health_words(self.state, self.seconds_left(),
                             ever_failed=self.row.last_failure_at is not None)
        keys = f" · {self.row.keys_words}" if self.row.keys_words else ""
        return f"{display_name(self.name)} · {words}{keys}"

    def refresh(self) -> None:
        state, left, now = self.state, self.seconds_left(), self.wall()
        text = self.words()
        self.label.setText(text)
        self.dot.color = QColor(STATE_COLORS.get(state, STATE_COLORS[S.UNKNOWN]))
        self.dot.ring = state == S.UNKNOWN
        self.dot.update()
        row = self.row
        if row.not_set_up:
            self.dot.color = QColor(STATE_COLORS[S.UNKNOWN])
            self.setToolTip(not_set_up_tooltip(self.name, row.not_set_up))
            self.setAccessibleName(text)
            return
        self.setToolTip(health_tooltip(
            self.name, state, left, row.failures, row.last_error,
            last_error_class=row.last_error_class,
            success_ago_s=None if row.last_success_at is None else now - row.last_success_at,
            failure_ago_s=None if row.last_failure_at is None else now - row.last_failure_at))
        self.setAccessibleName(text)

    def counting(self) -> bool:
        return self.row.state in _COUNTING and self.seconds_left() > 0

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.name)
        super().mouseReleaseEvent(event)


class HealthBar(QWidget):
    """Provider health for the status bar; counts cooldowns down by itself between updates.
    Too narrow for every provider's words, it shows one line instead ("2 of 4 providers
    usable") whose tooltip lists them all: words are never cut off.

    `providerClicked(name)` fires when the user clicks a provider (e.g. to open settings).
    """

    providerClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.setObjectName("healthBar")
        self._clock, self._wall = clock, wall
        self._items: dict[str, HealthItem] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        # The bar's minimum is its one-line summary (minimumSizeHint), not every label.
        self._layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.summary = QWidget(self)
        self.summary.setObjectName("healthSummary")
        self._summary_dot = _Dot(self.summary)
        self.summary_label = QLabel(self.summary)
        self.summary_label.setObjectName("healthSummaryLabel")
        row = QHBoxLayout(self.summary)
        row.setContentsMargins(4, 0, 4, 0)
        row.setSpacing(5)
        row.addWidget(self._summary_dot)
        row.addWidget(self.summary_label)
        self.summary.hide()
        self._layout.addWidget(self.summary)
        self._compact = False
        self._watching: QWidget | None = None  # the status bar whose width decides the form
        self._timer = QTimer(self)
        self._timer.setObjectName("healthBarTimer")
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)

    def update_health(self, rows: Iterable[ProviderStatus | Mapping[str, Any]]) -> None:
        """Show rows (ProviderStatus objects, or dicts with name/state/seconds_left/…) in
        the order given; state "no-key" is for providers the caller found without a key."""
        parsed = [HealthRow.of(r) for r in rows]
        names = [r.name for r in parsed]
        if names != list(self._items):
            self._rebuild(names)
        for row in parsed:
            self._items[row.name].set_row(row)
        self._changed()

    def item(self, name: str) -> HealthItem | None:
        return self._items.get(name)

    def names(self) -> list[str]:
        return list(self._items)

    @property
    def compact(self) -> bool:
        """Showing the one-line summary (too narrow for every provider)."""
        return self._compact

    # -- sizes: the full strip when it fits, else the summary ------------------------------

    def _full_width(self) -> int:
        items = list(self._items.values())
        return sum(i.sizeHint().width() for i in items) + self._layout.spacing() * max(
            0, len(items) - 1)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        summary = self.summary.sizeHint()
        return summary if self._compact else QSize(max(self._full_width(), summary.width()),
                                                   summary.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return self.sizeHint()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._fit()
        return False

    def _room(self) -> int:
        """The width the strip may take: its status bar's, less room for sentences."""
        parent = self.parentWidget()
        if parent is None:
            return self.width()
        if self._watching is not parent:
            parent.installEventFilter(self)
            self._watching = parent
        return parent.width() - MESSAGE_ROOM_PX

    def _fit(self) -> None:
        compact = bool(self._items) and self._room() < self._full_width()
        if compact != self._compact or self.summary.isVisible() != compact:
            self._compact = compact
            for item in self._items.values():
                item.setVisible(not compact)
            self.summary.setVisible(compact)
            self.updateGeometry()

    def _changed(self) -> None:
        usable = sum(1 for i in self._items.values()
                     if i.state in _USABLE and not i.row.not_set_up)
        total = len(self._items)
        self.summary_label.setText(providers_usable(usable, total))
        worst = S.UP if usable == total else S.SLOW if usable else S.DOWN
        self._summary_dot.color = QColor(STATE_COLORS[worst])
        self._summary_dot.ring = False
        self._summary_dot.update()
        self.summary.setToolTip("\n".join(i.words() for i in self._items.values()))
        self.updateGeometry()
        self._fit()
        self._sync_timer()

    def _rebuild(self, names: list[str]) -> None:
        for item in self._items.values():
            self._layout.removeWidget(item)
        keep = {n: self._items.pop(n) for n in names if n in self._items}
        for old in self._items.values():
            old.deleteLater()
        self._items = {}
        for index, name in enumerate(names):
            item = keep.get(name) or HealthItem(name, self, self._clock, self._wall)
            if name not in keep:
                item.clicked.connect(self.providerClicked)
            self._layout.insertWidget(index, item)
            self._items[name] = item

    def _tick(self) -> None:
        for item in self._items.values():
            if item.row.state in _COUNTING:
                item.refresh()
        self._changed()

    def _sync_timer(self) -> None:
        if any(item.counting() for item in self._items.values()):
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()
