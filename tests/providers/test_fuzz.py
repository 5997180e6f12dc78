"""Fuzzing the four stream parsers: whatever bytes arrive, split however, the only exception
that leaves `Provider.stream` is a typed ProviderError, and every event is well typed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatdesk.providers import errors
from chatdesk.providers.anthropic import AnthropicProvider
from chatdesk.providers.base import (
    ChatRequest,
    Finished,
    Message,
    ProviderEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from chatdesk.providers.gemini import GeminiProvider
from chatdesk.providers.ollama import OllamaProvider
from chatdesk.providers.openai import OpenAIProvider
from tests.providers.wire import Server, run, wire_dir

FACTORIES: dict[str, Callable[..., Any]] = {
    "anthropic": AnthropicProvider, "openai": OpenAIProvider, "gemini": GeminiProvider,
    "ollama": OllamaProvider,
}
CONTENT_TYPES = {"anthropic": "text/event-stream", "openai": "text/event-stream",
                 "gemini": "text/event-stream", "ollama": "application/x-ndjson"}
STREAMS = {p: sorted(f.name for f in (wire_dir() / p).iterdir()
                     if f.suffix in (".sse", ".ndjson"))
           for p in FACTORIES}
ERRORS = {p: sorted(f.name for f in (wire_dir() / p).glob("error_*.json")) for p in FACTORIES}
REQUEST = ChatRequest([Message("user", "Hello")], "some-model", "Be brief.", 100)
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def outcome(protocol: str, body: bytes, *, status: int = 200, chunk: int | None = None,
            content_type: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """Stream body from the protocol's provider; fails the test if anything but a
    ProviderError escapes or an event is ill-typed."""
    server = Server(status=status, body=body, chunk_size=chunk,
                    content_type=content_type or CONTENT_TYPES[protocol],
                    headers=headers or {})
    result = asyncio.run(run(FACTORIES[protocol], server, REQUEST))
    for event in result.events:
        check_event(event)
    if result.error is not None:
        assert isinstance(result.error, errors.ProviderError)
        assert isinstance(result.error.message, str)
    return result


def check_event(event: ProviderEvent) -> None:
    if isinstance(event, TextDelta | ThinkingDelta):
        assert isinstance(event.text, str), event
    elif isinstance(event, Usage):
        for n in (event.input_tokens, event.output_tokens):
            assert n is None or (isinstance(n, int) and not isinstance(n, bool)), event
    elif isinstance(event, Finished):
        assert event.reason is None or isinstance(event.reason, str), event
    else:
        raise AssertionError(f"unexpected event {event!r}")


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """data with a few random edits: bytes dropped, repeated, replaced or inserted."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(out)))
        size = draw(st.integers(0, 40))
        action = draw(st.sampled_from(["drop", "repeat", "replace", "insert"]))
        if action == "drop":
            del out[at:at + size]
        elif action == "repeat":
            out[at:at] = out[at:at + size]
        elif action == "replace" and at < len(out):
            out[at] = draw(st.integers(0, 255))
        else:
            out[at:at] = draw(st.binary(max_size=size))
    return bytes(out)


def wire(protocol: str, name: str) -> bytes:
    return (wire_dir() / protocol / name).read_bytes()


@st.composite
def recorded_streams(draw: st.DrawFn) -> tuple[str, bytes, int | None]:
    protocol = draw(st.sampled_from(sorted(FACTORIES)))
    body = draw(mutated(wire(protocol, draw(st.sampled_from(STREAMS[protocol])))))
    return protocol, body, draw(st.none() | st.integers(1, 64))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "delta", "text", "message", "content", "parts", "candidates",
                         "choices", "usage", "error", "done", "done_reason", "finishReason",
                         "finish_reason", "stop_reason", "index", "usageMetadata",
                         "input_tokens", "output_tokens", "prompt_eval_count", "eval_count",
                         "promptTokenCount", "candidatesTokenCount", "thought", "refusal",
                         "promptFeedback", "blockReason", "thinking", "role", "details",
                         "retryDelay", "reason", "code", "status"]),
        inner, max_size=4),
    max_leaves=12,
)
EVENT_TYPES = st.sampled_from(["message_start", "content_block_delta", "message_delta",
                               "message_stop", "error", "ping"])


@st.composite
def structured(draw: st.DrawFn) -> tuple[str, bytes]:
    """Well-framed events whose JSON has the right keys holding values of any type."""
    protocol = draw(st.sampled_from(sorted(FACTORIES)))
    payloads = draw(st.lists(JSON, min_size=1, max_size=5))
    lines = []
    for payload in payloads:
        if protocol == "anthropic" and isinstance(payload, dict) and draw(st.booleans()):
            payload["type"] = draw(EVENT_TYPES)
        data = json.dumps(payload)
        if protocol == "ollama":
            lines.append(data + "\n")
        else:
            lines.append(f"data: {data}\n\n")
    if protocol == "openai" and draw(st.booleans()):
        lines.append("data: [DONE]\n\n")
    return protocol, "".join(lines).encode()


def _replace_somewhere(draw: st.DrawFn, value: Any) -> Any:
    """value with one node (maybe itself) replaced by any JSON value."""
    if isinstance(value, dict) and value and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(sorted(value)))
        return {**value, key: _replace_somewhere(draw, value[key])}
    if isinstance(value, list) and value and draw(st.integers(0, 3)):
        at = draw(st.integers(0, len(value) - 1))
        return [*value[:at], _replace_somewhere(draw, value[at]), *value[at + 1:]]
    return draw(JSON)


