"""Backups of the history file: a daily copy kept for a few days, and naming those that exist."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

from chatdesk.paths import PRIVATE_DIR_MODE, make_private, touch_private

log = logging.getLogger(__name__)

ROLLING_KEEP = 5  # daily copies kept (the newest ones)
SPARE_BYTES = 64 << 20  # a backup never takes the last of the disk


def backup_dir(path: Path) -> Path:
    return path.parent / "backups"


def rolling_path(path: Path, day: date) -> Path:
    return backup_dir(path) / f"{path.stem}-{day.isoformat()}{path.suffix}"


def existing_backups(path: Path) -> list[Path]:
    """Every backup of `path` on disk, newest first: the daily copies in backups/ and the
    copies made before a migration (`NAME.bak-v…`) beside it."""
    found = list(path.parent.glob(f"{path.name}.bak-v*"))
    folder = backup_dir(path)
    if folder.is_dir():
        found += folder.glob(f"{path.stem}-????-??-??{path.suffix}")

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    return sorted((p for p in found if p.is_file()), key=mtime, reverse=True)


def restore_hint(path: Path) -> str:
    """'Restore its newest backup (backups/history-2026-12-02.db)', or that it has none."""
    found = existing_backups(path)
    if not found:
        return "It has no backup yet to restore"
    newest = found[0].relative_to(path.parent)
    return (f"Restore its newest backup ({newest}): quit chatdesk, copy it over {path.name} "
            f"and delete {path.name}-wal and {path.name}-shm if they are there")


def copy_database(conn: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of the open database (its WAL included) at `target`, 0600; a
    failure leaves nothing at `target`."""
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    touch_private(part)
    try:
        with closing(sqlite3.connect(str(part))) as dest:
            conn.backup(dest)
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    make_private(target)


def has_todays_backup(path: Path, today: date | None = None) -> bool:
    return rolling_path(path, today or date.today()).exists()


def rolling_backup(conn: sqlite3.Connection, path: Path, today: date | None = None) -> Path | None:
    """Today's copy in backups/ unless there is one, keeping the newest ROLLING_KEEP. Only
    call it on a file that checked sound, so that damage never pushes good copies out.
    A failure (a full disk) is logged: it must not stop chatdesk from opening."""
    target = rolling_path(path, today or date.today())
    if target.exists():
        return None
    try:
        import shutil  # once a day: not on every open

        if shutil.disk_usage(path.parent).free < path.stat().st_size + SPARE_BYTES:
            log.warning("no daily backup of %s: too little disk space is left", path)
            return None
        backup_dir(path).mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        make_private(backup_dir(path))
        copy_database(conn, target)
    except (sqlite3.Error, OSError) as exc:
        log.warning("could not make the daily backup %s: %s", target, exc)
        return None
    daily = sorted(backup_dir(path).glob(f"{path.stem}-????-??-??{path.suffix}"), reverse=True)
    for old in daily[ROLLING_KEEP:]:
        old.unlink(missing_ok=True)
    log.info("backed up %s to %s", path, target)
    return target


def suspect_marker(path: Path) -> Path:
    """Left when damage showed while reading: the next opening checks the whole file."""
    return path.with_name(path.name + "-check")


def check_and_back_up(
    conn: sqlite3.Connection, path: Path, today: date | None = None
) -> str | None:
    """Once a day (and after damage showed), check the whole file; if it is sound, make the
    day's backup. Returns what is wrong (SQLite's first complaint), or None."""
    marker = suspect_marker(path)
    if has_todays_backup(path, today) and not marker.exists():
        return None
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if result != "ok":
        return str(result).splitlines()[0]
    marker.unlink(missing_ok=True)
    if conn.execute("SELECT 1 FROM conversations LIMIT 1").fetchone() is not None:
        rolling_backup(conn, path, today)  # an empty history has nothing to keep
    return None
