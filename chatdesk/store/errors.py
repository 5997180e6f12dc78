"""The store's exceptions, and the translation of raw SQLite errors into sentences."""

from __future__ import annotations

import sqlite3

# Primary SQLite result codes (the low byte of an extended code).
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT = 5, 6, 8, 10, 11
_FULL, _CANTOPEN, _NOTADB = 13, 14, 26


class StoreError(Exception):
    """The history file could not be read or written; the message is a sentence for people."""


class ReadOnlyError(StoreError):
    """A write was asked of a store opened read-only."""


class NewerSchemaError(StoreError):
    """The file was written by a newer chatdesk; nothing was changed."""


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


def translate(exc: sqlite3.Error, name: str, writing: bool) -> StoreError:
    """Turn a sqlite3 exception into a StoreError whose message says what to do."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else _guess_code(str(exc))
    verb = "save to" if writing else "read"
    if primary == _FULL:
        return StoreError(
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
        return StoreError(
            f"{name} is damaged ({exc}). Restore one of its backups ({name}.bak-…) "
            "or move it away so chatdesk can start a new history."
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
