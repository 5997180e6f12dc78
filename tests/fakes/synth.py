"""What each protocol's fake looks like: stream synthesis, default files, model lists, headers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

ProviderType = Literal["anthropic", "openai", "gemini", "ollama"]
PROVIDER_TYPES: tuple[str, ...] = ("anthropic", "openai", "gemini", "ollama")

DEFAULT_STREAM_FILE = {
    "anthropic": "stream_ok.sse",
    "openai": "stream_ok.sse",
    "gemini": "stream_ok.sse",
    "ollama": "chat_stream_ok.ndjson",
}
MIDSTREAM_ERROR_FILE = {
    "anthropic": "stream_error_overloaded_midstream.sse",
    "openai": "stream_error_midstream.sse",
    "ollama": "chat_stream_error_midstream.ndjson",
}
# (status, file) the real API answers for a missing or wrong key.
AUTH_ERROR = {
    "anthropic": (401, "error_401_authentication.json"),
    "openai": (401, "error_401_invalid_key.json"),
    "gemini": (400, "error_400_invalid_key.json"),
}
DEFAULT_MODELS = {
    "anthropic": ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"],
    "openai": ["gpt-4o", "gpt-4o-mini", "o3-mini"],
    "gemini": ["gemini-2.5-flash", "gemini-2.5-pro"],
    "ollama": ["llama3.2:latest", "qwen2.5:7b"],
}
SSE_CONTENT_TYPE = {
    "anthropic": "text/event-stream; charset=utf-8",
    "openai": "text/event-stream; charset=utf-8",
    "gemini": "text/event-stream",
}
NDJSON_CONTENT_TYPE = "application/x-ndjson"


def stream_content_type(provider_type: str, file_name: str | None = None) -> str:
    if file_name is not None and file_name.endswith(".ndjson"):
        return NDJSON_CONTENT_TYPE
    if file_name is not None and file_name.endswith(".sse"):
        return SSE_CONTENT_TYPE.get(provider_type, "text/event-stream")
    return SSE_CONTENT_TYPE.get(provider_type, NDJSON_CONTENT_TYPE)


def is_ndjson(provider_type: str) -> bool:
    return provider_type == "ollama"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _sse(data: Any, event: str | None = None, sep: str = "\n") -> str:
    text = data if isinstance(data, str) else _dumps(data)
    head = f"event: {event}{sep}" if event else ""
    return f"{head}data: {text}{sep}{sep}"


def synth_stream(
    provider_type: str,
    pieces: Sequence[str],
    *,
    finish: bool = True,
    pings: bool = False,
    error: str | None = None,
    model: str | None = None,
) -> bytes:
    """A valid stream in the type's own format whose text deltas are exactly `pieces`.

    finish=False stops right after the last delta (no stop/finish/[DONE]/done event);
    error="msg" appends the type's mid-stream error event after the deltas.
    """
    build = {"anthropic": _anthropic, "openai": _openai, "gemini": _gemini, "ollama": _ollama}
    model = model or DEFAULT_MODELS[provider_type][0]
    return build[provider_type](list(pieces), finish, pings, error, model).encode("utf-8")


def _anthropic(pieces: list[str], finish: bool, pings: bool, error: str | None, model: str) -> str:
    ping = _sse({"type": "ping"}, "ping") if pings else ""
    msg = {"id": "msg_fake0001", "type": "message", "role": "assistant", "content": [],
           "model": model, "stop_reason": None, "stop_sequence": None,
           "usage": {"input_tokens": 10, "output_tokens": 1}}
    out = [_sse({"type": "message_start", "message": msg}, "message_start"),
           _sse({"type": "content_block_start", "index": 0,
                 "content_block": {"type": "text", "text": ""}}, "content_block_start"), ping]
    for piece in pieces:
        delta = {"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": piece}}
        out += [_sse(delta, "content_block_delta"), ping]
    if error is not None:
        out.append(_sse({"type": "error", "error": {"type": "overloaded_error",
                                                     "message": error}}, "error"))
    elif finish:
        out += [_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                _sse({"type": "message_delta",
                      "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                      "usage": {"output_tokens": len(pieces)}}, "message_delta"),
                _sse({"type": "message_stop"}, "message_stop")]
    return "".join(out)


def _openai(pieces: list[str], finish: bool, pings: bool, error: str | None, model: str) -> str:
    ping = ": keep-alive\n\n" if pings else ""

    def chunk(delta: dict[str, Any], reason: str | None = None) -> str:
        return _sse({"id": "chatcmpl-fake0001", "object": "chat.completion.chunk",
                     "created": 1741000000, "model": model,
                     "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                  "finish_reason": reason}]})

    out = [chunk({"role": "assistant", "content": ""}), ping]
    for piece in pieces:
        out += [chunk({"content": piece}), ping]
    if error is not None:
        out.append(_sse({"error": {"message": error, "type": "server_error",
                                   "param": None, "code": None}}))
    elif finish:
        out += [chunk({}, "stop"), _sse("[DONE]")]
    return "".join(out)


def _gemini(pieces: list[str], finish: bool, pings: bool, error: str | None, model: str) -> str:
    # Gemini's events are CRLF-separated; the terminal event is the one with finishReason.
    def event(text: str, last: bool) -> str:
        cand: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"},
                                "index": 0}
        usage: dict[str, Any] = {"promptTokenCount": 9, "totalTokenCount": 9}
        if last:
            cand["finishReason"] = "STOP"
            usage = {"promptTokenCount": 9, "candidatesTokenCount": len(pieces),
                     "totalTokenCount": 9 + len(pieces)}
        return _sse({"candidates": [cand], "usageMetadata": usage, "modelVersion": model,
                     "responseId": "fakeResponse0001"}, sep="\r\n")

    terminal = finish and error is None
    out = [event(p, terminal and i == len(pieces) - 1) for i, p in enumerate(pieces)]
    if terminal and not pieces:
        out.append(event("", True))
    if error is not None:
        out.append(_sse({"error": {"code": 500, "message": error, "status": "INTERNAL"}},
                        sep="\r\n"))
    return "".join(out)


def _ollama(pieces: list[str], finish: bool, pings: bool, error: str | None, model: str) -> str:
    def line(content: str, done: bool) -> str:
        obj: dict[str, Any] = {"model": model, "created_at": "2026-03-02T17:00:00.0001Z",
                               "message": {"role": "assistant", "content": content},
                               "done": done}
        if done:
            obj.update(done_reason="stop", total_duration=1000000, eval_count=len(pieces))
        return _dumps(obj) + "\n"

    out = [line(p, False) for p in pieces]
    if error is not None:
        out.append(_dumps({"error": error}) + "\n")
    elif finish:
        out.append(line("", True))
    return "".join(out)


def model_list(provider_type: str, models: Sequence[str]) -> dict[str, Any]:
    """The JSON body of the type's list-models route."""
    if provider_type == "anthropic":
        data = [{"type": "model", "id": m, "display_name": m.replace("-", " ").title(),
                 "created_at": "2025-09-29T00:00:00Z"} for m in models]
        return {"data": data, "has_more": False,
                "first_id": models[0] if models else None,
                "last_id": models[-1] if models else None}
    if provider_type == "openai":
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 1715367049,
                                            "owned_by": "system"} for m in models]}
    if provider_type == "gemini":
        return {"models": [{"name": f"models/{m}", "displayName": m, "inputTokenLimit": 1048576,
                            "outputTokenLimit": 65536,
                            "supportedGenerationMethods": ["generateContent",
                                                           "streamGenerateContent"]}
                           for m in models]}
    return {"models": [{"name": m, "model": m, "modified_at": "2026-03-01T12:00:00Z",
                        "size": 2019393189, "digest": "a80c4f17acd5" + "0" * 52,
                        "details": {"format": "gguf", "family": "llama"}} for m in models]}


def error_json(provider_type: str, status: int, message: str) -> bytes:
    """A generic error body in the type's shape, for statuses without a wire file."""
    if provider_type == "anthropic":
        kind = {404: "not_found_error", 400: "invalid_request_error"}.get(status, "api_error")
        obj: Any = {"type": "error", "error": {"type": kind, "message": message}}
    elif provider_type == "openai":
        obj = {"error": {"message": message, "type": "invalid_request_error", "param": None,
                         "code": None}}
    elif provider_type == "gemini":
        obj = {"error": {"code": status, "message": message,
                         "status": {404: "NOT_FOUND", 400: "INVALID_ARGUMENT"}.get(status,
                                                                                 "INTERNAL")}}
    else:
        obj = {"error": message}
    return _dumps(obj).encode("utf-8")
