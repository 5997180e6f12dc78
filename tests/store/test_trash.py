"""The Trash: deleted conversations are kept 30 days, listed, restored or emptied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chatdesk.store import TRASH_DAYS, HistoryStore
from chatdesk.store.bulk_txn import HIDDEN


def test_trash_lists_the_latest_deletion_first_and_restores(store: HistoryStore) -> None:
    first = store.create_conversation("first")
    second = store.create_conversation("second")
    kept = store.create_conversation("kept")
    store.add_message(first.id, "user", "hello")
    store.delete_conversation(first.id)
    store.delete_conversation(second.id)
    trashed = store.trashed_conversations()
    assert [s.id for s in trashed] == [second.id, first.id]
    assert trashed[1].message_count == 1 and trashed[1].deleted_at is not None
    store.restore_conversation(first.id)
    assert [s.id for s in store.trashed_conversations()] == [second.id]
    assert {s.id for s in store.list_conversations()} == {first.id, kept.id}


def test_the_trash_keeps_30_days_then_purges(store: HistoryStore) -> None:
    gone = store.create_conversation("gone")
    store.delete_conversation(gone.id)
    now = datetime.now(UTC)
    assert store.purge_trash(now=now + timedelta(days=TRASH_DAYS) - timedelta(minutes=1)) == 0
    assert [s.id for s in store.trashed_conversations()] == [gone.id]
    assert store.purge_trash(now=now + timedelta(days=TRASH_DAYS, minutes=1)) == 1
    assert store.trashed_conversations() == []
    assert store.get_conversation(gone.id, include_deleted=True) is None


def test_emptying_some_or_all_of_the_trash(store: HistoryStore) -> None:
    a, b, c = (store.create_conversation(t) for t in "abc")
    for conv in (a, b):
        store.delete_conversation(conv.id)
    assert store.purge_deleted(ids=[a.id, c.id]) == 1  # c is not in the Trash: untouched
    assert [s.id for s in store.trashed_conversations()] == [b.id]
    assert store.get_conversation(c.id) is not None
    assert store.purge_deleted(ids=[]) == 0
    assert store.purge_deleted() == 1


def test_an_imports_hidden_conversations_are_not_trash(store: HistoryStore) -> None:
    hidden = store.create_conversation("being imported")
    with store.transaction() as tx:
        tx._connection().execute("UPDATE conversations SET deleted_at = ? WHERE id = ?",
                                 (HIDDEN, hidden.id))
    assert store.trashed_conversations() == []
    far = datetime.now(UTC) + timedelta(days=3650)
    assert store.purge_deleted(now=far) == 0 and store.purge_trash(now=far) == 0
    assert store.get_conversation(hidden.id, include_deleted=True) is not None
