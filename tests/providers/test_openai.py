"""The OpenAI-compatible protocol against the wire examples (OpenAI and OpenRouter style)."""

from __future__ import annotations

import json

import pytest

from chatdesk.providers import errors
from chatdesk.providers.base import ChatRequest, Endpoint, Finished, Message, Usage
from chatdesk.providers.openai import Flavour, OpenAIProvider, flavour_of
from tests.providers.wire import (
    Server,
    check_every_cut,
    error_files,
    run,
    status_of,
    wire_bytes,
    wire_json,
)

P = "openai"
HELLO = "Hello! How can I help you today?"


def example_request() -> ChatRequest:
    spec = wire_json(P, "request.json")
    system, *turns = spec["messages"]
    assert system["role"] == "system"
    return ChatRequest(
        messages=[Message(m["role"], m["content"]) for m in turns],
        model=spec["model"],
        system=system["content"],
        max_tokens=4096,
    )


async def test_request_matches_the_example_on_the_wire() -> None:
    server = Server(body=wire_bytes(P, "stream_ok.sse"))
    await run(OpenAIProvider, server, example_request(), key="sk-1",
              base_url="https://api.openai.com/v1/")
    sent = server.requests[0]
    assert sent.method == "POST"
    assert str(sent.url) == "https://api.openai.com/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-1"
    assert sent.headers["content-type"] == "application/json"
    assert server.last_json == {**wire_json(P, "request.json"), "max_tokens": 4096}


async def test_no_authorization_header_without_a_key() -> None:
    server = Server(body=wire_bytes(P, "stream_ok.sse"))
    outcome = await run(OpenAIProvider, server, example_request(), key=None,
                        base_url="http://127.0.0.1:1234/v1")
    assert outcome.error is None
    assert "authorization" not in server.requests[0].headers
    assert str(server.requests[0].url) == "http://127.0.0.1:1234/v1/chat/completions"


def test_trailing_assistant_is_sent_as_is_and_temperature_when_set() -> None:
    p = OpenAIProvider(Endpoint("o", "https://x/v1", "k"), None)
    request = ChatRequest(
        [Message("user", "a"), Message("assistant", "partial ")], "m", None, 50, 0.7
    )
    body = p.build_chat_call(request).json_body
    assert body["messages"] == [
        {"role": "user", "content": "a"}, {"role": "assistant", "content": "partial "},
    ]
    assert body["temperature"] == 0.7 and body["max_tokens"] == 50
    assert "max_completion_tokens" not in body
    assert p.supports_prefill is False


@pytest.mark.parametrize("crlf", [False, True])
async def test_stream_ok(crlf: bool) -> None:
    body = wire_bytes(P, "stream_ok.sse")
    if crlf:
        body = body.replace(b"\n", b"\r\n")
    outcome = await run(OpenAIProvider, Server(body=body), example_request())
    assert outcome.error is None
    assert outcome.text == HELLO
    assert outcome.usage is None
    assert outcome.events[-1] == Finished("stop")


async def test_stream_ok_include_usage() -> None:
    outcome = await run(
        OpenAIProvider, Server(body=wire_bytes(P, "stream_ok_include_usage.sse")),
        example_request(),
    )
    assert outcome.error is None
    assert outcome.text == HELLO
    # The details' cached_tokens and reasoning_tokens are read too (0 here).
    assert outcome.usage == Usage(19, 10, 0, 0)
    assert outcome.events[-2:] == [Usage(19, 10, 0, 0), Finished("stop")]


async def test_openrouter_style() -> None:
    outcome = await run(
        OpenAIProvider, Server(body=wire_bytes(P, "stream_ok_openrouter_style.sse")),
        example_request(),
    )
    assert outcome.error is None
    assert outcome.text == "Hi there"
    assert outcome.usage == Usage(8, 2)
    assert outcome.finished == Finished("stop")


async def test_error_event_midstream() -> None:
    outcome = await run(
        OpenAIProvider, Server(body=wire_bytes(P, "stream_error_midstream.sse")),
        example_request(),
    )
    assert outcome.text == "The tides are caused by"
    assert isinstance(outcome.error, errors.ServerError)
    assert "server had an error" in outcome.error.message


