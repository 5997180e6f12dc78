"""The store's connections keep a small SQLite page cache (issue 18: the window's RSS)."""

from __future__ import annotations

from pathlib import Path

from chatdesk.store import HistoryStore
from chatdesk.store.connection import CACHE_KIB


def test_every_connection_has_a_bounded_page_cache(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "history.db") as store:
        assert store._connection().execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
    with HistoryStore.open_readonly(tmp_path / "history.db") as reader:
        assert reader._connection().execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
    assert CACHE_KIB < 2000  # below SQLite's default
