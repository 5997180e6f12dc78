"""A connection's life: what closing it writes, and what it leaves alone."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from chatdesk.store import HistoryStore


def _stats(path: Path) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(path)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            return []
        return [tuple(r) for r in conn.execute("SELECT * FROM sqlite_stat1 ORDER BY 1, 2")]


def test_a_session_that_only_reads_writes_nothing_when_it_closes(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with HistoryStore.open(path) as store:
        for n in range(300):
            conv = store.create_conversation(f"conversation {n}")
            store.add_message(conv.id, "user", f"question {n}")
    stats = _stats(path)
    assert stats  # a session that wrote left the planner its statistics
    before = path.stat().st_mtime_ns, path.stat().st_size
    for _ in range(3):  # the app started and closed, a search on the command line
        with HistoryStore.open(path) as store:
            store.list_conversations(limit=60)
            store.search("question")
        assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    assert (path.stat().st_mtime_ns, path.stat().st_size) == before
    assert _stats(path) == stats
