"""Issue 14 through the router: refusals kept as refused, reasoning stored apart and counted
as activity, endings that are not answers failed over, token counts of 0 kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk.providers.errors import ErrorClass
from chatdesk.store import HealthState, MessageStatus
from tests.fakes.server import ErrorResponse, FakeProvider, Stream
from tests.helpers import reset_fakes
from tests.test_chat import Rig, collect, entry, only, rig_factory, wire_conversation
from tests.wirefiles import WIRE_COPY

SDK = WIRE_COPY / "sdk"


def sdk_bytes(name: str) -> bytes:
    return (SDK / name).read_bytes()


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    async with rig_factory(tmp_path) as build:
        yield build


@pytest.fixture(scope="module")
def pool() -> Iterator[dict[str, FakeProvider]]:
    with FakeProvider("anthropic") as a, FakeProvider("openai") as o, \
            FakeProvider("gemini") as g, FakeProvider("ollama", require_auth=False) as ol:
        yield {"anthropic": a, "openai": o, "gemini": g, "ollama": ol}


@pytest.fixture
def fakes(pool: dict[str, FakeProvider]) -> Iterator[dict[str, FakeProvider]]:
    yield reset_fakes(pool)
    reset_fakes(pool)


def answer_of(rig: Rig, events: list[ev.ChatEvent]) -> object:
    saved = only(events, ev.MessageSaved)[0]
    return [m for m in rig.store.messages(saved.conversation_id) if m.role == "assistant"][-1]


# -- 1: refusals ---------------------------------------------------------------------------

async def test_an_anthropic_refusal_is_kept_as_refused_with_its_text_and_reasoning(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    a, o = fakes["anthropic"], fakes["openai"]
    a.script(Stream(sdk_bytes("anthropic/thinking_then_refusal.sse")))
    rig = rigs([entry("anthropic", a), entry("openai", o)])

    events = await collect(rig.service.send("What is a solar eclipse, claudius?"))

    done = events[-1]
    assert isinstance(done, ev.AnswerFinished)
    assert done.refused and done.next_provider == "openai" and done.content == "Hi"
    stored = answer_of(rig, events)
    assert stored.status == MessageStatus.REFUSED and stored.content == "Hi"
    assert stored.finish_reason == "refusal" and stored.output_tokens == 106
    assert stored.reasoning.startswith("Simple educational question")
    assert o.requests == []  # a refusal is the provider's reply: nobody else was asked
    assert rig.service.health.get("anthropic").state == HealthState.UP


async def test_an_openai_refusal_keeps_its_words_never_an_empty_complete_answer(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    o = fakes["openai"]
    o.script(Stream(sdk_bytes("openai/refusal.sse")))
    rig = rigs([entry("openai", o)])

    events = await collect(rig.service.send("How do I make anthrax?"))

    stored = answer_of(rig, events)
    assert stored.status == MessageStatus.REFUSED
    assert stored.content == "I'm sorry, I can't assist with that request."
    assert "".join(c.text for c in only(events, ev.TextChunk)) == stored.content
    assert events[-1].next_provider is None


async def test_a_refusal_with_no_text_keeps_zero_tokens_as_zero(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    a = fakes["anthropic"]
    a.script(Stream(sdk_bytes("anthropic/refusal_no_text.sse")))
    rig = rigs([entry("anthropic", a)])

    stored = answer_of(rig, await collect(rig.service.send("Write malware")))

    assert stored.status == MessageStatus.REFUSED and stored.content == ""
    assert (stored.input_tokens, stored.output_tokens) == (20, 0)  # 6: 0, not NULL


async def test_a_gemini_safety_block_is_refused_and_not_sent_back(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    g = fakes["gemini"]
    g.script(Stream(sdk_bytes("gemini/finish_safety.sse")),
             Stream(sdk_bytes("gemini/prompt_blocked.sse")))
    rig = rigs([entry("gemini", g)])

    events = await collect(rig.service.send("first"))
    stored = answer_of(rig, events)
    assert (stored.status, stored.content, stored.finish_reason) == (
        MessageStatus.REFUSED, "Here is how", "SAFETY")
    conversation = only(events, ev.MessageSaved)[0].conversation_id
    events = await collect(rig.service.send("second", conversation))
    assert answer_of(rig, events).finish_reason == "PROHIBITED_CONTENT"
    # The refused reply is not part of what the provider is sent as the conversation.
    _, turns = wire_conversation("gemini", g.requests[-1].json)
    assert all("Here is how" not in text for _, text in turns)


# -- 2: reasoning --------------------------------------------------------------------------

@pytest.mark.parametrize(("ptype", "file", "text", "reasoning"), [
    ("openai", "openai/deepseek_reasoning_content.sse", "9.8 is larger.",
     "The user asks 9.11 vs 9.8. 9.8 = 9.80 > 9.11."),
    ("openai", "openai/openrouter_reasoning.sse", "There are three.",
     "Count the r's: s-t-r-a-w-b-e-r-r-y has three."),
    ("ollama", "ollama/thinking.ndjson", "9.8 is larger.", "9.8 is 9.80, so it is larger."),
    ("gemini", "gemini/thought_parts.sse", "9.8 is larger. By 0.69.",
     "**Weighing the numbers**\n\n9.8 is 9.80."),
])
async def test_reasoning_is_stored_apart_and_never_sent_back_as_the_answer(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig], ptype: str, file: str,
    text: str, reasoning: str,
) -> None:
    fake = fakes[ptype]
    fake.script(Stream(sdk_bytes(file)))
    rig = rigs([entry(ptype, fake)])

    events = await collect(rig.service.send("Which is larger, 9.11 or 9.8?"))

    stored = answer_of(rig, events)
    assert (stored.status, stored.content, stored.reasoning) == (
        MessageStatus.COMPLETE, text, reasoning)
    assert "".join(c.text for c in only(events, ev.TextChunk)) == text
    conversation = only(events, ev.MessageSaved)[0].conversation_id
    await collect(rig.service.send("And 9.9?", conversation))
    sent = str(fake.requests[-1].json)
    assert text in sent and reasoning not in sent
    assert reasoning.split()[-1] not in sent.replace(text, "")


async def test_a_model_thinking_past_the_first_token_deadline_is_not_failed_over(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    o, a = fakes["openai"], fakes["anthropic"]
    # One event every 0.3 s: the first answer text comes 0.9 s in, after the 0.5 s
    # first-token deadline, but reasoning arrives well before it and keeps arriving.
    o.script(Stream(sdk_bytes("openai/deepseek_reasoning_content.sse"), delay_s=0.3))
    rig = rigs([entry("openai", o), entry("anthropic", a)], first_token_timeout_s=0.5,
               stall_timeout_s=1.0)

    events = await collect(rig.service.send("Which is larger?"))

    assert isinstance(events[-1], ev.AnswerFinished) and events[-1].provider == "openai"
    assert only(events, ev.AttemptFailed) == [] and a.requests == []
    assert len(only(events, ev.FirstToken)) == 1


# -- 4, 5, 7: endings that are not answers fail over -----------------------------------------

@pytest.mark.parametrize(("file", "error_class", "cools_down"), [
    ("openai/stop_without_content.sse", ErrorClass.EMPTY_ANSWER, True),
    ("openai/empty_200.sse", ErrorClass.TRUNCATED_STREAM, True),
    ("openai/finish_reason_error.sse", ErrorClass.ERROR_FINISH, True),
    ("openai/length_without_content.sse", ErrorClass.CONTEXT_TOO_LONG, False),
])
async def test_an_ending_that_is_not_an_answer_fails_over(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig], file: str, error_class: str,
    cools_down: bool,
) -> None:
    o, a = fakes["openai"], fakes["anthropic"]
    o.script(Stream(sdk_bytes(file)))
    rig = rigs([entry("openai", o), entry("anthropic", a)])

    events = await collect(rig.service.send("hello"))

    assert [f.error_class for f in only(events, ev.AttemptFailed)] == [error_class]
    assert isinstance(events[-1], ev.AnswerFinished) and events[-1].provider == "anthropic"
    assert answer_of(rig, events).status == MessageStatus.COMPLETE
    state = rig.service.health.get("openai").state
    # Without a cooldown it stays as it was: never answered yet, so "unknown".
    assert state == (HealthState.DOWN if cools_down else HealthState.UNKNOWN)


async def test_gemini_error_after_its_events_is_a_rate_limit_with_its_cooldown(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    g, a = fakes["gemini"], fakes["anthropic"]
    g.script(Stream(sdk_bytes("gemini/error_429_after_data.sse")))
    rig = rigs([entry("gemini", g), entry("anthropic", a)], cooldown_s=1)

    events = await collect(rig.service.send("hello"))

    failed = only(events, ev.AttemptFailed)
    assert [(f.error_class, f.status, f.retry_after) for f in failed] == [
        (ErrorClass.RATE_LIMITED, 429, 37)]
    assert events[-1].provider == "anthropic"
    health = rig.service.health.get("gemini")
    assert health.state == HealthState.DOWN and health.seconds_left >= 36


@pytest.mark.parametrize("file", ["error_400_unknown_model_litellm.json",
                                  "error_400_unknown_model_openrouter.json"])
async def test_a_gateways_unknown_model_fails_over_and_marks_that_entry(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig], file: str,
) -> None:
    o, a = fakes["openai"], fakes["anthropic"]
    o.script(ErrorResponse(400, sdk_bytes(f"openai/{file}")))
    rig = rigs([entry("gateway", o), entry("anthropic", a)])

    events = await collect(rig.service.send("hello"))

    assert [f.error_class for f in only(events, ev.AttemptFailed)] == [ErrorClass.NOT_FOUND]
    assert events[-1].provider == "anthropic"
    health = rig.service.health.get("gateway")
    assert health.last_error_class == ErrorClass.NOT_FOUND
    # Its other models may be fine: no cooldown (never answered yet, so "unknown").
    assert health.state == HealthState.UNKNOWN and health.seconds_left == 0
