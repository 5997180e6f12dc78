"""The OpenAI Chat Completions protocol, spoken by OpenAI and every compatible endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from chatdesk import capabilities
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
    RefusalDelta,
    TextDelta,
    ThinkingDelta,
    Usage,
    data_url,
    file_text,
    prefill_of,
    sse_events,
    sse_json,
    with_notes,
)


class Flavour(StrEnum):
    """Which service an OpenAI-compatible entry talks to, as far as continuing a partial
    answer goes: the protocol itself says nothing about a trailing assistant message."""

    PLAIN = "plain"  # OpenAI and any server not known to continue: answers afresh
    DEEPSEEK = "deepseek"  # /beta endpoint, `"prefix": true` on the last message
    MISTRAL = "mistral"  # `"prefix": true`; the answer repeats the prefix first
    OPENROUTER = "openrouter"  # a trailing assistant message is continued as it is


# Hosts whose documentation says how a partial answer is continued (docs/continuation.md).
_HOSTS = {
    "api.deepseek.com": Flavour.DEEPSEEK,
    "api.mistral.ai": Flavour.MISTRAL,
    "openrouter.ai": Flavour.OPENROUTER,
}


def flavour_of(base_url: str) -> Flavour:
    """The flavour of the service at `base_url`, by its host; PLAIN when it is not known."""
    try:
        host = (urlsplit(base_url.strip()).hostname or "").rstrip(".").lower()
    except ValueError:
        return Flavour.PLAIN
    return _HOSTS.get(host, Flavour.PLAIN)


def _text_of(content: Any) -> str:
    """Delta content is a string; a few servers (Mistral reasoning models) send a part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text") or "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def part(attachment: Attachment) -> dict[str, Any]:
    """One attachment as a Chat Completions content part: an image as an `image_url` data
    URL, a PDF as a `file` part (its bytes as a data URL, with its name), a text file (or
    a PDF's extracted text) as a text part with its name."""
    if attachment.kind is PartKind.IMAGE:
        return {"type": "image_url", "image_url": {"url": data_url(attachment)}}
    if attachment.kind is PartKind.DOCUMENT:
        return {"type": "file", "file": {"filename": attachment.name,
                                         "file_data": data_url(attachment)}}
    return {"type": "text", "text": file_text(attachment)}


def content(message: Message) -> str | list[dict[str, Any]]:
    """A message's content: its text, or (with attachments, on a user turn) a list of
    parts, the text first as OpenAI's vision guide shows it. System and assistant messages
    take text only: their attachments go as notes (`base.with_notes`). Whether this
    endpoint reads PDFs is the router's call: it sends a PDF-blind one the PDF's text."""
    if not message.attachments:
        return message.content
    if message.role != "user":
        return with_notes(message)
    parts = [{"type": "text", "text": message.content}] if message.content.strip() else []
    return parts + [part(a) for a in message.attachments]


