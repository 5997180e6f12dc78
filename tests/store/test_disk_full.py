"""A full disk (a real one: a small tmpfs): reads work, writes say the disk is full."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.cli import main
from chatdesk.store import HistoryStore
from chatdesk.store.errors import DiskFullError


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a small filesystem here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here (not root?): {done.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=10)


def fill_up(folder: Path) -> Path:
    """Take every free byte of the disk holding `folder`."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            try:
                while f.write(b"\0" * size):
                    pass
            except OSError:
                pass
    assert os.statvfs(folder).f_bavail == 0
    return filler


def test_reads_work_and_writes_name_the_full_disk(
    small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_disk / "data"
    with HistoryStore.open(data / "history.db") as s:
        conv = s.create_conversation("kept")
        s.add_message(conv.id, "user", "written before the disk filled up")
    assert main(["--data-dir", str(data), "history", "list"]) == 0  # logs and backups exist
    capsys.readouterr()
    filler = fill_up(small_disk)

    assert main(["--data-dir", str(data), "history", "show", "1", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["messages"][0]["content"] == "written before the disk filled up"
    assert err == ""  # no "Logging error" traceback either
    assert main(["--data-dir", str(data), "search", "written", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1

    with HistoryStore.open(data / "history.db") as s:
        with pytest.raises(DiskFullError) as info:
            s.add_message(conv.id, "user", "no room for this")
    assert str(info.value) == (
        f"Could not save to history.db: the disk holding {data} is full. Free some space "
        "and try again; nothing already saved was lost.")

    filler.unlink()  # space again: writing works again, nothing was lost
    with HistoryStore.open(data / "history.db") as s:
        s.add_message(conv.id, "user", "room again")
        assert [m.content for m in s.messages(conv.id)] == [
            "written before the disk filled up", "room again"]
