"""AppContext's log file: created in the data dir, rotated at start once it is large."""

from __future__ import annotations

from pathlib import Path

from chatdesk.context import rotate_log


def test_a_small_log_is_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "chatdesk.log"
    log.write_text("a line\n")
    rotate_log(log, max_bytes=100)
    assert log.read_text() == "a line\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chatdesk.log"]


def test_a_large_log_moves_to_backups_and_the_oldest_is_dropped(tmp_path: Path) -> None:
    log = tmp_path / "chatdesk.log"
    for name, text in (("chatdesk.log.1", "one"), ("chatdesk.log.2", "two"),
                       ("chatdesk.log.3", "three")):
        (tmp_path / name).write_text(text)
    log.write_text("x" * 200)
    rotate_log(log, max_bytes=100, backups=3)
    assert not log.exists()  # the handler opens a new one on the first line
    assert (tmp_path / "chatdesk.log.1").read_text() == "x" * 200
    assert (tmp_path / "chatdesk.log.2").read_text() == "one"
    assert (tmp_path / "chatdesk.log.3").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "chatdesk.log.1", "chatdesk.log.2", "chatdesk.log.3"]


def test_a_missing_log_is_not_an_error(tmp_path: Path) -> None:
    rotate_log(tmp_path / "nothing.log", max_bytes=1)
    assert list(tmp_path.iterdir()) == []
