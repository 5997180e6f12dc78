"""Every stream of tests/wire/sdk read by the official SDK and by chatdesk: the same reading.

The same bytes are served by a loopback fake (tests/fakes/server.py) to the provider's
official Python SDK and to chatdesk's parser; text, refusal, reasoning, finish reason and
token counts must agree. Then chatdesk's judgement of the whole stream (an answer, a
refusal, or which failure) is checked against what SPEC's outage policy says of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatdesk.providers import errors
from chatdesk.providers.base import (
    ChatRequest,
    Endpoint,
    Finished,
    Message,
    Provider,
    RefusalDelta,
    TextDelta,
    ThinkingDelta,
    Timeouts,
    Usage,
)
from chatdesk.providers.registry import make_provider
from tests.fakes.server import FakeProvider, Stream
from tests.wirefiles import WIRE_COPY

SDK_WIRE = WIRE_COPY / "sdk"
MODEL = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o", "gemini": "gemini-2.5-flash",
         "ollama": "qwen3"}


@dataclass(frozen=True)
class Reading:
    """What a stream says, as one reader understood it."""

    text: str = ""
    refusal: str = ""
    reasoning: str = ""
    finish: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class Case:
    protocol: str
    file: str
    outcome: str | type[errors.ProviderError]  # "answer", "refused", or the error chatdesk raises
    expected: Reading  # so that two readers agreeing on nothing cannot pass

    @property
    def id(self) -> str:
        return f"{self.protocol}/{self.file}"


CASES = [
    # 3: the last event counts without its blank line (here: without any newline).
    Case("anthropic", "basic.sse", "answer",
         Reading(text="Hello there!", finish="end_turn", input_tokens=11, output_tokens=6)),
    # 1 + 6: a refusal with no text and 0 tokens out (kept as 0); one newline, no blank line.
    Case("anthropic", "refusal_no_text.sse", "refused",
         Reading(finish="refusal", input_tokens=20, output_tokens=0)),
    # 1 + 2: thinking, a little text, then a refusal.
    Case("anthropic", "thinking_then_refusal.sse", "refused",
         Reading(text="Hi", finish="refusal", input_tokens=28, output_tokens=106,
                 reasoning="Simple educational question about what a solar eclipse is. This is "
                 "benign general knowledge — definitions are fine. Also the user called me "
                 "\"claudius\" — I'm Claude. Minor correction or just roll with it politely.")),
    Case("openai", "refusal.sse", "refused",
         Reading(refusal="I'm sorry, I can't assist with that request.", finish="stop",
                 input_tokens=79, output_tokens=11)),
    Case("openai", "deepseek_reasoning_content.sse", "answer",
         Reading(text="9.8 is larger.", reasoning="The user asks 9.11 vs 9.8. 9.8 = 9.80 > 9.11.",
                 finish="stop", input_tokens=17, output_tokens=42)),
    Case("openai", "openrouter_reasoning.sse", "answer",
         Reading(text="There are three.", reasoning="Count the r's: s-t-r-a-w-b-e-r-r-y has three.",
                 finish="stop", input_tokens=12, output_tokens=25)),
    Case("openai", "finish_reason_error.sse", errors.ErrorFinish,
         Reading(text="The tides are", finish="error")),
    Case("openai", "stop_without_content.sse", errors.EmptyAnswer,
         Reading(finish="stop", input_tokens=4100, output_tokens=0)),
    Case("openai", "length_without_content.sse", errors.ContextTooLong,
         Reading(finish="length", input_tokens=8192, output_tokens=0)),
    Case("openai", "empty_200.sse", errors.TruncatedStream, Reading()),
    Case("gemini", "thought_parts.sse", "answer",
         Reading(text="9.8 is larger. By 0.69.",
                 reasoning="**Weighing the numbers**\n\n9.8 is 9.80.", finish="STOP",
                 input_tokens=9, output_tokens=9 + 31)),  # 31 thinking tokens: output too
    Case("gemini", "finish_safety.sse", "refused",
         Reading(text="Here is how", finish="SAFETY", input_tokens=8, output_tokens=3)),
    Case("gemini", "prompt_blocked.sse", "refused",
         Reading(finish="PROHIBITED_CONTENT", input_tokens=8)),
    Case("gemini", "finish_recitation.sse", errors.ErrorFinish,
         Reading(text="It was the best of times,", finish="RECITATION", input_tokens=8,
                 output_tokens=7)),
    Case("ollama", "thinking.ndjson", "answer",
         Reading(text="9.8 is larger.", reasoning="9.8 is 9.80, so it is larger.", finish="stop",
                 input_tokens=0, output_tokens=12)),
    Case("ollama", "done_without_content.ndjson", errors.EmptyAnswer,
         Reading(finish="stop", input_tokens=4096, output_tokens=0)),
]


def test_every_file_has_a_case_and_a_cited_source() -> None:
    files = {f"{p.parent.name}/{p.name}" for p in SDK_WIRE.glob("*/*")}
    unframed = {"gemini/error_429_after_data.sse"}  # read by its own test below
    jsons = {f for f in files if f.endswith(".json")}  # error bodies, see test_errors
    assert files - jsons - unframed == {c.id for c in CASES}
    readme = (SDK_WIRE / "README.md").read_text(encoding="utf-8")
    for name in files:
        assert f"`{name}`" in readme or f"`{name.split('/')[0]}/{Path(name).name}`" in readme, name


# -- chatdesk's side -------------------------------------------------------------------------

def _request(protocol: str) -> ChatRequest:
    return ChatRequest([Message("user", "hi")], MODEL[protocol], max_tokens=64)


def _provider(fake: FakeProvider, client: httpx.AsyncClient) -> Provider:
    endpoint = Endpoint("prov", fake.base_url, "test-key")
    return make_provider(fake.provider_type, endpoint, client, Timeouts(5, 10, 10))


def _read(events: list[Any]) -> Reading:
    usage = [e for e in events if isinstance(e, Usage)]
    done = [e for e in events if isinstance(e, Finished)]
    return Reading(
        text="".join(e.text for e in events if isinstance(e, TextDelta)),
        refusal="".join(e.text for e in events if isinstance(e, RefusalDelta)),
        reasoning="".join(e.text for e in events if isinstance(e, ThinkingDelta)),
        finish=done[-1].reason if done else None,
        # As the router merges them: a count that is missing keeps the last one.
        input_tokens=next((u.input_tokens for u in reversed(usage)
                           if u.input_tokens is not None), None),
        output_tokens=next((u.output_tokens for u in reversed(usage)
                            if u.output_tokens is not None), None),
    )


async def chatdesk_parse(fake: FakeProvider) -> Reading:
    """The protocol module's parser alone, as the SDK parses: no judgement of the ending."""
    async with httpx.AsyncClient() as client:
        provider = _provider(fake, client)
        call = provider.build_chat_call(_request(fake.provider_type))
        async with client.stream(call.method, call.url, headers=call.headers,
                                 json=call.json_body) as response:
            events = []
            try:
                async for event in provider.parse_stream(response):
                    events.append(event)
            except errors.ProviderError:
                pass
    return _read(events)


