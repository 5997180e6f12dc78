"""The shared streaming loop: deadlines, terminal events, cancellation; and the registry."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from chatdesk.providers import errors
from chatdesk.providers.base import (
    ChatRequest,
    Endpoint,
    Finished,
    HttpCall,
    Message,
    ModelInfo,
    Provider,
    ProviderEvent,
    TextDelta,
    ThinkingDelta,
    Timeouts,
    Usage,
    merge_consecutive,
    prefill_of,
    shown_continuation,
    trim_prefill,
    without_echo,
)
from chatdesk.providers.registry import PROVIDER_TYPES, make_provider, new_http_client
from tests.providers.wire import ChunkedStream

REQUEST = ChatRequest([Message("user", "hi")], "m")
FAST = Timeouts(connect_s=1, first_token_s=0.2, stall_s=0.2)


class LineProvider(Provider):
    """A toy protocol: each line is text, an empty line a keep-alive, END the terminal event."""

    protocol = "lines"
    default_base_url = "http://fake.test"

    def build_chat_call(self, request: ChatRequest) -> HttpCall:
        return HttpCall("POST", f"{self.base_url}/chat", {}, {"model": request.model})

    async def parse_stream(self, response: httpx.Response) -> AsyncIterator[ProviderEvent]:
        async for line in response.aiter_lines():
            if line == "END":
                yield Finished("end")
            elif line == "BAD":
                raise ValueError("not a valid line")
            elif line.startswith("THINK "):
                yield ThinkingDelta(line[6:])
            else:
                yield TextDelta(line)

    def build_models_call(self) -> HttpCall:
        return HttpCall("GET", f"{self.base_url}/models", {})

    def parse_models(self, payload: Any) -> list[ModelInfo]:
        return [ModelInfo(m) for m in payload]


class Backend:
    """A MockTransport whose response body is sent chunk by chunk, with delays."""

    def __init__(self, chunks: list[tuple[float, bytes]], header_delay: float = 0,
                 status: int = 200) -> None:
        self.chunks = chunks
        self.header_delay = header_delay
        self.status = status
        self.streams: list[ChunkedStream] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self.header_delay:
            await asyncio.sleep(self.header_delay)
        stream = ChunkedStream(self.chunks)
        self.streams.append(stream)
        return httpx.Response(self.status, stream=stream)

    def provider(self, timeouts: Timeouts = FAST) -> LineProvider:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        return LineProvider(Endpoint("toy", "http://fake.test"), client, timeouts)


async def collect(provider: Provider) -> tuple[list[ProviderEvent], Exception | None]:
    events: list[ProviderEvent] = []
    try:
        async for event in provider.stream(REQUEST):
            events.append(event)
    except errors.ProviderError as exc:
        return events, exc
    return events, None


async def test_a_complete_stream() -> None:
    events, error = await collect(Backend([(0, b"Hel"), (0, b"lo\nEND\n")]).provider())
    assert error is None
    assert events == [TextDelta("Hello"), Finished("end")]


async def test_first_token_timeout() -> None:
    backend = Backend([(2.0, b"late\nEND\n")])
    start = time.monotonic()
    events, error = await collect(backend.provider())
    assert isinstance(error, errors.FirstTokenTimeout)
    assert events == []
    assert time.monotonic() - start < 1.0
    assert backend.streams[0].closed


async def test_first_token_deadline_counts_the_wait_for_headers() -> None:
    backend = Backend([(0, b"hi\nEND\n")], header_delay=2.0)
    start = time.monotonic()
    _, error = await collect(backend.provider())
    assert isinstance(error, errors.FirstTokenTimeout)
    assert time.monotonic() - start < 1.0


async def test_keep_alives_do_not_extend_the_first_token_deadline() -> None:
    # Empty deltas every 50 ms for 1.5 s: alive, but no answer within 0.2 s.
    backend = Backend([(0.05, b"\n")] * 30 + [(0, b"late\nEND\n")])
    start = time.monotonic()
    events, error = await collect(backend.provider())
    assert isinstance(error, errors.FirstTokenTimeout)
    assert events == []
    assert time.monotonic() - start < 1.0


async def test_visible_thinking_counts_as_a_live_answer() -> None:
    # Thinking steadily for 0.6 s (3 × the first-token limit) before the text is no timeout.
    backend = Backend([(0.1, b"THINK step\n")] * 6 + [(0.1, b"answer\nEND\n")])
    events, error = await collect(backend.provider())
    assert error is None
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["answer"]


async def test_stall_timeout_after_text() -> None:
    backend = Backend([(0, b"The tides\n"), (2.0, b"more\nEND\n")])
    events, error = await collect(backend.provider())
    assert isinstance(error, errors.StallTimeout)
    assert events == [TextDelta("The tides")]
    assert backend.streams[0].closed


async def test_a_slow_but_steady_stream_is_not_a_stall() -> None:
    # Each gap (0.1 s) is under the stall limit though the whole answer takes 0.6 s.
    backend = Backend([(0.1, f"w{i}\n".encode()) for i in range(6)] + [(0.1, b"END\n")])
    events, error = await collect(backend.provider())
    assert error is None
    assert [e.text for e in events if isinstance(e, TextDelta)] == [f"w{i}" for i in range(6)]


async def test_missing_finished_is_a_truncated_stream() -> None:
    events, error = await collect(Backend([(0, b"Hello\n")]).provider())
    assert isinstance(error, errors.TruncatedStream)
    assert events == [TextDelta("Hello")]


async def test_nothing_after_finished_is_read() -> None:
    events, error = await collect(Backend([(0, b"a\nEND\nafter\nEND\n")]).provider())
    assert error is None
    assert events == [TextDelta("a"), Finished("end")]


async def test_parse_errors_are_a_malformed_stream() -> None:
    events, error = await collect(Backend([(0, b"a\nBAD\nEND\n")]).provider())
    assert isinstance(error, errors.MalformedStream)
    assert events == [TextDelta("a")]


async def test_non_200_is_classified_from_status_and_body() -> None:
    body = b'{"error": {"type": "overloaded_error", "message": "Overloaded"}}'
    _, error = await collect(Backend([(0, body)], status=529).provider())
    assert isinstance(error, errors.Overloaded)
    assert error.status == 529 and error.provider == "toy"


async def test_transport_errors_are_classified() -> None:
    async def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    _, error = await collect(LineProvider(Endpoint("toy", "http://x"), client, FAST))
    assert isinstance(error, errors.ConnectionFailed)


async def test_cancelling_the_consumer_closes_the_response() -> None:
    backend = Backend([(0, b"first\n"), (30.0, b"END\n")])
    provider = backend.provider(Timeouts(1, 60, 60))
    got_text = asyncio.Event()

    async def consume() -> None:
        async for event in provider.stream(REQUEST):
            if isinstance(event, TextDelta):
                got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 2)
    assert not backend.streams[0].closed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert backend.streams[0].closed


async def test_leaving_early_with_aclosing_closes_the_response() -> None:
    backend = Backend([(0, b"first\n"), (30.0, b"END\n")])
    provider = backend.provider(Timeouts(1, 60, 60))
    async with contextlib.aclosing(provider.stream(REQUEST)) as events:
        async for _ in events:
            break
    assert backend.streams[0].closed


async def test_list_models() -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=["a", "b"])

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    models = await LineProvider(Endpoint("toy", "http://x"), client).list_models()
    assert models == [ModelInfo("a"), ModelInfo("b")]


def test_merge_consecutive() -> None:
    merged = merge_consecutive([Message("user", "a"), Message("user", "b"),
                                Message("assistant", "c"), Message("user", "d")])
    assert merged == [Message("user", "a\n\nb"), Message("assistant", "c"), Message("user", "d")]


# -- registry -----------------------------------------------------------------------------


def test_registry_knows_the_four_protocols() -> None:
    assert sorted(PROVIDER_TYPES) == ["anthropic", "gemini", "ollama", "openai"]
    for name, cls in PROVIDER_TYPES.items():
        assert cls.protocol == name
        assert cls.default_base_url.startswith("http")


async def test_make_provider() -> None:
    async with new_http_client() as client:
        endpoint = Endpoint("openrouter", "https://openrouter.ai/api/v1", "k")
        provider = make_provider("openai", endpoint, client, FAST)
        assert type(provider) is PROVIDER_TYPES["openai"]
        assert provider.name == "openrouter" and provider.timeouts == FAST
        assert provider.client is client
        local = make_provider("ollama", Endpoint("ollama", ""), client)
        assert local.base_url == "http://localhost:11434"
        with pytest.raises(ValueError, match="unknown provider type"):
            make_provider("bard", endpoint, client)


async def test_shared_client_settings() -> None:
    async with new_http_client() as client:
        assert client.follow_redirects is False
        assert client.headers["user-agent"].startswith("chatdesk/")


def test_a_prefill_is_sent_without_trailing_space_and_not_shown_twice() -> None:
    assert trim_prefill("Tides rise \n") == ("Tides rise", " \n")
    assert trim_prefill("Tides rise") == ("Tides rise", "")
    assert trim_prefill("  ") == ("", "  ")
    # The text shown so far ended with the cut space: the continuation's own is dropped.
    assert shown_continuation(" ", " twice") == "twice"
    assert shown_continuation(" ", "twice") == "twice"
    assert shown_continuation("", " twice") == " twice"


def test_the_prefill_of_a_request_is_its_cut_trailing_assistant_turn() -> None:
    user = Message("user", "Why?")
    assert prefill_of(ChatRequest([user, Message("assistant", "Tides rise \n")], "m")) == \
        "Tides rise"
    assert prefill_of(ChatRequest([user, Message("assistant", " ")], "m")) is None
    assert prefill_of(ChatRequest([user], "m")) is None
    assert prefill_of(ChatRequest([Message("assistant", "Alone")], "m")) is None


async def _echo_free(prefill: str, *events: ProviderEvent) -> list[ProviderEvent]:
    async def source() -> AsyncIterator[ProviderEvent]:
        for event in events:
            yield event

    return [event async for event in without_echo(source(), prefill)]


@pytest.mark.parametrize(("pieces", "expected"), [
    (["Tides rise", " with the moon."], [" with the moon."]),  # repeated whole
    (["Tid", "es r", "ise with", " the moon."], [" with", " the moon."]),  # repeated in bits
    ([" with the moon."], [" with the moon."]),  # not repeated: nothing lost
    (["Tides fall", " later."], ["Tides fall", " later."]),  # starts alike, then differs
    (["Tides rise"], []),  # nothing but the repeat
    (["Tides"], ["Tides"]),  # ended inside what might have been a repeat: it was text
])
async def test_a_repeated_prefill_is_dropped_from_the_continuation(
        pieces: list[str], expected: list[str]) -> None:
    events = await _echo_free("Tides rise", *(TextDelta(p) for p in pieces), Finished("stop"))
    assert events == [*(TextDelta(t) for t in expected), Finished("stop")]


async def test_reasoning_and_usage_pass_while_the_repeat_is_held() -> None:
    events = await _echo_free("Tides rise", TextDelta("Tides"), ThinkingDelta("hm"),
                              Usage(1, 2), TextDelta(" rise and fall"), Finished("stop"))
    assert events == [ThinkingDelta("hm"), Usage(1, 2), TextDelta(" and fall"),
                      Finished("stop")]


async def test_a_long_stream_keeps_its_deadlines_with_a_few_timers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """500 chunks arm a handful of timers, not one (or two) per chunk: under the app's Qt
    loop each timer waited out its whole delay in Qt's timer list, then as garbage."""
    loop = asyncio.get_running_loop()
    armed = 0
    real = loop.call_at

    def counted(when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal armed
        armed += 1
        return real(when, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", counted)
    backend = Backend([(0, f"w{i}\n".encode()) for i in range(500)] + [(0, b"END\n")])
    events, error = await collect(backend.provider())
    assert error is None and len([e for e in events if isinstance(e, TextDelta)]) == 500
    assert armed <= 5, armed
