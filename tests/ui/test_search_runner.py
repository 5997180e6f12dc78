"""Searches run on their own thread: typing goes on, stale queries are stopped, the newest wins."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer

from chatdesk.store import HistoryStore
from chatdesk.ui.search_runner import SearchRunner
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()
ENDLESS = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)"
           " SELECT count(*) FROM n")


@pytest.fixture
def history(tmp_path: Path) -> Any:
    path = tmp_path / "history.db"
    with HistoryStore.open(path) as store:
        conv = store.create_conversation("Animals")
        for word in ("wombat", "otter", "wombat burrow"):
            store.add_message(conv.id, "user", f"a {word} here")
        yield path, store


def test_hits_come_back_on_the_gui_thread(qtbot: Any, history: Any) -> None:
    runner = SearchRunner(history[0])
    got: list[tuple[int, str, list[Any], bool]] = []
    runner.found.connect(lambda t, q, hits: got.append(
        (t, q, hits, threading.current_thread() is threading.main_thread())))
    ticket = runner.search("wombat", 20, "[", "]")
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    runner.close()
    (t, query, hits, on_gui), = got
    assert (t, query, on_gui) == (ticket, "wombat", True)
    assert sorted(h.snippet for h in hits) == ["a [wombat] burrow here", "a [wombat] here"]


def test_a_stale_query_is_stopped_and_the_newest_is_shown(
        qtbot: Any, history: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chatdesk.store import history as history_module

    real = history_module.search_messages
    started = threading.Event()

    def search(conn: sqlite3.Connection, query: str, *args: Any, **kw: Any) -> Any:
        if query == "endless":
            started.set()
            conn.execute(ENDLESS).fetchall()  # only an interrupt ends this
        return real(conn, query, *args, **kw)

    monkeypatch.setattr(history_module, "search_messages", search)
    runner = SearchRunner(history[0])
    shown: list[str] = []
    runner.found.connect(lambda _t, query, _hits: shown.append(query))
    failed: list[str] = []
    runner.failed.connect(lambda _t, why: failed.append(why))
    # The event loop keeps turning while the endless query runs (typing is not held up).
    ticks: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(clock.elapsed()))
    timer.start()
    runner.search("endless", 20, "[", "]")
    assert started.wait(5)
    qtbot.wait(300)
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) > 20 and max(gaps) < 100
    began = time.monotonic()
    runner.search("otter", 20, "[", "]")  # typed on: the endless one is interrupted
    qtbot.waitUntil(lambda: shown == ["otter"], timeout=5000)
    assert time.monotonic() - began < 3 and failed == []  # the stale one says nothing
    timer.stop()
    runner.search("endless", 20, "[", "]")
    assert started.wait(5)
    began = time.monotonic()
    runner.close()  # closing interrupts a running query too
    assert time.monotonic() - began < 3


def test_many_quick_searches_show_only_the_last(qtbot: Any, history: Any) -> None:
    runner = SearchRunner(history[0])
    shown: list[str] = []
    runner.found.connect(lambda _t, query, _hits: shown.append(query))
    for prefix in ("w", "wo", "wom", "womb", "womba", "wombat", "otter"):
        last = runner.search(prefix + "*", 20, "[", "]")
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == "otter*", timeout=5000)
    qtbot.wait(100)
    runner.close()
    asked = ["w*", "wo*", "wom*", "womb*", "womba*", "wombat*", "otter*"]
    assert shown[-1] == "otter*" and runner.latest == last
    assert shown == sorted(set(shown), key=asked.index)  # never an older one after a newer


def test_a_history_that_cannot_be_opened_says_so(qtbot: Any, tmp_path: Path) -> None:
    runner = SearchRunner(tmp_path / "missing" / "history.db")
    failed: list[str] = []
    runner.failed.connect(lambda _t, why: failed.append(why))
    runner.search("x", 20, "[", "]")
    qtbot.waitUntil(lambda: bool(failed), timeout=5000)
    runner.close()
    assert "history.db" in failed[0] and "\n" not in failed[0]
