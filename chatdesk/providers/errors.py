"""The one place that turns provider failures into the typed error taxonomy."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from chatdesk.secrets import redact

if TYPE_CHECKING:
    import httpx


class ErrorClass(StrEnum):
    """The taxonomy's names, as stored in `attempts.error_class` and
    `provider_health.last_error_class`. Each but STATUS_PAGE is one ProviderError class."""

    ERROR = "error"
    OVERLOADED = "overloaded"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECT_TIMEOUT = "connect_timeout"
    FIRST_TOKEN_TIMEOUT = "first_token_timeout"
    STALL_TIMEOUT = "stall_timeout"
    CONNECTION_FAILED = "connection_failed"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    CONTEXT_TOO_LONG = "context_too_long"
    NOT_FOUND = "not_found"
    MALFORMED_STREAM = "malformed_stream"
    TRUNCATED_STREAM = "truncated_stream"
    EMPTY_ANSWER = "empty_answer"
    ERROR_FINISH = "error_finish"
    NO_KEY = "no_key"
    TLS = "tls"
    CERTIFICATE = "certificate"
    INSECURE_HTTP = "insecure_http"
    STATUS_PAGE = "status_page"  # no request failed: a status page reported an outage


class ProviderError(Exception):
    """A provider could not give an answer. `kind` names the class for people and storage.

    Its message is redacted here, once: every key registered and anything shaped like one.
    Attempts, provider health, logs, the CLI, exports and the app only ever see this text."""

    kind: ClassVar[ErrorClass] = ErrorClass.ERROR
    label: ClassVar[str] = "failed"

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def describe(self) -> str:
        """A short phrase for people: 'overloaded (529)'."""
        return f"{self.label} ({self.status})" if self.status else self.label


class Overloaded(ProviderError):
    kind = ErrorClass.OVERLOADED
    label = "overloaded"


class RateLimited(ProviderError):
    kind = ErrorClass.RATE_LIMITED
    label = "rate-limited"


class QuotaExceeded(RateLimited):
    """429 for billing reasons: it will not pass by itself within minutes."""

    kind = ErrorClass.QUOTA_EXCEEDED
    label = "out of quota"


class ServerError(ProviderError):
    kind = ErrorClass.SERVER_ERROR
    label = "server error"


class ProviderTimeout(ProviderError):
    kind = ErrorClass.TIMEOUT
    label = "timed out"


class ConnectTimeout(ProviderTimeout):
    kind = ErrorClass.CONNECT_TIMEOUT
    label = "connect timeout"


class FirstTokenTimeout(ProviderTimeout):
    kind = ErrorClass.FIRST_TOKEN_TIMEOUT
    label = "no first token in time"


class StallTimeout(ProviderTimeout):
    kind = ErrorClass.STALL_TIMEOUT
    label = "stalled"


class ConnectionFailed(ProviderError):
    kind = ErrorClass.CONNECTION_FAILED
    label = "connection failed"


class TlsError(ConnectionFailed):
    """The TLS handshake failed (an outage for failover, but worded on its own)."""

    kind = ErrorClass.TLS
    label = "TLS handshake failed"


class CertificateError(TlsError):
    """The server's certificate could not be verified against the trusted CAs."""

    kind = ErrorClass.CERTIFICATE
    label = "certificate not verified"


class AuthError(ProviderError):
    kind = ErrorClass.AUTH
    label = "key rejected"


class BadRequest(ProviderError):
    kind = ErrorClass.BAD_REQUEST
    label = "bad request"


class ContextTooLong(BadRequest):
    kind = ErrorClass.CONTEXT_TOO_LONG
    label = "conversation too long for this model"


class NotFound(ProviderError):
    """The endpoint or model does not exist there (a configuration problem, not an outage)."""

    kind = ErrorClass.NOT_FOUND
    label = "model or endpoint not found"


class MalformedStream(ProviderError):
    kind = ErrorClass.MALFORMED_STREAM
    label = "malformed stream"


