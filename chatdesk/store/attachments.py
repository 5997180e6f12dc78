"""Attachments in the history file: bytes stored once by SHA-256, parts naming them per message."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence

from chatdesk.parts import Attachment, AttachmentInfo, PartKind
from chatdesk.store.connection import StoreConnection
from chatdesk.store.errors import NotFoundError

_CHUNK = 500  # ids per IN (...): well under SQLite's limit on bound parameters

_INFO_COLUMNS = "p.message_id, p.kind, p.name, p.sha256, b.media_type, b.size"


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    unique = sorted(set(ids))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start:start + _CHUNK]


def _check_address(attachment: Attachment) -> None:
    """The content address must be the bytes' hash: a wrong one would make two different
    files one (or one file two) in every history that holds it."""
    import hashlib  # here: every start-up would load it and OpenSSL's (~3 ms) for nothing

    if hashlib.sha256(attachment.data).hexdigest() != attachment.sha256.lower():
        raise ValueError(f"attachment {attachment.name!r}: its sha256 is not its bytes' hash")


class Attachments(StoreConnection):
    """The attachment half of HistoryStore (see history.py)."""

    def add_attachments(self, message_id: int, attachments: Sequence[Attachment]) -> None:
        """Attach files to a message, after any it has, in one transaction (or in the
        caller's `transaction()`). Bytes already in the history are not stored again."""
        if not attachments:
            return
        for attachment in attachments:
            _check_address(attachment)
        with self._write() as conn:
            row = conn.execute(
                "SELECT (SELECT coalesce(max(position) + 1, 0) FROM message_parts"
                " WHERE message_id = m.id) FROM messages AS m WHERE m.id = ?",
                (message_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"There is no message {message_id}.")
            position = int(row[0])
            for attachment in attachments:
                _store_blob(conn, attachment)
                conn.execute(
                    "INSERT INTO message_parts (message_id, position, kind, name, sha256)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (message_id, position, str(attachment.kind), attachment.name,
                     attachment.sha256.lower()))
                position += 1

    def attachments(self, message_ids: Iterable[int]) -> dict[int, list[Attachment]]:
        """Each message's attachments with their bytes, in the order they were attached;
        messages without any are left out."""
        found: dict[int, list[Attachment]] = {}
        for chunk in _chunks(message_ids):
            rows = self._rows(
                f"SELECT {_INFO_COLUMNS}, b.data, b.text FROM message_parts AS p"
                " JOIN blobs AS b ON b.sha256 = p.sha256"
                f" WHERE p.message_id IN ({', '.join('?' * len(chunk))})"
                " ORDER BY p.message_id, p.position", chunk)
            for r in rows:
                found.setdefault(int(r["message_id"]), []).append(Attachment(
                    PartKind(r["kind"]), r["name"], r["media_type"], bytes(r["data"]),
                    r["text"], r["sha256"]))
        return found

    def attachment_infos(self, message_ids: Iterable[int]) -> dict[int, list[AttachmentInfo]]:
        """What each message has attached, without the bytes (for the transcript and
        `history show`), in order; messages without any are left out."""
        found: dict[int, list[AttachmentInfo]] = {}
        for chunk in _chunks(message_ids):
            rows = self._rows(
                f"SELECT {_INFO_COLUMNS} FROM message_parts AS p"
                " JOIN blobs AS b ON b.sha256 = p.sha256"
                f" WHERE p.message_id IN ({', '.join('?' * len(chunk))})"
                " ORDER BY p.message_id, p.position", chunk)
            for r in rows:
                found.setdefault(int(r["message_id"]), []).append(AttachmentInfo(
                    PartKind(r["kind"]), r["name"], r["media_type"], int(r["size"]),
                    r["sha256"]))
        return found

    def attachment_data(self, sha256: str) -> bytes | None:
        """The bytes stored under this SHA-256 (hex), or None if the history has none."""
        row = self._one("SELECT data FROM blobs WHERE sha256 = ?", (sha256.lower(),))
        return bytes(row[0]) if row else None

    def attachment_head(self, sha256: str, length: int = 4096) -> bytes | None:
        """The first `length` bytes of a stored file: enough for a picture's header (its
        size), without reading megabytes."""
        row = self._one("SELECT id FROM blobs WHERE sha256 = ?", (sha256.lower(),))
        if not row:
            return None
        # Incremental blob I/O reads only the pages asked for (substr() would load the
        # whole value: megabytes for the first few kilobytes of a photo).
        try:
            with self._connection().blobopen("blobs", "data", int(row[0]),
                                             readonly=True) as blob:
                return blob.read(length)
        except sqlite3.Error as exc:
            raise self._translate(exc, writing=False) from exc

    def blob_count(self) -> int:
        """How many distinct files the history holds (each stored once)."""
        row = self._one("SELECT count(*) FROM blobs")
        return int(row[0]) if row else 0


def _store_blob(conn: sqlite3.Connection, attachment: Attachment) -> None:
    """Insert the bytes unless they are there already; text extracted later than the first
    time (None then) is kept now."""
    conn.execute(
        "INSERT INTO blobs (sha256, media_type, size, data, text) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(sha256) DO UPDATE SET text = excluded.text"
        " WHERE blobs.text IS NULL AND excluded.text IS NOT NULL",
        (attachment.sha256.lower(), attachment.media_type, attachment.size,
         attachment.data, attachment.text))
