"""The router: mid-stream continuation or restart, history translation for the backup,
stops that must not fail over, cancellation and incremental saving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk.failover.router import Router, Turn
from chatdesk.providers.base import Message
from chatdesk.store import HistoryStore
from tests.fakes.server import ErrorResponse, FakeProvider, Stream, Synth
from tests.helpers import MODELS, reset_fakes, serve
from tests.test_chat import (
    FakeClock,
    Rig,
    collect,
    entry,
    offset_after,
    only,
    rig_factory,
    wire_conversation,
)


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    async with rig_factory(tmp_path) as build:
        yield build


@pytest.fixture(scope="module")
def pool() -> Iterator[dict[str, FakeProvider]]:
    """Three anthropic fakes (main, a2, a3), an openai and a gemini one, for the module."""
    fakes = {"main": FakeProvider("anthropic"), "a2": FakeProvider("anthropic"),
             "a3": FakeProvider("anthropic"), "openai": FakeProvider("openai"),
             "gemini": FakeProvider("gemini")}
    yield from serve(fakes)


@pytest.fixture
def fakes(pool: dict[str, FakeProvider]) -> Iterator[dict[str, FakeProvider]]:
    yield reset_fakes(pool)
    reset_fakes(pool)


def last_turn(fake: FakeProvider) -> tuple[str, str]:
    return wire_conversation(fake.provider_type, fake.requests[-1].json)[1][-1]


# -- mid-stream failure ------------------------------------------------------------------

async def test_prefill_backup_continues_the_partial_answer(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, a2 = fakes["main"], fakes["a2"]
    main.script(Synth(["The tides are", " caused by "], error="Overloaded"))
    a2.script(Synth([" the moon", "'s gravity."]))
    rig = rigs([entry("anthropic", main), entry("anthropic-2", a2)])

    events = await collect(rig.service.send("What causes tides?"))

    # The backup was asked to continue: its last turn is the partial text, stripped.
    body = a2.requests[0].json
    assert body["messages"] == [
        {"role": "user", "content": "What causes tides?"},
        {"role": "assistant", "content": "The tides are caused by"},
    ]
    [done] = only(events, ev.AnswerFinished)
    assert (done.provider, done.model) == ("anthropic-2", MODELS["anthropic"])
    assert done.content == "The tides are caused by the moon's gravity."
    shown = "".join(e.text for e in only(events, ev.TextChunk))
    assert shown == "The tides are caused by the moon's gravity."  # nothing repeated
    assert not only(events, ev.Restarted)
    # Each attempt's wait for its first token is kept (the status bar's "slow" reads it);
    # only the answered one counts.
    [(seconds, _)] = rig.service.store.first_token_times("anthropic-2", 5)
    assert seconds == pytest.approx(only(events, ev.FirstToken)[-1].elapsed_s)
    assert rig.service.store.first_token_times("anthropic", 5) == []
    [switched] = only(events, ev.Switched)
    assert (switched.from_provider, switched.to_provider, switched.continuing) == (
        "anthropic", "anthropic-2", True)
    assert switched.why == "anthropic failed after 5 words: overloaded"
    assert [e.continuing for e in only(events, ev.AttemptStarted)] == [False, True]

    stored = rig.store.get_message(done.message_id)
    assert (stored.content, stored.status, stored.provider) == (
        done.content, "complete", "anthropic-2")
    first, second = rig.store.attempts(stored.id)
    assert (first.outcome, first.error_class, first.streamed_text) == (
        "failed", "overloaded", "The tides are caused by ")
    assert (second.outcome, second.streamed_text, second.continued_from) == (
        "ok", " the moon's gravity.", first.id)


async def test_the_recorded_midstream_error_is_continued(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, a2 = fakes["main"], fakes["a2"]
    main.script(Stream("stream_error_overloaded_midstream.sse"))
    a2.script(Synth([" the moon."]))
    rig = rigs([entry("anthropic", main), entry("backup", a2)])
    events = await collect(rig.service.send("Why tides?"))
    assert last_turn(a2) == ("assistant", "The tides are caused by")
    assert only(events, ev.AnswerFinished)[0].content == "The tides are caused by the moon."


async def test_a_chain_of_continuations_keeps_every_piece_once(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, a2, a3 = fakes["main"], fakes["a2"], fakes["a3"]
    main.script(Synth(["One", " two"], error="Overloaded"))
    a2.script(Synth([" three", " four "], finish=False))
    a3.script(Synth([" five."]))
    rig = rigs([entry("a1", main), entry("a2", a2), entry("a3", a3)])

    events = await collect(rig.service.send("Count to five"))

    assert last_turn(a2) == ("assistant", "One two")
    assert last_turn(a3) == ("assistant", "One two three four")
    [done] = only(events, ev.AnswerFinished)
    assert done.content == "One two three four five." and done.provider == "a3"
    assert "".join(e.text for e in only(events, ev.TextChunk)) == done.content
    attempts = rig.store.attempts(done.message_id)
    assert [(a.provider, a.outcome, a.streamed_text) for a in attempts] == [
        ("a1", "failed", "One two"), ("a2", "failed", " three four "), ("a3", "ok", " five.")]
    assert [a.continued_from for a in attempts] == [None, attempts[0].id, attempts[1].id]


async def test_non_prefill_backup_answers_afresh(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, openai = fakes["main"], fakes["openai"]
    main.script(Stream("stream_error_overloaded_midstream.sse"))
    rig = rigs([entry("anthropic", main), entry("openai", openai)])

    events = await collect(rig.service.send("Why tides?"))

    # Asked afresh: the conversation ends with the user's question, no partial answer.
    assert wire_conversation("openai", openai.requests[0].json) == (
        None, [("user", "Why tides?")])
    kinds = [type(e) for e in events]
    assert kinds.index(ev.AttemptFailed) < kinds.index(ev.Restarted) < kinds.index(ev.Switched)
    assert only(events, ev.Restarted) == [ev.Restarted("openai")]
    assert only(events, ev.Switched)[0].continuing is False
    [done] = only(events, ev.AnswerFinished)
    assert done.content == "Hello! How can I help you today?"  # openai's stream_ok.sse
    stored = rig.store.get_message(done.message_id)
    assert (stored.content, stored.provider, stored.model) == (
        done.content, "openai", MODELS["openai"])
    failed, ok = rig.store.attempts(stored.id)
    assert failed.streamed_text == "The tides are caused by" and failed.outcome == "failed"
    assert ok.streamed_text == done.content and ok.continued_from is None


async def test_after_a_restart_a_prefill_backup_continues_only_the_new_text(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, openai, a2 = fakes["main"], fakes["openai"], fakes["a2"]
    main.script(Synth(["Old", " words"], error="Overloaded"))
    openai.script(Synth(["New", " start"], error="boom"))
    a2.script(Synth([" and end."]))
    rig = rigs([entry("a1", main), entry("openai", openai), entry("a2", a2)])
    events = await collect(rig.service.send("go"))
    assert last_turn(a2) == ("assistant", "New start")
    assert only(events, ev.AnswerFinished)[0].content == "New start and end."


# -- history carried over -----------------------------------------------------------------

def mixed_history(store: HistoryStore) -> int:
    """Answers from three providers; the last question's answer failed, so two user turns
    follow each other."""
    conversation = store.create_conversation(system_prompt="Be brief.")
    c = conversation.id
    store.add_message(c, "user", "Hi", status="complete")
    store.add_message(c, "assistant", "Hello from Claude.", provider="anthropic", model="m1")
    store.add_message(c, "user", "Tell me a fact.")
    store.add_message(c, "assistant", "Fact from GPT.", provider="openai", model="m2")
    store.add_message(c, "user", "Another?")
    store.add_message(c, "assistant", "", status="failed", provider=None, model=None)
    return c


async def test_history_to_gemini_uses_contents_model_role_and_system_instruction(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, gemini = fakes["main"], fakes["gemini"]
    main.script(ErrorResponse(529))
    rig = rigs([entry("anthropic", main), entry("gemini", gemini)])
    c = mixed_history(rig.store)
    rig.store.add_message(c, "assistant", "Fact from Ollama.", provider="ollama", model="m3")

    events = await collect(rig.service.send("One more?", c))

    assert only(events, ev.AnswerFinished)[0].provider == "gemini"
    body = gemini.requests[0].json
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello from Claude."}]},
        {"role": "user", "parts": [{"text": "Tell me a fact."}]},
        {"role": "model", "parts": [{"text": "Fact from GPT."}]},
        {"role": "user", "parts": [{"text": "Another?"}]},
        {"role": "model", "parts": [{"text": "Fact from Ollama."}]},
        {"role": "user", "parts": [{"text": "One more?"}]},
    ]
    assert "messages" not in body and "system" not in body


async def test_history_to_anthropic_merges_turns_to_alternate(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    gemini, a2 = fakes["gemini"], fakes["a2"]
    gemini.script(ErrorResponse(503))
    rig = rigs([entry("gemini", gemini), entry("anthropic", a2)])
    c = mixed_history(rig.store)

    events = await collect(rig.service.send("Still there?", c))

    assert only(events, ev.AnswerFinished)[0].provider == "anthropic"
    body = a2.requests[0].json
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello from Claude."},
        {"role": "user", "content": "Tell me a fact."},
        {"role": "assistant", "content": "Fact from GPT."},
        {"role": "user", "content": "Another?\n\nStill there?"},
    ]
    # The gemini primary was sent the same conversation in its own format.
    assert [c["role"] for c in gemini.requests[0].json["contents"]] == [
        "user", "model", "user", "model", "user"]


# -- failures that must not fail over ---------------------------------------------------------

async def test_plain_bad_request_stops_without_failover(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, a2 = fakes["main"], fakes["a2"]
    main.script(ErrorResponse(400, "error_400_alternation.json"))
    rig = rigs([entry("anthropic", main), entry("backup", a2)])

    events = await collect(rig.service.send("hello"))

    assert a2.requests == []
    [stopped] = only(events, ev.AnswerStopped)
    assert not only(events, ev.AnswerFinished) and not only(events, ev.AnswerPending)
    assert "roles must alternate" in stopped.reason and not stopped.cancelled
    assert rig.service.health.get("anthropic").state == "unknown"  # not an outage
    question, answer = rig.store.messages(stopped.conversation_id)
    assert (question.status, answer.id, answer.status) == ("complete", stopped.message_id,
                                                           "failed")
    assert rig.store.pending_messages() == []


async def test_context_too_long_goes_to_the_backup_without_a_cooldown(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, openai = fakes["main"], fakes["openai"]
    main.script(ErrorResponse(400, "error_400_prompt_too_long.json"))
    rig = rigs([entry("anthropic", main), entry("openai", openai)])

    events = await collect(rig.service.send("a very long question"))

    [failed] = only(events, ev.AttemptFailed)
    assert (failed.error_class, failed.status) == ("context_too_long", 400)
    assert only(events, ev.AnswerFinished)[0].provider == "openai"
    health = rig.service.health.get("anthropic")
    assert (health.state, health.failures, health.seconds_left) == ("unknown", 0, 0)
    # The next message goes to the primary first again.
    events = await collect(rig.service.send("short one"))
    assert only(events, ev.AnswerFinished)[0].provider == "anthropic"
    assert len(main.requests) == 2 and len(openai.requests) == 1


async def test_context_too_long_everywhere_keeps_the_message_pending(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, openai = fakes["main"], fakes["openai"]
    main.script(ErrorResponse(400, "error_400_prompt_too_long.json"))
    openai.script(ErrorResponse(400, "error_400_context_length.json"))
    rig = rigs([entry("anthropic", main), entry("openai", openai)])
    events = await collect(rig.service.send("huge"))
    [pending] = only(events, ev.AnswerPending)
    assert "too long" in pending.reason or "context" in pending.reason


# -- cancellation and saving as it streams -------------------------------------------------

async def test_cancelling_closes_the_connection_and_keeps_the_partial_answer(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, a2 = fakes["main"], fakes["a2"]
    pieces = ["Once upon", " a time"]
    main.script(Synth(pieces + [" there was"], stall_s=10,
                      stall_after_bytes=offset_after("anthropic", pieces, 1)))
    rig = rigs([entry("anthropic", main), entry("backup", a2)], stall_timeout_s=30,
               first_token_timeout_s=30)
    seen: list[ev.ChatEvent] = []
    both_pieces = asyncio.Event()

    async def consume() -> None:
        async for event in rig.service.send("Tell me a story"):
            seen.append(event)
            if sum(isinstance(e, ev.TextChunk) for e in seen) == 2:
                both_pieces.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(both_pieces.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await asyncio.to_thread(main.wait_for_disconnect, 2.0)
    assert a2.requests == []
    [started] = only(seen, ev.AttemptStarted)
    answer = rig.store.get_message(started.answer_id)
    assert (answer.content, answer.status, answer.provider) == (
        "Once upon a time", "partial", "anthropic")
    [attempt] = rig.store.attempts(answer.id)
    assert (attempt.outcome, attempt.streamed_text) == ("cancelled", "Once upon a time")
    # A cancel is the user's choice, not an outage.
    assert rig.service.health.get("anthropic").state == "unknown"  # not an outage


async def test_text_is_saved_while_it_streams(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main = fakes["main"]
    pieces = ["Saved", " early"]
    main.script(Synth(pieces + [" and late."], stall_s=0.6,
                      stall_after_bytes=offset_after("anthropic", pieces, 1)))
    rig = rigs([entry("anthropic", main)], stall_timeout_s=5)
    reader = HistoryStore.open(rig.path)  # another connection, as after a crash
    try:
        midway: list[tuple[str, str]] = []
        async for event in rig.service.send("save me"):
            if isinstance(event, ev.TextChunk) and event.text == " early":
                await asyncio.sleep(0.3)  # longer than the flush interval, within the stall
                midway = [(m.content, m.status) for m in reader.messages(1)
                          if m.role == "assistant"]
        assert midway == [("Saved early", "partial")]
        assert [(m.content, m.status) for m in reader.messages(1)][-1] == (
            "Saved early and late.", "complete")
        [attempt] = reader.attempts(reader.messages(1)[-1].id)
        assert attempt.streamed_text == "Saved early and late."
    finally:
        reader.close()


# -- the router on its own --------------------------------------------------------------------

async def test_router_skips_missing_keys_and_cooling_providers(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, a2, a3 = fakes["main"], fakes["a2"], fakes["a3"]
    rig = rigs([entry("a1", main), ("a2", "anthropic", a2.base_url, None), entry("a3", a3)])
    service = rig.service
    service.health.mark_down("a1", "status page: major outage", 300)
    router = Router(rig.store, service.health, service.build_provider,
                    monotonic=FakeClock(5.0))
    conversation = rig.store.create_conversation()
    question = rig.store.add_message(conversation.id, "user", "hi")
    turn = Turn(conversation.id, question.id, [Message("user", "hi")], None)

    events = await collect(router.answer(turn, service.candidates()))

    assert main.requests == [] and a2.requests == [] and len(a3.requests) == 1
    assert only(events, ev.AnswerFinished)[0].provider == "a3"
    assert only(events, ev.FirstToken) == [ev.FirstToken("a3", 0.0)]
    assert not only(events, ev.Switched)  # nothing was tried before a3


async def test_each_skipped_provider_gets_a_one_line_notice(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, a2, a3 = fakes["main"], fakes["a2"], fakes["a3"]
    rig = rigs([entry("a1", main), ("a2", "anthropic", a2.base_url, None), entry("a3", a3)])
    service = rig.service
    service.health.mark_down("a1", "status page: major outage", 120)
    conversation = rig.store.create_conversation()
    question = rig.store.add_message(conversation.id, "user", "hi")
    turn = Turn(conversation.id, question.id, [Message("user", "hi")], None)

    events = await collect(service.router.answer(turn, service.candidates()))

    # a2 has no key: it is not set up, so it is left out without a word (issue 12).
    assert only(events, ev.Skipped) == [
        ev.Skipped("a1", "Skipped a1: down for 2 more minutes "
                         "(outage reported on its status page)"),
    ]
    # The notices come before the answer starts, in failover order.
    kinds = [type(e) for e in events]
    assert kinds.index(ev.Skipped) < kinds.index(ev.AttemptStarted)


async def test_forcing_tries_a_provider_that_is_cooling_down(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main = fakes["main"]
    main.script(Synth(["Back."]))
    rig = rigs([entry("a1", main)])
    service = rig.service
    service.health.mark_down("a1", "status page: major outage", 300)
    conversation = rig.store.create_conversation()
    question = rig.store.add_message(conversation.id, "user", "hi")
    turn = Turn(conversation.id, question.id, [Message("user", "hi")], None)

    skipped = await collect(service.router.answer(turn, service.candidates()))
    assert main.requests == [] and only(skipped, ev.AnswerPending)
    forced = await collect(service.router.answer(turn, service.candidates(), force=True))
    assert len(main.requests) == 1 and only(forced, ev.AnswerFinished)[0].content == "Back."
    assert not only(forced, ev.Skipped)
