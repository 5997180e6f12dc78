"""The Ollama chat API (`/api/chat`): request translation and NDJSON stream parsing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx

from chatdesk import capabilities
from chatdesk.parts import PartKind
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
    as_note,
    b64,
    prefill_of,
)


async def _lines(response: httpx.Response) -> AsyncIterator[tuple[str, bool]]:
    """(line, complete) pairs, split on "\\n" only.

    `Response.aiter_lines` also splits on U+0085, U+2028 and other separators that JSON
    strings may hold unescaped, which would cut a line of model text in two. The last
    pair has complete=False when the stream ended in the middle of a line.
    """
    pending: list[str] = []
    async for text in response.aiter_text():
        *complete, rest = text.split("\n")
        if complete:
            complete[0] = "".join(pending) + complete[0]
            pending = []
            for line in complete:
                yield line, True
        if rest:
            pending.append(rest)
    if pending:
        yield "".join(pending), False


def message(turn: Message) -> dict[str, Any]:
    """One turn as /api/chat takes it: `content` text, and a user turn's images as base64
    in `images`. The API takes no documents: a text file (or a PDF, as its extracted text;
    the router sends Ollama only that) goes in the text with its name, before the turn's
    own words."""
    body: dict[str, Any] = {"role": turn.role, "content": turn.content}
    if not turn.attachments:
        return body
    images: list[str] = []
    notes: list[str] = []
    for attachment in turn.attachments:
        if attachment.kind is PartKind.IMAGE and turn.role == "user":
            images.append(b64(attachment.data))
        else:
            notes.append(as_note(attachment))
    body["content"] = "\n\n".join(notes + ([turn.content] if turn.content else []))
    if images:
        body["images"] = images
    return body


class OllamaProvider(Provider):
    """A local (or proxied) Ollama server. No key is needed; one is sent when configured.

    A trailing assistant message is continued: Ollama's template engine leaves the last
    assistant turn open (the model goes on from its last word, without repeating it). A
    model whose own template closes that turn would answer afresh after it; such an entry
    needs `continue_partial = "never"`. The prefill is cut by `base.trim_prefill`.
    """

    protocol: ClassVar[str] = "ollama"
    default_base_url: ClassVar[str] = "http://localhost:11434"

    @property
    def supports_prefill(self) -> bool:
        return True

    def _headers(self, streaming: bool) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if streaming:
            headers["accept"] = "application/x-ndjson"
        if self.endpoint.api_key:  # Ollama behind a proxy, or ollama.com
            headers["authorization"] = f"Bearer {self.endpoint.api_key}"
        return headers

    def build_chat_call(self, request: ChatRequest) -> HttpCall:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [message(m) for m in request.messages]
        if request.messages[-1:] and request.messages[-1].role == "assistant":
            prefill = prefill_of(request)
            if prefill is None:
                messages.pop()  # nothing left to continue: answered afresh
            else:
                messages[-1] = {"role": "assistant", "content": prefill}
        options: dict[str, Any] = {"num_predict": request.max_tokens}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        body = {"model": request.model, "messages": messages, "stream": True, "options": options}
        return HttpCall("POST", f"{self.base_url}/api/chat", self._headers(True), body)

    async def parse_stream(self, response: httpx.Response) -> AsyncIterator[ProviderEvent]:
        async for line, complete in _lines(response):
            if not line.strip():
                continue
            try:
                payload = json.loads(line)
            except ValueError:
                if complete:
                    raise
                return  # the connection was cut mid-line: a truncated stream, not garbage
            if not isinstance(payload, dict):
                raise ValueError(f"expected an object, got {errors.excerpt(line)!r}")
            if payload.get("error"):
                raise errors.classify_stream_error(payload, self.name)
            message = payload.get("message") or {}
            thinking = message.get("thinking")
            if thinking:
                yield ThinkingDelta(str(thinking))
            text = message.get("content")
            if text:
                yield TextDelta(str(text))
            if payload.get("done"):
                yield Usage(payload.get("prompt_eval_count"), payload.get("eval_count"))
                yield Finished(payload.get("done_reason"))
                return

    def build_models_call(self) -> HttpCall:
        return HttpCall("GET", f"{self.base_url}/api/tags", self._headers(False))

    def build_capabilities_call(self, model: str) -> HttpCall:
        return HttpCall("POST", f"{self.base_url}/api/show", self._headers(False),
                        {"model": model})

    def parse_capabilities(self, payload: Any, model: str) -> capabilities.Capabilities:
        return capabilities.from_ollama_show(payload)

    def parse_models(self, payload: Any) -> list[ModelInfo]:
        return [
            ModelInfo(str(item["name"]))
            for item in payload.get("models") or []
            if isinstance(item, dict) and item.get("name")
        ]
