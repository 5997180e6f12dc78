"""Provider health: up → down (cooling) → half-open → up, on a fake clock, shared by every
process that opens the same history file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk.failover.health import NO_KEY_RETRY_S, HealthBook
from chatdesk.providers import errors
from chatdesk.store import HealthRow, HistoryStore
from tests.fakes.server import ErrorResponse, FakeProvider
from tests.helpers import key_env, write_settings
from tests.test_chat import (
    FakeClock,
    Rig,
    collect,
    entry,
    make_rig,
    only,
    rig_factory,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    async with rig_factory(tmp_path) as build:
        yield build


@pytest.fixture
def book(tmp_path: Path) -> Iterator[tuple[HealthBook, FakeClock]]:
    clock = FakeClock()
    with HistoryStore.open(tmp_path / "history.db") as store:
        yield HealthBook(store, 60, clock), clock


def overloaded(retry_after: float | None = None) -> errors.ProviderError:
    return errors.Overloaded("Overloaded", provider="main", status=529, retry_after=retry_after)


# -- the state machine ------------------------------------------------------------------

def test_a_provider_never_tried_is_unknown_and_tried(book: tuple[HealthBook, FakeClock]) -> None:
    health, _ = book
    state = health.get("main")
    assert (state.state, state.failures, state.seconds_left) == ("unknown", 0, 0)
    assert health.available("main")
    health.record_failure("main", errors.NotFound("no such model", status=404))
    assert health.get("main").state == "unknown"  # failed, but not an outage: never answered
    health.record_success("main")
    assert health.get("main").state == "up"


def test_last_success_and_failure_times_are_kept(book: tuple[HealthBook, FakeClock]) -> None:
    health, clock = book
    assert not health.get("main").ever_answered
    health.record_failure("main", overloaded())
    failed_at = clock.now
    state = health.get("main")
    assert (state.last_success_at, state.last_failure_at) == (None, failed_at)
    clock.advance(61)
    health.record_success("main")
    state = health.get("main")
    assert state.ever_answered
    assert (state.last_success_at, state.last_failure_at) == (clock.now, failed_at)
    clock.advance(5)  # answering again soon after: not rewritten on every answer
    health.record_success("main")
    assert health.get("main").last_success_at == clock.now - 5
    clock.advance(60)
    health.record_success("main")
    assert health.get("main").last_success_at == clock.now
    health.reset("main")  # a new key forgets failures, not that it once answered
    assert health.get("main").ever_answered


def test_failure_cools_down_then_half_open_then_up(book: tuple[HealthBook, FakeClock]) -> None:
    health, clock = book
    health.record_failure("main", overloaded())
    state = health.get("main")
    assert (state.state, state.failures, state.seconds_left) == ("down", 1, 60)
    assert (state.last_error, state.last_error_class) == ("Overloaded", "overloaded")
    assert not health.available("main")
    clock.advance(59.9)
    assert health.get("main").state == "down"
    clock.advance(0.1)
    assert health.get("main").state == "half-open" and health.available("main")
    health.record_success("main")
    state = health.get("main")
    assert (state.state, state.failures, state.seconds_left) == ("up", 0, 0)


def test_consecutive_failures_double_the_cooldown_up_to_ten_minutes(
    book: tuple[HealthBook, FakeClock],
) -> None:
    health, clock = book
    lefts = []
    for _ in range(7):
        health.record_failure("main", overloaded())
        lefts.append(health.get("main").seconds_left)
        clock.advance(lefts[-1])  # the half-open try fails again
    assert lefts == [60, 120, 240, 480, 600, 600, 600]
    health.record_success("main")
    health.record_failure("main", overloaded())
    assert health.get("main").seconds_left == 60  # a success starts the count afresh


def test_failure_of_an_answer_in_flight_does_not_double(
    book: tuple[HealthBook, FakeClock],
) -> None:
    health, clock = book
    health.record_failure("main", overloaded())
    clock.advance(1)
    health.record_failure("main", overloaded())  # started before the first one failed
    state = health.get("main")
    assert (state.failures, state.seconds_left) == (1, 60)  # not 120
    # ...but a longer retry-after from it is honoured.
    health.record_failure("main", overloaded(retry_after=200))
    assert health.get("main").seconds_left == 200


def test_retry_after_skips_at_least_that_long(book: tuple[HealthBook, FakeClock]) -> None:
    health, clock = book
    health.record_failure("main", overloaded(retry_after=120))
    clock.advance(119)
    assert health.get("main").state == "down"
    clock.advance(1)
    assert health.get("main").state == "half-open"


def test_rejected_key_is_no_key_until_reset_or_a_while(
    book: tuple[HealthBook, FakeClock],
) -> None:
    health, clock = book
    decision = health.record_failure("main", errors.AuthError("bad key", status=401))
    state = health.get("main")
    assert decision.no_key and state.state == "key-rejected"  # not "no key": it has one
    assert state.seconds_left == NO_KEY_RETRY_S and not health.available("main")
    clock.advance(NO_KEY_RETRY_S)
    assert health.get("main").state == "half-open"
    health.record_failure("main", errors.AuthError("bad key", status=401))
    health.reset("main")  # `chatdesk keys set main`
    state = health.get("main")
    assert (state.state, state.failures, state.last_error) == ("unknown", 0, None)


def test_a_missing_key_is_no_key_and_an_old_rejected_row_reads_as_rejected(
    book: tuple[HealthBook, FakeClock],
) -> None:
    health, _ = book
    health.record_failure("main", errors.MissingKey("no key", provider="main"))
    assert health.get("main").state == "no-key"
    # Before key-rejected existed, a 401 was stored as no-key with error class auth.
    health.store.put_health(HealthRow("old", "no-key", 1, health.clock() + 60, "bad key",
                                      "auth", "2026-01-01T00:00:00.000+00:00"))
    assert health.get("old").state == "key-rejected"


@pytest.mark.parametrize("error", [
    errors.BadRequest("roles must alternate", status=400),
    errors.ContextTooLong("prompt is too long", status=400),
], ids=["bad_request", "context_too_long"])
def test_request_problems_do_not_cool_down(book: tuple[HealthBook, FakeClock],
                                           error: errors.ProviderError) -> None:
    health, _ = book
    health.record_failure("main", error)
    state = health.get("main")
    assert (state.state, state.failures, state.last_error_class) == ("unknown", 0, error.kind)


def test_status_page_marks_down_without_shortening(book: tuple[HealthBook, FakeClock]) -> None:
    health, clock = book
    health.record_failure("main", overloaded(retry_after=500))
    health.mark_down("main", "major outage", 120)
    assert health.get("main").seconds_left == 500
    health.mark_down("other", "major outage", 120)
    assert health.get("other").state == "down" and health.get("other").seconds_left == 120
    clock.advance(120)
    assert health.get("other").state == "half-open"


# -- probes at a cooldown's end ---------------------------------------------------------------

def test_a_probe_that_reaches_the_provider_makes_it_up_and_keeps_the_backoff(
    book: tuple[HealthBook, FakeClock],
) -> None:
    health, clock = book
    health.record_failure("main", overloaded())
    clock.advance(60)
    assert health.get("main").state == "half-open"
    health.record_probe("main", None)
    state = health.get("main")
    assert (state.state, state.seconds_left, state.last_success_at) == ("up", 0, clock.now)
    # A first message failing after it backs off further: the probe listed models, it did
    # not answer one.
    health.record_failure("main", overloaded())
    assert health.get("main").seconds_left == 120
    clock.advance(120)
    health.record_success("main")  # a real answer clears the count
    assert health.get("main").failures == 0


def test_a_probe_that_fails_goes_on_cooling_down_per_policy(
    book: tuple[HealthBook, FakeClock],
) -> None:
    health, clock = book
    health.record_failure("main", overloaded())
    clock.advance(60)
    health.record_probe("main", errors.ConnectionFailed("refused", provider="main"))
    state = health.get("main")
    assert (state.state, state.failures, state.seconds_left) == ("down", 2, 120)
    assert state.down_until == clock.now + 120
    health.record_probe("main", errors.AuthError("bad key", status=401))
    assert health.get("main").state == "key-rejected"


def test_a_probe_answered_with_a_404_shows_the_server_reachable(
    book: tuple[HealthBook, FakeClock],
) -> None:
    health, clock = book
    health.record_success("main")
    health.record_failure("main", overloaded())
    clock.advance(60)
    health.record_probe("main", errors.NotFound("no /models here", status=404))
    state = health.get("main")
    assert (state.state, state.last_error_class) == ("up", "not_found")  # not stuck half-open
    assert state.last_success_at == clock.now - 60  # reached, but not a success


# -- slow: late first tokens, from the attempts table ----------------------------------------

def answered(store: HistoryStore, provider: str, *first_token_s: float) -> None:
    """Store answered attempts of `provider` with these first-token times, oldest first."""
    conversation = store.create_conversation()
    for seconds in first_token_s:
        message = store.add_message(conversation.id, "assistant", "x")
        attempt = store.start_attempt(message.id, provider, "m")
        store.finish_attempt(attempt, outcome="ok", streamed_text="x", first_token_s=seconds)


@pytest.fixture
def timed(tmp_path: Path) -> Iterator[tuple[HealthBook, FakeClock]]:
    clock = FakeClock(time.time())  # attempts are stamped with the real time
    with HistoryStore.open(tmp_path / "history.db") as store:
        health = HealthBook(store, 60, clock)
        health.record_success("main")
        yield health, clock


def test_late_first_tokens_make_an_up_provider_slow(timed: tuple[HealthBook, FakeClock]) -> None:
    health, _ = timed
    answered(health.store, "main", *[0.8] * 10)
    assert health.get("main").state == "up"
    answered(health.store, "main", 5.0, 0.9)  # one odd answer among fast ones: not slow
    assert health.get("main").state == "up"
    answered(health.store, "main", 6.0)  # two of the last three: slow
    state = health.get("main")
    assert state.state == "slow" and state.state.usable and state.state.spec_state == "up"
    answered(health.store, "main", 0.7, 0.8)  # fast again
    assert health.get("main").state == "up"


def test_slow_needs_a_usual_time_a_real_margin_and_recent_answers(
    timed: tuple[HealthBook, FakeClock],
) -> None:
    health, clock = timed
    answered(health.store, "main", *[0.8] * 4, 9.0, 9.0, 9.0)
    assert health.get("main").state == "up"  # four answers are no "usual" yet
    answered(health.store, "other", *[0.3] * 10, 1.5, 1.5, 1.5)
    health.record_success("other")
    assert health.get("other").state == "up"  # five times as long, but only 1.2 s more
    answered(health.store, "main", 0.8, 9.0, 9.0, 9.0)
    assert health.get("main").state == "slow"
    clock.advance(31 * 60)
    assert health.get("main").state == "up"  # slow half an hour ago says nothing now


# -- timing against fakes -----------------------------------------------------------------

@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[FakeProvider, FakeProvider]]:
    with FakeProvider("anthropic") as main, FakeProvider("openai") as backup:
        yield main, backup


@pytest.fixture
def fakes(pair: tuple[FakeProvider, FakeProvider]) -> Iterator[tuple[FakeProvider, FakeProvider]]:
    for fake in pair:
        fake.clear()
    yield pair
    for fake in pair:
        fake.clear()


async def ask(rig: Rig, text: str = "hi") -> str:
    """Send one message; the name of the provider that answered."""
    events = await collect(rig.service.send(text))
    return only(events, ev.AnswerFinished)[0].provider


async def test_cooling_provider_gets_no_request_until_half_open(
    fakes: tuple[FakeProvider, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes
    main.script(ErrorResponse(529), ErrorResponse(500))
    rig = rigs([entry("main", main), entry("backup", backup)])

    assert await ask(rig) == "backup"
    for _ in range(3):
        rig.clock.advance(19.5)
        assert await ask(rig) == "backup"
    assert len(main.requests) == 1 and len(backup.requests) == 4  # skipped for 60 s

    rig.clock.advance(1.5)  # 60 s: half-open, tried first, fails again
    assert rig.service.health.get("main").state == "half-open"
    assert await ask(rig) == "backup"
    assert len(main.requests) == 2
    assert rig.service.health.get("main").seconds_left == 120  # doubled
    rig.clock.advance(119)
    assert await ask(rig) == "backup" and len(main.requests) == 2
    rig.clock.advance(1)
    assert await ask(rig) == "main" and len(main.requests) == 3  # recovered
    state = rig.service.health.get("main")
    assert (state.state, state.failures) == ("up", 0)


async def test_cooldown_is_capped_at_ten_minutes(
    fakes: tuple[FakeProvider, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes
    main.default_response = ErrorResponse(503)
    rig = rigs([entry("main", main), entry("backup", backup)])
    try:
        for expected in (60, 120, 240, 480, 600, 600):
            assert await ask(rig) == "backup"
            assert rig.service.health.get("main").seconds_left == expected
            rig.clock.advance(expected - 1)
            assert await ask(rig) == "backup"  # still skipped one second before
            rig.clock.advance(1)
        assert len(main.requests) == 6
    finally:
        main.default_response = None


@pytest.mark.parametrize("status", [429, 529])
async def test_retry_after_on_429_and_529_skips_at_least_that_long(
    status: int, fakes: tuple[FakeProvider, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes
    main.script(ErrorResponse(status, None, {"retry-after": "120"}))
    rig = rigs([entry("main", main), entry("backup", backup)])
    assert await ask(rig) == "backup"
    rig.clock.advance(119)
    assert await ask(rig) == "backup"
    assert len(main.requests) == 1
    rig.clock.advance(1)
    assert await ask(rig) == "main" and len(main.requests) == 2


# -- shared by processes ----------------------------------------------------------------------

async def test_a_failure_seen_by_one_process_is_seen_by_another(
    fakes: tuple[FakeProvider, FakeProvider], rigs: Callable[..., Rig], tmp_path: Path,
) -> None:
    main, backup = fakes
    main.script(ErrorResponse(529))
    rig = rigs([entry("main", main), entry("backup", backup)])
    assert await ask(rig) == "backup"

    with HistoryStore.open(rig.path) as other_store:
        other = HealthBook(other_store, 60, rig.clock)
        state = other.get("main")
        assert (state.state, state.last_error_class, state.seconds_left) == (
            "down", "overloaded", 60)
    # A second service on the same file skips the provider too.
    twin = rig.twin()
    events = await collect(twin.send("from the other window"))
    assert only(events, ev.AnswerFinished)[0].provider == "backup"
    assert len(main.requests) == 1


async def test_providers_json_in_another_process_shows_the_outage(
    fakes: tuple[FakeProvider, FakeProvider], tmp_path: Path,
) -> None:
    main, backup = fakes
    main.script(ErrorResponse(529))
    data_dir = tmp_path / "data"
    pairs = [("main", main), ("backup", backup)]
    write_settings(data_dir, pairs)
    rig = make_rig(data_dir / "history.db", [entry("main", main), entry("backup", backup)],
                   clock=time.time)  # type: ignore[arg-type]
    try:
        assert await ask(rig) == "backup"
    finally:
        await rig.close()

    env = {**os.environ, **key_env(pairs), "CHATDESK_DATA_DIR": str(data_dir)}
    result = subprocess.run([sys.executable, "-m", "chatdesk", "providers", "--json"],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["main"]["state"] == "down" and rows["main"]["last_error"]
    assert rows["backup"]["state"] == "up"  # it answered


async def test_a_probe_lists_models_and_records_what_it_found(
    fakes: tuple[FakeProvider, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, _ = fakes
    with FakeProvider("openai") as gone:
        dead = entry("gone", gone)
    rig = rigs([entry("main", main), dead])
    for name in ("main", "gone"):
        rig.service.health.record_failure(name, overloaded())
    rig.clock.advance(60)

    await rig.service.probe("main")
    assert [r.path for r in main.requests] == ["/v1/models"]  # no chat request: it is free
    assert rig.service.health.get("main").state == "up"

    await rig.service.probe("gone")  # refused: it cools down again, for twice as long
    state = rig.service.health.get("gone")
    assert (state.state, state.failures, state.seconds_left) == ("down", 2, 120)
    assert state.last_error_class == "connection_failed"
