"""What the import tests share: a fresh history, and how much it holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(tmp_path / "history.db") as s:
        yield s


def stored_counts(store: HistoryStore) -> tuple[int, int]:
    """(conversations, messages) in the history."""
    conn = store.db.conn
    return (conn.execute("SELECT count(*) FROM conversations").fetchone()[0],
            conn.execute("SELECT count(*) FROM messages").fetchone()[0])  # fmt: skip


def stored_outline(store: HistoryStore) -> list[tuple[str, bool, str, str | None, str]]:
    """Every conversation's messages: (role, alternate?, first words, reasoning, time)."""
    out = []
    for summary in sorted(store.list_conversations(), key=lambda c: c.created_at):
        for m in store.messages(summary.id, include_alternates=True):
            out.append((m.role, m.is_alternate, " ".join(m.content.split()[:4]),
                        m.reasoning, m.created_at))
    return out