async def chatdesk_outcome(fake: FakeProvider) -> str | type[errors.ProviderError]:
    """What chatdesk makes of the whole stream: an answer, a refusal, or a failure."""
    async with httpx.AsyncClient() as client:
        try:
            events = [e async for e in _provider(fake, client).stream(_request(fake.provider_type))]
        except errors.ProviderError as exc:
            return type(exc)
    finished = [e for e in events if isinstance(e, Finished)]
    return "refused" if finished[-1].refused else "answer"


# -- the SDKs' side --------------------------------------------------------------------------

async def anthropic_reads(fake: FakeProvider) -> Reading:
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.AsyncAnthropic(api_key="k", base_url=fake.base_url, max_retries=0)
    async with client.messages.stream(model=MODEL["anthropic"], max_tokens=64,
                                      messages=[{"role": "user", "content": "hi"}]) as stream:
        message = await stream.get_final_message()
    return Reading(
        text="".join(b.text for b in message.content if b.type == "text"),
        reasoning="".join(b.thinking for b in message.content if b.type == "thinking"),
        finish=message.stop_reason, input_tokens=message.usage.input_tokens,
        output_tokens=message.usage.output_tokens)


async def openai_reads(fake: FakeProvider) -> Reading:
    openai = pytest.importorskip("openai")
    client = openai.AsyncOpenAI(api_key="k", base_url=fake.base_url, max_retries=0)
    stream = await client.chat.completions.create(
        model=MODEL["openai"], messages=[{"role": "user", "content": "hi"}], stream=True)
    text, refusal, reasoning = [], [], []
    finish = usage = None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        text.append(delta.content or "")
        refusal.append(delta.refusal or "")
        extra = delta.model_extra or {}  # fields the SDK does not model, kept as sent
        reasoning.append(extra.get("reasoning_content") or extra.get("reasoning") or "")
        finish = choice.finish_reason or finish
    return Reading("".join(text), "".join(refusal), "".join(reasoning), finish,
                   usage.prompt_tokens if usage else None,
                   usage.completion_tokens if usage else None)


