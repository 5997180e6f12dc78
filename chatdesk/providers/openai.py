"""The OpenAI Chat Completions protocol, spoken by OpenAI and every compatible endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx

from chatdesk.providers import errors
from chatdesk.providers.base import (
    ChatRequest,
    Finished,
    HttpCall,
    ModelInfo,
    Provider,
    ProviderEvent,
    RefusalDelta,
    TextDelta,
    ThinkingDelta,
    Usage,
    sse_events,
    sse_json,
)


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


class OpenAIProvider(Provider):
    """OpenAI, OpenRouter, Mistral, Groq, DeepSeek, LM Studio, vLLM, llama.cpp…

    A trailing assistant message is sent as it is: whether a given server continues it is
    not part of the protocol, so the router treats the answer as a fresh one.
    """

    protocol: ClassVar[str] = "openai"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    supports_prefill: ClassVar[bool] = False

    def _headers(self, streaming: bool) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if streaming:
            headers["accept"] = "text/event-stream"
        if self.endpoint.api_key:  # local servers take no key
            headers["authorization"] = f"Bearer {self.endpoint.api_key}"
        return headers

    def build_chat_call(self, request: ChatRequest) -> HttpCall:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
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
        return HttpCall("POST", f"{self.base_url}/chat/completions", self._headers(True), body)

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
                yield Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
        if finish_reason is not None:
            # Some servers end the stream without `data: [DONE]` once the answer is finished.
            yield Finished(finish_reason)

    def build_models_call(self) -> HttpCall:
        return HttpCall("GET", f"{self.base_url}/models", self._headers(False))

    def parse_models(self, payload: Any) -> list[ModelInfo]:
        return [
            ModelInfo(str(item["id"]))
            for item in payload.get("data") or []
            if isinstance(item, dict) and item.get("id")
        ]
