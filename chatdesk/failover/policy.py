"""The one place that decides what a provider failure means: fail over, cool down, or stop."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from chatdesk import wording
from chatdesk.providers import errors

MAX_COOLDOWN_S = 600.0


class Action(Enum):
    FAIL_OVER = "fail_over"  # try the next provider
    STOP = "stop"  # no provider would do better: tell the user


@dataclass(frozen=True)
class Decision:
    action: Action
    cool_down: bool  # skip this provider for a while (an outage, not a problem of this request)
    no_key: bool  # the key is missing or rejected: mark the provider `no-key`
    advice: str  # what the user can do, or "" when failing over says enough
    # The key's problem, not the provider's (a rate limit, an exhausted quota, a rejected
    # key): the provider's next usable key is tried before the next provider.
    rotate_key: bool = False


def decide(error: errors.ProviderError) -> Decision:
    """The outage policy of SPEC, for one failure."""
    advice = wording.advice(error)
    if isinstance(error, errors.AuthError):
        return Decision(Action.FAIL_OVER, cool_down=False, no_key=True, advice=advice,
                        rotate_key=True)
    if isinstance(error, errors.MissingKey):
        return Decision(Action.FAIL_OVER, cool_down=False, no_key=True, advice=advice)
    if isinstance(error, errors.RateLimited):  # QuotaExceeded too
        return Decision(Action.FAIL_OVER, cool_down=True, no_key=False, advice=advice,
                        rotate_key=True)
    if isinstance(error, errors.NotFound):
        # A wrong model or URL: not an outage, and cooling down would hide the provider from
        # other conversations that use a model it does have.
        return Decision(Action.FAIL_OVER, cool_down=False, no_key=False, advice=advice)
    if isinstance(error, errors.ContextTooLong):
        # Not an outage: a provider with a larger context may still take it.
        return Decision(Action.FAIL_OVER, cool_down=False, no_key=False, advice=advice)
    if isinstance(error, errors.BadRequest):
        return Decision(Action.STOP, cool_down=False, no_key=False, advice=advice)
    return Decision(Action.FAIL_OVER, cool_down=True, no_key=False, advice=advice)


def unproven_parts(error: errors.ProviderError, decision: Decision) -> Decision:
    """A request rejected as bad (400) that carried images or PDFs to a model not known to
    take them: most likely that is why, and a backup that takes them may answer, so it
    fails over (without cooling down) instead of stopping."""
    if isinstance(error, errors.BadRequest) and decision.action is Action.STOP:
        return Decision(Action.FAIL_OVER, cool_down=False, no_key=False, advice="")
    return decision


def cooldown_seconds(base_s: float, failures: int, error: errors.ProviderError | None) -> float:
    """How long to skip a provider after its `failures`-th failure in a row."""
    seconds = min(base_s * 2.0 ** max(0, failures - 1), MAX_COOLDOWN_S)
    if isinstance(error, errors.QuotaExceeded):
        seconds = MAX_COOLDOWN_S  # billing problems do not pass within minutes
    if error is not None and error.retry_after is not None:
        seconds = max(seconds, error.retry_after)
    return seconds


def key_cooldown_seconds(base_s: float, failures: int, error: errors.ProviderError) -> float:
    """How long one key of a pool is left out after its `failures`-th failure in a row: a
    rejected key as long as a provider's rejected key, else like a provider's cooldown."""
    from chatdesk.failover.health import NO_KEY_RETRY_S

    if isinstance(error, errors.AuthError):
        return NO_KEY_RETRY_S
    return cooldown_seconds(base_s, failures, error)