class OpenAIProvider(Provider):
    """OpenAI, OpenRouter, Mistral, Groq, DeepSeek, LM Studio, vLLM, llama.cpp…

    Whether a trailing assistant message is continued is not part of the protocol: it is
    per service (`flavour`). DeepSeek, Mistral and OpenRouter document it, and get the
    prefill as their documentation asks (cut by `base.trim_prefill`); every other server
    (OpenAI itself included) answers afresh, so the router does not send it one.
    """

    protocol: ClassVar[str] = "openai"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"

    @property
    def flavour(self) -> Flavour:
        return flavour_of(self.base_url)

    @property
    def supports_prefill(self) -> bool:
        return self.flavour is not Flavour.PLAIN

    @property
    def echoes_prefill(self) -> bool:
        return self.flavour is Flavour.MISTRAL

    def _headers(self, streaming: bool) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if streaming:
            headers["accept"] = "text/event-stream"
        if self.endpoint.api_key:  # local servers take no key
            headers["authorization"] = f"Bearer {self.endpoint.api_key}"
        return headers

    def build_chat_call(self, request: ChatRequest) -> HttpCall:
        messages: list[dict[str, Any]] = (
            [{"role": "system", "content": request.system}] if request.system else [])
        messages += [{"role": m.role, "content": content(m)} for m in request.messages]
        url = f"{self.base_url}/chat/completions"
        if self.supports_prefill and request.messages[-1:] and \
                request.messages[-1].role == "assistant":
            url = self._continue_prefill(request, messages) or url
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            # Not max_completion_tokens: many compatible servers reject that newer name.
            "max_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return HttpCall("POST", url, self._headers(True), body)

    def _continue_prefill(self, request: ChatRequest,
                          messages: list[dict[str, Any]]) -> str | None:
        """Make the trailing assistant message of `messages` a prefill as this service
        wants it; returns the URL to send it to when that is not the usual one."""
        prefill = prefill_of(request)
        if prefill is None:
            messages.pop()  # nothing to continue: the question is answered afresh
            return None
        last: dict[str, Any] = {"role": "assistant", "content": prefill}
        flavour = self.flavour
        if flavour in (Flavour.DEEPSEEK, Flavour.MISTRAL):
            last["prefix"] = True
        messages[-1] = last
        if flavour is Flavour.DEEPSEEK:
            # Prefix completion is a beta feature, only at <origin>/beta.
            parts = urlsplit(self.base_url)
            return f"{parts.scheme}://{parts.netloc}/beta/chat/completions"
        return None

    async def parse_stream(self, response: httpx.Response) -> AsyncIterator[ProviderEvent]:
        finish_reason: str | None = None
        async for sse in sse_events(response, self.name):
            data = sse.data.strip()
            if not data:
                continue
            if data == "[DONE]":
                yield Finished(finish_reason)
                return
            payload = sse_json(sse)
            if payload is None:
                break  # cut inside the last event: finished only if its reason came before
            if payload.get("error") or sse.event == "error":
                raise errors.classify_stream_error(payload, self.name)
            choices = payload.get("choices") or []
            if choices and isinstance(choices[0], dict):
                choice = choices[0]
                delta = choice.get("delta") or {}
                # DeepSeek, vLLM, llama.cpp: reasoning_content; OpenRouter: reasoning.
                for key in ("reasoning_content", "reasoning"):
                    if isinstance(delta.get(key), str) and delta[key]:
                        yield ThinkingDelta(delta[key])
                        break
                if isinstance(delta.get("refusal"), str) and delta["refusal"]:
                    yield RefusalDelta(delta["refusal"])
                text = _text_of(delta.get("content"))
                if text:
                    yield TextDelta(text)
                finish_reason = choice.get("finish_reason") or finish_reason
            usage = payload.get("usage")
            if isinstance(usage, dict):
                yield _usage(usage)
        if finish_reason is not None:
            # Some servers end the stream without `data: [DONE]` once the answer is finished.
            yield Finished(finish_reason)

    def build_models_call(self) -> HttpCall:
        return HttpCall("GET", f"{self.base_url}/models", self._headers(False))

    def build_capabilities_call(self, model: str) -> HttpCall | None:
        # OpenRouter's model list says what each model takes; OpenAI's says nothing of it.
        if self.flavour is not Flavour.OPENROUTER:
            return None
        return HttpCall("GET", f"{self.base_url}/models", self._headers(False))

    def parse_capabilities(self, payload: Any, model: str) -> capabilities.Capabilities:
        return capabilities.from_openrouter_models(payload, model)

    def parse_models(self, payload: Any) -> list[ModelInfo]:
        return [
            ModelInfo(str(item["id"]))
            for item in payload.get("data") or []
            if isinstance(item, dict) and item.get("id")
        ]


def _usage(usage: dict[str, Any]) -> Usage:
    """The usage block: prompt_tokens include the cached ones (OpenAI's
    prompt_tokens_details.cached_tokens, DeepSeek's prompt_cache_hit_tokens), and
    completion_tokens the reasoning ones (completion_tokens_details.reasoning_tokens)."""
    prompt = usage.get("prompt_tokens_details")
    completion = usage.get("completion_tokens_details")
    cached = prompt.get("cached_tokens") if isinstance(prompt, dict) else None
    if cached is None:
        cached = usage.get("prompt_cache_hit_tokens")
    reasoning = completion.get("reasoning_tokens") if isinstance(completion, dict) else None
    return Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"), cached, reasoning)
