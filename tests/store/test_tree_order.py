"""A conversation reads in the order of its tree, whatever its (imported) clock says."""

from __future__ import annotations

from chatdesk.store import HistoryStore
from chatdesk.store.models import StoredMessage, in_tree_order


def _skewed(store: HistoryStore) -> tuple[int, list[int]]:
    """question 1 → answer (stamped 0.8 s before its question) → question 2 → answer."""
    cid = store.create_conversation(title="skewed").id
    q1 = store.add_message(cid, "user", "q1", created_at="2025-03-01T10:00:01.000+00:00").id
    a1 = store.add_message(cid, "assistant", "a1", parent_id=q1,
                           created_at="2025-03-01T10:00:00.200+00:00").id
    q2 = store.add_message(cid, "user", "q2", parent_id=a1,
                           created_at="2025-03-01T10:05:00.000+00:00").id
    a2 = store.add_message(cid, "assistant", "a2", parent_id=q2,
                           created_at="2025-03-01T10:04:59.900+00:00").id
    return cid, [q1, a1, q2, a2]


def test_messages_follow_the_tree_and_keep_their_times(store: HistoryStore) -> None:
    cid, ids = _skewed(store)
    got = store.messages(cid)
    assert [m.id for m in got] == ids
    assert [m.created_at[11:23] for m in got] == [
        "10:00:01.000", "10:00:00.200", "10:05:00.000", "10:04:59.900"]
    assert store.last_message_id(cid) == ids[-1]


def test_time_order_stands_where_nothing_links_the_messages(store: HistoryStore) -> None:
    cid = store.create_conversation(title="loose").id
    late = store.add_message(cid, "user", "late", created_at="2025-03-01T10:00:05.000+00:00").id
    early = store.add_message(cid, "user", "early",
                              created_at="2025-03-01T10:00:01.000+00:00").id
    assert [m.id for m in store.messages(cid)] == [early, late]
    assert store.last_message_id(cid) == late


def _message(id: int, parent: int | None) -> StoredMessage:
    return StoredMessage(id=id, uid=f"u{id}", conversation_id=1, role="user", content=str(id),
                         status="complete", created_at=f"t{id}", updated_at=f"t{id}",
                         parent_id=parent)


def test_ancestors_come_first_and_a_cycle_does_not_hang() -> None:
    # time order 3, 1, 2 where 3 answers 2 and 2 answers 1
    msgs = [_message(3, 2), _message(1, None), _message(2, 1)]
    assert [m.id for m in in_tree_order(msgs)] == [1, 2, 3]
    looped = [_message(1, 2), _message(2, 1)]
    assert sorted(m.id for m in in_tree_order(looped)) == [1, 2]
