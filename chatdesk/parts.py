"""The parts of a message beyond its text (images, PDFs, text files), as every layer sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PartKind(StrEnum):
    """What an attachment is, for the protocols and the window."""

    IMAGE = "image"  # image/png, image/jpeg, image/gif, image/webp
    DOCUMENT = "document"  # application/pdf
    TEXT_FILE = "text_file"  # any text: sent as text with its name


IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PDF_TYPE = "application/pdf"


def kind_of(media_type: str) -> PartKind | None:
    """The kind of an attachment of this media type; None: chatdesk cannot attach it."""
    if media_type in IMAGE_TYPES:
        return PartKind.IMAGE
    if media_type == PDF_TYPE:
        return PartKind.DOCUMENT
    if media_type.startswith("text/") or media_type in (
            "application/json", "application/xml", "application/x-yaml", "application/toml"):
        return PartKind.TEXT_FILE
    return None


@dataclass(frozen=True)
class Attachment:
    """One attached file with its bytes. `sha256` (hex) is its address in the history: the
    same bytes attached twice are stored once. `text` is what a reader of text gets: a text
    file's text, a PDF's extracted text (None: not extracted, or an image)."""

    kind: PartKind
    name: str
    media_type: str
    data: bytes = field(repr=False)
    text: str | None = field(default=None, repr=False)
    sha256: str = ""

    def __post_init__(self) -> None:
        if not self.sha256:
            import hashlib  # only with an attachment: hashlib and OpenSSL cost ~3 ms to load

            object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class AttachmentInfo:
    """What the transcript shows of an attachment, without its bytes (cheap to load)."""

    kind: PartKind
    name: str
    media_type: str
    size: int
    sha256: str
