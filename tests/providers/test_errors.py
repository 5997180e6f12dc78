"""The one classifier: HTTP statuses, in-stream errors, transport failures, retry-after."""

from __future__ import annotations

import email.utils
import json
import time

import httpx
import httpx_sse
import pytest

from chatdesk.failover import policy
from chatdesk.providers import errors
from tests.providers.wire import error_files, status_of, wire_bytes
from tests.wirefiles import WIRE_COPY

# Every error example of every protocol, and the class the outage policy needs for it.
EXPECTED = {
    ("anthropic", "error_400_alternation.json"): errors.BadRequest,
    ("anthropic", "error_400_prompt_too_long.json"): errors.ContextTooLong,
    ("anthropic", "error_401_authentication.json"): errors.AuthError,
    ("anthropic", "error_429_rate_limit.json"): errors.RateLimited,
    ("anthropic", "error_500_api_error.json"): errors.ServerError,
    ("anthropic", "error_529_overloaded.json"): errors.Overloaded,
    ("openai", "error_400_context_length.json"): errors.ContextTooLong,
    ("openai", "error_401_invalid_key.json"): errors.AuthError,
    ("openai", "error_429_insufficient_quota.json"): errors.QuotaExceeded,
    ("openai", "error_429_rate_limit.json"): errors.RateLimited,
    ("openai", "error_500_server_error.json"): errors.ServerError,
    ("openai", "error_503_overloaded.json"): errors.Overloaded,
    ("gemini", "error_400_invalid_key.json"): errors.AuthError,
    ("gemini", "error_429_resource_exhausted.json"): errors.RateLimited,
    ("gemini", "error_500_internal.json"): errors.ServerError,
    ("gemini", "error_503_unavailable.json"): errors.Overloaded,
    ("ollama", "error_404_model_not_found.json"): errors.NotFound,
}


def test_expectations_cover_every_example() -> None:
    found = {(p, n) for p in ("anthropic", "openai", "gemini", "ollama") for n in error_files(p)}
    assert found == set(EXPECTED)


@pytest.mark.parametrize(("protocol", "name"), sorted(EXPECTED))
def test_classify_response_for_every_example(protocol: str, name: str) -> None:
    body = wire_bytes(protocol, name).decode()
    error = errors.classify_response(status_of(name), {}, body, "p")
    assert type(error) is EXPECTED[(protocol, name)]
    assert error.status == status_of(name) and error.provider == "p"
    assert error.message and not error.message.startswith("{")


@pytest.mark.parametrize(("status", "cls"), [
    (403, errors.AuthError), (408, errors.ProviderTimeout), (413, errors.ContextTooLong),
    (422, errors.BadRequest), (502, errors.ServerError), (504, errors.ServerError),
])
def test_statuses_without_a_useful_body(status: int, cls: type) -> None:
    error = errors.classify_response(status, {}, "", "p")
    assert type(error) is cls
    assert error.message == f"HTTP {status}"


def test_plain_text_body_becomes_the_message() -> None:
    error = errors.classify_response(502, {}, "Bad gateway from nginx\n", "p")
    assert type(error) is errors.ServerError
    assert error.message == "Bad gateway from nginx"


def test_a_redirect_is_a_configuration_problem_naming_the_target() -> None:
    error = errors.classify_response(
        301, httpx.Headers({"Location": "https://api.example/v1"}), "", "p"
    )
    assert type(error) is errors.BadRequest
    assert "https://api.example/v1" in error.message and "base URL" in error.message


def test_retry_after_seconds_ms_and_date() -> None:
    assert errors.parse_retry_after({"retry-after": "7"}) == 7
    assert errors.parse_retry_after({"retry-after-ms": "250"}) == 0.25
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < errors.parse_retry_after({"retry-after": future}) <= 30
    assert errors.parse_retry_after({}) is None


