"""The data dir is private: 0700 folders and 0600 files on POSIX, whatever the umask."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from chatdesk.cli import main
from chatdesk.paths import DataPaths, touch_private
from chatdesk.store import HistoryStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask, under which everything used to be 0755/0644
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): mode(p) for p in sorted(root.rglob("*"))}


def test_everything_chatdesk_creates_is_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    with HistoryStore.open(data / "history.db") as s:  # as the app's first run would
        data.chmod(0o755)
        conv = s.create_conversation("private")
        s.add_message(conv.id, "user", "my secret question")
    assert main(["--data-dir", str(data), "history", "list"]) == 0
    out = tmp_path / "out"
    out.mkdir()
    for fmt, name in (("json", "all.json"), ("html", "all.html"), ("md", "one.md")):
        assert main(["--data-dir", str(data), "export", "1", "--format", fmt,
                     "--output", str(out / name)]) == 0
    capsys.readouterr()
    with HistoryStore.open(data / "history.db") as s:  # its -wal and -shm while open
        s.add_message(conv.id, "user", "another one")
        found = modes(data)
    assert {"history.db-wal", "history.db-shm"} <= set(found)
    assert mode(data) == 0o700
    # logs/ only when this process's log went here (logging is set up once per process).
    folders = {k: v for k, v in found.items() if (data / k).is_dir()}
    assert {"backups"} <= set(folders) <= {"backups", "logs"}
    assert set(folders.values()) == {0o700}
    files = {k: v for k, v in found.items() if not (data / k).is_dir()}
    assert {"history.db", "backups/history-" f"{date.today()}.db"} <= set(files)
    assert set(files.values()) == {0o600}, files
    assert {p.name: mode(p) for p in out.iterdir()} == {
        "all.json": 0o600, "all.html": 0o600, "one.md": 0o600}


def test_files_of_older_versions_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with HistoryStore.open(data / "history.db") as s:
        s.create_conversation("from an older chatdesk")
    (data / "logs").mkdir()
    for name in ("settings.toml", "window.ini", "logs/chatdesk.log"):
        (data / name).write_text("")
    for path in (data, data / "logs"):
        path.chmod(0o755)
    for path in (data / "history.db", data / "settings.toml", data / "window.ini",
                 data / "logs" / "chatdesk.log"):
        path.chmod(0o644)
    assert main(["--data-dir", str(data), "history", "list", "--json"]) == 0
    assert mode(data) == 0o700 and mode(data / "logs") == 0o700
    assert {name: mode(data / name) for name in (
        "history.db", "settings.toml", "window.ini", "logs/chatdesk.log")} == dict.fromkeys(
        ("history.db", "settings.toml", "window.ini", "logs/chatdesk.log"), 0o600)


def test_window_ini_stays_private_when_qt_writes_it(tmp_path: Path) -> None:
    qtcore = pytest.importorskip("PySide6.QtCore")
    state = DataPaths(tmp_path).window_state
    touch_private(state)  # what the app does before its window opens
    settings = qtcore.QSettings(str(state), qtcore.QSettings.Format.IniFormat)
    settings.setValue("geometry", json.dumps([1, 2, 3]))
    settings.sync()
    assert "geometry" in state.read_text() and mode(state) == 0o600
