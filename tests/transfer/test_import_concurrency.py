"""An import running beside chat: chat writes within a moment, the import stays all or nothing."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk.store import HistoryStore, bulk
from chatdesk.transfer.common import (
    ImportCancelled,
    ImportedConversation,
    ImportedMessage,
    write_conversations,
)
from tests.fakes.server import FakeProvider
from tests.test_chat import collect, entry, make_rig

CONVERSATIONS, MESSAGES = 1500, 20
IMPORT_S = 4.0  # the export is read this slowly, so chat has time to write meanwhile


def slow_export(done: threading.Event | None = None) -> Iterator[ImportedConversation]:
    pause = IMPORT_S / CONVERSATIONS
    for c in range(CONVERSATIONS):
        time.sleep(pause)
        messages = [
            ImportedMessage(f"c{c}m{m}", "user" if m % 2 == 0 else "assistant",
                            f"wombat {c} {m} " + "words " * 20,
                            f"2024-05-01T10:{m:02d}:00.000+00:00", None,
                            f"c{c}m{m - 1}" if m else None, False, None)
            for m in range(MESSAGES)
        ]
        yield ImportedConversation(f"c{c}", f"Imported {c}", "2024-05-01T10:00:00.000+00:00",
                                   None, messages)


class Importer(threading.Thread):
    """An import on its own connection, as another process would run it."""

    def __init__(self, path: Path, cancel_after: int | None = None) -> None:
        super().__init__()
        self.path, self.cancel_after = path, cancel_after
        self.error: BaseException | None = None
        self.seen = 0

    def cancel(self) -> bool:
        self.seen += 1
        return self.cancel_after is not None and self.seen > self.cancel_after

    def run(self) -> None:
        try:
            with HistoryStore.open(self.path) as store:
                write_conversations(store, slow_export(), "chatgpt", cancel=self.cancel)
        except BaseException as exc:  # noqa: BLE001 (the test looks at it)
            self.error = exc


def check_index(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")


async def chat_while(importer: Importer, path: Path, fake: FakeProvider) -> list[int]:
    """Send messages until the import ends; each must be saved while it still runs, and no
    reader sees any of the import meanwhile. Returns the conversations made."""
    # Generous deadlines: the import loads the machine, and this test is not about them.
    rig = make_rig(path, [entry("openai", fake)], connect_timeout_s=5, first_token_timeout_s=10,
                   stall_timeout_s=10)
    made: list[int] = []
    try:
        importer.start()
        while importer.is_alive():
            started = time.monotonic()
            events = await collect(rig.service.send(f"question {len(made)}"))
            saved = next(e for e in events if isinstance(e, ev.MessageSaved))
            if importer.is_alive():
                assert time.monotonic() - started < 3.0, "chat waited for the import"
            assert isinstance(events[-1], ev.AnswerFinished), events[-1]
            made.append(saved.conversation_id)
            # The import shows all at once, at its last commit (the writer's thread goes on a
            # little after it: it empties the WAL). Read in this order, a search that finds
            # any of it is followed by a count that has all its conversations; until its
            # commit, neither has any of it.
            found = rig.store.search("wombat")
            shown = rig.store.count_conversations()
            assert shown in (len(made), len(made) + CONVERSATIONS)
            if found:
                assert shown == len(made) + CONVERSATIONS, "its messages showed first"
        importer.join()
    finally:
        await rig.close()
    assert len(made) >= 3, "the import ended before chat could write beside it"
    return made


async def test_chat_writes_while_an_import_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    HistoryStore.open(path).close()
    with FakeProvider("openai") as fake:
        made = await chat_while(Importer(path), path, fake)
    with HistoryStore.open(path) as store:
        assert store.count_conversations() == CONVERSATIONS + len(made)
        imported = store.find_conversation_by_source("chatgpt", f"c{CONVERSATIONS - 1}")
        assert imported is not None and len(store.messages(imported.id)) == MESSAGES
        assert len(store.search("wombat", limit=100_000)) == CONVERSATIONS * MESSAGES
        for n, cid in enumerate(made):  # chat's own conversations, whole and in order
            assert [m.role for m in store.messages(cid)] == ["user", "assistant"]
            assert store.messages(cid)[0].content == f"question {n}"
        assert made == sorted(made)
        leftovers = store.db.conn.execute("SELECT count(*) FROM conversations"
                                          " WHERE deleted_at IS NOT NULL").fetchone()[0]
        assert leftovers == 0
    check_index(path)


async def test_an_import_cancelled_half_way_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    HistoryStore.open(path).close()
    importer = Importer(path, cancel_after=CONVERSATIONS // 2)
    with FakeProvider("openai") as fake:
        made = await chat_while(importer, path, fake)
    assert isinstance(importer.error, ImportCancelled)
    with HistoryStore.open(path) as store:
        assert store.count_conversations(include_deleted=True) == len(made)
        assert store.search("wombat") == []
        counts = [store.db.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("messages", "attempts")]
        assert counts == [2 * len(made), len(made)]
    check_index(path)


def test_an_import_left_unfinished_is_thrown_away_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash mid-import leaves hidden rows: never shown, and gone at the next import."""
    path = tmp_path / "history.db"
    with HistoryStore.open(path) as store:
        writer_finish = bulk.BulkWriter._finish
        monkeypatch.setattr(bulk.BulkWriter, "_finish", lambda self: self.flush(commit=True))
        monkeypatch.setattr(bulk.BulkWriter, "_discard_hidden", lambda self: None)
        with store.bulk_writer() as w:  # "crashes" after its last short transaction
            cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
            w.add_message(cid, "user", "quokka", "2024-05-01T10:00:00.000+00:00")
        assert store.count_conversations() == 0 and store.search("quokka") == []
        monkeypatch.undo()
        assert bulk.BulkWriter._finish is writer_finish
        with store.bulk_writer() as w:
            cid = w.add_conversation(created_at="2024-05-01T10:00:00.000+00:00")
            w.add_message(cid, "user", "quokka again", "2024-05-01T10:00:00.000+00:00")
        assert store.count_conversations(include_deleted=True) == 1
        assert [h.conversation_id for h in store.search("quokka")] == [cid]
    check_index(path)
