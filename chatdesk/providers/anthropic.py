"""The Anthropic Messages API: request translation and SSE stream parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx

from chatdesk import wording
from chatdesk.parts import Attachment, PartKind
from chatdesk.providers import errors
from chatdesk.providers.base import (
    ChatRequest,
    Finished,
    HttpCall,
    Message,
    ModelInfo,
    Provider,
    ProviderEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
    b64,
    file_text,
    split_system,
    sse_events,
    sse_json,
    trim_prefill,
    with_notes,
)

API_VERSION = "2023-06-01"
# Anthropic requires the first message to be from the user. A history that starts with an
# assistant turn (an imported greeting, or older turns dropped to fit the context) gets this
# neutral user turn in front, so the assistant's words are kept as they were said.


def _missing_key(name: str) -> errors.MissingKey:
    sentence = wording.missing_key(name, "ANTHROPIC_API_KEY")
    return errors.MissingKey(wording.clause(sentence), provider=name)


def block(attachment: Attachment) -> dict[str, Any]:
    """One attachment as an Anthropic content block: an image or a document with a base64
    source, a text file (or a PDF's extracted text) as a text block with its name."""
    if attachment.kind is PartKind.IMAGE:
        return {"type": "image", "source": {"type": "base64",
                                            "media_type": attachment.media_type,
                                            "data": b64(attachment.data)}}
    if attachment.kind is PartKind.DOCUMENT:
        return {"type": "document", "source": {"type": "base64",
                                               "media_type": attachment.media_type,
                                               "data": b64(attachment.data)},
                "title": attachment.name}
    return {"type": "text", "text": file_text(attachment)}


def content(message: Message) -> str | list[dict[str, Any]]:
    """A turn's content: its text, or (with attachments) a list of blocks, the attachments
    first as Anthropic's vision guide advises. An assistant turn takes text only, so its
    attachments go as notes (`base.with_notes`)."""
    if not message.attachments:
        return message.content
    if message.role == "assistant":
        return with_notes(message)
    blocks = [block(a) for a in message.attachments]
    if message.content.strip():
        blocks.append({"type": "text", "text": message.content})
    return blocks


class AnthropicProvider(Provider):
    """Anthropic (`POST /v1/messages`), continuing a trailing assistant message as a prefill.

    A prefill is sent as `base.trim_prefill` cuts it (Anthropic rejects one that ends in
    white space), so the streamed text continues from the *cut* text (often starting with
    the space that was removed). Whoever joins prefill and continuation must use
    `prefill_sent(request)`, not the original prefill, as the text before the stream.
    """

    protocol: ClassVar[str] = "anthropic"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"

    @property
    def supports_prefill(self) -> bool:
        return True

    def _headers(self, streaming: bool) -> dict[str, str]:
        if not self.endpoint.api_key:
            raise _missing_key(self.name)
        headers = {
            "x-api-key": self.endpoint.api_key,
            "anthropic-version": API_VERSION,
            "content-type": "application/json",
        }
        if streaming:
            headers["accept"] = "text/event-stream"
        return headers

    @staticmethod
    def translate(request: ChatRequest) -> tuple[str | None, list[Message]]:
        """(system prompt, messages) as Anthropic accepts them.

        System turns inside the history join the system prompt; empty turns are dropped;
        consecutive same-role turns are merged; the first turn is made a user turn; a
        trailing assistant turn (the prefill) is cut by `trim_prefill`, and is dropped when
        nothing is left of it.
        """
        system, turns = split_system(request)
        if turns and turns[-1].role == "assistant":
            last = turns[-1]
            turns[-1] = Message("assistant", trim_prefill(last.content)[0], last.attachments)
        return system, turns

    def prefill_sent(self, request: ChatRequest) -> str | None:
        """The text the streamed answer continues from, or None when there is no prefill."""
        _, turns = self.translate(request)
        if len(turns) > 1 and turns[-1].role == "assistant":
            return turns[-1].content
        return None

    def build_chat_call(self, request: ChatRequest) -> HttpCall:
        system, turns = self.translate(request)
        body: dict[str, Any] = {"model": request.model, "max_tokens": request.max_tokens}
        if system:
            body["system"] = system
        body["messages"] = [{"role": m.role, "content": content(m)} for m in turns]
        body["stream"] = True
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return HttpCall("POST", f"{self.base_url}/v1/messages", self._headers(True), body)

    async def parse_stream(self, response: httpx.Response) -> AsyncIterator[ProviderEvent]:
        input_tokens: int | None = None
        cached: int | None = None  # prompt tokens read from the cache
        written: int | None = None  # and written to it
        stop_reason: str | None = None
        async for sse in sse_events(response, self.name):
            if not sse.data.strip():
                continue
            payload = sse_json(sse)
            if payload is None:
                return  # cut inside the last event
            kind = payload.get("type") or sse.event
            if kind == "error" or sse.event == "error":
                raise errors.classify_stream_error(payload, self.name)
            if kind == "content_block_delta":
                delta = payload.get("delta") or {}
                if delta.get("type") == "text_delta":
                    yield TextDelta(delta.get("text") or "")
                elif delta.get("type") == "thinking_delta":
                    yield ThinkingDelta(delta.get("thinking") or "")
            elif kind == "message_start":
                usage = (payload.get("message") or {}).get("usage") or {}
                input_tokens = usage.get("input_tokens", input_tokens)
                cached, written = _cache_counts(usage, cached, written)
                yield Usage(_with_cache(input_tokens, cached, written),
                            cached_input_tokens=cached)
            elif kind == "message_delta":
                stop_reason = (payload.get("delta") or {}).get("stop_reason") or stop_reason
                usage = payload.get("usage") or {}
                if usage:
                    # Usage events are cumulative snapshots: the last one wins.
                    if usage.get("input_tokens") is not None:  # 0 is a count too
                        input_tokens = usage["input_tokens"]
                    cached, written = _cache_counts(usage, cached, written)
                    yield Usage(_with_cache(input_tokens, cached, written),
                                usage.get("output_tokens"), cached)
            elif kind == "message_stop":
                yield Finished(stop_reason, refused=stop_reason == "refusal")
                return
            # ping, content_block_start/stop, signatures and unknown events carry no text.

    def build_models_call(self) -> HttpCall:
        # The listing is paged (20 by default); 1000 is the largest page and covers all.
        return HttpCall("GET", f"{self.base_url}/v1/models?limit=1000", self._headers(False))

    def parse_models(self, payload: Any) -> list[ModelInfo]:
        return [
            ModelInfo(str(item["id"]), item.get("display_name"))
            for item in payload.get("data") or []
            if isinstance(item, dict) and item.get("id")
        ]


def _cache_counts(usage: dict[str, Any], cached: int | None,
                  written: int | None) -> tuple[int | None, int | None]:
    """The prompt tokens read from and written to the cache (cache_read_input_tokens,
    cache_creation_input_tokens), the last report's where this one is silent."""
    read, made = usage.get("cache_read_input_tokens"), usage.get("cache_creation_input_tokens")
    return (read if isinstance(read, int) else cached, made if isinstance(made, int) else written)


def _with_cache(input_tokens: Any, cached: int | None, written: int | None) -> Any:
    """Every prompt token: Anthropic's input_tokens leaves out the ones read from or written
    to the cache."""
    if not isinstance(input_tokens, int) or isinstance(input_tokens, bool):
        return input_tokens
    return input_tokens + (cached or 0) + (written or 0)
