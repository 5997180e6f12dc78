"""What each provider kind accepts in attached files, checked before anything is sent.

The numbers are the providers' documented limits (see docs/attachments.md for the source
of each). A request carries every attachment of the conversation so far, so the limits
are checked against all of them, not only the new ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from chatdesk import wording
from chatdesk.parts import Attachment, AttachmentInfo, PartKind

File = Attachment | AttachmentInfo  # an AttachmentInfo will do where the bytes do not matter

MiB = 1024 * 1024


class AttachmentLimitError(ValueError):
    """No provider that could answer takes these files; str() is the sentence to show."""


@dataclass(frozen=True)
class Limits:
    """One provider kind's documented limits (None: none documented)."""

    image_max_encoded: int | None = None  # one image, as sent (base64)
    max_images: int | None = None  # images in one request
    reads_pdfs: bool = True  # False: a PDF is sent as its extracted text
    pdf_max_pages: int | None = None  # pages of the PDFs of one request
    request_max_encoded: int | None = None  # every inline file of a request, as sent


LIMITS: dict[str, Limits] = {
    # images ≤ 5 MB each (of base64), ≤ 100 a request; ≤ 100 PDF pages and ≤ 32 MB a request
    "anthropic": Limits(image_max_encoded=5 * MiB, max_images=100, pdf_max_pages=100,
                        request_max_encoded=32 * MiB),
    # images ≤ 20 MB each; PDF file inputs: ≤ 100 pages and ≤ 32 MB a request
    "openai": Limits(image_max_encoded=math.ceil(20 * MiB * 4 / 3), pdf_max_pages=100,
                     request_max_encoded=32 * MiB),
    # inline data: the whole request ≤ 20 MB; ≤ 1000 PDF pages a request
    "gemini": Limits(pdf_max_pages=1000, request_max_encoded=20 * MiB),
    # images only (base64 in `images`); a PDF goes as its text
    "ollama": Limits(reads_pdfs=False),
}


def encoded_size(size: int) -> int:
    """How long `size` bytes are in base64, as every protocol sends a file."""
    return 4 * math.ceil(size / 3)


def raw_size(encoded: int) -> int:
    """The most bytes that fit in `encoded` bytes of base64."""
    return encoded // 4 * 3


_PAGE_COUNTS: dict[str, int | None] = {}  # by sha256: a PDF is parsed once, not per send
_PAGE_COUNTS_KEPT = 256


def _pages(attachment: Attachment) -> int | None:
    if attachment.sha256 not in _PAGE_COUNTS:
        from chatdesk.attachment_files import pdf_page_count

        if len(_PAGE_COUNTS) >= _PAGE_COUNTS_KEPT:
            _PAGE_COUNTS.pop(next(iter(_PAGE_COUNTS)))
        _PAGE_COUNTS[attachment.sha256] = pdf_page_count(attachment.data)
    return _PAGE_COUNTS[attachment.sha256]


def limit_problem(provider_type: str, attachments: Iterable[File]) -> str | None:
    """Why a provider of this kind cannot take a request carrying these files (a clause:
    "shot.png is 6.2 MB, and it takes images of at most 3.9 MB"), or None if it can.
    Images may be given as AttachmentInfo (their size is all that counts); a PDF's pages
    and text are checked only when it comes with its bytes (an Attachment)."""
    limits = LIMITS.get(provider_type, Limits())
    files = list(attachments)
    images = [a for a in files if a.kind is PartKind.IMAGE]
    if limits.image_max_encoded is not None:
        for image in images:
            if encoded_size(image.size) > limits.image_max_encoded:
                return (f"{image.name} is {wording.file_size(image.size)}, and it takes images "
                        f"of at most {wording.file_size(raw_size(limits.image_max_encoded))}")
    if limits.max_images is not None and len(images) > limits.max_images:
        return (f"the conversation has {len(images)} images, and it takes at most "
                f"{limits.max_images} in one request")
    pdfs = [a for a in files if a.kind is PartKind.DOCUMENT]
    inline = images
    if limits.reads_pdfs:
        inline = images + pdfs
        if limits.pdf_max_pages is not None and pdfs:
            counted = [(pdf, _pages(pdf) if isinstance(pdf, Attachment) else None)
                       for pdf in pdfs]
            total = sum(pages or 0 for _, pages in counted)
            if total > limits.pdf_max_pages:
                biggest, pages = max(counted, key=lambda c: c[1] or 0)
                whose = f"{biggest.name} has {pages} pages" if pages == total \
                    else f"the conversation's PDFs have {total} pages"
                return (f"{whose}, and it reads at most {limits.pdf_max_pages} pages "
                        "in one request")
    else:
        for pdf in pdfs:
            if isinstance(pdf, Attachment) and not (pdf.text or "").strip():
                return (f"it cannot read PDFs, and {pdf.name} has no text chatdesk could "
                        "take out of it (a scan?)")
    if limits.request_max_encoded is not None:
        total = sum(encoded_size(a.size) for a in inline)
        if total > limits.request_max_encoded:
            return (f"the conversation's files come to "
                    f"{wording.file_size(sum(a.size for a in inline))}, and it takes at most "
                    f"{wording.file_size(raw_size(limits.request_max_encoded))} in one request")
    return None


def check_sendable(candidates: Iterable[tuple[str, str]],
                   attachments: Iterable[File]) -> None:
    """Raise AttachmentLimitError unless one of `candidates` ((name, type), in the order
    they would be asked) can take a request with these files. The sentence names the
    first candidate's problem: it is the one the user asked for."""
    files = list(attachments)
    if not files:
        return
    first: tuple[str, str] | None = None
    for name, provider_type in candidates:
        problem = limit_problem(provider_type, files)
        if problem is None:
            return
        first = first or (name, problem)
    if first is not None:
        raise AttachmentLimitError(wording.attachment_limit(*first))
