"""Attachments on the wire: each protocol's exact request body with an image, a PDF and a
text file, as it arrives at a loopback fake, and the turn rules (merging, prefill) with
attachments. The shapes are the providers' documented ones (docs/capabilities.md cites them);
test_attachment_oracles.py checks them against the official SDKs."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from chatdesk.parts import Attachment, PartKind
from chatdesk.providers.base import (
    ChatRequest,
    Endpoint,
    Message,
    Timeouts,
    as_extracted_text,
    file_text,
    merge_consecutive,
    split_system,
)
from chatdesk.providers.registry import make_provider
from tests.fakes.server import FakeProvider

# Bytes whose standard base64 has '+' and '/' (URL-safe base64 would differ).
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(248, 256)) + b"\xfb\xff\xfe"
PDF = b"%PDF-1.4\n\xfb\xff\xfe fake body\n%%EOF\n"
IMAGE = Attachment(PartKind.IMAGE, "shot.png", "image/png", PNG)
DOC = Attachment(PartKind.DOCUMENT, "report.pdf", "application/pdf", PDF,
                 text="Quarterly report. Revenue rose.")
NOTES = Attachment(PartKind.TEXT_FILE, "notes.md", "text/markdown", b"# Notes\nbuy milk\n",
                   text="# Notes\nbuy milk\n")
PNG64 = base64.b64encode(PNG).decode()
PDF64 = base64.b64encode(PDF).decode()
NOTES_TEXT = "File: notes.md\n```\n# Notes\nbuy milk\n\n```"
MODEL = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o", "gemini": "gemini-2.5-flash",
         "ollama": "llava"}
QUESTION = Message("user", "What is in these?", (IMAGE, DOC, NOTES))


async def sent_body(protocol: str, request: ChatRequest) -> dict[str, Any]:
    """The JSON body of `request` as a loopback fake of `protocol` received it."""
    with FakeProvider(protocol) as fake:
        async with httpx.AsyncClient() as client:
            provider = make_provider(protocol, Endpoint("p", fake.base_url, fake.api_key),
                                     client, Timeouts(5, 10, 10))
            [event async for event in provider.stream(request)]
        [recorded] = fake.requests
        body = recorded.json
        assert isinstance(body, dict)
        return body


def ask(*messages: Message, protocol: str) -> ChatRequest:
    return ChatRequest(list(messages), MODEL[protocol], max_tokens=64)


async def test_anthropic_gets_image_and_document_blocks_and_the_file_as_text() -> None:
    body = await sent_body("anthropic", ask(QUESTION, protocol="anthropic"))
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": PNG64}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": PDF64}, "title": "report.pdf"},
        {"type": "text", "text": NOTES_TEXT},
        {"type": "text", "text": "What is in these?"},
    ]}]


async def test_openai_gets_a_data_url_image_a_file_part_and_the_file_as_text() -> None:
    body = await sent_body("openai", ask(QUESTION, protocol="openai"))
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG64}"}},
        {"type": "file", "file": {"filename": "report.pdf",
                                  "file_data": f"data:application/pdf;base64,{PDF64}"}},
        {"type": "text", "text": NOTES_TEXT},
    ]}]


async def test_gemini_gets_inline_data_and_the_file_as_text() -> None:
    body = await sent_body("gemini", ask(QUESTION, protocol="gemini"))
    assert body["contents"] == [{"role": "user", "parts": [
        {"inline_data": {"mime_type": "image/png", "data": PNG64}},
        {"inline_data": {"mime_type": "application/pdf", "data": PDF64}},
        {"text": NOTES_TEXT},
        {"text": "What is in these?"},
    ]}]


async def test_ollama_gets_images_and_the_files_in_the_text() -> None:
    # /api/chat takes no documents: a PDF that reaches it goes as its text.
    body = await sent_body("ollama", ask(QUESTION, protocol="ollama"))
    pdf_text = "File: report.pdf (the text of the PDF)\n```\nQuarterly report. Revenue rose.\n```"
    assert body["messages"] == [{
        "role": "user", "content": f"{pdf_text}\n\n{NOTES_TEXT}\n\nWhat is in these?",
        "images": [PNG64],
    }]


@pytest.mark.parametrize("protocol", ["anthropic", "openai", "gemini", "ollama"])
async def test_a_pdf_as_its_text_is_a_named_text_part(protocol: str) -> None:
    message = Message("user", "Sum it up.", (as_extracted_text(DOC),))
    body = await sent_body(protocol, ask(message, protocol=protocol))
    text = "File: report.pdf (the text of the PDF)\n```\nQuarterly report. Revenue rose.\n```"
    flat = repr(body)
    assert PDF64 not in flat and "application/pdf;base64" not in flat
    if protocol == "anthropic":
        assert body["messages"][0]["content"][0] == {"type": "text", "text": text}
    elif protocol == "openai":
        assert body["messages"][0]["content"][1] == {"type": "text", "text": text}
    elif protocol == "gemini":
        assert body["contents"][0]["parts"][0] == {"text": text}
    else:
        assert body["messages"][0]["content"] == f"{text}\n\nSum it up."


@pytest.mark.parametrize("protocol", ["anthropic", "openai", "gemini", "ollama"])
async def test_text_only_turns_keep_their_plain_string_shape(protocol: str) -> None:
    body = await sent_body(protocol, ask(Message("user", "hi"), protocol=protocol))
    if protocol == "gemini":
        assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    else:
        assert body["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("protocol", ["anthropic", "gemini"])
async def test_merged_user_turns_keep_every_attachment_in_order(protocol: str) -> None:
    # Two user turns in a row (a failed question, then another) become one: both images go.
    second = Attachment(PartKind.IMAGE, "b.jpg", "image/jpeg", b"\xff\xd8jpeg")
    request = ask(Message("user", "", (IMAGE,)), Message("user", "and this?", (second,)),
                  protocol=protocol)
    body = await sent_body(protocol, request)
    if protocol == "anthropic":
        [turn] = body["messages"]
        kinds = [(b["type"], b.get("source", {}).get("media_type")) for b in turn["content"]]
        assert kinds == [("image", "image/png"), ("image", "image/jpeg"), ("text", None)]
        assert turn["content"][2]["text"] == "and this?"
    else:
        [turn] = body["contents"]
        assert [p.get("inline_data", {}).get("mime_type") for p in turn["parts"]] == \
            ["image/png", "image/jpeg", None]


def test_an_image_only_turn_is_not_dropped_as_empty() -> None:
    system, turns = split_system(ChatRequest([Message("user", "", (IMAGE,))], "m"))
    assert system is None and turns == [Message("user", "", (IMAGE,))]


def test_merging_joins_text_without_empty_separators_and_keeps_attachments() -> None:
    merged = merge_consecutive([Message("user", "", (IMAGE,)), Message("user", "why?", (DOC,))])
    assert merged == [Message("user", "why?", (IMAGE, DOC))]
    assert merge_consecutive([Message("user", "a"), Message("user", "b")]) == \
        [Message("user", "a\n\nb")]


async def test_anthropic_prefill_after_an_image_question_continues_with_the_image_sent() -> None:
    request = ask(Message("user", "Describe it.", (IMAGE,)),
                  Message("assistant", "It shows a cat "), protocol="anthropic")
    body = await sent_body("anthropic", request)
    assert body["messages"][0]["content"][0]["type"] == "image"
    assert body["messages"][1] == {"role": "assistant", "content": "It shows a cat"}


async def test_openai_prefill_path_keeps_earlier_attachments() -> None:
    async with httpx.AsyncClient() as client:
        # OpenRouter continues a trailing assistant message as it is.
        provider = make_provider("openai", Endpoint("p", "https://openrouter.ai/api/v1", "k"),
                                 client, Timeouts(5, 10, 10))
        call = provider.build_chat_call(ask(
            Message("user", "Describe it.", (IMAGE,)), Message("assistant", "A cat "),
            protocol="openai"))
    assert call.json_body is not None
    messages = call.json_body["messages"]
    assert messages[0]["content"][1] == {
        "type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG64}"}}
    assert messages[1] == {"role": "assistant", "content": "A cat"}


@pytest.mark.parametrize("protocol", ["anthropic", "openai", "gemini", "ollama"])
async def test_an_assistant_turn_attachment_goes_as_a_note(protocol: str) -> None:
    # An imported answer with a picture: the APIs take images from the user only.
    drawn = Attachment(PartKind.IMAGE, "dalle.webp", "image/webp", b"RIFFwebp")
    request = ask(Message("user", "Draw a cat"), Message("assistant", "Here it is.", (drawn,)),
                  Message("user", "Thanks"), protocol=protocol)
    body = await sent_body(protocol, request)
    flat = repr(body)
    assert "[image: dalle.webp]\\n\\nHere it is." in flat
    assert base64.b64encode(b"RIFFwebp").decode() not in flat


def test_a_fence_outgrows_backticks_in_the_file() -> None:
    code = Attachment(PartKind.TEXT_FILE, "a.md", "text/markdown", b"", text="```py\nx\n```")
    assert file_text(code) == "File: a.md\n````\n```py\nx\n```\n````"
