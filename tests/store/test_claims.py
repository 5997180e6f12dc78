"""Claims name their process; recovery cleans up after a dead one and leaves live ones be."""

from __future__ import annotations

import pytest

from chatdesk.store import HistoryStore, owner
from tests.store.test_owner import _dead_owner

REASON = "chatdesk stopped"


@pytest.fixture
def dead(monkeypatch: pytest.MonkeyPatch) -> str:
    """Writes made from now on are made by a process that then died."""
    name = _dead_owner()
    monkeypatch.setattr("chatdesk.store.claims.this_process", lambda: name)
    monkeypatch.setattr("chatdesk.store.history.this_process", lambda: name)
    return name


def _ask_cut_off(store: HistoryStore, text: str = "question", streamed: str = "half an") -> tuple:
    """What `ask` leaves when killed mid-stream: a claimed user message, a partial answer and
    its attempt running."""
    conv = store.create_conversation()
    user = store.add_message(conv.id, "user", text)
    store.claim_message(user.id)
    answer = store.add_message(conv.id, "assistant", streamed, status="partial",
                               provider="openai", model="gpt")
    attempt = store.start_attempt(answer.id, "openai", "gpt")
    return user, answer, attempt


def left_by_a_killed_ask(store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """What a `chatdesk ask` killed mid-stream left behind in `store`, written as that dead
    process (see _ask_cut_off); this process stays itself afterwards."""
    dead = _dead_owner()
    with monkeypatch.context() as m:
        m.setattr("chatdesk.store.claims.this_process", lambda: dead)
        m.setattr("chatdesk.store.history.this_process", lambda: dead)
        return _ask_cut_off(store)


def test_recovery_after_a_dead_ask(store: HistoryStore, dead: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    user, answer, attempt = _ask_cut_off(store)
    empty_user, empty_answer, _ = _ask_cut_off(store, "other", streamed="")
    monkeypatch.undo()  # from here on: the live process that starts next
    assert store.pending_messages() == []  # nothing pending yet: the user messages are sent

    found = store.recover_interrupted(REASON)

    assert found.attempts_closed == 2
    assert found.answers_interrupted == (answer.id, empty_answer.id)
    assert found.made_pending == (user.id, empty_user.id)
    closed = store.get_attempt(attempt)
    assert closed is not None and (closed.outcome, closed.error_class, closed.error_message) \
        == ("failed", "interrupted", REASON) and closed.ended_at
    kept = store.get_message(answer.id)
    assert kept is not None and (kept.status, kept.content, kept.finish_reason) == \
        ("partial", "half an", "interrupted")
    assert store.get_message(empty_answer.id).status == "failed"  # type: ignore[union-attr]
    assert [m.id for m in store.pending_messages()] == [user.id, empty_user.id]
    # The app sends those by itself only after asking: they are told apart.
    assert store.pending_messages(interrupted=False) == []
    assert store.interrupted_answers(user) == [answer.id]
    # Running it again (another process starting) finds nothing left to do.
    again = store.recover_interrupted(REASON)
    assert (again.attempts_closed, again.answers_interrupted, again.made_pending) == (0, (), ())


def test_a_live_process_keeps_its_claims_and_attempts(store: HistoryStore) -> None:
    user, answer, attempt = _ask_cut_off(store)
    pending = store.add_message(user.conversation_id, "user", "later", status="pending")
    assert store.claim_pending(pending.id)
    found = store.recover_interrupted(REASON)
    assert (found.attempts_closed, found.made_pending) == (0, ())
    assert store.get_attempt(attempt).outcome == "running"  # type: ignore[union-attr]
    assert store.pending_messages() == []
    assert not store.claim_pending(pending.id)


def test_a_dead_process_claim_is_free_at_once(store: HistoryStore, dead: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    conv = store.create_conversation()
    message = store.add_message(conv.id, "user", "hello?", status="pending")
    assert store.claim_pending(message.id)  # a lease of 900 s, by a process now dead
    monkeypatch.undo()
    assert [m.id for m in store.pending_messages()] == [message.id]
    assert store.claim_pending(message.id)
    assert store.pending_messages() == []


def test_a_dead_sender_that_saved_its_answer_is_not_sent_again(
        store: HistoryStore, dead: str, monkeypatch: pytest.MonkeyPatch) -> None:
    conv = store.create_conversation()
    message = store.add_message(conv.id, "user", "hello?", status="pending")
    assert store.claim_pending(message.id)
    store.add_message(conv.id, "assistant", "hi!", status="complete")  # then it died
    monkeypatch.undo()
    assert not store.claim_pending(message.id)
    assert store.get_message(message.id).status == "complete"  # type: ignore[union-attr]


def test_a_claim_from_another_machine_waits_for_its_lease(store: HistoryStore,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr("chatdesk.store.claims.this_process", lambda: "elsewhere/1/1")
    conv = store.create_conversation()
    message = store.add_message(conv.id, "user", "hello?", status="pending")
    assert store.claim_pending(message.id)
    monkeypatch.undo()
    assert owner.is_dead("elsewhere/1/1") is False
    assert store.pending_messages() == []
    assert store.recover_interrupted(REASON).made_pending == ()


def test_attempts_an_older_chatdesk_left_running_close_after_the_lease(
        store: HistoryStore) -> None:
    """Rows written before schema 2 name no owner: old enough, they count as dead."""
    old_user, old_answer, old_attempt = _ask_cut_off(store)
    new_user, _, new_attempt = _ask_cut_off(store, "recent")
    conn = store.db.conn
    conn.execute("UPDATE attempts SET owner = NULL")
    conn.execute("UPDATE messages SET claimed_by = NULL, claimed_until = NULL")
    conn.execute("UPDATE attempts SET started_at = '2020-01-01T00:00:00.000+00:00'"
                 " WHERE id = ?", (old_attempt,))
    found = store.recover_interrupted(REASON)
    assert (found.attempts_closed, found.answers_interrupted, found.made_pending) == \
        (1, (old_answer.id,), (old_user.id,))
    assert store.get_attempt(new_attempt).outcome == "running"  # type: ignore[union-attr]
    assert store.get_message(new_user.id).status == "complete"  # type: ignore[union-attr]
