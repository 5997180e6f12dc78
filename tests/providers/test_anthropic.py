"""The Anthropic protocol: request translation and stream parsing against the wire examples."""

from __future__ import annotations

import json

import pytest

from chatdesk.providers import errors
from chatdesk.providers.anthropic import AnthropicProvider
from chatdesk.providers.base import (
    LEADING_USER_TURN,
    ChatRequest,
    Endpoint,
    Finished,
    Message,
    Usage,
)
from tests.providers.wire import (
    Server,
    check_every_cut,
    error_files,
    run,
    status_of,
    wire_bytes,
    wire_json,
)

P = "anthropic"
HELLO = "Hello! How can I help you today?"


def example_request() -> ChatRequest:
    spec = wire_json(P, "request.json")
    return ChatRequest(
        messages=[Message(m["role"], m["content"]) for m in spec["messages"]],
        model=spec["model"],
        system=spec["system"],
        max_tokens=spec["max_tokens"],
    )


def provider(key: str | None = "k") -> AnthropicProvider:
    return AnthropicProvider(Endpoint("anthropic", "https://api.anthropic.com/", key), None)


async def test_request_matches_the_example_on_the_wire() -> None:
    server = Server(body=wire_bytes(P, "stream_ok.sse"))
    await run(AnthropicProvider, server, example_request(), key="sk-ant-1")
    sent = server.requests[0]
    assert sent.method == "POST"
    assert str(sent.url) == "https://provider.test/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-1"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["accept"] == "text/event-stream"
    assert "authorization" not in sent.headers
    assert server.last_json == wire_json(P, "request.json")


def test_temperature_only_when_set() -> None:
    base = example_request()
    body = provider().build_chat_call(base).json_body
    assert "temperature" not in body
    warm = ChatRequest(base.messages, base.model, base.system, 100, temperature=0.3)
    body = provider().build_chat_call(warm).json_body
    assert body["temperature"] == 0.3 and body["max_tokens"] == 100


def test_no_system_key_without_a_system_prompt() -> None:
    body = provider().build_chat_call(ChatRequest([Message("user", "hi")], "m")).json_body
    assert "system" not in body


def test_history_is_translated_to_alternating_user_first_turns() -> None:
    request = ChatRequest(
        [
            Message("assistant", "Welcome!"),
            Message("system", "Answer in French."),
            Message("user", "one"),
            Message("user", "two"),
            Message("assistant", ""),
            Message("user", "three"),
        ],
        "m",
        system="Be brief.",
    )
    body = provider().build_chat_call(request).json_body
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert body["messages"] == [
        {"role": "user", "content": LEADING_USER_TURN},
        {"role": "assistant", "content": "Welcome!"},
        {"role": "user", "content": "one\n\ntwo\n\nthree"},
    ]


def test_trailing_assistant_is_a_prefill_without_trailing_whitespace() -> None:
    request = ChatRequest(
        [Message("user", "Tides?"), Message("assistant", "The tides are \n")], "m"
    )
    p = provider()
    body = p.build_chat_call(request).json_body
    assert body["messages"][-1] == {"role": "assistant", "content": "The tides are"}
    assert p.prefill_sent(request) == "The tides are"
    assert p.supports_prefill is True


def test_whitespace_only_prefill_is_dropped() -> None:
    request = ChatRequest([Message("user", "Tides?"), Message("assistant", "  ")], "m")
    p = provider()
    assert p.build_chat_call(request).json_body["messages"] == [
        {"role": "user", "content": "Tides?"}
    ]
    assert p.prefill_sent(request) is None


def test_no_prefill_when_last_turn_is_the_user() -> None:
    assert provider().prefill_sent(example_request()) is None


def test_missing_key_is_reported_before_sending() -> None:
    with pytest.raises(errors.MissingKey):
        provider(key=None).build_chat_call(example_request())


@pytest.mark.parametrize("crlf", [False, True])
async def test_stream_ok(crlf: bool) -> None:
    body = wire_bytes(P, "stream_ok.sse")
    if crlf:
        body = body.replace(b"\n", b"\r\n")
    outcome = await run(AnthropicProvider, Server(body=body), example_request())
    assert outcome.error is None
    assert outcome.text == HELLO
    assert outcome.usage == Usage(25, 12)
    assert outcome.finished == Finished("end_turn")
    assert isinstance(outcome.events[-1], Finished)


