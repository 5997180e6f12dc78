"""The Gemini API (generateContent): request translation and SSE stream parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from chatdesk import capabilities, wording
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
    with_notes,
)

_ROLES = {"user": "user", "assistant": "model"}
# Gemini wants the first turn from the user; a history that starts with the model's turn
# gets this neutral one in front (as the Anthropic module does).


def part(attachment: Attachment) -> dict[str, Any]:
    """One attachment as a Gemini part: an image or a PDF as `inline_data` (its media type
    and standard base64 bytes, as the REST docs spell it; the API's JSON takes either case,
    and the SDK sends URL-safe base64 under `inlineData`), a text file (or a PDF's
    extracted text) as text with its name."""
    if attachment.kind in (PartKind.IMAGE, PartKind.DOCUMENT):
        return {"inline_data": {"mime_type": attachment.media_type,
                                "data": b64(attachment.data)}}
    return {"text": file_text(attachment)}


def parts(message: Message) -> list[dict[str, Any]]:
    """A turn's parts: the attachments first (as Gemini's guide places them), then the text.
    A model turn's attachments go as notes (`base.with_notes`)."""
    if not message.attachments:
        return [{"text": message.content}]
    if message.role == "assistant":
        return [{"text": with_notes(message)}]
    found = [part(a) for a in message.attachments]
    if message.content.strip():
        found.append({"text": message.content})
    return found


class GeminiProvider(Provider):
    """Google Gemini (`streamGenerateContent?alt=sse`); the stream ends at EOF.

    A partial answer is not continued (`supports_prefill` is False): the API documents no
    prefill, and newer models refuse a request that ends with a `model` turn (HTTP 400,
    which would stop the answer instead of letting Gemini answer afresh).
    """

    protocol: ClassVar[str] = "gemini"
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com"

    def _headers(self, streaming: bool) -> dict[str, str]:
        if not self.endpoint.api_key:
            sentence = wording.missing_key(self.name, "GEMINI_API_KEY")
            raise errors.MissingKey(wording.clause(sentence), provider=self.name)
        headers = {"x-goog-api-key": self.endpoint.api_key, "content-type": "application/json"}
        if streaming:
            headers["accept"] = "text/event-stream"
        return headers

    @staticmethod
    def translate(request: ChatRequest) -> tuple[str | None, list[Message]]:
        """(system instruction, turns): system turns join the instruction, empty turns
        are dropped (Gemini rejects empty text parts), same-role turns are merged and the
        first turn is made a user turn."""
        return split_system(request)

    def build_chat_call(self, request: ChatRequest) -> HttpCall:
        system, turns = self.translate(request)
        body: dict[str, Any] = {}
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        body["contents"] = [
            {"role": _ROLES[m.role], "parts": parts(m)} for m in turns
        ]
        config: dict[str, Any] = {"maxOutputTokens": request.max_tokens}
        if request.temperature is not None:
            config["temperature"] = request.temperature
        body["generationConfig"] = config
        model = quote(request.model.removeprefix("models/"), safe="-._~")
        url = f"{self.base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse"
        return HttpCall("POST", url, self._headers(True), body)

    async def parse_stream(self, response: httpx.Response) -> AsyncIterator[ProviderEvent]:
        finish_reason: str | None = None
        last_usage: Usage | None = None
        async for sse in sse_events(response, self.name):
            if not sse.data.strip():
                continue
            payload = sse_json(sse)
            if payload is None:
                break  # cut inside the last event: ends as truncated unless finished before
            if payload.get("error") or sse.event == "error":
                raise errors.classify_stream_error(payload, self.name)
            meta = payload.get("usageMetadata")
            if isinstance(meta, dict):
                usage = _usage(meta)
                if usage != last_usage:  # every chunk repeats it; report changes only
                    last_usage = usage
                    yield usage
            candidates = payload.get("candidates") or []
            block = (payload.get("promptFeedback") or {}).get("blockReason")
            if block and not candidates:
                # The prompt itself was blocked: a refusal, with nothing more to come.
                yield Finished(str(block), refused=True)
                return
            if candidates and isinstance(candidates[0], dict):
                candidate = candidates[0]
                for part in (candidate.get("content") or {}).get("parts") or []:
                    if isinstance(part, dict) and part.get("text"):
                        text = str(part["text"])
                        yield ThinkingDelta(text) if part.get("thought") else TextDelta(text)
                finish_reason = candidate.get("finishReason") or finish_reason
        if finish_reason is not None:
            yield Finished(finish_reason)

    def build_models_call(self) -> HttpCall:
        # The listing is paged (50 by default); 1000 is the largest page.
        return HttpCall(
            "GET", f"{self.base_url}/v1beta/models?pageSize=1000", self._headers(False)
        )

    def build_capabilities_call(self, model: str) -> HttpCall:
        name = quote(model.removeprefix("models/"), safe="-._~")
        return HttpCall("GET", f"{self.base_url}/v1beta/models/{name}", self._headers(False))

    def parse_capabilities(self, payload: Any, model: str) -> capabilities.Capabilities:
        return capabilities.from_gemini_model(payload)

    def parse_models(self, payload: Any) -> list[ModelInfo]:
        models = []
        for item in payload.get("models") or []:
            if not isinstance(item, dict) or not item.get("name"):
                continue
            methods = item.get("supportedGenerationMethods")
            if methods is not None and "generateContent" not in methods:
                continue
            name = str(item["name"]).removeprefix("models/")
            models.append(ModelInfo(name, item.get("displayName")))
        return models


def _usage(meta: dict[str, Any]) -> Usage:
    """usageMetadata: promptTokenCount includes cachedContentTokenCount; thinking
    (thoughtsTokenCount) is billed as output but not counted in candidatesTokenCount."""
    candidates, thoughts = meta.get("candidatesTokenCount"), meta.get("thoughtsTokenCount")
    output = candidates
    if isinstance(thoughts, int) and not isinstance(thoughts, bool) and thoughts > 0:
        output = (candidates if isinstance(candidates, int) else 0) + thoughts
    return Usage(meta.get("promptTokenCount"), output, meta.get("cachedContentTokenCount"),
                 thoughts)
