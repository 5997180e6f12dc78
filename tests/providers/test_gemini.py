"""The Gemini protocol against the wire examples (CRLF-separated SSE, end at EOF)."""

from __future__ import annotations

import json

import pytest

from chatdesk.providers import errors
from chatdesk.providers.base import (
    LEADING_USER_TURN,
    ChatRequest,
    Endpoint,
    Finished,
    Message,
    Usage,
)
from chatdesk.providers.gemini import GeminiProvider
from tests.providers.wire import (
    Server,
    check_every_cut,
    error_files,
    run,
    status_of,
    wire_bytes,
    wire_json,
)

P = "gemini"
HELLO = "Hello! How can I help you today?"
ROLES = {"user": "user", "model": "assistant"}


def example_request() -> ChatRequest:
    spec = wire_json(P, "request.json")
    return ChatRequest(
        messages=[Message(ROLES[c["role"]], c["parts"][0]["text"]) for c in spec["contents"]],
        model="gemini-2.5-flash",
        system=spec["systemInstruction"]["parts"][0]["text"],
        max_tokens=spec["generationConfig"]["maxOutputTokens"],
        temperature=spec["generationConfig"]["temperature"],
    )


def event(payload: dict, sep: bytes = b"\r\n") -> bytes:
    return b"data: " + json.dumps(payload).encode() + sep + sep


async def test_request_matches_the_example_on_the_wire() -> None:
    server = Server(body=wire_bytes(P, "stream_ok.sse"))
    await run(GeminiProvider, server, example_request(), key="AIza-1",
              base_url="https://generativelanguage.googleapis.com")
    sent = server.requests[0]
    assert sent.method == "POST"
    assert str(sent.url) == (
        "https://generativelanguage.googleapis.com/v1beta/models/"
        "gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert sent.headers["x-goog-api-key"] == "AIza-1"
    assert "authorization" not in sent.headers
    assert server.last_json == wire_json(P, "request.json")


def test_translation_merges_turns_and_omits_unset_fields() -> None:
    p = GeminiProvider(Endpoint("g", "https://g.test", "k"), None)
    request = ChatRequest(
        [Message("assistant", "Hi!"), Message("user", "a"), Message("user", "b"),
         Message("assistant", "c")],
        "models/gemini-2.5-pro", max_tokens=10,
    )
    call = p.build_chat_call(request)
    assert "/v1beta/models/gemini-2.5-pro:streamGenerateContent" in call.url
    assert call.json_body == {
        "contents": [
            {"role": "user", "parts": [{"text": LEADING_USER_TURN}]},
            {"role": "model", "parts": [{"text": "Hi!"}]},
            {"role": "user", "parts": [{"text": "a\n\nb"}]},
            {"role": "model", "parts": [{"text": "c"}]},
        ],
        "generationConfig": {"maxOutputTokens": 10},
    }
    assert p.supports_prefill is False


def test_missing_key() -> None:
    p = GeminiProvider(Endpoint("g", "https://g.test", None), None)
    with pytest.raises(errors.MissingKey):
        p.build_chat_call(example_request())


@pytest.mark.parametrize("separator", [b"\r\n", b"\n"])
async def test_stream_ok_with_crlf_and_lf(separator: bytes) -> None:
    body = wire_bytes(P, "stream_ok.sse")
    assert b"\r\n\r\n" in body  # the example uses CRLF, as the real API does
    body = body.replace(b"\r\n", separator)
    outcome = await run(GeminiProvider, Server(body=body), example_request())
    assert outcome.error is None
    assert outcome.text == HELLO
    assert outcome.usage == Usage(9, 9)
    assert outcome.events[-1] == Finished("STOP")


async def test_every_cut_before_the_finish_reason_is_truncated() -> None:
    body = wire_bytes(P, "stream_ok.sse")
    assert body.endswith(b"}\r\n\r\n")
    # As the SDK does, the last event counts once its data is whole, blank line or not.
    await check_every_cut(GeminiProvider, body, example_request(), HELLO, len(body) - 4)


async def test_one_byte_chunks_with_split_utf8() -> None:
    body = wire_bytes(P, "stream_ok.sse").replace(b'"text":"Hello"', '"text":"héllo ✓"'.encode())
    outcome = await run(GeminiProvider, Server(body=body, chunk_size=1), example_request())
    assert outcome.error is None
    assert outcome.text == "héllo ✓! How can I help you today?"


async def test_malformed_data_line() -> None:
    body = wire_bytes(P, "stream_ok.sse").replace(b'" today?"}]', b'" today?"')
    outcome = await run(GeminiProvider, Server(body=body), example_request())
    assert isinstance(outcome.error, errors.MalformedStream)


async def test_thought_parts_are_skipped_and_several_parts_joined() -> None:
    body = event({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Considering tides…", "thought": True},
        {"text": "The Sun"}, {"text": " helps."},
    ]}, "finishReason": "STOP"}]})
    outcome = await run(GeminiProvider, Server(body=body), example_request())
    assert outcome.text == "The Sun helps."
    assert outcome.finished == Finished("STOP")