async def test_thinking_stream_yields_only_the_answer() -> None:
    outcome = await run(
        AnthropicProvider, Server(body=wire_bytes(P, "stream_ok_thinking.sse")),
        example_request(),
    )
    assert outcome.error is None
    assert outcome.text == "27 * 453 = 12,231"
    assert outcome.usage == Usage(40, 30)
    assert outcome.finished == Finished("end_turn")


async def test_error_event_midstream_raises_after_the_text_before_it() -> None:
    outcome = await run(
        AnthropicProvider, Server(body=wire_bytes(P, "stream_error_overloaded_midstream.sse")),
        example_request(),
    )
    assert outcome.text == "The tides are caused by"
    assert isinstance(outcome.error, errors.Overloaded)
    assert outcome.finished is None


EXPECTED = {
    "error_400_alternation.json": errors.BadRequest,
    "error_400_prompt_too_long.json": errors.ContextTooLong,
    "error_401_authentication.json": errors.AuthError,
    "error_429_rate_limit.json": errors.RateLimited,
    "error_500_api_error.json": errors.ServerError,
    "error_529_overloaded.json": errors.Overloaded,
}


def test_every_error_file_has_an_expectation() -> None:
    assert sorted(EXPECTED) == error_files(P)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_error_responses(name: str) -> None:
    status = status_of(name)
    server = Server(
        status=status, body=wire_bytes(P, name), content_type="application/json",
        headers={"retry-after": "7"} if status in (429, 529) else {},
    )
    outcome = await run(AnthropicProvider, server, example_request())
    assert type(outcome.error) is EXPECTED[name]
    assert outcome.error.status == status
    assert outcome.error.provider == "prov"
    assert outcome.error.message == wire_json(P, name)["error"]["message"]
    if status in (429, 529):
        assert outcome.error.retry_after == 7
    assert outcome.events == []


async def test_every_cut_before_message_stop_is_whole_is_truncated() -> None:
    body = wire_bytes(P, "stream_ok.sse")
    assert body.endswith(b'data: {"type":"message_stop"}\n\n')
    # As the SDK does, the last event counts once its data is whole, blank line or not.
    await check_every_cut(AnthropicProvider, body, example_request(), HELLO, len(body) - 2)


async def test_malformed_data_line() -> None:
    body = wire_bytes(P, "stream_ok.sse").replace(
        b'"text":" you today?"}}', b'"text":" you today?"'
    )
    outcome = await run(AnthropicProvider, Server(body=body), example_request())
    assert isinstance(outcome.error, errors.MalformedStream)
    assert outcome.text == "Hello! How can I help"


async def test_one_byte_chunks_with_split_utf8() -> None:
    body = wire_bytes(P, "stream_ok.sse").replace(b'"Hello"', '"héllo ✓"'.encode())
    outcome = await run(AnthropicProvider, Server(body=body, chunk_size=1), example_request())
    assert outcome.error is None
    assert outcome.text == "héllo ✓! How can I help you today?"


async def test_unknown_events_and_comments_are_ignored() -> None:
    extra = (
        b": keep-alive\n\n"
        b'event: brand_new_event\ndata: {"type":"brand_new_event","x":1}\n\n'
        b"event: ping\ndata: \n\n"
    )
    body = wire_bytes(P, "stream_ok.sse")
    body = body.replace(b"event: content_block_stop", extra + b"event: content_block_stop")
    outcome = await run(AnthropicProvider, Server(body=body), example_request())
    assert outcome.error is None and outcome.text == HELLO


async def test_list_models() -> None:
    listing = {
        "data": [
            {"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5"},
            {"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5"},
        ],
        "has_more": False,
    }
    server = Server(body=json.dumps(listing).encode(), content_type="application/json")
    async with server.client() as client:
        p = AnthropicProvider(Endpoint("a", "https://provider.test", "sk"), client)
        models = await p.list_models()
    assert [(m.id, m.display_name) for m in models] == [
        ("claude-sonnet-4-5", "Claude Sonnet 4.5"), ("claude-haiku-4-5", "Claude Haiku 4.5"),
    ]
    sent = server.requests[0]
    assert sent.method == "GET"
    assert sent.url.path == "/v1/models"
    assert sent.headers["x-api-key"] == "sk"
    assert sent.headers["anthropic-version"] == "2023-06-01"


async def test_list_models_error_is_classified() -> None:
    server = Server(status=401, body=wire_bytes(P, "error_401_authentication.json"),
                    content_type="application/json")
    async with server.client() as client:
        p = AnthropicProvider(Endpoint("a", "https://provider.test", "sk"), client)
        with pytest.raises(errors.AuthError):
            await p.list_models()