def _gemini_client(fake: FakeProvider) -> Any:
    genai = pytest.importorskip("google.genai")
    types = pytest.importorskip("google.genai.types")
    return genai.Client(api_key="k", http_options=types.HttpOptions(
        base_url=fake.base_url, api_version="v1beta"))


async def gemini_reads(fake: FakeProvider) -> Reading:
    client = _gemini_client(fake)
    text, reasoning = [], []
    finish = usage = None
    async for chunk in await client.aio.models.generate_content_stream(
            model=MODEL["gemini"], contents="hi"):
        usage = chunk.usage_metadata or usage
        if chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason:
            finish = chunk.prompt_feedback.block_reason.value
        for candidate in chunk.candidates or []:
            for part in (candidate.content.parts if candidate.content else None) or []:
                (reasoning if part.thought else text).append(part.text or "")
            finish = candidate.finish_reason.value if candidate.finish_reason else finish
    # Thinking is billed as output but not counted in candidates: chatdesk's output is both.
    output = None if usage is None or usage.candidates_token_count is None else \
        usage.candidates_token_count + (usage.thoughts_token_count or 0)
    return Reading("".join(text), "", "".join(reasoning), finish,
                   usage.prompt_token_count if usage else None, output)


async def ollama_reads(fake: FakeProvider) -> Reading:
    ollama = pytest.importorskip("ollama")
    client = ollama.AsyncClient(host=fake.base_url)
    text, reasoning = [], []
    finish = prompt = output = None
    async for part in await client.chat(model=MODEL["ollama"], stream=True,
                                        messages=[{"role": "user", "content": "hi"}]):
        text.append(part.message.content or "")
        reasoning.append(part.message.thinking or "")
        if part.done:
            finish, prompt, output = part.done_reason, part.prompt_eval_count, part.eval_count
    return Reading("".join(text), "", "".join(reasoning), finish, prompt, output)


SDK_READS = {"anthropic": anthropic_reads, "openai": openai_reads, "gemini": gemini_reads,
             "ollama": ollama_reads}
SDK_MODULE = {"anthropic": "anthropic", "openai": "openai", "gemini": "google.genai",
              "ollama": "ollama"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_chatdesk_reads_the_stream_as_the_official_sdk(case: Case) -> None:
    pytest.importorskip(SDK_MODULE[case.protocol])
    data = (SDK_WIRE / case.protocol / case.file).read_bytes()
    with FakeProvider(case.protocol, require_auth=False) as fake:
        fake.default_response = Stream(data)
        sdk = await SDK_READS[case.protocol](fake)
        ours = await chatdesk_parse(fake)
        outcome = await chatdesk_outcome(fake)
    assert sdk == case.expected, "the SDK reads this file otherwise than the case says"
    assert ours == sdk
    assert outcome == case.outcome


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_the_judgement_holds_without_the_sdk(case: Case) -> None:
    # The same files and outcomes on a machine without the SDKs.
    data = (SDK_WIRE / case.protocol / case.file).read_bytes()
    with FakeProvider(case.protocol, require_auth=False) as fake:
        fake.default_response = Stream(data)
        assert await chatdesk_parse(fake) == case.expected
        assert await chatdesk_outcome(fake) == case.outcome


async def test_an_error_after_the_data_events_is_classified_as_the_sdk_raises_it() -> None:
    # 5: Gemini's pretty-printed {"error": …} after the events, outside SSE framing.
    data = (SDK_WIRE / "gemini" / "error_429_after_data.sse").read_bytes()
    with FakeProvider("gemini", require_auth=False) as fake:
        fake.default_response = Stream(data)
        async with httpx.AsyncClient() as client:
            events: list[Any] = []
            with pytest.raises(errors.RateLimited) as raised:
                async for event in _provider(fake, client).stream(_request("gemini")):
                    events.append(event)
        assert _read(events).text == "The tides"
        assert raised.value.status == 429 and raised.value.retry_after == 37
        assert "exceeded your current quota" in raised.value.message
        genai_errors = pytest.importorskip("google.genai.errors")
        with pytest.raises(genai_errors.APIError) as sdk_raised:
            await gemini_reads(fake)
        assert sdk_raised.value.code == 429 and sdk_raised.value.status == "RESOURCE_EXHAUSTED"
