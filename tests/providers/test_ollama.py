"""The Ollama protocol against the wire examples (NDJSON)."""

from __future__ import annotations

import json

import pytest

from chatdesk.providers import errors
from chatdesk.providers.base import ChatRequest, Endpoint, Finished, Message, Usage
from chatdesk.providers.ollama import OllamaProvider
from tests.providers.wire import (
    Server,
    check_every_cut,
    error_files,
    run,
    status_of,
    wire_bytes,
    wire_json,
)

P = "ollama"
NDJSON = "application/x-ndjson"
HELLO = "Hello! How can I help?"


def example_request() -> ChatRequest:
    spec = wire_json(P, "request.json")
    system, *turns = spec["messages"]
    return ChatRequest(
        messages=[Message(m["role"], m["content"]) for m in turns],
        model=spec["model"],
        system=system["content"],
        max_tokens=4096,
    )


def line(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode() + b"\n"


async def test_request_matches_the_example_on_the_wire() -> None:
    server = Server(body=wire_bytes(P, "chat_stream_ok.ndjson"), content_type=NDJSON)
    await run(OllamaProvider, server, example_request(), key=None,
              base_url="http://localhost:11434")
    sent = server.requests[0]
    assert sent.method == "POST"
    assert str(sent.url) == "http://localhost:11434/api/chat"
    assert "authorization" not in sent.headers
    assert server.last_json == {**wire_json(P, "request.json"), "options": {"num_predict": 4096}}


async def test_a_configured_key_is_sent_as_bearer() -> None:
    server = Server(body=wire_bytes(P, "chat_stream_ok.ndjson"), content_type=NDJSON)
    await run(OllamaProvider, server, example_request(), key="ol-key")
    assert server.requests[0].headers["authorization"] == "Bearer ol-key"


def test_temperature_goes_into_options() -> None:
    p = OllamaProvider(Endpoint("o", "http://h:1", None), None)
    body = p.build_chat_call(ChatRequest([Message("user", "a")], "m", None, 9, 0.2)).json_body
    assert body["options"] == {"num_predict": 9, "temperature": 0.2}
    assert body["messages"] == [{"role": "user", "content": "a"}]
    assert p.supports_prefill is True  # a trailing assistant message is continued


async def test_stream_ok() -> None:
    server = Server(body=wire_bytes(P, "chat_stream_ok.ndjson"), content_type=NDJSON)
    outcome = await run(OllamaProvider, server, example_request())
    assert outcome.error is None
    assert outcome.text == HELLO
    assert outcome.events[-2:] == [Usage(26, 7), Finished("stop")]


async def test_error_line_midstream() -> None:
    server = Server(body=wire_bytes(P, "chat_stream_error_midstream.ndjson"),
                    content_type=NDJSON)
    outcome = await run(OllamaProvider, server, example_request())
    assert outcome.text == "Hello! How"
    assert isinstance(outcome.error, errors.ServerError)
    assert "unexpected EOF" in outcome.error.message


async def test_every_cut_before_the_done_line_is_truncated() -> None:
    body = wire_bytes(P, "chat_stream_ok.ndjson")
    assert body.endswith(b"}\n")
    # The done line is whole once its closing brace has arrived, newline or not.
    await check_every_cut(OllamaProvider, body, example_request(), HELLO, len(body) - 1,
                          content_type=NDJSON)


async def test_malformed_line() -> None:
    body = wire_bytes(P, "chat_stream_ok.ndjson").replace(b'"content":" can"}', b'"content":')
    outcome = await run(OllamaProvider, Server(body=body, content_type=NDJSON),
                        example_request())
    assert isinstance(outcome.error, errors.MalformedStream)
    assert outcome.text == "Hello! How"


async def test_blank_lines_and_crlf_are_skipped() -> None:
    body = wire_bytes(P, "chat_stream_ok.ndjson").replace(b"\n", b"\r\n\r\n")
    outcome = await run(OllamaProvider, Server(body=body, content_type=NDJSON),
                        example_request())
    assert outcome.error is None and outcome.text == HELLO


async def test_one_byte_chunks_with_split_utf8_and_unicode_line_separators() -> None:
    # U+2028 and U+0085 are legal unescaped inside JSON strings; only "\n" ends a line.
    text = "héllo ✓\u2028next\x85line"
    body = line({"message": {"role": "assistant", "content": text}, "done": False}) + line(
        {"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "length",
         "prompt_eval_count": 3, "eval_count": 4}
    )
    outcome = await run(OllamaProvider, Server(body=body, content_type=NDJSON, chunk_size=1),
                        example_request())
    assert outcome.error is None
    assert outcome.text == text
    assert outcome.finished == Finished("length")


async def test_thinking_field_is_not_text() -> None:
    body = line({"message": {"role": "assistant", "content": "", "thinking": "hmm"},
                 "done": False}) + line(
        {"message": {"role": "assistant", "content": "Yes."}, "done": True, "done_reason": "stop"}
    )
    outcome = await run(OllamaProvider, Server(body=body, content_type=NDJSON),
                        example_request())
    assert outcome.text == "Yes."
    assert outcome.usage == Usage(None, None)


EXPECTED = {"error_404_model_not_found.json": errors.NotFound}


def test_every_error_file_has_an_expectation() -> None:
    assert sorted(EXPECTED) == error_files(P)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_error_responses(name: str) -> None:
    status = status_of(name)
    server = Server(status=status, body=wire_bytes(P, name), content_type="application/json")
    outcome = await run(OllamaProvider, server, example_request())
    assert type(outcome.error) is EXPECTED[name]
    assert outcome.error.status == status
    assert outcome.error.message == wire_json(P, name)["error"]


async def test_list_models() -> None:
    listing = {"models": [
        {"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 2019393189},
        {"name": "qwen3:8b", "model": "qwen3:8b"},
    ]}
    server = Server(body=json.dumps(listing).encode(), content_type="application/json")
    async with server.client() as client:
        p = OllamaProvider(Endpoint("o", "http://localhost:11434", None), client)
        models = await p.list_models()
    assert [m.id for m in models] == ["llama3.2:latest", "qwen3:8b"]
    assert str(server.requests[0].url) == "http://localhost:11434/api/tags"


def test_a_prefill_is_sent_cut_and_a_blank_one_is_dropped() -> None:
    p = OllamaProvider(Endpoint("o", "http://h:1", None), None)  # type: ignore[arg-type]
    prefilled = ChatRequest([Message("user", "a"), Message("assistant", "The moon \n")], "m")
    body = p.build_chat_call(prefilled).json_body
    assert body is not None
    assert body["messages"] == [{"role": "user", "content": "a"},
                                {"role": "assistant", "content": "The moon"}]
    blank = ChatRequest([Message("user", "a"), Message("assistant", "  ")], "m")
    body = p.build_chat_call(blank).json_body
    assert body is not None and body["messages"] == [{"role": "user", "content": "a"}]
