"""The typed states keep the values the store holds and SPEC's --json shapes show."""

from __future__ import annotations

import json

from chatdesk.providers import errors
from chatdesk.providers.errors import ErrorClass
from chatdesk.store import AttemptOutcome, HealthRow, HealthState, HistoryStore, MessageStatus
from chatdesk.store.models import ATTEMPT_OUTCOMES, HEALTH_STATES, MESSAGE_STATUSES


def test_stored_values_are_unchanged() -> None:
    assert MESSAGE_STATUSES == {"complete", "partial", "pending", "failed", "refused"}
    assert ATTEMPT_OUTCOMES == {"running", "ok", "failed", "cancelled"}
    assert HEALTH_STATES == {"unknown", "up", "slow", "down", "half-open", "key-rejected",
                             "no-key"}
    assert {s.value for s in MessageStatus} == MESSAGE_STATUSES
    assert {o.value for o in AttemptOutcome} == ATTEMPT_OUTCOMES
    assert {h.value for h in HealthState} == HEALTH_STATES


def test_every_error_class_has_its_name() -> None:
    kinds = {cls.kind for cls in errors.ALL_ERRORS} | {errors.ProviderError.kind}
    assert kinds | {ErrorClass.STATUS_PAGE} == set(ErrorClass)
    assert errors.AuthError.kind == "auth" and errors.MissingKey.kind == "no_key"


def test_members_are_written_and_shown_as_their_plain_values(store: HistoryStore) -> None:
    assert json.dumps([MessageStatus.PENDING, HealthState.HALF_OPEN]) == '["pending", "half-open"]'
    assert f"{HealthState.NO_KEY:<8}|" == "no-key  |" and str(ErrorClass.AUTH) == "auth"
    conversation = store.create_conversation()
    message = store.add_message(conversation.id, "user", "hi", status=MessageStatus.PENDING)
    stored = store.get_message(message.id)
    assert stored is not None and type(stored.status) is str and stored.status == "pending"
    store.put_health(HealthRow("p", HealthState.DOWN, last_error_class=ErrorClass.OVERLOADED))
    row = store.get_health("p")
    assert row is not None and (row.state, row.last_error_class) == ("down", "overloaded")
