"""Chat ▸ Usage… (issue 16): the numbers shown, the bars drawn in the providers' colours,
light and dark, at 800×500."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QProgressBar

from chatdesk.context import AppContext
from chatdesk.store import HistoryStore, to_iso
from chatdesk.ui import design
from chatdesk.ui.controller import ChatController
from chatdesk.ui.theme import apply_theme
from chatdesk.ui.usage_dialog import StackedBars, UsageDialog, nice_ceiling
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()
SHOTS = Path(os.environ.get("CHATDESK_USAGE_SHOTS", "/tmp/usage-shots"))

SETTINGS = """
[failover]
order = ["anthropic", "openai", "ollama"]

[providers.anthropic]
type = "anthropic"

[providers.openai]
type = "openai"
monthly_budget_usd = 2

[providers.ollama]
type = "ollama"
"""


def answer(store: HistoryStore, conversation: int, provider: str, model: str, at: datetime,
           inp: int, out: int) -> None:
    message = store.add_message(conversation, "assistant", "", created_at=to_iso(at))
    store.finish_message(message.id, content="an answer", status="complete", provider=provider,
                         model=model, input_tokens=inp, output_tokens=out)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    (tmp_path / "settings.toml").write_text(SETTINGS, encoding="utf-8")
    context = AppContext.create(str(tmp_path), warn=False)
    yield context
    context.close()


def fill(store: HistoryStore) -> datetime:
    now = datetime.now(UTC)
    conv = store.create_conversation("costs").id
    for back in range(0, 30, 3):  # every third day: Claude, most days GPT-4o too
        day = now - timedelta(days=back)
        answer(store, conv, "anthropic", "claude-sonnet-4-5", day, 20_000, 2_000 + back * 100)
        if back % 2 == 0:
            answer(store, conv, "openai", "gpt-4o", day, 30_000, 3_000)
    answer(store, conv, "ollama", "llama3.2", now, 500, 400)
    # Today the dearest day: its bar reaches the top of the plot.
    answer(store, conv, "openai", "gpt-4o", now, 150_000, 40_000)
    return now


def open_dialog(qtbot: Any, ctx: AppContext) -> UsageDialog:
    dialog = UsageDialog(ChatController(ctx.store, ctx))
    qtbot.addWidget(dialog)
    dialog.resize(800, 500)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.wait(50)
    return dialog


def table_rows(dialog: UsageDialog) -> list[list[str]]:
    t = dialog.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def plot_image(dialog: UsageDialog) -> QImage:
    return dialog.plot.grab().toImage()


def pixel(image: QImage, x: float, y: float, ratio: float) -> QColor:
    return image.pixelColor(int(x * ratio), int(y * ratio))


def near(a: QColor, b: QColor, tolerance: int = 12) -> bool:
    return all(abs(p - q) <= tolerance for p, q in
               ((a.red(), b.red()), (a.green(), b.green()), (a.blue(), b.blue())))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_usage_view_shows_the_numbers_and_draws_the_bars(
        qtbot: Any, qapp: QApplication, ctx: AppContext, theme: str) -> None:
    fill(ctx.store)
    apply_theme(qapp, theme)
    try:
        dialog = open_dialog(qtbot, ctx)
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert dialog.grab().save(str(SHOTS / f"usage-{theme}.png"))

        # The totals: GPT-4o is dearest, then Claude, then the free local model.
        rows = table_rows(dialog)
        assert [r[:2] for r in rows] == [["OpenAI", "gpt-4o"],
                                         ["Anthropic", "claude-sonnet-4-5"],
                                         ["Ollama", "llama3.2"], ["Total", ""]]
        gpt = 5 * (30_000 * 2.5 + 3_000 * 10) / 1e6 + (150_000 * 2.5 + 40_000 * 10) / 1e6
        assert rows[0][2:] == ["6", "300,000", "55,000", f"${gpt:,.2f}"]
        assert rows[2][5] == "$0.00"
        assert rows[3][2] == "17"
        assert dialog.summary.text().startswith("Last 30 days: $")
        assert "for 17 answers" in dialog.summary.text()
        now = datetime.now(UTC)
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        this_month = sum((30_000 * 2.5 + 3_000 * 10) / 1e6 for back in range(0, 30, 6)
                         if now - timedelta(days=back) >= month) + \
            (150_000 * 2.5 + 40_000 * 10) / 1e6
        budget = dialog.findChild(QProgressBar, "budget-openai")
        assert budget is not None and budget.value() == min(100, round(this_month / 2 * 100))

        # The plot: today's bar (the last) is OpenAI's colour at its foot, up to the top.
        plot: StackedBars = dialog.plot
        assert plot.by_cost and plot.providers[:2] == ["openai", "anthropic"]
        image = plot_image(dialog)
        ratio = image.devicePixelRatio()
        colors = design.CHART_DARK if theme == "dark" else design.CHART_LIGHT
        last = plot.bar_rect(len(plot.days) - 1)
        foot = pixel(image, last.center().x(), last.bottom() - 2, ratio)
        assert near(foot, QColor(colors[0])), foot.name()
        top = nice_ceiling(max(d.cost_usd for d in plot.days))
        today = plot.days[-1]
        openai_height = today.cost_by_provider["openai"] / top * last.height()
        assert openai_height > 20
        # Claude's segment sits on top of OpenAI's, in Claude's colour.
        above = pixel(image, last.center().x(), last.bottom() - openai_height - 2, ratio)
        assert near(above, QColor(colors[1])), above.name()
        # A day with no answers has no bar: the background shows.
        empty = next(i for i, d in enumerate(plot.days) if not d.answers_by_provider)
        slot = plot.bar_rect(empty)
        background = pixel(image, slot.center().x(), slot.bottom() - 10, ratio)
        assert not near(background, QColor(colors[0])) and \
            not near(background, QColor(colors[1]))
        dark = background.lightness() < 128
        assert dark == (theme == "dark")
    finally:
        apply_theme(qapp, "light")


def test_with_no_answers_the_view_says_so(qtbot: Any, ctx: AppContext) -> None:
    dialog = open_dialog(qtbot, ctx)
    assert dialog.summary.text() == "No answers in the last 30 days"
    assert dialog.table.rowCount() == 0
    assert "No answers" in dialog.plot.accessibleDescription()


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0, 0.013, 0.3, 1, 1.2, 7, 51)] == \
        [1.0, 0.02, 0.5, 1, 2, 10, 100]


def test_after_an_answer_80_percent_goes_to_the_status_bar_and_a_spent_budget_to_a_notice(
        qtbot: Any, qloop: Any, run: Any, ctx: AppContext) -> None:
    from chatdesk import events as ev
    from chatdesk.ui.bridge import ChatBridge

    controller = ChatController(ctx.store, ctx)
    bridge = ChatBridge(ctx.chat_service)
    controller.attach_bridge(bridge)
    said: list[str] = []
    noticed: list[str] = []
    controller.message.connect(lambda text, _ms: said.append(text))
    controller.notice.connect(noticed.append)
    conv = ctx.store.create_conversation("spend").id
    now = datetime.now(UTC)
    finished = ev.AnswerFinished(conv, 1, "openai", "gpt-4o", "ok", "stop", 1, 1)
    try:
        answer(ctx.store, conv, "openai", "gpt-4o", now, 0, 170_000)  # $1.70 of $2: 85 %
        controller._on_event(finished)
        assert [t for t in said if "budget" in t] == [
            "OpenAI has used $1.70 of this month's $2.00 budget (85 %); once it is spent, "
            "chatdesk skips OpenAI until " + said[-1].rsplit("until ", 1)[1]]
        assert noticed == []
        controller._on_event(finished)
        assert len([t for t in said if "budget" in t]) == 1  # once a month
        answer(ctx.store, conv, "openai", "gpt-4o", now, 0, 30_000)  # $2.00: spent
        controller._on_event(finished)
        assert len(noticed) == 1 and noticed[0].startswith(
            "OpenAI has spent this month's budget of $2.00; chatdesk skips it until ")
    finally:
        run(bridge.shutdown())
