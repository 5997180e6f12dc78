"""The outage policy: what each error class means, and how long a provider is skipped."""

from __future__ import annotations

import pytest

from chatdesk.failover import policy
from chatdesk.failover.policy import Action
from chatdesk.providers import errors

# error class -> (action, cool down, no key), as SPEC's outage policy says.
EXPECTED: dict[type[errors.ProviderError], tuple[Action, bool, bool]] = {
    errors.Overloaded: (Action.FAIL_OVER, True, False),
    errors.RateLimited: (Action.FAIL_OVER, True, False),
    errors.QuotaExceeded: (Action.FAIL_OVER, True, False),
    errors.ServerError: (Action.FAIL_OVER, True, False),
    errors.ProviderTimeout: (Action.FAIL_OVER, True, False),
    errors.ConnectTimeout: (Action.FAIL_OVER, True, False),
    errors.FirstTokenTimeout: (Action.FAIL_OVER, True, False),
    errors.StallTimeout: (Action.FAIL_OVER, True, False),
    errors.ConnectionFailed: (Action.FAIL_OVER, True, False),
    errors.TlsError: (Action.FAIL_OVER, True, False),  # SPEC: TLS errors fail over
    errors.CertificateError: (Action.FAIL_OVER, True, False),
    errors.MalformedStream: (Action.FAIL_OVER, True, False),
    errors.TruncatedStream: (Action.FAIL_OVER, True, False),
    # Endings that are not answers: provider faults (SPEC: "fail over").
    errors.EmptyAnswer: (Action.FAIL_OVER, True, False),
    errors.ErrorFinish: (Action.FAIL_OVER, True, False),
    errors.NotFound: (Action.FAIL_OVER, False, False),
    errors.AuthError: (Action.FAIL_OVER, False, True),
    errors.MissingKey: (Action.FAIL_OVER, False, True),
    # Raised before anything is sent, and skipped like a missing key by the router.
    errors.InsecureHttp: (Action.FAIL_OVER, False, True),
    errors.ContextTooLong: (Action.FAIL_OVER, False, False),
    errors.BadRequest: (Action.STOP, False, False),
}


def test_every_error_class_has_an_expected_decision() -> None:
    assert set(EXPECTED) == set(errors.ALL_ERRORS)


@pytest.mark.parametrize("cls", errors.ALL_ERRORS, ids=lambda c: c.kind)
def test_decision_of_each_error_class(cls: type[errors.ProviderError]) -> None:
    decision = policy.decide(cls("boom", provider="main", status=None))
    assert (decision.action, decision.cool_down, decision.no_key) == EXPECTED[cls]


@pytest.mark.parametrize(("status", "body", "action", "cool_down"), [
    (408, "", Action.FAIL_OVER, True),
    (429, '{"error": {"type": "rate_limit_error", "message": "slow down"}}',
     Action.FAIL_OVER, True),
    (500, "", Action.FAIL_OVER, True),
    (502, "bad gateway", Action.FAIL_OVER, True),
    (503, "", Action.FAIL_OVER, True),
    (504, "", Action.FAIL_OVER, True),
    (529, '{"error": {"type": "overloaded_error", "message": "Overloaded"}}',
     Action.FAIL_OVER, True),
    (401, '{"error": {"type": "authentication_error", "message": "invalid x-api-key"}}',
     Action.FAIL_OVER, False),
    (403, "", Action.FAIL_OVER, False),
    (400, '{"error": {"type": "invalid_request_error", "message": "roles must alternate"}}',
     Action.STOP, False),
    (400, '{"error": {"message": "prompt is too long: 215000 tokens > 200000 maximum"}}',
     Action.FAIL_OVER, False),
    (413, "", Action.FAIL_OVER, False),
])
def test_decisions_for_http_statuses_of_spec(status: int, body: str, action: Action,
                                             cool_down: bool) -> None:
    decision = policy.decide(errors.classify_response(status, {}, body, "main"))
    assert (decision.action, decision.cool_down) == (action, cool_down)


def test_key_problems_advise_keys_set() -> None:
    decision = policy.decide(errors.AuthError("invalid key", provider="anthropic", status=401))
    assert "chatdesk keys set anthropic" in decision.advice
    assert policy.decide(errors.BadRequest("nope")).advice  # a stop always says why


@pytest.mark.parametrize(("failures", "seconds"), [
    (1, 60), (2, 120), (3, 240), (4, 480), (5, 600), (6, 600), (40, 600),
])
def test_cooldown_doubles_while_failing_and_is_capped(failures: int, seconds: float) -> None:
    assert policy.cooldown_seconds(60, failures, errors.Overloaded("x")) == seconds


def test_cooldown_of_zero_failures_is_the_base() -> None:
    assert policy.cooldown_seconds(45, 0, None) == 45


def test_retry_after_makes_the_cooldown_at_least_that_long() -> None:
    limited = errors.RateLimited("slow down", status=429, retry_after=120)
    assert policy.cooldown_seconds(60, 1, limited) == 120
    # A short retry-after does not shorten the cooldown.
    assert policy.cooldown_seconds(60, 1, errors.Overloaded("x", retry_after=5)) == 60
    # retry-after may exceed the 10-minute cap: the provider asked for it.
    assert policy.cooldown_seconds(60, 1, errors.Overloaded("x", retry_after=900)) == 900


def test_quota_exhaustion_waits_the_longest() -> None:
    quota = errors.QuotaExceeded("insufficient_quota", status=429)
    assert policy.cooldown_seconds(60, 1, quota) == policy.MAX_COOLDOWN_S == 600


def test_retry_after_from_the_wire_reaches_the_cooldown() -> None:
    error = errors.classify_response(529, {"retry-after": "120"},
                                     '{"error": {"type": "overloaded_error"}}', "main")
    assert policy.cooldown_seconds(60, 1, error) == 120


@pytest.mark.parametrize(("error", "rotates"), [
    (errors.RateLimited("slow down", status=429), True),
    (errors.QuotaExceeded("insufficient_quota", status=429), True),
    (errors.AuthError("invalid x-api-key", status=401), True),
    (errors.ServerError("internal", status=500), False),
    (errors.Overloaded("overloaded", status=529), False),
    (errors.ProviderTimeout("timed out"), False),
    (errors.MissingKey("no key"), False),
])
def test_only_a_keys_own_failures_rotate_to_the_next_key(error: errors.ProviderError,
                                                         rotates: bool) -> None:
    """A rate limit, an exhausted quota or a rejected key is the key's; a server error,
    an overload or a timeout is the provider's (no other key would do better)."""
    assert policy.decide(error).rotate_key is rotates