async def test_openrouter_midstream_error_chunk() -> None:
    body = (
        b'data: {"id":"g","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        b'data: {"id":"g","object":"chat.completion.chunk","error":{"code":502,'
        b'"message":"Provider overloaded"},"choices":[{"index":0,"delta":{"content":""},'
        b'"finish_reason":"error"}]}\n\n'
    )
    outcome = await run(OpenAIProvider, Server(body=body), example_request())
    assert outcome.text == "Hi"
    assert isinstance(outcome.error, errors.Overloaded)


async def test_finish_without_done_still_finishes() -> None:
    body = wire_bytes(P, "stream_ok.sse").replace(b"data: [DONE]\n\n", b"")
    outcome = await run(OpenAIProvider, Server(body=body), example_request())
    assert outcome.error is None
    assert outcome.text == HELLO
    assert outcome.finished == Finished("stop")


async def test_every_cut_before_the_finish_reason_is_truncated() -> None:
    body = wire_bytes(P, "stream_ok.sse")
    finish = body.index(b'"finish_reason":"stop"')
    # As the SDK does, the last event counts once its data is whole, blank line or not.
    complete_from = body.index(b"\n\n", finish)
    await check_every_cut(OpenAIProvider, body, example_request(), HELLO, complete_from)


async def test_malformed_data_line() -> None:
    body = wire_bytes(P, "stream_ok.sse").replace(b'{"content":"! How can I"}', b"{oops")
    outcome = await run(OpenAIProvider, Server(body=body), example_request())
    assert isinstance(outcome.error, errors.MalformedStream)
    assert outcome.text == "Hello"


async def test_one_byte_chunks_with_split_utf8() -> None:
    body = wire_bytes(P, "stream_ok.sse").replace(
        b'{"content":"Hello"}', '{"content":"héllo ✓"}'.encode()
    )
    outcome = await run(OpenAIProvider, Server(body=body, chunk_size=1), example_request())
    assert outcome.error is None
    assert outcome.text == "héllo ✓! How can I help you today?"


async def test_a_200_that_is_not_an_event_stream_is_malformed() -> None:
    server = Server(body=b'{"choices": []}', content_type="application/json")
    outcome = await run(OpenAIProvider, server, example_request())
    assert isinstance(outcome.error, errors.MalformedStream)


EXPECTED = {
    "error_400_context_length.json": errors.ContextTooLong,
    "error_401_invalid_key.json": errors.AuthError,
    "error_429_insufficient_quota.json": errors.QuotaExceeded,
    "error_429_rate_limit.json": errors.RateLimited,
    "error_500_server_error.json": errors.ServerError,
    "error_503_overloaded.json": errors.Overloaded,
}


def test_every_error_file_has_an_expectation() -> None:
    assert sorted(EXPECTED) == error_files(P)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_error_responses(name: str) -> None:
    status = status_of(name)
    server = Server(
        status=status, body=wire_bytes(P, name), content_type="application/json",
        headers={"retry-after": "7"} if status == 429 else {},
    )
    outcome = await run(OpenAIProvider, server, example_request())
    assert type(outcome.error) is EXPECTED[name]
    assert outcome.error.status == status
    assert outcome.error.message == wire_json(P, name)["error"]["message"]
    if status == 429:
        assert outcome.error.retry_after == 7


async def test_retry_after_ms() -> None:
    server = Server(
        status=429, body=wire_bytes(P, "error_429_rate_limit.json"),
        content_type="application/json", headers={"retry-after-ms": "1500"},
    )
    outcome = await run(OpenAIProvider, server, example_request())
    assert isinstance(outcome.error, errors.RateLimited)
    assert outcome.error.retry_after == 1.5


async def test_list_models() -> None:
    listing = {"object": "list", "data": [
        {"id": "gpt-4o", "object": "model", "owned_by": "openai"},
        {"id": "mistral-large-latest", "object": "model"},
    ]}
    server = Server(body=json.dumps(listing).encode(), content_type="application/json")
    async with server.client() as client:
        p = OpenAIProvider(Endpoint("o", "https://openrouter.ai/api/v1", "sk-or"), client)
        models = await p.list_models()
    assert [m.id for m in models] == ["gpt-4o", "mistral-large-latest"]
    assert str(server.requests[0].url) == "https://openrouter.ai/api/v1/models"
    assert server.requests[0].headers["authorization"] == "Bearer sk-or"


async def test_list_models_with_a_broken_body_is_malformed() -> None:
    server = Server(body=b"<html>", content_type="text/html")
    async with server.client() as client:
        p = OpenAIProvider(Endpoint("o", "https://x/v1", None), client)
        with pytest.raises(errors.MalformedStream):
            await p.list_models()


# -- continuing a partial answer, per service ---------------------------------------------

PREFILLED = ChatRequest([Message("user", "Why tides?"), Message("assistant", "The moon \n")],
                        "m")


@pytest.mark.parametrize(("base_url", "flavour"), [
    ("https://api.openai.com/v1", Flavour.PLAIN),
    ("https://api.deepseek.com", Flavour.DEEPSEEK),
    ("https://API.DeepSeek.com./v1", Flavour.DEEPSEEK),
    ("https://api.mistral.ai/v1", Flavour.MISTRAL),
    ("https://openrouter.ai/api/v1", Flavour.OPENROUTER),
    ("https://deepseek.example.com/v1", Flavour.PLAIN),  # a proxy may not pass `prefix` on
    ("http://127.0.0.1:8080/v1", Flavour.PLAIN),
    ("http://[::1", Flavour.PLAIN),
])
def test_the_flavour_is_the_base_urls_host(base_url: str, flavour: Flavour) -> None:
    assert flavour_of(base_url) is flavour
    provider = OpenAIProvider(Endpoint("x", base_url, "k"), None)  # type: ignore[arg-type]
    assert provider.supports_prefill is (flavour is not Flavour.PLAIN)
    assert provider.echoes_prefill is (flavour is Flavour.MISTRAL)


@pytest.mark.parametrize(("base_url", "url", "last"), [
    ("https://api.deepseek.com/v1", "https://api.deepseek.com/beta/chat/completions",
     {"role": "assistant", "content": "The moon", "prefix": True}),
    ("https://api.deepseek.com:8443", "https://api.deepseek.com:8443/beta/chat/completions",
     {"role": "assistant", "content": "The moon", "prefix": True}),
    ("https://api.mistral.ai/v1", "https://api.mistral.ai/v1/chat/completions",
     {"role": "assistant", "content": "The moon", "prefix": True}),
    ("https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1/chat/completions",
     {"role": "assistant", "content": "The moon"}),
])
def test_a_prefill_is_sent_as_each_service_documents_it(base_url: str, url: str,
                                                         last: dict[str, object]) -> None:
    call = OpenAIProvider(Endpoint("x", base_url, "k"), None).build_chat_call(  # type: ignore[arg-type]
        PREFILLED)
    assert call.url == url
    assert call.json_body is not None
    assert call.json_body["messages"] == [{"role": "user", "content": "Why tides?"}, last]


def test_a_fresh_question_goes_to_the_usual_endpoint_without_prefix() -> None:
    request = ChatRequest([Message("user", "Why tides?")], "m")
    call = OpenAIProvider(Endpoint("x", "https://api.deepseek.com", "k"),
                          None).build_chat_call(request)  # type: ignore[arg-type]
    assert call.url == "https://api.deepseek.com/chat/completions"
    assert call.json_body is not None
    assert call.json_body["messages"] == [{"role": "user", "content": "Why tides?"}]


def test_a_white_space_prefill_is_dropped_and_plain_openai_gets_the_turn_as_it_is() -> None:
    blank = ChatRequest([Message("user", "Why?"), Message("assistant", " \n")], "m")
    call = OpenAIProvider(Endpoint("x", "https://api.mistral.ai/v1", "k"),
                          None).build_chat_call(blank)  # type: ignore[arg-type]
    assert call.json_body is not None
    assert call.json_body["messages"] == [{"role": "user", "content": "Why?"}]
    plain = OpenAIProvider(Endpoint("x", "https://api.openai.com/v1", "k"),
                           None).build_chat_call(PREFILLED)  # type: ignore[arg-type]
    assert plain.json_body is not None
    assert plain.json_body["messages"][-1] == {"role": "assistant", "content": "The moon \n"}