class TruncatedStream(ProviderError):
    kind = ErrorClass.TRUNCATED_STREAM
    label = "stream cut short"


class EmptyAnswer(ProviderError):
    """The stream finished as if answered, with no answer in it (llama.cpp and LiteLLM do
    this when something went wrong): a provider fault."""

    kind = ErrorClass.EMPTY_ANSWER
    label = "empty answer"


class ErrorFinish(ServerError):
    """The stream ended with a finish reason that says the answer failed (OpenAI `error`,
    Gemini `RECITATION`, `MALFORMED_FUNCTION_CALL`…)."""

    kind = ErrorClass.ERROR_FINISH
    label = "answer ended in error"


class MissingKey(ProviderError):
    kind = ErrorClass.NO_KEY
    label = "no API key"


class InsecureHttp(MissingKey):
    """The key would travel in clear (http:// off this machine) and the entry does not allow
    it: the provider is skipped like one without a key, and nothing is sent."""

    kind = ErrorClass.INSECURE_HTTP
    label = "key not sent over plain HTTP"


ALL_ERRORS: tuple[type[ProviderError], ...] = (
    Overloaded, RateLimited, QuotaExceeded, ServerError, ProviderTimeout, ConnectTimeout,
    FirstTokenTimeout, StallTimeout, ConnectionFailed, AuthError, BadRequest, ContextTooLong,
    NotFound, MalformedStream, TruncatedStream, MissingKey, TlsError, CertificateError,
    InsecureHttp, EmptyAnswer, ErrorFinish,
)
BY_KIND: dict[str, type[ProviderError]] = {cls.kind: cls for cls in ALL_ERRORS}

# Both matched ignoring case, compiled at their first use (re's cache): only error bodies
# are read with them.
_CONTEXT_PATTERNS = (
    r"context[_ ]length|prompt is too long|maximum context|too many tokens|"
    r"input token count|exceeds the (?:maximum|context)"
)
# A gateway (LiteLLM, OpenRouter, vLLM…) asked for a model it does not serve, often as a 400.
_UNKNOWN_MODEL = (
    r"model_not_found|unknown model|invalid model|no such model|not a valid model|"
    r"model\b[^.]{0,120}?\b(?:not found|does not exist|is not supported|not available)"
)
_AUTH_REASONS = {"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "PERMISSION_DENIED",
                 "UNAUTHENTICATED"}


def excerpt(text: str, limit: int = 80) -> str:
    """The start of text a provider sent, for an error message: redacted before it is cut,
    so that no piece of a key is left to show."""
    return redact(text)[:limit]


MAX_RETRY_AFTER_S = 24 * 3600.0  # a longer (or endless) wait asked by a server is cut to this


