"""Hedging a provider that accepts the request and then says nothing: past its learned
deadline the next provider is asked too, the first token wins, both are recorded; with
hedge = false the router fails over at that deadline. Loopback fakes, short deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatdesk import events as ev
from chatdesk.failover.deadline import DeadlineRule
from chatdesk.states import LOST_HEDGE
from tests.failover.test_deadline import teach
from tests.fakes.server import ErrorResponse, FakeProvider, Stream, Synth
from tests.helpers import MODELS, reset_fakes, serve
from tests.test_chat import Rig, collect, entry, only, rig_factory

DEADLINE_S = 0.2  # the learned deadline of these tests: the floor, over loopback samples
CONFIGURED_S = 3.0  # the configured first-token timeout: a test waiting it would show
HANG_S = 6.0  # a fake that says nothing says nothing for this long (it is cancelled first)


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    async with rig_factory(tmp_path) as build:
        yield build


@pytest.fixture(scope="module")
def pool() -> Iterator[dict[str, FakeProvider]]:
    fakes = {"main": FakeProvider("anthropic"), "backup": FakeProvider("openai"),
             "third": FakeProvider("anthropic")}
    yield from serve(fakes)


@pytest.fixture
def fakes(pool: dict[str, FakeProvider]) -> Iterator[dict[str, FakeProvider]]:
    yield reset_fakes(pool)
    reset_fakes(pool)


def hedging_rig(rigs: Callable[..., Rig], fakes: dict[str, FakeProvider], *names: str,
                hedge: bool = True, taught: bool = True, **timeouts: float) -> Rig:
    """main (anthropic), then the others named, with the main's deadline learned (loopback
    answers: the floor, DEADLINE_S) unless `taught` is False."""
    kinds = {"main": "anthropic", "backup": "openai", "third": "anthropic-3"}
    rig = rigs([entry(kinds[n], fakes[n]) for n in ("main", *names)],
               **{"first_token_timeout_s": CONFIGURED_S, "stall_timeout_s": 2.0, **timeouts})
    rig.service.deadlines.rule = DeadlineRule(floor_s=DEADLINE_S)
    rig.service.settings.failover.hedge = hedge
    if taught:
        teach(rig.store, "anthropic", MODELS["anthropic"], [0.01] * 20)
    return rig


async def timed(stream: AsyncIterator[ev.ChatEvent]) -> list[tuple[float, ev.ChatEvent]]:
    """The events with the seconds since the call at which each arrived."""
    start = time.monotonic()
    return [(time.monotonic() - start, event) async for event in stream]


def at(events: list[tuple[float, ev.ChatEvent]], kind: type) -> float:
    return next(t for t, e in events if isinstance(e, kind))


def kinds(events: list[tuple[float, Any]]) -> list[str]:
    return [type(e).__name__ for _, e in events]


def hang() -> Synth:
    """Accepts the request, sends the headers, then says nothing for HANG_S."""
    return Synth(["late"], stall_after_bytes=0, stall_s=HANG_S)


def slow(seconds: float, *pieces: str) -> Synth:
    return Synth(list(pieces) or ["Slow", " but sure."], stall_after_bytes=0, stall_s=seconds)


# -- the deadline is learned -----------------------------------------------------------

async def test_the_deadline_is_learned_from_answers(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    rig = hedging_rig(rigs, fakes, "backup", taught=False)
    for _ in range(5):
        await collect(rig.service.send("Hello"))
    deadline = rig.service.deadlines.get("anthropic", MODELS["anthropic"])
    assert deadline.samples == 5 and deadline.learned
    assert deadline.seconds == DEADLINE_S  # loopback: the floor
    fakes["main"].script(hang())
    fakes["backup"].script(Synth(["Backup", " here."]))
    events = await timed(rig.service.send("Hello?"))
    assert at(events, ev.FirstToken) < CONFIGURED_S / 3
    assert only([e for _, e in events], ev.AnswerFinished)[0].provider == "openai"


async def test_too_few_answers_wait_the_configured_timeout(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    rig = hedging_rig(rigs, fakes, "backup", taught=False, first_token_timeout_s=0.6)
    teach(rig.store, "anthropic", MODELS["anthropic"], [0.01] * 4)  # one short of learning
    fakes["main"].script(hang())
    fakes["backup"].script(Synth(["Backup."]))
    events = await timed(rig.service.send("Hello?"))
    assert not only([e for _, e in events], ev.Hedged)
    assert at(events, ev.AttemptFailed) >= 0.6  # the whole configured timeout
    [failed] = only([e for _, e in events], ev.AttemptFailed)
    assert failed.error_class == "first_token_timeout"


# -- hedging ---------------------------------------------------------------------------

async def test_a_hanging_provider_is_hedged_and_the_backup_wins(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = hedging_rig(rigs, fakes, "backup")
    main.script(hang())
    backup.script(Synth(["The backup", " answers."]))

    events = await timed(rig.service.send("Why is the sky blue?"))

    assert kinds(events) == ["MessageSaved", "AttemptStarted", "Hedged", "AttemptStarted",
                             "FirstToken", "TextChunk", "TextChunk", "AnswerFinished"]
    hedged = only([e for _, e in events], ev.Hedged)[0]
    assert (hedged.provider, hedged.backup, hedged.waited_s) == ("anthropic", "openai",
                                                                   DEADLINE_S)
    assert at(events, ev.Hedged) >= DEADLINE_S  # not before the deadline
    assert at(events, ev.FirstToken) < 1.0  # seconds, not the configured timeout
    done = only([e for _, e in events], ev.AnswerFinished)[0]
    assert (done.provider, done.content) == ("openai", "The backup answers.")
    assert done.next_provider is None  # nobody after the one that answered
    assert main.wait_for_disconnect()  # the loser's request is cancelled
    assert (len(main.requests), len(backup.requests)) == (1, 1)
    # Both are recorded: the main cancelled, having lost the hedge; the backup answered.
    first, second = rig.store.attempts(done.message_id)
    assert (first.provider, first.outcome, first.error_class) == (
        "anthropic", "cancelled", LOST_HEDGE)
    assert first.error_message == "Cancelled: the answer went to OpenAI."
    assert (second.provider, second.outcome, second.streamed_text) == (
        "openai", "ok", "The backup answers.")
    # Only the answer's time to first token is learned from, timed from its own request.
    [(backup_first_s, _)] = rig.store.first_token_times("openai", 5)
    assert backup_first_s < 0.5
    assert len(rig.store.first_token_times("anthropic", 50)) == 20  # those taught
    stored = rig.store.get_message(done.message_id)
    assert (stored.status, stored.provider, stored.content) == (
        "complete", "openai", "The backup answers.")
    # The main gave nothing in time: it cools down, as after a first-token timeout.
    health = rig.service.health.get("anthropic")
    assert (health.state, health.last_error_class) == ("down", "first_token_timeout")


async def test_the_first_provider_keeps_waiting_and_wins_if_it_answers_first(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = hedging_rig(rigs, fakes, "backup")
    main.script(slow(0.5, "Late", " but first."))  # after its deadline, before the backup
    backup.script(hang())

    events = await timed(rig.service.send("Hello"))

    assert kinds(events) == ["MessageSaved", "AttemptStarted", "Hedged", "FirstToken",
                             "TextChunk", "TextChunk", "AnswerFinished"]
    done = only([e for _, e in events], ev.AnswerFinished)[0]
    assert (done.provider, done.content) == ("anthropic", "Late but first.")
    assert backup.wait_for_disconnect()  # the backup's request is cancelled
    first, second = rig.store.attempts(done.message_id)
    assert (first.provider, first.outcome) == ("anthropic", "ok")
    assert rig.store.first_token_times("anthropic", 1)[0][0] >= 0.5  # learned as it was
    assert (second.provider, second.outcome, second.error_class) == (
        "openai", "cancelled", LOST_HEDGE)
    assert second.error_message == "Cancelled: the answer went to Anthropic."
    # Neither failed: both stay usable.
    assert rig.service.health.get("anthropic").state == "up"
    assert rig.service.health.get("openai").state == "unknown"


async def test_a_healthy_provider_is_never_hedged(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = hedging_rig(rigs, fakes, "backup", taught=False)
    rig.service.deadlines.rule = DeadlineRule()  # the default floor (2.5 s)
    main.default_response = Synth(["Fine."])
    for _ in range(40):
        events = await collect(rig.service.send("Hello"))
        assert only(events, ev.AnswerFinished)[0].provider == "anthropic"
        assert not only(events, ev.Hedged)
    assert rig.service.deadlines.get("anthropic", MODELS["anthropic"]).learned
    assert (len(main.requests), len(backup.requests)) == (40, 0)  # 0 extra requests


async def test_the_backup_failing_leaves_the_first_provider_to_answer(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup, third = fakes["main"], fakes["backup"], fakes["third"]
    rig = hedging_rig(rigs, fakes, "backup", "third")
    main.script(slow(0.5, "Mine."))
    backup.script(ErrorResponse(529))

    events = await collect(rig.service.send("Hello"))

    done = only(events, ev.AnswerFinished)[0]
    assert (done.provider, done.content) == ("anthropic", "Mine.")
    assert not only(events, ev.AttemptFailed)  # the answer's attempt never failed
    first, second = rig.store.attempts(done.message_id)
    assert (second.provider, second.outcome, second.http_status) == ("openai", "failed", 529)
    assert rig.service.health.get("openai").state == "down"
    assert third.requests == []  # one hedge per attempt


async def test_the_first_provider_failing_during_the_hedge_hands_over(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = hedging_rig(rigs, fakes, "backup")
    main.script(Synth([], stall_after_bytes=0, stall_s=0.4, error="Overloaded"))
    backup.script(slow(0.6, "Backup", " answer."))

    events = await timed(rig.service.send("Hello"))

    assert kinds(events) == ["MessageSaved", "AttemptStarted", "Hedged", "AttemptFailed",
                             "Switched", "AttemptStarted", "FirstToken", "TextChunk",
                             "TextChunk", "AnswerFinished"]
    done = only([e for _, e in events], ev.AnswerFinished)[0]
    assert (done.provider, done.content) == ("openai", "Backup answer.")
    first, second = rig.store.attempts(done.message_id)
    assert (first.outcome, first.error_class) == ("failed", "overloaded")
    assert (second.outcome, second.provider) == ("ok", "openai")
    assert len(backup.requests) == 1  # the hedge's request answered: not asked again


async def test_a_request_nobody_can_take_stops_the_answer_and_the_hedge(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = hedging_rig(rigs, fakes, "backup")
    # A 400 whose body comes only after the hedge started: a bad request (policy: stop).
    main.script(Synth([], status=400, stall_after_bytes=0, stall_s=0.4))
    backup.script(hang())

    events = await collect(rig.service.send("Hello"))

    assert only(events, ev.Hedged)
    [stopped] = only(events, ev.AnswerStopped)
    assert not only(events, ev.AnswerFinished) and not only(events, ev.AnswerPending)
    assert backup.wait_for_disconnect()
    attempts = rig.store.attempts(stopped.message_id)
    assert [(a.provider, a.outcome, a.error_class) for a in attempts] == [
        ("anthropic", "failed", "bad_request"), ("openai", "cancelled", LOST_HEDGE)]


async def test_stopping_during_a_hedge_cancels_both(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = hedging_rig(rigs, fakes, "backup")
    main.script(hang())
    backup.script(hang())
    seen: list[ev.ChatEvent] = []

    async def consume() -> None:
        async for event in rig.service.send("Hello"):
            seen.append(event)

    task = asyncio.create_task(consume())
    for _ in range(200):
        if only(seen, ev.Hedged):
            break
        await asyncio.sleep(0.01)
    assert await asyncio.to_thread(backup.wait_for_requests)  # both requests in flight
    task.cancel()  # the user pressed Stop (the app's bridge cancels its task)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert only(seen, ev.Hedged)
    # Both connections close as the cancelled streams unwind on the loop.
    assert await asyncio.to_thread(main.wait_for_disconnect)
    assert await asyncio.to_thread(backup.wait_for_disconnect)
    answer_id = only(seen, ev.AttemptStarted)[0].answer_id
    attempts = rig.store.attempts(answer_id)
    assert [(a.provider, a.outcome, a.error_class) for a in attempts] == [
        ("anthropic", "cancelled", None), ("openai", "cancelled", None)]


async def test_the_last_provider_left_waits_the_configured_timeout(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    rig = hedging_rig(rigs, fakes, first_token_timeout_s=0.6)  # no backup at all
    fakes["main"].script(hang())
    events = await timed(rig.service.send("Hello"))
    assert not only([e for _, e in events], ev.Hedged)
    assert at(events, ev.AttemptFailed) >= 0.6


async def test_a_continuation_is_hedged_only_with_a_provider_that_can_continue(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    """The third (anthropic) continues what the main wrote; the backup (openai) would
    answer afresh, so it is not raced against the third."""
    main, backup, third = fakes["main"], fakes["backup"], fakes["third"]
    rig = hedging_rig(rigs, fakes, "third", "backup", first_token_timeout_s=0.8)
    teach(rig.store, "anthropic-3", MODELS["anthropic"], [0.01] * 20)
    main.script(Synth(["The tides", " are"], error="Overloaded"))
    third.script(hang())
    backup.script(Synth(["Fresh."]))
    events = await timed(rig.service.send("Why tides?"))
    assert not only([e for _, e in events], ev.Hedged)
    assert at(events, ev.Restarted) >= 0.8  # the third waited its whole timeout
    assert only([e for _, e in events], ev.AnswerFinished)[0].provider == "openai"
    assert len(backup.requests) == 1


# -- hedge = false ---------------------------------------------------------------------

async def test_without_hedging_the_learned_deadline_fails_over(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = hedging_rig(rigs, fakes, "backup", hedge=False)
    main.script(hang())
    backup.script(Synth(["Backup."]))

    events = await timed(rig.service.send("Hello"))

    assert kinds(events) == ["MessageSaved", "AttemptStarted", "AttemptFailed", "Switched",
                             "AttemptStarted", "FirstToken", "TextChunk", "AnswerFinished"]
    failed = only([e for _, e in events], ev.AttemptFailed)[0]
    assert failed.error_class == "first_token_timeout"
    assert failed.message == f"no answer within {DEADLINE_S:g} s"
    assert DEADLINE_S <= at(events, ev.AttemptFailed) < 1.0
    assert only([e for _, e in events], ev.AnswerFinished)[0].provider == "openai"
    # Never two requests at once: the main was given up before the backup was asked.
    assert (len(main.requests), len(backup.requests)) == (1, 1)
    assert main.wait_for_disconnect()


# -- reasoning counts as the first token -----------------------------------------------

def thinking_then_quiet(seconds: float) -> Stream:
    """Anthropic's recorded thinking stream, silent for `seconds` after its first thinking
    delta (a model thinking at length before it writes)."""
    data = (Path(__file__).parents[1] / "wire" / "anthropic" / "stream_ok_thinking.sse") \
        .read_bytes()
    after = data.index(b"\n\n", data.index(b"thinking_delta")) + 2
    return Stream(data, stall_after_bytes=after, stall_s=seconds)


@pytest.mark.parametrize("hedge", [True, False])
async def test_a_long_reasoning_phase_is_not_cut_off(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig], hedge: bool,
) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = hedging_rig(rigs, fakes, "backup", hedge=hedge)
    main.script(thinking_then_quiet(5 * DEADLINE_S))  # thinks far past the deadline
    backup.script(Synth(["Should not be asked."]))

    events = await collect(rig.service.send("What is 27 * 453?"))

    assert not only(events, ev.Hedged) and not only(events, ev.AttemptFailed)
    done = only(events, ev.AnswerFinished)[0]
    assert (done.provider, done.content) == ("anthropic", "27 * 453 = 12,231")
    assert done.reasoning.startswith("Let me work out")
    assert backup.requests == []
