"""What opening does for a history file in trouble: a stray -wal, damage, daily backups."""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore, StoreError
from chatdesk.store import backups as backups_module
from chatdesk.store.errors import DamagedError
from chatdesk.store.repair import repair_history
from chatdesk.store.walcheck import stray_wal


def fill(path: Path, conversations: int = 30, words: int = 200, tag: str = "a") -> None:
    with HistoryStore.open(path) as s:
        for i in range(conversations):
            c = s.create_conversation(f"{tag} conversation {i}")
            s.add_message(c.id, "user", f"{tag} question {i} " * words)


def live_wal_of(path: Path, conversations: int) -> bytes:
    """The -wal of `path` while it holds `conversations` new uncheckpointed conversations."""
    s = HistoryStore.open(path)
    s.db.conn.execute("PRAGMA wal_autocheckpoint = 0")
    for i in range(conversations):
        c = s.create_conversation(f"b conversation {i}")
        s.add_message(c.id, "user", "bbbb " * 300)
    wal = path.with_name(path.name + "-wal").read_bytes()
    s.db.conn.close()  # a clean close would checkpoint; the copy above is what a crash leaves
    return wal


def damage(path: Path, pages: tuple[float, ...] = (0.5,)) -> None:
    """Overwrite pages in the middle of the file with garbage, as a bad disk would."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        for at in pages:
            f.seek(int(size * at) // 4096 * 4096)
            f.write(b"\xde\xad" * 4096)


# -- a -wal that is not the file's own -----------------------------------------------------

def test_a_stray_wal_is_refused_and_both_files_are_left_alone(tmp_path: Path) -> None:
    ours, other = tmp_path / "history.db", tmp_path / "other" / "history.db"
    other.parent.mkdir()
    fill(ours)
    fill(other, conversations=1, tag="b")
    ours.with_name("history.db-wal").write_bytes(live_wal_of(other, 5))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for opener in (HistoryStore.open, HistoryStore.open_readonly):
        with pytest.raises(StoreError) as info:
            opener(ours)
        message = str(info.value)
        assert "history.db-wal beside history.db is not history.db's own" in message
        assert f"Move history.db-wal (and history.db-shm) out of {tmp_path}" in message
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after["history.db"] == before["history.db"]
    assert after["history.db-wal"] == before["history.db-wal"]
    # Moved away as the sentence says, the file opens with everything it had.
    ours.with_name("history.db-wal").unlink()
    ours.with_name("history.db-shm").unlink(missing_ok=True)
    with HistoryStore.open(ours) as s:
        assert len(s.list_conversations(limit=100)) == 30


def test_a_wal_with_pages_of_another_size_is_told_apart_by_its_header(tmp_path: Path) -> None:
    ours, other = tmp_path / "history.db", tmp_path / "other.db"
    fill(ours, conversations=2)
    conn = sqlite3.connect(other, isolation_level=None)
    conn.execute("PRAGMA page_size = 8192")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES ('not a chat')")
    ours.with_name("history.db-wal").write_bytes(other.with_name("other.db-wal").read_bytes())
    conn.close()
    assert stray_wal(ours) == "its pages are another size"


def test_the_files_own_wal_after_a_crash_is_replayed(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    fill(path, conversations=3)
    wal = live_wal_of(path, 4)  # the process "crashed" with four conversations in the WAL
    path.with_name("history.db-wal").write_bytes(wal)
    assert stray_wal(path) is None
    with HistoryStore.open(path) as s:
        assert len(s.list_conversations(limit=100)) == 7


def test_no_false_alarm_over_many_writes_and_checkpoints(tmp_path: Path) -> None:
    """Snapshots of a file and its own WAL, taken between writes, deletes and partial
    checkpoints, are never taken for strays."""
    path, snap = tmp_path / "history.db", tmp_path / "snap"
    snap.mkdir()
    s = HistoryStore.open(path)
    try:
        for step in range(120):
            kind = step % 6
            if kind in (0, 1, 2):
                c = s.create_conversation(f"c{step}")
                s.add_message(c.id, "user", "x" * (step * 97 % 9000 + 1))
            elif kind == 3:
                s.rename_conversation(c.id, f"t{step}")
            elif kind == 4:
                s.db.conn.execute("DELETE FROM messages WHERE id = (SELECT min(id) FROM messages)")
            else:
                s.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            for suffix in ("", "-wal"):
                shutil.copy(path.with_name(path.name + suffix), snap / ("history.db" + suffix))
            assert stray_wal(snap / "history.db") is None, step
    finally:
        s.close()


# -- damage ------------------------------------------------------------------------------

def test_a_damaged_file_opens_read_only_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    fill(path, conversations=200, words=40)
    damage(path)
    with HistoryStore.open(path) as s:
        assert s.readonly
        assert s.list_conversations(limit=5)  # what can be read still is
        with pytest.raises(DamagedError) as info:
            s.add_message(1, "user", "this must not go into a damaged file")
    message = str(info.value)
    assert message.startswith("history.db is damaged (")
    assert "It has no backup yet to restore; `chatdesk repair` saves what" in message


def test_damage_seen_while_reading_stops_the_next_writer(tmp_path: Path) -> None:
    """The issue's case: `history list` reports damage, then `ask -c` would write anyway
    (the day's check had already passed)."""
    path = tmp_path / "history.db"
    fill(path, conversations=200, words=40)
    HistoryStore.open(path).close()  # today's check and backup are done
    damage(path)
    with HistoryStore.open(path) as reader, pytest.raises(DamagedError):
        for conv in reader.list_conversations(limit=1000):
            reader.messages(conv.id)
    with HistoryStore.open(path) as writer:
        assert writer.readonly
        with pytest.raises(DamagedError, match=r"Restore its newest backup \(backups/history-"):
            writer.add_message(1, "user", "not into a damaged file")


def test_repair_salvages_what_can_be_read_and_keeps_the_original(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    fill(path, conversations=200, words=40)
    damage(path)
    damaged_bytes = path.read_bytes()
    report = repair_history(path)
    assert report.damaged is not None and report.damaged.read_bytes() == damaged_bytes
    assert report.conversations == 200 and 150 < report.messages < 200
    with HistoryStore.open(path) as s:
        assert not s.readonly
        assert s.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert len(s.search("question")) > 0  # the search index is rebuilt
        s.add_message(1, "user", "writes work again")
    assert repair_history(path).damaged is None  # a sound file is left alone


# -- daily backups -----------------------------------------------------------------------

def test_daily_backups_keep_the_newest_few(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    fill(path, conversations=2)
    keep = backups_module.ROLLING_KEEP
    start = date.today() - timedelta(keep + 3)
    for n in range(keep + 3):  # a week of days before today; opening backs up today
        with HistoryStore.open(path) as s:
            assert backups_module.check_and_back_up(s.db.conn, path, start + timedelta(n)) is None
    kept = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert kept == [f"history-{date.today() - timedelta(n)}.db" for n in reversed(range(keep))]
    with sqlite3.connect(tmp_path / "backups" / kept[-1]) as copy:
        assert copy.execute("SELECT count(*) FROM conversations").fetchone()[0] == 2
    if os.name == "posix":
        assert {(tmp_path / "backups" / k).stat().st_mode & 0o777 for k in kept} == {0o600}
        assert (tmp_path / "backups").stat().st_mode & 0o777 == 0o700


def test_an_error_names_only_backups_that_exist(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    fill(path, conversations=200, words=40)
    damage(path)
    with HistoryStore.open(path) as s, pytest.raises(DamagedError) as info:
        s.add_message(1, "user", "x")
    assert "bak-" not in str(info.value) and "backups/" not in str(info.value)
    assert not (tmp_path / "backups").exists()  # a damaged file is not backed up