async def test_safety_finish_is_a_refusal_that_keeps_its_text() -> None:
    body = event({"candidates": [{"content": {"parts": [{"text": "Partly"}]}}]}) + event(
        {"candidates": [{"finishReason": "SAFETY", "safetyRatings": []}]}
    )
    outcome = await run(GeminiProvider, Server(body=body), example_request())
    assert outcome.error is None
    assert outcome.text == "Partly"
    assert outcome.finished == Finished("SAFETY", refused=True)


async def test_blocked_prompt_is_a_refusal() -> None:
    body = event({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                  "usageMetadata": {"promptTokenCount": 5}})
    outcome = await run(GeminiProvider, Server(body=body), example_request())
    assert outcome.error is None
    assert outcome.text == ""
    assert outcome.finished == Finished("PROHIBITED_CONTENT", refused=True)


async def test_error_event_midstream() -> None:
    body = event({"candidates": [{"content": {"parts": [{"text": "The tides"}]}}]}) + event(
        {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    )
    outcome = await run(GeminiProvider, Server(body=body), example_request())
    assert outcome.text == "The tides"
    assert isinstance(outcome.error, errors.Overloaded)


async def test_text_without_finish_reason_is_truncated() -> None:
    body = event({"candidates": [{"content": {"parts": [{"text": "The tides"}]}}]})
    outcome = await run(GeminiProvider, Server(body=body), example_request())
    assert outcome.text == "The tides"
    assert isinstance(outcome.error, errors.TruncatedStream)


EXPECTED = {
    "error_400_invalid_key.json": errors.AuthError,
    "error_429_resource_exhausted.json": errors.RateLimited,
    "error_500_internal.json": errors.ServerError,
    "error_503_unavailable.json": errors.Overloaded,
}


def test_every_error_file_has_an_expectation() -> None:
    assert sorted(EXPECTED) == error_files(P)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_error_responses(name: str) -> None:
    status = status_of(name)
    server = Server(status=status, body=wire_bytes(P, name), content_type="application/json")
    outcome = await run(GeminiProvider, server, example_request())
    assert type(outcome.error) is EXPECTED[name]
    assert outcome.error.status == status
    assert outcome.error.message == wire_json(P, name)["error"]["message"]
    if status == 429:
        assert outcome.error.retry_after == 37  # from RetryInfo, no header sent


async def test_list_models() -> None:
    listing = {"models": [
        {"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash",
         "supportedGenerationMethods": ["generateContent", "countTokens"]},
        {"name": "models/text-embedding-004", "displayName": "Text Embedding 004",
         "supportedGenerationMethods": ["embedContent"]},
        {"name": "models/gemini-exp", "displayName": "Experimental"},
    ]}
    server = Server(body=json.dumps(listing).encode(), content_type="application/json")
    async with server.client() as client:
        p = GeminiProvider(Endpoint("g", "https://g.test/", "AIza"), client)
        models = await p.list_models()
    assert [(m.id, m.display_name) for m in models] == [
        ("gemini-2.5-flash", "Gemini 2.5 Flash"), ("gemini-exp", "Experimental"),
    ]
    sent = server.requests[0]
    assert sent.url.path == "/v1beta/models"
    assert sent.headers["x-goog-api-key"] == "AIza"
