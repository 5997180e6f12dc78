"""History searches on a thread of their own, so typing never waits for a query."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from chatdesk.store import HistoryStore, SearchHit, StoreError


@dataclass(frozen=True)
class SearchRequest:
    ticket: int  # grows with every request: only the newest one's hits are shown
    query: str
    limit: int
    start: str  # what the snippets' matches are wrapped in
    end: str


class SearchRunner(QObject):
    """Runs searches on a worker thread with its own read-only connection to the history.

    A new request stops the query still running (it is stale: the person typed on), and
    only the newest request's hits are sent back, through `found` on the GUI thread."""

    found = Signal(int, str, list)  # ticket, query, hits
    failed = Signal(int, str)  # ticket, a sentence

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._lock = threading.Condition()
        self._next: SearchRequest | None = None
        self._ticket = 0
        self._reader: HistoryStore | None = None  # opened, used and closed in the thread
        self._closed = False
        self._thread: threading.Thread | None = None

    def search(self, query: str, limit: int, start: str, end: str) -> int:
        """Ask for a search; returns its ticket (the one `found` will carry)."""
        with self._lock:
            if self._closed:
                return self._ticket
            self._ticket += 1
            self._next = SearchRequest(self._ticket, query, limit, start, end)
            if self._reader is not None:
                self._reader.interrupt()  # whatever it is running is stale now
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="chatdesk-search",
                                                daemon=True)
                self._thread.start()
            self._lock.notify()
            return self._ticket

    @property
    def latest(self) -> int:
        return self._ticket

    def close(self) -> None:
        """Stop the worker (a running query is interrupted) and wait for it."""
        with self._lock:
            self._closed = True
            self._next = None
            if self._reader is not None:
                self._reader.interrupt()
            self._lock.notify()
            thread = self._thread
        if thread is not None:
            thread.join(5)

    def _run(self) -> None:
        try:
            reader = HistoryStore.open_readonly(self.path)
        except StoreError as exc:
            self.failed.emit(self._ticket, str(exc))
            with self._lock:
                self._thread = None  # the next request tries again
            return
        with self._lock:
            self._reader = reader
        try:
            while True:
                with self._lock:
                    while self._next is None and not self._closed:
                        self._lock.wait()
                    if self._closed:
                        return
                    request, self._next = self._next, None
                assert request is not None
                self._answer(reader, request)
        finally:
            with self._lock:
                self._reader = None
            reader.close()

    def _answer(self, reader: HistoryStore, request: SearchRequest) -> None:
        try:
            hits: list[SearchHit] = reader.search(request.query, request.limit,
                                                  start=request.start, end=request.end)
        except StoreError as exc:
            if request.ticket == self._ticket:  # not merely interrupted by a newer one
                self.failed.emit(request.ticket, str(exc))
            return
        if request.ticket == self._ticket:
            self.found.emit(request.ticket, request.query, hits)
