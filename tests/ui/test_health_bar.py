"""HealthBar: one dot and words per provider, coloured by state, counting cooldowns down, a
tooltip with the last success and failure, and one line when too narrow for all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QMainWindow, QWidget

from chatdesk.failover.health import ProviderHealth
from chatdesk.states import HealthState
from chatdesk.ui.design import DARK, LIGHT, contrast
from chatdesk.ui.health_bar import STATE_COLORS, HealthBar
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()
SHOTS = Path("/tmp/chatdesk-shots")
NOW = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rows() -> list[ProviderHealth]:
    return [
        ProviderHealth("anthropic", HealthState.UP, 0, 0.0, None, None, NOW - 125),
        ProviderHealth("openai", HealthState.DOWN, 2, 133.3, "Overloaded", "overloaded",
                       NOW - 600, NOW - 20),
        ProviderHealth("gemini", HealthState.HALF_OPEN, 1, 0.0, "stalled", "stall_timeout",
                       NOW - 4000, NOW - 70),
    ]


EVERY_STATE: list[dict[str, Any]] = [
    {"name": "anthropic", "state": "down", "seconds_left": 133, "failures": 2,
     "last_error": "Overloaded", "last_error_class": "overloaded",
     "last_success_at": NOW - 600, "last_failure_at": NOW - 20},
    {"name": "openai", "state": "key-rejected", "seconds_left": 280, "failures": 1,
     "last_error": "Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
     "last_error_class": "auth", "last_failure_at": NOW - 30},
    {"name": "ollama", "state": "unknown"},
    {"name": "gemini", "state": "up", "last_success_at": NOW - 125},
    {"name": "groq", "state": "slow", "last_success_at": NOW - 40},
    {"name": "mistral", "state": "half-open", "failures": 1, "last_error": "stalled",
     "last_error_class": "stall_timeout", "last_failure_at": NOW - 70},
    {"name": "deepseek", "state": "no-key"},
]
WORDS = {
    "anthropic": "Anthropic · down 2:13", "openai": "OpenAI · key rejected",
    "ollama": "Ollama · not tried yet", "gemini": "Gemini · up", "groq": "Groq · slow",
    "mistral": "Mistral · trying again", "deepseek": "DeepSeek · no key",
}


def make_bar(qtbot: Any, clock: Clock | None = None) -> HealthBar:
    bar = HealthBar(clock=clock or Clock(), wall=Clock(NOW))
    qtbot.addWidget(bar)
    return bar


def label(bar: HealthBar, name: str) -> str:
    found = bar.findChild(QLabel, f"healthLabel-{name}")
    assert found is not None
    return found.text()


def dot(bar: HealthBar, name: str) -> Any:
    return bar.findChild(QWidget, f"healthDot-{name}")


def test_every_state_has_its_words_and_its_own_colour(qtbot: Any) -> None:
    bar = make_bar(qtbot)
    bar.update_health(EVERY_STATE)
    assert bar.names() == [r["name"] for r in EVERY_STATE]
    assert {name: label(bar, name) for name in bar.names()} == WORDS
    colours = {name: dot(bar, name).color.name() for name in bar.names()}
    assert colours == {r["name"]: STATE_COLORS[r["state"]] for r in EVERY_STATE}
    assert len(set(colours.values())) == len(HealthState) - 0  # one colour per state
    assert dot(bar, "ollama").ring and not dot(bar, "gemini").ring  # unknown: a ring
    layout = bar.layout()
    shown = [layout.itemAt(i).widget().objectName() for i in range(len(EVERY_STATE))]
    assert shown == [f"health-{r['name']}" for r in EVERY_STATE]


def test_dots_are_visible_on_both_palettes() -> None:
    for colour in STATE_COLORS.values():
        for palette in (LIGHT, DARK):
            assert contrast(colour, palette.window) >= 3.0, (colour, palette.window)


def test_tooltips_say_what_next_and_when_it_last_answered_and_failed(qtbot: Any) -> None:
    bar = make_bar(qtbot)
    bar.update_health(EVERY_STATE)
    tips = {name: bar.item(name).toolTip() for name in bar.names()}
    assert tips["anthropic"].splitlines() == [
        "Anthropic is down: it is skipped for 2 min 13 s more, then checked again.",
        "Failed 2 times in a row.",
        "Last success: 10 min ago.",
        "Last failure: 20 s ago. Overloaded.",
    ]
    rejected = tips["openai"]
    assert "rejected its API key" in rejected and "4 min 40 s" in rejected
    assert "Last success: never." in rejected and "Last failure: 30 s ago." in rejected
    assert "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789" not in rejected  # redacted
    assert tips["ollama"].splitlines() == [
        "Ollama has not answered yet; a message is sent to it when its turn comes in the "
        "failover order.", "Last success: never."]
    assert tips["gemini"].splitlines() == ["Gemini is up.", "Last success: 2 min ago."]
    assert "slow" in tips["groq"] and "Last failure" not in tips["groq"]
    assert tips["mistral"].splitlines()[0] == (
        "Mistral is being checked again: the next message tries it.")
    assert "Stalled." in tips["mistral"]
    assert tips["deepseek"].startswith("DeepSeek has no API key: add one in Settings")
    for tip in tips.values():
        assert all(line.endswith(".") for line in tip.splitlines())


def test_a_failure_of_a_provider_that_never_answered_says_so(qtbot: Any) -> None:
    bar = make_bar(qtbot)
    bar.update_health([{"name": "local", "state": "unknown", "last_failure_at": NOW - 5,
                        "last_error": "model not found", "last_error_class": "not_found"}])
    assert label(bar, "local") == "local · not answered yet"
    assert "Last failure: just now." in bar.item("local").toolTip()


def test_cooldown_counts_down_and_then_shows_trying_again(qtbot: Any) -> None:
    clock = Clock()
    bar = make_bar(qtbot, clock)
    bar.update_health(rows())
    timer = bar.findChild(QTimer, "healthBarTimer")
    assert timer is not None and timer.isActive()
    assert label(bar, "openai") == "OpenAI · down 2:14"
    clock.now += 100
    timer.timeout.emit()
    assert label(bar, "openai") == "OpenAI · down 0:34"
    clock.now += 34
    timer.timeout.emit()
    assert label(bar, "openai") == "OpenAI · trying again"
    assert bar.item("openai").state == "half-open"
    assert dot(bar, "openai").color.name() == STATE_COLORS["half-open"]
    assert not timer.isActive()  # nothing left to count down


def test_long_cooldowns_read_as_a_clock(qtbot: Any) -> None:
    bar = make_bar(qtbot)
    bar.update_health([{"name": "openai", "state": "down", "seconds_left": 600},
                       {"name": "groq", "state": "down", "seconds_left": 86400}])
    assert label(bar, "openai") == "OpenAI · down 10:00"
    assert label(bar, "groq") == "Groq · down 24:00:00"


def test_update_reuses_items_and_follows_a_new_order(qtbot: Any) -> None:
    bar = make_bar(qtbot)
    bar.update_health(rows())
    openai = bar.item("openai")
    bar.update_health([{"name": "openai", "state": "up"}, {"name": "anthropic", "state": "up"}])
    assert bar.names() == ["openai", "anthropic"]
    assert bar.item("openai") is openai
    assert bar.item("gemini") is None
    assert label(bar, "openai") == "OpenAI · up"
    layout = bar.layout()
    assert [layout.itemAt(i).widget() for i in range(2)] == [openai, bar.item("anthropic")]


def test_click_reports_the_provider(qtbot: Any) -> None:
    from PySide6.QtCore import Qt

    bar = make_bar(qtbot)
    bar.update_health(rows())
    bar.show()
    with qtbot.waitSignal(bar.providerClicked) as signal:
        qtbot.mouseClick(bar.item("gemini"), Qt.MouseButton.LeftButton)
    assert signal.args == ["gemini"]


def in_status_bar(qtbot: Any, width: int) -> tuple[QMainWindow, HealthBar]:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("transcript"))
    bar = HealthBar(wall=Clock(NOW))
    window.statusBar().addPermanentWidget(bar)
    bar.update_health(EVERY_STATE)
    window.statusBar().showMessage("Sent 1 pending message.")
    window.resize(width, 200)
    window.show()
    qtbot.waitExposed(window)
    return window, bar


def fits(text_label: QLabel) -> bool:
    """The label shows all of its text (none cut off at its right edge)."""
    needed = QFontMetrics(text_label.font()).horizontalAdvance(text_label.text())
    return text_label.isVisible() and text_label.width() >= needed


@pytest.mark.parametrize("width", [1500, 640, 360])
def test_no_words_are_cut_off_at_any_width(qtbot: Any, width: int) -> None:
    window, bar = in_status_bar(qtbot, width)
    qtbot.waitUntil(lambda: bar.compact == (width < 1300), timeout=2000)
    if bar.compact:
        qtbot.waitUntil(lambda: fits(bar.summary_label), timeout=2000)  # once laid out
        assert bar.summary_label.text() == "4 of 7 providers usable"
        assert bar.summary.toolTip().splitlines() == list(WORDS.values())
        assert not any(bar.item(n).isVisible() for n in bar.names())
    else:
        qtbot.waitUntil(lambda: all(fits(bar.item(n).label) for n in bar.names()),
                        timeout=2000)
        assert not bar.summary.isVisible()
    SHOTS.mkdir(exist_ok=True)
    window.statusBar().grab().save(str(SHOTS / f"health_bar_{width}.png"))


def test_each_state_on_the_status_bar_screenshot(qtbot: Any) -> None:
    """One PNG per state, as a user sees it beside a passing sentence."""
    SHOTS.mkdir(exist_ok=True)
    for row in EVERY_STATE:
        window = QMainWindow()
        qtbot.addWidget(window)
        window.setCentralWidget(QLabel("transcript"))
        bar = HealthBar(wall=Clock(NOW))
        window.statusBar().addPermanentWidget(bar)
        bar.update_health([row])
        window.resize(520, 120)
        window.show()
        qtbot.waitExposed(window)
        item = bar.item(row["name"])
        assert item is not None
        qtbot.waitUntil(lambda item=item: fits(item.label), timeout=2000)
        window.statusBar().grab().save(str(SHOTS / f"health_{row['state']}.png"))
        window.close()


def test_a_provider_that_is_not_set_up_says_so(qtbot: Any) -> None:
    from chatdesk.ui.health_bar import HealthBar

    bar = HealthBar()
    qtbot.addWidget(bar)
    bar.update_health([{"name": "anthropic", "state": "up"},
                       {"name": "ollama", "state": "unknown",
                        "not_set_up": "a local server from the built-in list that has "
                                      "never answered"}])
    item = bar.item("ollama")
    assert item is not None and item.label.text() == "Ollama · not set up"
    assert "not set up (a local server" in item.toolTip()
    assert bar.summary_label.text().startswith("1 of 2")


def test_a_provider_with_a_pool_of_keys_says_how_many_are_usable(qtbot: Any) -> None:
    from chatdesk.provider_status import ProviderStatus

    bar = make_bar(qtbot)
    pooled = ProviderStatus("anthropic", "anthropic", "m", "https://x", HealthState.UP, None,
                            0, 0.0, last_success_at=NOW - 5, keys_usable=2, keys_total=3)
    single = ProviderStatus("openai", "openai", "m", "https://y", HealthState.UP, None, 0, 0.0,
                            last_success_at=NOW - 5)
    bar.update_health([pooled, single])
    assert label(bar, "anthropic") == "Anthropic · up · 2 of 3 keys usable"
    assert label(bar, "openai") == "OpenAI · up"
