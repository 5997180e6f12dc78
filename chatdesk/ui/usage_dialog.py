"""Chat ▸ Usage…: the last 30 days by day and provider as stacked bars, the totals per
provider and model, and this month's budgets."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chatdesk import wording
from chatdesk.ui import design

if TYPE_CHECKING:
    from chatdesk.ui.controller import ChatController
    from chatdesk.usage import DayUsage, UsageReport, UsageTotal

DAYS = 30
PLOT_MIN_HEIGHT = 170
MAX_TABLE_ROWS = 6


def series_colors(dark: bool) -> tuple[str, ...]:
    return design.CHART_DARK if dark else design.CHART_LIGHT


def _dark(widget: QWidget) -> bool:
    return widget.palette().color(QPalette.ColorRole.Window).lightness() < 128


def nice_ceiling(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


class StackedBars(QWidget):
    """One bar per day, its segments the providers' cost (or, when nothing cost anything,
    their answers), drawn with QPainter; a legend names each provider's colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("usagePlot")
        self.setMinimumHeight(PLOT_MIN_HEIGHT)
        self.days: list[DayUsage] = []
        self.providers: list[str] = []
        self.by_cost = True

    def set_data(self, days: list[DayUsage], providers: list[str]) -> None:
        self.days, self.providers = days, providers
        self.by_cost = any(d.cost_usd > 0 for d in days)
        self.setAccessibleName("Usage by day and provider")
        self.setAccessibleDescription(self.describe())
        self.update()

    def value(self, day: DayUsage, provider: str) -> float:
        if self.by_cost:
            return day.cost_by_provider.get(provider, 0.0)
        return float(day.answers_by_provider.get(provider, 0))

    def describe(self) -> str:
        """The plot in words, for screen readers."""
        what = "cost" if self.by_cost else "answers"
        busiest = max(self.days, key=lambda d: sum(self.value(d, p) for p in self.providers),
                      default=None)
        if busiest is None or not self.providers:
            return "No answers in the last 30 days."
        top = sum(self.value(busiest, p) for p in self.providers)
        shown = wording.dollars(top) if self.by_cost else f"{top:.0f} answers"
        return f"Daily {what} per provider; the busiest day was " \
               f"{busiest.day:%d %B} with {shown}."

    def color(self, provider: str) -> QColor:
        colors = series_colors(_dark(self))
        index = self.providers.index(provider) if provider in self.providers else 0
        return QColor(colors[index % len(colors)])

    def plot_rect(self) -> QRectF:
        """Where the bars go: room on the left for the axis labels, below for the dates and
        the legend."""
        left = self.fontMetrics().horizontalAdvance("$00.00") + design.SPACE[2]
        legend = self.fontMetrics().height() + design.SPACE[2]
        below = self.fontMetrics().height() + design.SPACE[1] + legend
        return QRectF(left, design.SPACE[2], max(1.0, self.width() - left - design.SPACE[3]),
                      max(1.0, self.height() - design.SPACE[2] - below))

    def bar_rect(self, index: int) -> QRectF:
        """The slot of day `index` (its whole height)."""
        area = self.plot_rect()
        slot = area.width() / max(1, len(self.days))
        gap = max(1.0, slot * 0.25)
        return QRectF(area.left() + index * slot + gap / 2, area.top(), slot - gap,
                      area.height())

    def sizeHint(self) -> QSize:
        return QSize(760, 220)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        grid = QColor(muted)
        grid.setAlpha(70)
        area = self.plot_rect()
        metrics = self.fontMetrics()
        totals = [sum(self.value(d, p) for p in self.providers) for d in self.days]
        top = nice_ceiling(max(totals, default=0.0))
        # The axis: the top, the middle and zero, with faint lines across.
        for fraction in (0.0, 0.5, 1.0):
            y = area.bottom() - fraction * area.height()
            painter.setPen(grid)
            painter.drawLine(int(area.left()), int(y), int(area.right()), int(y))
            painter.setPen(muted)
            label = self._axis_label(top * fraction)
            painter.drawText(QRectF(0, y - metrics.height() / 2, area.left() - design.SPACE[1],
                                    metrics.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        for index, day in enumerate(self.days):
            slot = self.bar_rect(index)
            y = area.bottom()
            for provider in self.providers:
                height = self.value(day, provider) / top * area.height()
                if height <= 0:
                    continue
                height = max(height, 1.0)
                painter.fillRect(QRectF(slot.left(), y - height, slot.width(), height),
                                 self.color(provider))
                y -= height
        # Dates under the bars: today (the last) and every 7th day before it.
        painter.setPen(muted)
        for index, day in enumerate(self.days):
            if (len(self.days) - 1 - index) % 7:
                continue
            slot = self.bar_rect(index)
            label = f"{day.day:%-d %b}"
            width = metrics.horizontalAdvance(label)
            x = min(max(slot.center().x() - width / 2, area.left()), self.width() - width - 2)
            painter.drawText(int(x), int(area.bottom() + design.SPACE[1] + metrics.ascent()),
                             label)
        self._legend(painter, area, text)
        painter.end()

    def _axis_label(self, value: float) -> str:
        if not self.by_cost:
            return f"{value:.0f}"
        if value == 0:
            return "$0"
        return f"${value:.2f}" if value < 10 else f"${value:,.0f}"

    def _legend(self, painter: QPainter, area: QRectF, text: QColor) -> None:
        metrics = self.fontMetrics()
        y = self.height() - metrics.height() - 2
        x = area.left()
        square = metrics.height() * 0.7
        what = "" if self.by_cost else "answers per day: "
        if what:
            painter.setPen(text)
            painter.drawText(int(x), int(y + metrics.ascent()), what)
            x += metrics.horizontalAdvance(what)
        for provider in self.providers:
            if not any(self.value(d, provider) for d in self.days):
                continue  # nothing of it to see (a free local model): named in the table
            painter.fillRect(QRectF(x, y + (metrics.height() - square) / 2, square, square),
                             self.color(provider))
            x += square + design.SPACE[1]
            name = wording.display_name(provider)
            painter.setPen(text)
            painter.drawText(int(x), int(y + metrics.ascent()), name)
            x += metrics.horizontalAdvance(name) + design.SPACE[3]


class UsageDialog(QDialog):
    """The usage view; the numbers come from the controller."""

    def __init__(self, controller: ChatController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("usageDialog")
        self.setWindowTitle("Usage")
        self.controller = controller
        self.resize(800, 500)
        self.summary = QLabel()
        self.summary.setObjectName("usageSummary")
        font = QFont(self.summary.font())
        font.setPixelSize(design.HEADING_PX[2])
        font.setBold(True)
        self.summary.setFont(font)
        self.note = QLabel()
        self.note.setObjectName("usageNote")
        self.note.setWordWrap(True)
        self.note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.plot = StackedBars()
        self.table = QTableWidget(0, 6)
        self.table.setObjectName("usageTable")
        self.table.setAccessibleName("Totals per provider and model")
        self.table.setHorizontalHeaderLabels(
            ["Provider", "Model", "Answers", "Input tokens", "Output tokens", "Cost"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(
            self.fontMetrics().height() + design.SPACE[2])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, 3, 4, 5):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.budgets = QWidget()
        self.budgets.setObjectName("usageBudgets")
        self.budget_layout = QVBoxLayout(self.budgets)
        self.budget_layout.setContentsMargins(0, 0, 0, 0)
        self.budget_layout.setSpacing(design.SPACE[1])

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        self.close_button = close
        layout = QVBoxLayout(self)
        layout.setContentsMargins(*(design.SPACE[4],) * 4)
        layout.setSpacing(design.SPACE[2])
        layout.addWidget(self.summary)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.table)
        layout.addWidget(self.budgets)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.reload()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.close_button.setFocus()  # Enter or Esc closes; Tab reaches the table

    def reload(self) -> None:
        report = self.controller.usage_report(DAYS)
        if isinstance(report, str):
            self.summary.setText("Usage cannot be shown")
            self.note.setText(report)
            self.plot.set_data([], [])
            return
        self.show_report(report)

    def show_report(self, report: UsageReport) -> None:
        total = report.total
        answers = f"{total.answers:,} answer{'s' if total.answers != 1 else ''}"
        self.summary.setText(f"Last {DAYS} days: {wording.dollars(total.cost_usd or 0.0)} "
                             f"for {answers}" if total.answers else
                             f"No answers in the last {DAYS} days")
        self.plot.set_data(report.days, report.providers)
        self._fill_table(report)
        self._fill_budgets(report)
        notes = ["Costs use today's prices (shipped, or set in settings.toml); days are UTC."]
        if total.unpriced:
            notes.insert(0, f"{total.unpriced} answer{'s' if total.unpriced != 1 else ''} "
                            "had no known price and count as unknown.")
        self.note.setText(" ".join(notes))

    def _fill_table(self, report: UsageReport) -> None:
        rows = report.rows
        self.table.setRowCount(len(rows) + 1 if rows else 0)
        # Tall enough for every row up to a handful (then it scrolls); the plot takes the rest.
        shown = min(self.table.rowCount(), MAX_TABLE_ROWS)
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + shown * self.table.verticalHeader().defaultSectionSize()
                                  + 2 * self.table.frameWidth())
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for n, row in enumerate([*rows, None]):
            if row is None and not rows:
                break
            t = report.total if row is None else row.total
            cells = ["Total" if row is None else wording.display_name(row.provider),
                     "" if row is None else row.model, f"{t.answers:,}",
                     f"{t.input_tokens:,}", f"{t.output_tokens:,}", _cost_cell(t)]
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if column >= 2:
                    item.setTextAlignment(right)
                if row is None:
                    bold = item.font()
                    bold.setBold(True)
                    item.setFont(bold)
                if row is not None and column == 0:  # the swatch of its bars' colour
                    item.setData(Qt.ItemDataRole.DecorationRole, self.plot.color(row.provider))
                self.table.setItem(n, column, item)
        self.table.setCurrentCell(-1, -1)  # nothing to select here: no focus frame on a cell

    def _fill_budgets(self, report: UsageReport) -> None:
        while self.budget_layout.count():
            item = self.budget_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.budgets.setVisible(bool(report.budgets))
        for spend in report.budgets:
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            fraction = spend.fraction or 0.0
            label = QLabel(f"{wording.display_name(spend.provider)} this month: "
                           f"{wording.dollars(spend.spent_usd)} of "
                           f"{wording.dollars(spend.budget_usd)} ({fraction:.0%})")
            bar = QProgressBar()
            bar.setObjectName(f"budget-{spend.provider}")
            bar.setRange(0, 100)
            bar.setValue(min(100, round(fraction * 100)))
            bar.setTextVisible(False)
            bar.setMaximumHeight(design.SPACE[2])
            bar.setAccessibleName(label.text())
            if fraction >= 0.8:  # near or at the limit: the warning's (or danger's) colour
                tokens = design.DARK if _dark(self) else design.LIGHT
                colors = bar.palette()
                colors.setColor(QPalette.ColorRole.Highlight,
                                QColor(tokens.danger if fraction >= 1 else tokens.warning))
                bar.setPalette(colors)
            line.addWidget(label)
            line.addWidget(bar, 1)
            self.budget_layout.addWidget(row)


def _cost_cell(total: UsageTotal) -> str:
    if total.unpriced and total.cost_usd is not None:
        return f"{wording.dollars(total.cost_usd)} + unknown"
    return wording.dollars(total.cost_usd)