def _decode(body: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to read
        return None


def _details(err: dict[str, Any]) -> list[dict[str, Any]]:
    """The `details` objects of an error (Gemini's reasons and RetryInfo), whatever was sent."""
    details = err.get("details")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _seconds(value: float) -> float | None:
    """A wait in seconds, bounded; None for NaN."""
    if value != value:
        return None
    return min(max(0.0, value), MAX_RETRY_AFTER_S)


def error_details(body: str) -> tuple[str, str, str]:
    """(message, type, code) from any provider's error body, or from plain text."""
    payload = _decode(body)
    if isinstance(payload, dict):
        err = payload.get("error", payload)
        if isinstance(err, str):
            return err, "", ""
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            etype = str(err.get("type") or err.get("status") or "")
            code = str(err.get("code") or "")
            for detail in _details(err):
                if detail.get("reason"):
                    code = str(detail["reason"])
            return message, etype, code
    return excerpt(body.strip(), 300), "", ""


def parse_retry_after(headers: Mapping[str, str], body: str = "") -> float | None:
    """Seconds to wait, from `retry-after`, `retry-after-ms` or Gemini's RetryInfo."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return _seconds(float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return _seconds(float(value))
        except ValueError:
            import email.utils  # rarely needed; costs ~9 ms at import

            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):  # neither seconds nor an HTTP date: ignore it
                parsed = None
            if parsed is not None:
                return _seconds(parsed.timestamp() - time.time())
    payload = _decode(body)
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        for detail in _details(payload["error"]):
            match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)s", str(detail.get("retryDelay")))
            if match:
                return _seconds(float(match.group(1)))
    return None


def classify_response(
    status: int, headers: Mapping[str, str], body: str, provider: str | None = None
) -> ProviderError:
    """The error for a non-200 HTTP response, from its status and body."""
    message, etype, code = error_details(body)
    text = message or f"HTTP {status}"
    kw: dict[str, Any] = {"provider": provider, "status": status}
    lowered = f"{etype} {code}".lower()
    if status in (401, 403) or code in _AUTH_REASONS or "authentication" in lowered:
        return AuthError(text, **kw)
    if status == 429:
        retry = parse_retry_after(headers, body)
        if "insufficient_quota" in lowered:
            return QuotaExceeded(text, retry_after=retry, **kw)
        return RateLimited(text, retry_after=retry, **kw)
    if status == 529 or "overloaded" in lowered:
        return Overloaded(text, retry_after=parse_retry_after(headers, body), **kw)
    if status == 503:
        return Overloaded(text, retry_after=parse_retry_after(headers, body), **kw)
    if 300 <= status < 400:
        # Redirects are not followed (a key must never be sent to another host).
        where = headers.get("location") or "another address"
        return BadRequest(
            f"the provider's address redirects to {where}; check its base URL in the settings",
            **kw,
        )
    if status == 408:
        return ProviderTimeout(text, **kw)
    if status == 404:
        return NotFound(text, **kw)
    said = f"{text} {code}"
    if status == 413 or (400 <= status < 500 and re.search(_CONTEXT_PATTERNS, said, re.I)):
        return ContextTooLong(text, **kw)
    if 400 <= status < 500 and re.search(_UNKNOWN_MODEL, said, re.I):
        return NotFound(text, **kw)
    if 400 <= status < 500:
        return BadRequest(text, **kw)
    return ServerError(text, **kw)


def classify_stream_error(payload: Any, provider: str | None = None) -> ProviderError:
    """The error for an error event inside a 200 stream (SSE `error` event, NDJSON line…)."""
    body = json.dumps(payload) if not isinstance(payload, str) else payload
    message, etype, code = error_details(body)
    lowered = f"{etype} {code} {message}".lower()
    text = message or "the provider reported an error mid-answer"
    if "overloaded" in lowered or "unavailable" in lowered:  # Gemini: UNAVAILABLE
        return Overloaded(text, provider=provider)
    if "rate_limit" in lowered or "resource_exhausted" in lowered:
        return RateLimited(text, provider=provider)
    if re.search(_CONTEXT_PATTERNS, lowered, re.IGNORECASE):
        return ContextTooLong(text, provider=provider)
    return ServerError(text, provider=provider)


# How a failure to make any connection at all (refused, no such host) begins: a server
# that accepted and then dropped the connection is a "network error" instead.
NO_CONNECTION = "could not connect"


def never_connected(error_class: str | None, message: str | None) -> bool:
    """Whether a stored failure (health's last error) means no connection was ever made."""
    return error_class == ErrorClass.CONNECTION_FAILED \
        and (message or "").startswith(NO_CONNECTION)


def classify_unframed(text: str, provider: str | None = None) -> ProviderError | None:
    """The error a provider wrote into a 200 stream outside its framing (Gemini appends a
    pretty-printed `{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"…}}` after its
    events), classified by its HTTP code as that response would be; None if it is not one."""
    payload = _decode(text)
    if not isinstance(payload, dict) or not payload.get("error"):
        return None
    err = payload["error"]
    code = err.get("code") if isinstance(err, dict) else None
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return classify_response(code, {}, text, provider)
    return classify_stream_error(payload, provider)


# Finish reasons (any protocol's own word) that end an answer the provider would not give.
REFUSAL_FINISHES = frozenset({
    "refusal",  # Anthropic
    "content_filter",  # OpenAI-compatible (Azure, OpenRouter)
    "SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY",  # Gemini
})
# Finish reasons that say the answer failed: a provider fault.
ERROR_FINISHES = frozenset({
    "error",  # OpenAI-compatible (OpenRouter, LiteLLM)
    "RECITATION", "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "LANGUAGE",
    "FINISH_REASON_UNSPECIFIED", "OTHER",  # Gemini
})
# Finish reasons that say the answer hit the length limit.
LENGTH_FINISHES = frozenset({"length", "max_tokens", "MAX_TOKENS"})


def judge_ending(reason: str | None, *, answered: bool, refused: bool, reasoned: bool,
                 provider: str | None = None) -> bool:
    """Whether a finished stream is a refusal (True) or an answer (False); raises the
    error for an ending that is neither. `answered`/`refused`/`reasoned`: answer text,
    refusal text and reasoning arrived."""
    if refused or reason in REFUSAL_FINISHES:
        return True
    if reason in ERROR_FINISHES:
        return _raise(ErrorFinish(f"the answer ended with finish reason {reason!r}",
                                  provider=provider))
    if answered:
        return False
    if reason in LENGTH_FINISHES and not reasoned:
        # Not one token of output fitted: the conversation fills the model's context
        # (llama.cpp and LiteLLM say so this way).
        return _raise(ContextTooLong(
            f"the answer ended at once with finish reason {reason!r}: no room left in the "
            "model's context", provider=provider))
    return _raise(EmptyAnswer(f"the stream finished with no answer (finish reason {reason!r})",
                              provider=provider))


def _raise(error: ProviderError) -> bool:
    raise error


def classify_transport(exc: httpx.HTTPError, provider: str | None = None) -> ProviderError:
    """The error for a network-level failure raised by httpx."""
    # Imported here so that the app and the CLI can show history without loading httpx.
    import httpx
    import httpx_sse

    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return ConnectTimeout(f"could not connect in time ({detail})", provider=provider)
    if isinstance(exc, httpx.ReadTimeout):
        return StallTimeout(f"the connection went silent ({detail})", provider=provider)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(f"timed out ({detail})", provider=provider)
    if isinstance(exc, httpx.ConnectError):
        tls = _tls_failure(exc, provider)
        return tls or ConnectionFailed(f"{NO_CONNECTION} ({detail})", provider=provider)
    if isinstance(exc, httpx.RemoteProtocolError):
        return TruncatedStream(f"the connection was cut ({detail})", provider=provider)
    if isinstance(exc, httpx_sse.SSEError):  # a 200 that is not an event stream
        return MalformedStream(f"the answer was not a stream ({detail})", provider=provider)
    if isinstance(exc, httpx.DecodingError):
        return MalformedStream(f"the response could not be decoded ({detail})",
                               provider=provider)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return BadRequest(f"the provider's URL is not usable ({detail})", provider=provider)
    return ConnectionFailed(f"network error ({detail})", provider=provider)


def _tls_failure(exc: BaseException, provider: str | None) -> TlsError | None:
    """The TLS error behind an httpx.ConnectError (httpcore wraps ssl's), or None."""
    import ssl

    seen: BaseException | None = exc
    for _ in range(8):  # the cause chain is short; a loop in it must not hang
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            break
        seen = seen.__cause__ or seen.__context__
    else:
        return None
    if isinstance(seen, ssl.SSLCertVerificationError):
        reason = seen.verify_message or seen.reason or "unknown reason"
        return CertificateError(f"certificate verify failed: {reason}", provider=provider)
    reason = seen.reason or str(seen) or type(seen).__name__
    return TlsError(f"TLS handshake failed: {reason}", provider=provider)