@pytest.mark.parametrize("value", ["soon", "Mon, 99 Foo 2024", "-"])
def test_unreadable_retry_after_is_ignored(value: str) -> None:
    assert errors.parse_retry_after({"retry-after": value}) is None
    error = errors.classify_response(429, {"retry-after": value}, "", "p")
    assert isinstance(error, errors.RateLimited) and error.retry_after is None


def test_gemini_retry_info() -> None:
    body = wire_bytes("gemini", "error_429_resource_exhausted.json").decode()
    assert errors.parse_retry_after({}, body) == 37
    error = errors.classify_response(429, {}, body)
    assert error.retry_after == 37


def test_header_wins_over_retry_info() -> None:
    body = wire_bytes("gemini", "error_429_resource_exhausted.json").decode()
    assert errors.parse_retry_after({"retry-after": "3"}, body) == 3


@pytest.mark.parametrize(("payload", "cls"), [
    ({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     errors.Overloaded),
    ({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
     errors.RateLimited),
    ({"type": "error", "error": {"type": "api_error", "message": "Internal server error"}},
     errors.ServerError),
    ({"error": {"message": "prompt is too long: 300000 tokens", "type": "x"}},
     errors.ContextTooLong),
    ({"error": "an error was encountered while running the model"}, errors.ServerError),
    ("plain words", errors.ServerError),
])
def test_classify_stream_error(payload: object, cls: type) -> None:
    error = errors.classify_stream_error(payload, "p")
    assert type(error) is cls
    assert error.provider == "p" and error.status is None
    assert error.message


def _request() -> httpx.Request:
    return httpx.Request("POST", "https://x.test/")


@pytest.mark.parametrize(("exc", "cls"), [
    (httpx.ConnectTimeout("t"), errors.ConnectTimeout),
    (httpx.PoolTimeout("t"), errors.ConnectTimeout),
    (httpx.ReadTimeout("t"), errors.StallTimeout),
    (httpx.WriteTimeout("t"), errors.ProviderTimeout),
    (httpx.ConnectError("refused"), errors.ConnectionFailed),
    (httpx.ReadError("reset"), errors.ConnectionFailed),
    (httpx.RemoteProtocolError("peer closed"), errors.TruncatedStream),
    (httpx.DecodingError("bad gzip"), errors.MalformedStream),
    (httpx_sse.SSEError("Expected text/event-stream"), errors.MalformedStream),
    (httpx.UnsupportedProtocol("ftp"), errors.BadRequest),
])
def test_classify_transport(exc: httpx.HTTPError, cls: type) -> None:
    error = errors.classify_transport(exc, "p")
    assert type(error) is cls
    assert error.provider == "p"


def test_kinds_are_unique_and_round_trip() -> None:
    assert len(errors.BY_KIND) == len(errors.ALL_ERRORS)
    for kind, cls in errors.BY_KIND.items():
        assert cls.kind == kind and issubclass(cls, errors.ProviderError)


def test_describe() -> None:
    assert errors.Overloaded("x", status=529).describe() == "overloaded (529)"
    assert errors.StallTimeout("x").describe() == "stalled"
    assert str(errors.AuthError("invalid x-api-key")) == "invalid x-api-key"


def test_gemini_statuses_inside_a_stream_keep_their_meaning() -> None:
    from chatdesk.providers import errors as e

    unavailable = {"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}
    exhausted = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    assert isinstance(e.classify_stream_error(unavailable, "g"), e.Overloaded)
    assert isinstance(e.classify_stream_error(exhausted, "g"), e.RateLimited)


SECRET = "a-registered-key-without-shape"


def test_every_provider_error_is_redacted_where_it_is_made() -> None:
    from chatdesk.secrets import register_secret

    register_secret(SECRET)
    made = [
        errors.ServerError(f"bad key {SECRET}"),
        errors.classify_response(500, {}, f'{{"error": {{"message": "key {SECRET}"}}}}'),
        errors.classify_response(401, {}, f"<html>{SECRET} sk-ant-api03-foreignforeign</html>"),
        errors.classify_stream_error({"error": {"message": f"overloaded for {SECRET}"}}),
        errors.classify_stream_error(f"plain text {SECRET}"),
        errors.classify_transport(httpx.ConnectError(f"no route for {SECRET}")),
    ]
    for exc in made:
        assert SECRET not in exc.message and SECRET not in str(exc), exc
        assert SECRET not in " ".join(map(str, exc.args))
        assert "[redacted]" in exc.message
    assert "foreign" not in made[2].message


def test_a_body_that_is_not_json_is_redacted_before_it_is_cut() -> None:
    from chatdesk.secrets import register_secret

    register_secret(SECRET)
    body = "x" * 290 + " " + SECRET  # the key straddles the 300 characters kept
    message = errors.classify_response(500, {}, body).message
    assert SECRET[:8] not in message and len(message) <= 300
    assert errors.excerpt("y" * 75 + SECRET) == ("y" * 75 + "[redacted]")[:80]


# -- issue 14: a gateway's "unknown model", errors outside SSE framing ----------------------

@pytest.mark.parametrize("name", ["error_400_unknown_model_litellm.json",
                                  "error_400_unknown_model_openrouter.json"])
def test_a_gateways_unknown_model_is_that_entrys_problem(name: str) -> None:
    body = (WIRE_COPY / "sdk" / "openai" / name).read_text(encoding="utf-8")
    error = errors.classify_response(400, {}, body, "gateway")
    assert type(error) is errors.NotFound and error.status == 400
    decision = policy.decide(error)
    assert decision.action is policy.Action.FAIL_OVER and not decision.cool_down


@pytest.mark.parametrize("message", [
    "Invalid value for 'temperature': must be between 0 and 2",
    "messages: roles must alternate between user and assistant",
    "max_tokens: model output limit is 8192",  # names the model but is not about which one
])
def test_other_bad_requests_stay_bad_requests(message: str) -> None:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error"}})
    assert type(errors.classify_response(400, {}, body)) is errors.BadRequest


def test_an_unframed_error_is_classified_by_its_code() -> None:
    body = (WIRE_COPY / "gemini" / "error_429_resource_exhausted.json").read_text()
    error = errors.classify_unframed(body, "g")
    assert type(error) is errors.RateLimited and error.retry_after == 37
    assert errors.classify_unframed('{"not": "an error"}') is None
    assert errors.classify_unframed("just text") is None
    assert type(errors.classify_unframed('{"error": {"message": "overloaded"}}')) is \
        errors.Overloaded


@pytest.mark.parametrize(("reason", "answered", "refused", "reasoned", "expected"), [
    ("stop", True, False, False, False),
    ("end_turn", True, False, True, False),
    ("refusal", False, False, False, True),
    ("stop", False, True, False, True),  # OpenAI: delta.refusal, finish "stop"
    ("SAFETY", True, False, False, True),
    ("content_filter", False, False, False, True),
    ("error", True, False, False, errors.ErrorFinish),
    ("RECITATION", True, False, False, errors.ErrorFinish),
    ("MALFORMED_FUNCTION_CALL", False, False, False, errors.ErrorFinish),
    ("stop", False, False, False, errors.EmptyAnswer),
    ("stop", False, False, True, errors.EmptyAnswer),  # thought, never answered
    ("length", False, False, False, errors.ContextTooLong),
    ("length", False, False, True, errors.EmptyAnswer),  # thought until the limit
    ("length", True, False, False, False),  # cut at max_tokens, but an answer
])
def test_judging_an_ending(reason: str, answered: bool, refused: bool, reasoned: bool,
                           expected: bool | type[errors.ProviderError]) -> None:
    if isinstance(expected, bool):
        assert errors.judge_ending(reason, answered=answered, refused=refused,
                                   reasoned=reasoned) is expected
    else:
        with pytest.raises(expected):
            errors.judge_ending(reason, answered=answered, refused=refused, reasoned=reasoned)
