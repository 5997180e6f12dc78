"""Whether a `-wal` beside a history file is that file's own, read before SQLite opens it.

SQLite does not tie a WAL to its database: a `history.db-wal` copied from another file (or
left over when a backup was copied over `history.db`) is replayed into `history.db` and
checkpointed on close, which overwrites its pages with another file's. Nothing in either
header names the other, so this looks for contradictions instead:

- the page sizes differ;
- the WAL rewrites page 1: every such frame stamps page 1's change counter with the
  previous value + 1, and the file holds page 1 as of the WAL's start (counter c1 - 1) or
  as of a frame already copied back (one of the counters in the WAL);
- it does not: then no page was allocated or freed (both change page 1), so every page it
  rewrites is one the file has, and a b-tree page keeps its type;
- and, as the headers alone can miss one (the change counter barely moves in WAL mode),
  the file reads as sound without the WAL (`immutable=1`) and as damaged with it.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing, suppress
from pathlib import Path
from typing import BinaryIO

_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_HEADER, _FRAME_HEADER = 32, 24
_BTREE_TYPES = frozenset((2, 5, 10, 13))
_MAX_PAGES_COMPARED = 256


def _be32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "big")


_NOTHING = "nothing to replay"


def _why_stray(db: Path, wal: Path) -> str | None:
    try:
        with wal.open("rb") as w, db.open("rb") as d:
            return _compare(d, w, db.stat().st_size, wal.stat().st_size)
    except FileNotFoundError:
        return _NOTHING  # no WAL (or it was checkpointed away meanwhile)


def _compare(d: BinaryIO, w: BinaryIO, db_size: int, wal_size: int) -> str | None:
    head = w.read(_WAL_HEADER)
    db_head = d.read(100)
    if len(head) < _WAL_HEADER or _be32(head, 0) not in _WAL_MAGIC or len(db_head) < 100:
        return _NOTHING  # SQLite ignores a WAL without a valid header
    page_size = _be32(head, 8)
    db_page_size = int.from_bytes(db_head[16:18], "big")
    db_page_size = 65536 if db_page_size == 1 else db_page_size
    salts = head[16:24]
    counters: list[int] = []  # page 1's change counter in each frame of page 1
    first_image: dict[int, int] = {}  # page number -> offset of its first image in the WAL
    committed = counted = 0  # where the last whole transaction ends; its page-1 frames
    offset = _WAL_HEADER
    while offset + _FRAME_HEADER + page_size <= wal_size:
        w.seek(offset)
        frame = w.read(_FRAME_HEADER)
        if frame[8:16] != salts:
            break  # the rest is from an earlier generation of the WAL: SQLite ignores it
        pgno, commit = _be32(frame, 0), _be32(frame, 4)
        if pgno == 1:
            w.seek(offset + _FRAME_HEADER + 24)
            counters.append(_be32(w.read(4), 0))
        first_image.setdefault(pgno, offset + _FRAME_HEADER)
        offset += _FRAME_HEADER + page_size
        if commit:  # only whole transactions are replayed
            committed, counted = offset, len(counters)
    committed_counters = counters[:counted]
    committed_pages = {pgno: at for pgno, at in first_image.items() if at < committed}
    if not committed_pages:
        return _NOTHING
    if page_size != db_page_size:
        return "its pages are another size"
    if committed_counters:
        if _be32(db_head, 24) not in {committed_counters[0] - 1, *committed_counters}:
            return "it continues another file's changes"
        return None
    db_pages = db_size // db_page_size
    for pgno, at in sorted(committed_pages.items())[:_MAX_PAGES_COMPARED]:
        if pgno > db_pages:
            return "it rewrites pages the file does not have"
        w.seek(at)
        d.seek((pgno - 1) * db_page_size)
        new, old = w.read(1)[0], d.read(1)[0]
        if (new in _BTREE_TYPES or old in _BTREE_TYPES) and new != old:
            return "it rewrites pages the file uses otherwise"
    return None


def is_sound(db: Path, immutable: bool = False) -> bool:
    """Whether SQLite reads `db` (with its WAL, or without: `immutable`) as sound;
    read-only, so a stray WAL is never checkpointed into the file."""
    uri = db.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
    with suppress(sqlite3.Error), closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
        return bool(conn.execute("PRAGMA quick_check").fetchone()[0] == "ok")
    return False


def stray_wal(db: Path) -> str | None:
    """Why `db`'s -wal cannot be its own (a few words), or None when it may be.

    A live WAL of another process may be checkpointed while this reads it, so a verdict
    from the headers holds only if it holds twice.
    """
    wal = db.with_name(db.name + "-wal")
    why = _why_stray(db, wal)
    if why is not None and why != _NOTHING:
        time.sleep(0.05)
        why = _why_stray(db, wal)
    if why == _NOTHING:
        return None
    if why is None and not is_sound(db) and is_sound(db, immutable=True):
        why = "the file reads as sound without it and as damaged with it"
    return why