@st.composite
def retyped(draw: st.DrawFn) -> tuple[str, bytes]:
    """A recorded stream whose events keep their framing, with values here and there
    replaced by values of any type (a string for an object, a list for a number…)."""
    protocol = draw(st.sampled_from(sorted(FACTORIES)))
    text = wire(protocol, draw(st.sampled_from(STREAMS[protocol]))).decode()
    out = []
    for line in text.splitlines(keepends=True):
        head, sep, rest = line.partition("data: ") if protocol != "ollama" else ("", "", line)
        body = rest.strip()
        if body.startswith("{") and draw(st.integers(0, 2)) == 0:
            changed = json.dumps(_replace_somewhere(draw, json.loads(body)))
            line = head + sep + changed + ("\r\n" if line.endswith("\r\n") else "\n")
        out.append(line)
    return protocol, "".join(out).encode()


@pytest.mark.slow
@FUZZ
@given(retyped(), st.none() | st.integers(1, 40))
def test_recorded_events_with_values_of_another_type(case: tuple[str, bytes],
                                                     chunk: int | None) -> None:
    protocol, body = case
    outcome(protocol, body, chunk=chunk)


@pytest.mark.slow
@FUZZ
@given(st.sampled_from(sorted(FACTORIES)), st.binary(max_size=600), st.none() | st.integers(1, 50))
def test_arbitrary_bytes(protocol: str, body: bytes, chunk: int | None) -> None:
    outcome(protocol, body, chunk=chunk)


@pytest.mark.slow
@FUZZ
@given(recorded_streams())
def test_recorded_streams_mutated_and_split(case: tuple[str, bytes, int | None]) -> None:
    protocol, body, chunk = case
    outcome(protocol, body, chunk=chunk)


@pytest.mark.slow
@FUZZ
@given(structured(), st.none() | st.integers(1, 30))
def test_events_holding_values_of_any_type(case: tuple[str, bytes], chunk: int | None) -> None:
    protocol, body = case
    outcome(protocol, body, chunk=chunk)


@pytest.mark.slow
@FUZZ
@given(st.sampled_from(sorted(FACTORIES)), st.data())
def test_error_responses_of_any_status_body_and_retry_after(protocol: str,
                                                            data: st.DataObject) -> None:
    status = data.draw(st.sampled_from([200, 302, 400, 401, 403, 404, 408, 413, 429, 500, 503,
                                        529, 599]))
    body = data.draw(st.sampled_from(ERRORS[protocol]).map(lambda n: wire(protocol, n))
                     .flatmap(mutated) | st.binary(max_size=300) | JSON.map(
                         lambda j: json.dumps(j).encode()))
    headers = data.draw(st.dictionaries(
        st.sampled_from(["retry-after", "retry-after-ms", "location"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30), max_size=2))
    content_type = data.draw(st.sampled_from([None, "application/json", "text/html", "",
                                              "text/event-stream; charset=latin-1"]))
    result = outcome(protocol, body, status=status, headers=headers, content_type=content_type)
    if status != 200:
        assert result.error is not None and not result.events


# -- what the fuzzing found, one concrete case each ----------------------------------------

def _sse(*payloads: str) -> bytes:
    return "".join(f"data: {p}\n\n" for p in payloads).encode()


MALFORMED = [  # a value of the wrong type where the parser reached into it
    ("anthropic", _sse('{"type":"content_block_delta","index":0,"delta":true}')),
    ("anthropic", _sse('{"type":"content_block_delta","delta":{"type":"text_delta","text":5}}')),
    ("ollama", b'{"message":"hi"}\n'),
    ("gemini", _sse('{"candidates":[{"content":"x"}]}')),
    ("gemini", _sse('{"promptFeedback":"x"}')),
    ("openai", _sse("[" * 100_000)),  # nested too deep for json
]


@pytest.mark.parametrize(("protocol", "body"), MALFORMED)
def test_values_of_the_wrong_type_are_a_malformed_stream(protocol: str, body: bytes) -> None:
    assert isinstance(outcome(protocol, body).error, errors.MalformedStream)


@pytest.mark.parametrize(("protocol", "body"), [
    ("ollama", b'{"message":{"content":"Hi"},"done":true,"done_reason":{"a":1},'
               b'"eval_count":"x","prompt_eval_count":true}\n'),
    ("gemini", _sse('{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"finishReason":7}],'
                    '"usageMetadata":{"promptTokenCount":"3","candidatesTokenCount":-1}}')),
])
def test_odd_counts_and_finish_reasons_are_dropped_not_fatal(protocol: str, body: bytes) -> None:
    result = outcome(protocol, body)
    assert result.error is None and result.text == "Hi"
    assert result.finished == Finished(None)
    assert all(e == Usage(None, None) for e in result.events if isinstance(e, Usage))


@pytest.mark.parametrize(("body", "headers", "retry_after"), [
    (b'{"error":{"details":5}}', {}, None),
    (b'{"error":{"details":[{"retryDelay":"1.2.3s"}]}}', {}, None),
    (b'{"error":{"details":[{"retryDelay":"12.5s"}]}}', {}, 12.5),
    (b"{}", {"retry-after": "inf"}, errors.MAX_RETRY_AFTER_S),
    (b"{}", {"retry-after": "nan"}, None),
    (b"{}", {"retry-after-ms": "1e400"}, errors.MAX_RETRY_AFTER_S),
    (b"{}", {"retry-after": "Wed, 21 Oct 9999 07:28:00 GMT"}, errors.MAX_RETRY_AFTER_S),
    (b"[" * 100_000, {}, None),
])
def test_odd_error_bodies_and_retry_after_values(body: bytes, headers: dict[str, str],
                                                 retry_after: float | None) -> None:
    error = outcome("gemini", body, status=429, headers=headers).error
    assert isinstance(error, errors.RateLimited)
    assert error.retry_after == retry_after
