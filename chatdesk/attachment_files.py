"""Files and pasted bytes made into Attachments: type from content and name, PDF text, caps."""

from __future__ import annotations

import io
import logging
import mimetypes
from pathlib import Path

from chatdesk import wording
from chatdesk.parts import IMAGE_TYPES, PDF_TYPE, Attachment, PartKind, kind_of

log = logging.getLogger(__name__)

# The most a file may have to be attached at all (every provider's own limit is lower or
# near it: see attachment_limits.py). The history keeps its bytes, so this also bounds
# what one attachment adds to the file.
MAX_ATTACHMENT_BYTES = 30_000_000  # "30 MB", as file managers count

# The first bytes that say what a file is, whatever its name.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", PDF_TYPE),
)
# Binary formats people try to attach, named so the sentence says what the file is.
_OTHER_BINARY: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a program"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg file"),
    (b"fLaC", "a FLAC file"),
    (b"SQLite format 3\x00", "a SQLite database"),
)
_WHAT = {"image/png": "PNG image", "image/jpeg": "JPEG image", "image/gif": "GIF image",
         "image/webp": "WebP image", PDF_TYPE: "PDF"}
# Names the standard library's table does not know, or knows as something else, but
# that are text people attach (source code, configuration, notes).
_TEXT_SUFFIXES = {
    ".md": "text/markdown", ".markdown": "text/markdown", ".rst": "text/x-rst",
    ".toml": "application/toml", ".yaml": "application/x-yaml", ".yml": "application/x-yaml",
    ".json": "application/json", ".jsonl": "application/json", ".ini": "text/plain",
    ".cfg": "text/plain", ".conf": "text/plain", ".log": "text/plain", ".ts": "text/plain",
    ".tsx": "text/plain", ".rs": "text/x-rust", ".go": "text/x-go", ".kt": "text/plain",
    ".swift": "text/plain", ".sql": "text/x-sql", ".sh": "text/x-sh", ".ps1": "text/plain",
}


class AttachmentError(ValueError):
    """A file that cannot be attached; str() is the one sentence saying why."""


def sniff(data: bytes) -> str | None:
    """The media type the bytes themselves show (images and PDFs), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    # A PDF may have a few bytes of junk before its header (readers allow 1024).
    if b"%PDF-" in data[:1024]:
        return PDF_TYPE
    return None


def _by_name(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        return _TEXT_SUFFIXES[suffix]
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed


def _other_binary(data: bytes) -> str | None:
    for magic, what in _OTHER_BINARY:
        if data.startswith(magic):
            return what
    return None


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def _decoded(data: bytes) -> str | None:
    """The text of a text file: UTF-8 (a BOM allowed), or UTF-16 with its BOM; None if it
    is not text in those."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if _looks_binary(data):
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def attachment_from_bytes(name: str, data: bytes, media_type: str | None = None) -> Attachment:
    """An attachment of these bytes (a pasted image, a dropped file read already). The type
    is what the content shows; `media_type` (a clipboard's word for it) and the name only
    decide for text. Raises AttachmentError with the sentence to show."""
    name = name.strip() or "attachment"
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentError(wording.attachment_too_large(name, len(data), MAX_ATTACHMENT_BYTES))
    if not data:
        raise AttachmentError(wording.attachment_unreadable(name, "it is empty"))
    claimed = media_type or _by_name(name)
    sniffed = sniff(data)
    if sniffed is not None:
        if sniffed == PDF_TYPE:
            return _pdf(name, data)
        return Attachment(PartKind.IMAGE, name, sniffed, data)
    if claimed in IMAGE_TYPES or claimed == PDF_TYPE:
        raise AttachmentError(wording.attachment_broken(
            name, _WHAT[claimed], "its content is not what its name says"))
    text = _decoded(data)
    if text is None:
        what = _other_binary(data) or (
            f"a file of type {claimed}" if claimed and kind_of(claimed) is None
            and claimed != "application/octet-stream" else None)
        if what is None and not _looks_binary(data):
            raise AttachmentError(wording.attachment_not_utf8(name))
        raise AttachmentError(wording.attachment_unsupported(name, what or "not text"))
    text_type = claimed if claimed is not None and kind_of(claimed) is PartKind.TEXT_FILE \
        else "text/plain"
    return Attachment(PartKind.TEXT_FILE, name, text_type, data, text)


def _quiet_pypdf() -> None:
    """pypdf logs a warning for each flaw it works around in a PDF ("EOF marker not
    found"): chatdesk says in one sentence what matters to people, so they are not shown."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _pdf(name: str, data: bytes) -> Attachment:
    """A PDF with its text extracted (for search, and for providers that cannot read PDFs);
    a damaged or locked one is refused here, not by the provider after sending."""
    import pypdf  # loaded when a PDF is attached, not at start
    from pypdf.errors import PyPdfError

    _quiet_pypdf()
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise AttachmentError(wording.attachment_broken(
                name, "PDF", "it is protected with a password"))
        pages = [page.extract_text() or "" for page in reader.pages]
    except AttachmentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            OSError, RecursionError, NotImplementedError) as exc:
        log.info("%s: not a readable PDF: %r", name, exc)
        raise AttachmentError(wording.attachment_broken(
            name, "PDF", "it is damaged or incomplete")) from None
    if not pages:
        raise AttachmentError(wording.attachment_broken(name, "PDF", "it has no pages"))
    text = "\n\n".join(p.strip() for p in pages).strip()
    return Attachment(PartKind.DOCUMENT, name, PDF_TYPE, data, text or None)


def pdf_page_count(data: bytes) -> int | None:
    """How many pages a PDF has (None: not readable as one)."""
    import pypdf
    from pypdf.errors import PyPdfError

    _quiet_pypdf()
    try:
        return len(pypdf.PdfReader(io.BytesIO(data)).pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            OSError, RecursionError, NotImplementedError):
        return None


def read_attachment(path: Path) -> Attachment:
    """The file at `path` as an attachment, named by its file name. Raises AttachmentError
    (one sentence) for a missing, unreadable, too large, broken or unsupported file."""
    name = path.name
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise AttachmentError(wording.attachment_unreadable(name, "it is not a file"))
        if size > MAX_ATTACHMENT_BYTES:
            raise AttachmentError(wording.attachment_too_large(name, size, MAX_ATTACHMENT_BYTES))
        with path.open("rb") as f:
            data = f.read(MAX_ATTACHMENT_BYTES + 1)  # it may have grown since stat()
    except FileNotFoundError:
        raise AttachmentError(wording.attachment_unreadable(
            str(path), "there is no such file")) from None
    except PermissionError:
        raise AttachmentError(wording.attachment_unreadable(
            name, "permission denied")) from None
    except OSError as exc:
        raise AttachmentError(wording.attachment_unreadable(
            name, (exc.strerror or str(exc)).lower())) from None
    return attachment_from_bytes(name, data)
