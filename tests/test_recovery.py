"""The probe scheduler on a fake clock: each cooldown's end is probed once, at its end."""

from __future__ import annotations

from chatdesk.provider_status import ProviderStatus
from chatdesk.recovery import WAKE_MARGIN_S, ProbeScheduler
from chatdesk.states import HealthState


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def status(name: str, state: HealthState, down_until: float | None = None) -> ProviderStatus:
    return ProviderStatus(name, "anthropic", "m", "http://x", state, None, 1, 0.0,
                          down_until=down_until)


def test_a_cooling_provider_wakes_at_its_cooldown_end_and_is_probed_once() -> None:
    clock = Clock()
    probes = ProbeScheduler(clock)
    end = clock.now + 42
    plan = probes.plan([status("a", HealthState.DOWN, end), status("b", HealthState.UP)])
    assert plan.due == () and plan.wake_in_s == {"a": 42 + WAKE_MARGIN_S}
    clock.now = end + WAKE_MARGIN_S
    assert probes.plan([status("a", HealthState.HALF_OPEN, end)]).due == ("a",)
    assert probes.running == {"a"}
    # While it runs, and after it left the provider half-open, it is not probed again.
    assert probes.plan([status("a", HealthState.HALF_OPEN, end)]).due == ()
    probes.finished("a")
    assert probes.plan([status("a", HealthState.HALF_OPEN, end)]).due == ()
    assert probes.running == frozenset()


def test_a_probe_that_fails_waits_for_the_new_cooldown_end() -> None:
    clock = Clock()
    probes = ProbeScheduler(clock)
    end = clock.now
    assert probes.plan([status("a", HealthState.HALF_OPEN, end)]).due == ("a",)
    probes.finished("a")
    later = clock.now + 120  # the probe failed: the policy doubled the cooldown
    plan = probes.plan([status("a", HealthState.DOWN, later)])
    assert plan.due == () and plan.wake_in_s["a"] == 120 + WAKE_MARGIN_S
    clock.now = later + 1
    assert probes.plan([status("a", HealthState.HALF_OPEN, later)]).due == ("a",)


def test_a_cooldown_from_another_process_and_a_rejected_key_are_followed() -> None:
    clock = Clock()
    probes = ProbeScheduler(clock)
    assert probes.plan([status("a", HealthState.UP)]).wake_in_s == {}
    # Another process saw it fail: the next re-read of the file shows the new cooldown.
    plan = probes.plan([status("a", HealthState.DOWN, clock.now + 30),
                        status("k", HealthState.KEY_REJECTED, clock.now + 300)])
    assert plan.wake_in_s == {"a": 30 + WAKE_MARGIN_S, "k": 300 + WAKE_MARGIN_S}
    clock.now += 300.1
    # A status read a moment before its end still says down: due all the same.
    plan = probes.plan([status("a", HealthState.HALF_OPEN, clock.now - 270.1),
                        status("k", HealthState.KEY_REJECTED, clock.now - 0.1)])
    assert plan.due == ("a", "k")


def test_nothing_is_probed_that_has_no_key_never_failed_or_answers() -> None:
    probes = ProbeScheduler(Clock())
    plan = probes.plan([status(n, s) for n, s in [
        ("none", HealthState.NO_KEY), ("new", HealthState.UNKNOWN), ("up", HealthState.UP),
        ("slow", HealthState.SLOW)]])
    assert plan.due == () and plan.wake_in_s == {}


def test_the_same_provider_down_again_later_is_probed_again() -> None:
    clock = Clock()
    probes = ProbeScheduler(clock)
    end = clock.now
    assert probes.plan([status("a", HealthState.HALF_OPEN, end)]).due == ("a",)
    probes.finished("a")
    assert probes.plan([status("a", HealthState.UP)]).due == ()  # the probe found it up
    clock.now += 600
    # Down again with the same end time as before is impossible, but a new end must count.
    assert probes.plan([status("a", HealthState.HALF_OPEN, clock.now)]).due == ("a",)
