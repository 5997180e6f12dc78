"""Attachment encoding checked against the official SDKs (installed in the venv).

Where an SDK builds the request from its own types (google-genai's Part.from_bytes, the
ollama client's images), the same conversation is sent by the SDK and by chatdesk to a
loopback fake and the two bodies must say the same. Where the SDK takes plain dicts
(anthropic, openai), its own type definitions validate chatdesk's parts: validation keeps
only the keys the SDK knows, so a misspelt or extra key, or a wrong literal, fails.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import httpx
import pytest

from chatdesk.providers.base import ChatRequest, Endpoint, Message, Timeouts
from chatdesk.providers.registry import make_provider
from tests.fakes.server import FakeProvider
from tests.providers.test_attachments import DOC, IMAGE, NOTES, PDF, PNG, QUESTION, sent_body


def chatdesk_request(protocol: str, model: str, *messages: Message) -> ChatRequest:
    return ChatRequest(list(messages), model, max_tokens=64)


async def test_anthropic_blocks_are_what_the_sdk_types_define() -> None:
    anthropic = pytest.importorskip("anthropic")
    pydantic = pytest.importorskip("pydantic")
    body = await sent_body("anthropic", chatdesk_request("anthropic", "claude-sonnet-4-5",
                                                         QUESTION))
    content = body["messages"][0]["content"]
    checked = pydantic.TypeAdapter(list[anthropic.types.ContentBlockParam]).validate_python(
        content)
    assert checked == content
    # And the SDK sends those blocks unchanged: the same body as chatdesk's on the wire.
    with FakeProvider("anthropic", require_auth=False) as fake:
        client = anthropic.AsyncAnthropic(api_key=fake.api_key, base_url=fake.base_url,
                                          max_retries=0)
        async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64,
                                          messages=body["messages"]) as stream:
            await stream.get_final_message()
        assert fake.requests[-1].json["messages"] == body["messages"]


def test_the_anthropic_sdk_types_would_catch_a_wrong_block() -> None:
    anthropic = pytest.importorskip("anthropic")
    pydantic = pytest.importorskip("pydantic")
    adapter = pydantic.TypeAdapter(list[anthropic.types.ContentBlockParam])
    with pytest.raises(pydantic.ValidationError):
        adapter.validate_python([{"type": "image", "source": {
            "type": "base64", "media_type": "image/bmp", "data": "AA=="}}])
    misspelt = [{"type": "document", "source": {"type": "base64", "media_type":
                                                "application/pdf", "data": "AA=="},
                 "name": "x.pdf"}]
    assert adapter.validate_python(misspelt) != misspelt


async def test_openai_parts_are_what_the_sdk_types_define() -> None:
    openai = pytest.importorskip("openai")
    pydantic = pytest.importorskip("pydantic")
    body = await sent_body("openai", chatdesk_request("openai", "gpt-4o", QUESTION))
    content = body["messages"][0]["content"]
    part_type = openai.types.chat.ChatCompletionContentPartParam
    checked = pydantic.TypeAdapter(list[part_type]).validate_python(content)
    assert checked == content
    with FakeProvider("openai", require_auth=False) as fake:
        client = openai.AsyncOpenAI(api_key=fake.api_key, base_url=fake.base_url,
                                    max_retries=0)
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=body["messages"], stream=True)
        async for _ in stream:
            pass
        assert fake.requests[-1].json["messages"] == body["messages"]


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _same_bytes(value: str) -> bytes:
    """base64 in either alphabet (the SDK sends URL-safe, the docs show standard)."""
    try:
        return base64.b64decode(value, altchars=b"-_", validate=False) if (
            "-" in value or "_" in value) else base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise AssertionError(f"not base64: {value[:40]!r}") from exc


def _gemini_meaning(value: Any, key: str = "") -> Any:
    """A Gemini body as the API reads it: field names in either case, bytes decoded."""
    if isinstance(value, dict):
        return {_snake(k): _gemini_meaning(v, _snake(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_gemini_meaning(v) for v in value]
    if key == "data" and isinstance(value, str):
        return _same_bytes(value)
    return value


async def test_gemini_parts_mean_what_the_sdk_sends() -> None:
    genai = pytest.importorskip("google.genai")
    types = pytest.importorskip("google.genai.types")
    ours = await sent_body("gemini", chatdesk_request("gemini", "gemini-2.5-flash", QUESTION))
    with FakeProvider("gemini", require_auth=False) as fake:
        client = genai.Client(api_key=fake.api_key, http_options=types.HttpOptions(
            base_url=fake.base_url, api_version="v1beta"))
        ours_text = [p["text"] for p in ours["contents"][0]["parts"] if "text" in p]
        contents = [types.Content(role="user", parts=[
            types.Part.from_bytes(data=PNG, mime_type="image/png"),
            types.Part.from_bytes(data=PDF, mime_type="application/pdf"),
            *[types.Part(text=text) for text in ours_text]])]
        async for _ in await client.aio.models.generate_content_stream(
                model="gemini-2.5-flash", contents=contents):
            pass
        theirs = fake.requests[-1].json
    assert _gemini_meaning(ours["contents"]) == _gemini_meaning(theirs["contents"])
    assert _gemini_meaning(ours["contents"])[0]["parts"][0]["inline_data"]["data"] == PNG


async def test_ollama_images_are_what_the_sdk_sends() -> None:
    ollama = pytest.importorskip("ollama")
    ours = await sent_body("ollama", chatdesk_request("ollama", "llava", QUESTION))
    with FakeProvider("ollama") as fake:
        client = ollama.AsyncClient(host=fake.base_url)
        text = ours["messages"][0]["content"]
        async for _ in await client.chat(model="llava", stream=True, messages=[
                {"role": "user", "content": text, "images": [PNG]}]):
            pass
        theirs = fake.requests[-1].json
    assert ours["messages"] == theirs["messages"]
    assert "File: notes.md" in text and "File: report.pdf (the text of the PDF)" in text


async def test_every_attachment_of_the_question_reaches_each_protocol() -> None:
    # The oracles above compare whole turns; this pins that none of the three was lost.
    async with httpx.AsyncClient() as client:
        for protocol in ("anthropic", "openai", "gemini", "ollama"):
            provider = make_provider(protocol, Endpoint("p", "http://127.0.0.1:9", "k"),
                                     client, Timeouts(5, 10, 10))
            call = provider.build_chat_call(chatdesk_request(protocol, "m", QUESTION))
            flat = repr(call.json_body)
            assert base64.b64encode(IMAGE.data).decode() in flat, protocol
            assert NOTES.name in flat, protocol
            pdf = DOC.text if protocol == "ollama" else base64.b64encode(DOC.data).decode()
            assert pdf and pdf in flat, protocol
