"""HealthBar: one dot and word per provider, coloured by state, counting cooldowns down."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget

from chatdesk.failover.health import ProviderHealth
from chatdesk.ui.health_bar import STATE_COLORS, HealthBar
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rows() -> list[ProviderHealth]:
    return [
        ProviderHealth("anthropic", "up", 0, 0.0, None, None),
        ProviderHealth("openai", "down", 2, 41.3, "overloaded (529)", "overloaded"),
        ProviderHealth("gemini", "half-open", 1, 0.0, "stalled", "stall_timeout"),
    ]


def label(bar: HealthBar, name: str) -> str:
    found = bar.findChild(QLabel, f"healthLabel-{name}")
    assert found is not None
    return found.text()


def test_shows_each_provider_in_order_with_state_words(qtbot) -> None:
    bar = HealthBar(clock=Clock())
    qtbot.addWidget(bar)
    bar.update_health(rows() + [{"name": "ollama", "state": "no-key"}])
    assert bar.objectName() == "healthBar"
    assert bar.names() == ["anthropic", "openai", "gemini", "ollama"]
    assert label(bar, "anthropic") == "anthropic"
    assert label(bar, "openai") == "openai · cooling 42 s"
    assert label(bar, "gemini") == "gemini · retrying"
    assert label(bar, "ollama") == "ollama · no key"
    layout = bar.layout()
    shown = [layout.itemAt(i).widget().objectName() for i in range(layout.count())]
    assert shown == ["health-anthropic", "health-openai", "health-gemini", "health-ollama"]


def test_dot_colours_follow_state(qtbot) -> None:
    bar = HealthBar(clock=Clock())
    qtbot.addWidget(bar)
    bar.update_health(rows() + [{"name": "ollama", "state": "no-key"}])
    colours = {name: bar.findChild(QWidget, f"healthDot-{name}").color.name()
               for name in bar.names()}
    assert colours == {
        "anthropic": STATE_COLORS["up"], "openai": STATE_COLORS["down"],
        "gemini": STATE_COLORS["half-open"], "ollama": STATE_COLORS["no-key"],
    }
    assert len(set(colours.values())) == 4


def test_tooltip_names_state_time_left_and_last_error(qtbot) -> None:
    bar = HealthBar(clock=Clock())
    qtbot.addWidget(bar)
    bar.update_health(rows() + [{"name": "ollama", "state": "no-key"}])
    down = bar.item("openai").toolTip()
    assert "down" in down and "42 s" in down and "overloaded (529)" in down
    assert "2 times" in down
    assert "stalled" in bar.item("gemini").toolTip()
    assert "no usable API key" in bar.item("ollama").toolTip()
    assert "Last error" not in bar.item("anthropic").toolTip()


def test_cooldown_counts_down_and_then_shows_half_open(qtbot) -> None:
    clock = Clock()
    bar = HealthBar(clock=clock)
    qtbot.addWidget(bar)
    bar.update_health(rows())
    timer = bar.findChild(QTimer, "healthBarTimer")
    assert timer is not None and timer.isActive()
    clock.now += 30
    timer.timeout.emit()
    assert label(bar, "openai") == "openai · cooling 12 s"
    clock.now += 12
    timer.timeout.emit()
    assert label(bar, "openai") == "openai · retrying"
    assert bar.item("openai").state == "half-open"
    assert bar.findChild(QWidget, "healthDot-openai").color.name() == STATE_COLORS["half-open"]
    assert not timer.isActive()  # nothing left to count down


def test_long_cooldowns_read_in_minutes(qtbot) -> None:
    bar = HealthBar(clock=Clock())
    qtbot.addWidget(bar)
    bar.update_health([{"name": "openai", "state": "down", "seconds_left": 600}])
    assert label(bar, "openai") == "openai · cooling 10 min"


def test_update_reuses_items_and_follows_a_new_order(qtbot) -> None:
    bar = HealthBar(clock=Clock())
    qtbot.addWidget(bar)
    bar.update_health(rows())
    openai = bar.item("openai")
    bar.update_health([{"name": "openai", "state": "up"}, {"name": "anthropic", "state": "up"}])
    assert bar.names() == ["openai", "anthropic"]
    assert bar.item("openai") is openai
    assert bar.item("gemini") is None
    assert label(bar, "openai") == "openai"
    layout = bar.layout()
    assert [layout.itemAt(i).widget() for i in range(layout.count())] == [
        openai, bar.item("anthropic")]


def test_click_reports_the_provider(qtbot) -> None:
    from PySide6.QtCore import Qt

    bar = HealthBar(clock=Clock())
    qtbot.addWidget(bar)
    bar.update_health(rows())
    bar.show()
    with qtbot.waitSignal(bar.providerClicked) as signal:
        qtbot.mouseClick(bar.item("gemini"), Qt.MouseButton.LeftButton)
    assert signal.args == ["gemini"]
