"""Conversations: creation, listing order and counts, titles, soft delete and JSON shapes."""

from __future__ import annotations

import re
import time

import pytest

from chatdesk.store import (
    HistoryStore,
    NotFoundError,
    conversation_to_json,
    summary_to_json,
)
from chatdesk.store.models import derive_title

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


def test_create_and_get(store: HistoryStore) -> None:
    conv = store.create_conversation("Plans", system_prompt="Be brief", preferred_provider="ollama")
    got = store.get_conversation(conv.id)
    assert got == conv
    assert got is not None
    assert got.title == "Plans"
    assert got.system_prompt == "Be brief"
    assert got.preferred_provider == "ollama"
    assert re.fullmatch(r"[0-9a-f]{32}", got.uid)
    assert ISO_MS.match(got.created_at) and got.updated_at == got.created_at
    assert store.get_conversation(conv.id + 100) is None


def test_list_orders_pinned_then_recent_with_counts(store: HistoryStore) -> None:
    a = store.create_conversation("a")
    b = store.create_conversation("b")
    c = store.create_conversation("c")
    store.add_message(a.id, "user", "one")
    time.sleep(0.002)
    store.add_message(b.id, "user", "two")
    store.add_message(b.id, "assistant", "three", provider="p", model="m")
    store.add_message(b.id, "assistant", "alt", is_alternate=True)
    time.sleep(0.002)
    store.add_message(a.id, "assistant", "four")  # a is now the most recent
    store.set_pinned(c.id, True)

    listed = store.list_conversations()
    assert [s.id for s in listed] == [c.id, a.id, b.id]
    assert [s.message_count for s in listed] == [0, 2, 2]  # the alternate is not counted
    assert listed[0].pinned is True
    assert store.count_conversations() == 3
    assert [s.id for s in store.list_conversations(limit=1, offset=1)] == [a.id]
    latest = store.latest_conversation()
    assert latest is not None and latest.id == a.id  # by updated_at, pinning aside


def test_first_user_message_names_an_untitled_conversation(store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "system", "You are helpful")
    text = "  How do I\nparse   JSON in Rust without pulling in serde or any other crate at all?"
    store.add_message(conv.id, "user", text)
    store.add_message(conv.id, "user", "Second question should not rename")
    title = store.get_conversation(conv.id).title  # type: ignore[union-attr]
    assert title is not None
    assert "\n" not in title and title.startswith("How do I parse JSON in Rust")
    assert len(title) <= 61 and title.endswith("…")

    named = store.create_conversation("Kept")
    store.add_message(named.id, "user", "Something else")
    assert store.get_conversation(named.id).title == "Kept"  # type: ignore[union-attr]


def test_derive_title() -> None:
    assert derive_title("short one") == "short one"
    assert derive_title("   \n ") is None
    long = "word " * 40
    assert derive_title(long) is not None and len(derive_title(long) or "") <= 61


def test_rename_pin_preferred_and_missing(store: HistoryStore) -> None:
    conv = store.create_conversation("old")
    store.rename_conversation(conv.id, "  new  ")
    store.set_preferred_provider(conv.id, "gemini")
    store.set_pinned(conv.id, True)
    store.set_system_prompt(conv.id, "Answer in French")
    got = store.get_conversation(conv.id)
    assert got is not None
    assert (got.title, got.preferred_provider, got.pinned) == ("new", "gemini", True)
    assert got.system_prompt == "Answer in French"
    store.set_preferred_provider(conv.id, None)
    assert store.get_conversation(conv.id).preferred_provider is None  # type: ignore[union-attr]
    with pytest.raises(NotFoundError, match="no conversation 999"):
        store.rename_conversation(999, "x")
    with pytest.raises(NotFoundError):
        store.add_message(999, "user", "lost?")


def test_soft_delete_restore_and_purge(store: HistoryStore) -> None:
    keep = store.create_conversation("keep")
    gone = store.create_conversation("gone")
    msg = store.add_message(gone.id, "user", "zebra crossing", status="pending")
    store.delete_conversation(gone.id)

    assert [s.id for s in store.list_conversations()] == [keep.id]
    assert store.count_conversations() == 1 and store.count_conversations(include_deleted=True) == 2
    assert store.get_conversation(gone.id) is None
    deleted = store.get_conversation(gone.id, include_deleted=True)
    assert deleted is not None and deleted.deleted_at is not None
    assert store.search("zebra") == []
    assert store.pending_messages() == []
    listed = store.list_conversations(include_deleted=True)
    assert {s.id for s in listed} == {keep.id, gone.id}

    store.restore_conversation(gone.id)
    assert store.get_conversation(gone.id) is not None
    assert [h.message_id for h in store.search("zebra")] == [msg.id]

    store.delete_conversation(gone.id)
    assert store.purge_deleted(older_than_s=3600) == 0  # too recent
    assert store.purge_deleted() == 1
    assert store.get_conversation(gone.id, include_deleted=True) is None
    assert store.get_message(msg.id) is None  # cascaded
    assert store.count_conversations(include_deleted=True) == 1


def test_import_fields_and_find_by_source(store: HistoryStore) -> None:
    conv = store.create_conversation(
        "Imported", source="chatgpt", source_id="abc", created_at="2024-01-02T03:04:05.000+00:00"
    )
    store.add_message(conv.id, "user", "old", created_at="2024-01-02T03:05:00.000+00:00")
    found = store.find_conversation_by_source("chatgpt", "abc")
    assert found is not None and found.id == conv.id
    assert found.updated_at == "2024-01-02T03:05:00.000+00:00"  # follows the messages, not now
    assert store.find_conversation_by_source("claude", "abc") is None


def test_json_shapes(store: HistoryStore) -> None:
    conv = store.create_conversation("Shapes")
    store.add_message(conv.id, "user", "hi")
    store.add_message(conv.id, "assistant", "hello", provider="openai", model="gpt-x")
    got = store.get_conversation(conv.id)
    assert got is not None
    doc = conversation_to_json(got, store.messages(conv.id))
    assert set(doc) == {"id", "title", "created_at", "messages"}
    assert doc["id"] == conv.id and doc["title"] == "Shapes"
    assert [set(m) for m in doc["messages"]] == [
        {"id", "role", "content", "provider", "model", "status", "created_at"}
    ] * 2
    assert doc["messages"][0]["provider"] is None
    assert doc["messages"][1]["model"] == "gpt-x"
    summary = summary_to_json(store.list_conversations()[0])
    assert summary == {
        "id": conv.id,
        "title": "Shapes",
        "created_at": got.created_at,
        "updated_at": got.updated_at,
        "message_count": 2,
    }
