"""The store's exceptions, and the translation of raw SQLite errors into sentences."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Primary SQLite result codes (the low byte of an extended code).
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT = 5, 6, 8, 10, 11
_FULL, _CANTOPEN, _NOTADB = 13, 14, 26


class StoreError(Exception):
    """The history file could not be read or written; the message is a sentence for people."""


class ReadOnlyError(StoreError):
    """A write was asked of a store opened read-only."""


class NewerSchemaError(StoreError):
    """The file was written by a newer chatdesk; nothing was changed."""


class DamagedError(StoreError):
    """The history file is damaged: it is opened read-only, and the message says the way out."""


class DiskFullError(StoreError):
    """The disk holding the history file is full: reads work, writes wait for space."""


class BusyError(StoreError):
    """Another process held the write lock for longer than the busy timeout; nothing was written."""


class NotFoundError(StoreError, LookupError):
    """The conversation, message or attempt asked for does not exist."""


def not_a_history_file(name: str, why: str) -> StoreError:
    return StoreError(
        f"{name} is not a chatdesk history file ({why}). "
        "Choose another file, or move this one away so chatdesk can start a new history."
    )


def newer_schema(name: str, found: int, known: int) -> NewerSchemaError:
    return NewerSchemaError(
        f"{name} was written by a newer chatdesk (schema {found}; this version knows up to "
        f"{known}). Update chatdesk to open it."
    )


def read_only(name: str) -> ReadOnlyError:
    return ReadOnlyError(f"{name} is open read-only, so nothing in it can be changed.")


def damaged(path: Path, detail: str) -> DamagedError:
    from chatdesk.store.backups import restore_hint

    return DamagedError(
        f"{path.name} is damaged ({detail}), so chatdesk only reads it and saves nothing "
        f"to it. {restore_hint(path)}; `chatdesk repair` saves what can still be read into a "
        "new file."
    )


def empty_file(path: Path) -> StoreError:
    from chatdesk.store.backups import restore_hint

    return StoreError(
        f"{path.name} is empty (0 bytes), so chatdesk did not start a new history over it. "
        f"{restore_hint(path)}; or, to start a new history, delete {path}."
    )


def stray_wal(path: Path, why: str) -> StoreError:
    wal = path.name + "-wal"
    return StoreError(
        f"{wal} beside {path.name} is not {path.name}'s own ({why}); replaying it would damage "
        f"{path.name}, so chatdesk left both untouched. Move {wal} (and {path.name}-shm) out "
        f"of {path.parent}, then try again."
    )


def disk_full(path: Path) -> DiskFullError:
    return DiskFullError(
        f"Could not save to {path.name}: the disk holding {path.parent} is full. Free some "
        "space and try again; nothing already saved was lost."
    )


def disk_is_full(path: Path, margin: int = 1 << 20) -> bool:
    """Whether the disk holding `path` has (almost) no room left: SQLite reports a full
    disk as an I/O error when it cannot grow its -shm file."""
    try:
        import shutil  # (bz2, lzma, fnmatch…) only when a write failed

        return shutil.disk_usage(path.parent).free < margin
    except OSError:
        return False


def translate(exc: sqlite3.Error, name: str, writing: bool, path: Path | None = None) -> StoreError:
    """Turn a sqlite3 exception into a StoreError whose message says what to do; with the
    file's `path`, damage names its backups and a full disk the folder."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else _guess_code(str(exc))
    verb = "save to" if writing else "read"
    if primary == _IOERR and path is not None and disk_is_full(path):
        primary = _FULL
    if primary == _FULL:
        if path is not None:
            return disk_full(path)
        return DiskFullError(
            f"Could not save to {name}: the disk is full. Free some space and try again; "
            "nothing already saved was lost."
        )
    if primary == _IOERR:
        return StoreError(
            f"Could not {verb} {name}: the disk reported an input/output error. "
            "Check the drive (or copy the file to another one) and try again."
        )
    if primary == _READONLY:
        return ReadOnlyError(
            f"Could not save to {name}: the file or its folder is read-only. Check their "
            "permissions, or use `chatdesk browse` to read the file without changing it."
        )
    if primary in (_BUSY, _LOCKED):
        return BusyError(
            f"Could not {verb} {name}: another chatdesk window or command kept it busy "
            "for too long. Try again in a moment."
        )
    if primary == _CORRUPT:
        if path is not None:
            return damaged(path, str(exc))
        return DamagedError(
            f"{name} is damaged ({exc}). Restore one of its backups, or run `chatdesk "
            "repair` to save what can still be read into a new file."
        )
    if primary == _NOTADB:
        return not_a_history_file(name, "it is not a SQLite database")
    if primary == _CANTOPEN:
        return StoreError(
            f"Could not open {name}: the file or its folder cannot be opened. Check that the "
            "folder exists and that you are allowed to use it."
        )
    return StoreError(f"Could not {verb} {name}: {exc}. Try again; if it persists, report it.")


def is_environmental(exc: sqlite3.Error) -> bool:
    """True for failures of the disk, permissions or locking rather than of the SQL."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else _guess_code(str(exc))
    return primary in (_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB)


def _guess_code(message: str) -> int | None:
    text = message.lower()
    for needle, code in (
        ("disk is full", _FULL),
        ("disk i/o error", _IOERR),
        ("readonly database", _READONLY),
        ("database is locked", _BUSY),
        ("malformed", _CORRUPT),
        ("not a database", _NOTADB),
        ("unable to open", _CANTOPEN),
    ):
        if needle in text:
            return code
    return None
