"""Messages, pending claims, attempts, provider health and batched transactions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chatdesk.store import HealthRow, HistoryStore, NotFoundError, StoreError


def test_messages_in_order_and_alternates(store: HistoryStore) -> None:
    conv = store.create_conversation("t")
    t1, t2 = "2025-01-01T00:00:01.000+00:00", "2025-01-01T00:00:02.000+00:00"
    late = store.add_message(conv.id, "assistant", "late", created_at=t2)
    early = store.add_message(conv.id, "user", "early", created_at=t1)
    tie = store.add_message(conv.id, "assistant", "same time, later id", created_at=t1)
    alt = store.add_message(conv.id, "assistant", "alt", parent_id=early.id, is_alternate=True)

    assert [m.id for m in store.messages(conv.id)] == [early.id, tie.id, late.id]
    everything = store.messages(conv.id, include_alternates=True)
    assert [m.id for m in everything] == [early.id, tie.id, late.id, alt.id]
    got = store.get_message(alt.id)
    assert got is not None and got.is_alternate and got.parent_id == early.id
    assert store.get_message(late.id) == late


def test_set_alternate_keeps_an_edited_exchange_out_of_the_conversation(
        store: HistoryStore) -> None:
    conv = store.create_conversation("t")
    question = store.add_message(conv.id, "user", "a question never sent", status="pending")
    answer = store.add_message(conv.id, "assistant", "an answer", parent_id=question.id)
    assert [m.id for m in store.pending_messages()] == [question.id]
    store.set_alternate([question.id, answer.id])
    assert store.messages(conv.id) == []
    kept = store.messages(conv.id, include_alternates=True)
    assert [(m.id, m.is_alternate) for m in kept] == [(question.id, True), (answer.id, True)]
    assert store.pending_messages() == []  # an edited pending message is not sent any more
    assert [h.message_id for h in store.search("never sent")] == [question.id]


def test_add_message_validates(store: HistoryStore) -> None:
    conv = store.create_conversation()
    with pytest.raises(ValueError):
        store.add_message(conv.id, "robot", "x")
    with pytest.raises(ValueError):
        store.add_message(conv.id, "user", "x", status="done")
    assert store.messages(conv.id) == []


def test_add_message_is_durable_at_once(store: HistoryStore, db_path: Path) -> None:
    conv = store.create_conversation()
    msg = store.add_message(conv.id, "user", "saved before sending")
    with HistoryStore.open(db_path) as other:  # a second connection sees it committed
        assert other.get_message(msg.id) == msg


def test_status_content_finish_and_delete(store: HistoryStore) -> None:
    conv = store.create_conversation("t")
    before = store.get_conversation(conv.id).updated_at  # type: ignore[union-attr]
    ans = store.add_message(conv.id, "assistant", "", status="partial")
    store.update_message_content(ans.id, "Hel")
    store.update_message_content(ans.id, "Hello wor")
    assert store.get_message(ans.id).content == "Hello wor"  # type: ignore[union-attr]
    time.sleep(0.002)
    done = store.finish_message(
        ans.id, content="Hello world", status="complete", provider="gemini", model="g",
        input_tokens=10, output_tokens=3, finish_reason="STOP",
    )  # fmt: skip
    assert (done.content, done.status, done.provider, done.model) == (
        "Hello world",
        "complete",
        "gemini",
        "g",
    )
    assert (done.input_tokens, done.output_tokens, done.finish_reason) == (10, 3, "STOP")
    assert store.get_conversation(conv.id).updated_at > before  # type: ignore[union-attr]
    store.set_message_status(ans.id, "failed")
    assert store.get_message(ans.id).status == "failed"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        store.set_message_status(ans.id, "weird")
    store.delete_message(ans.id)
    assert store.get_message(ans.id) is None
    with pytest.raises(NotFoundError):
        store.delete_message(ans.id)
    with pytest.raises(NotFoundError):
        store.update_message_content(ans.id, "x")


def test_pending_and_claim_exactly_once(store: HistoryStore, db_path: Path) -> None:
    conv = store.create_conversation()
    first = store.add_message(conv.id, "user", "first", status="pending")
    store.add_message(conv.id, "assistant", "not a user message", status="pending")
    second = store.add_message(conv.id, "user", "second", status="pending")
    store.add_message(conv.id, "user", "sent", status="complete")
    assert [m.id for m in store.pending_messages()] == [first.id, second.id]

    with HistoryStore.open(db_path) as other:
        assert store.claim_pending(first.id) is True
        assert other.claim_pending(first.id) is False
        assert store.claim_pending(first.id) is False
        assert other.claim_pending(second.id) is True
        assert store.claim_pending(second.id) is False
    assert store.pending_messages() == []
    # Claimed, not answered yet: still pending, so a crash loses nothing.
    assert store.get_message(first.id).status == "pending"  # type: ignore[union-attr]
    store.set_message_status(first.id, "complete")
    store.release_claim(second.id)
    assert [m.id for m in store.pending_messages()] == [second.id]


def test_a_claim_lapses_when_its_sender_died(store: HistoryStore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    conv = store.create_conversation()
    message = store.add_message(conv.id, "user", "hello?", status="pending")
    assert store.claim_pending(message.id, lease_s=60)
    assert store.pending_messages() == []
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert [m.id for m in store.pending_messages()] == [message.id]
    assert store.claim_pending(message.id)


def test_attempts_round_trip(store: HistoryStore) -> None:
    conv = store.create_conversation()
    ans = store.add_message(conv.id, "assistant", "", status="partial")
    first = store.start_attempt(ans.id, "anthropic", "claude")
    store.update_attempt_text(first, "Once upon")
    store.finish_attempt(
        first, outcome="failed", error_class="overloaded", error_message="Overloaded",
        http_status=529,
    )  # fmt: skip
    second = store.start_attempt(ans.id, "openai", "gpt", continued_from=first)
    running = store.get_attempt(second)
    assert running is not None and running.outcome == "running" and running.ended_at is None
    store.finish_attempt(second, outcome="ok", streamed_text=" a time")

    attempts = store.attempts(ans.id)
    assert [a.id for a in attempts] == [first, second]
    a, b = attempts
    assert (a.provider, a.model, a.outcome, a.error_class, a.http_status) == (
        "anthropic",
        "claude",
        "failed",
        "overloaded",
        529,
    )
    assert a.streamed_text == "Once upon" and a.ended_at is not None
    assert (b.continued_from, b.outcome, b.streamed_text) == (first, "ok", " a time")
    with pytest.raises(ValueError):
        store.finish_attempt(second, outcome="running")
    store.delete_message(ans.id)
    assert store.attempts(ans.id) == []  # cascaded


def test_health_upsert(store: HistoryStore) -> None:
    assert store.get_health("anthropic") is None
    store.put_health(
        HealthRow(
            "anthropic",
            "down",
            failures=2,
            down_until=1234.5,
            last_error="overloaded (529)",
            last_error_class="overloaded",
        )
    )
    store.put_health(HealthRow("openai", "up"))
    row = store.get_health("anthropic")
    assert row is not None
    assert (row.state, row.failures, row.down_until, row.last_error_class) == (
        "down",
        2,
        1234.5,
        "overloaded",
    )
    assert row.updated_at is not None
    store.put_health(HealthRow("anthropic", "half-open", failures=3))
    row = store.get_health("anthropic")
    assert row is not None and (row.state, row.failures, row.down_until) == ("half-open", 3, None)
    assert set(store.all_health()) == {"anthropic", "openai"}
    with pytest.raises(ValueError):
        store.put_health(HealthRow("x", "sideways"))


def test_transaction_batches_and_rolls_back(store: HistoryStore, db_path: Path) -> None:
    conv = store.create_conversation()
    with HistoryStore.open(db_path) as other:
        with store.transaction():
            store.add_message(conv.id, "user", "one")
            store.add_message(conv.id, "assistant", "two")
            assert other.messages(conv.id) == []  # not committed yet
        assert len(other.messages(conv.id)) == 2

    with pytest.raises(RuntimeError), store.transaction():
        store.add_message(conv.id, "user", "three")
        raise RuntimeError("importer failed")
    assert [m.content for m in store.messages(conv.id)] == ["one", "two"]

    with pytest.raises(StoreError), store.transaction():
        store.add_message(conv.id, "user", "four")
        store.add_message(12345, "user", "no such conversation")
    assert len(store.messages(conv.id)) == 2


def test_closed_store_says_so(db_path: Path) -> None:
    s = HistoryStore.open(db_path)
    s.close()
    s.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        s.list_conversations()


def test_message_heads_are_the_main_line_in_order_without_text(store: HistoryStore) -> None:
    conv = store.create_conversation("t")
    t1, t2 = "2025-01-01T00:00:01.000+00:00", "2025-01-01T00:00:02.000+00:00"
    # an answer stamped before its question (a skewed clock) still comes after it
    question = store.add_message(conv.id, "user", "question", created_at=t2)
    answer = store.add_message(conv.id, "assistant", "answer", created_at=t1, provider="openai",
                               model="gpt-x", parent_id=question.id, input_tokens=3,
                               output_tokens=7)
    store.add_message(conv.id, "assistant", "alt", parent_id=question.id, is_alternate=True)

    heads = store.message_heads(conv.id)
    assert [h.id for h in heads] == [m.id for m in store.messages(conv.id)] \
        == [question.id, answer.id]
    head = heads[1]
    assert (head.role, head.status, head.provider, head.model, head.parent_id) == (
        "assistant", "complete", "openai", "gpt-x", question.id)
    assert not hasattr(head, "content")
    text = store.message_texts([answer.id])[answer.id]
    assert (text.content, text.reasoning, text.created_at, text.input_tokens,
            text.output_tokens) == ("answer", None, t1, 3, 7)


def test_message_texts_reads_content_and_reasoning_of_many_ids(store: HistoryStore) -> None:
    conv = store.create_conversation("t")
    with store.transaction():
        ids = [store.add_message(conv.id, "user", f"text {i}").id for i in range(1200)]
    gone = store.add_message(conv.id, "user", "deleted")
    store.delete_message(gone.id)
    texts = store.message_texts([*ids, gone.id])  # more ids than one query takes
    assert len(texts) == 1200 and gone.id not in texts
    assert texts[ids[0]].content == "text 0" and texts[ids[-1]].content == "text 1199"
