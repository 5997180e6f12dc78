"""The documented limits of each provider kind, checked before sending (attachment_limits)."""

from __future__ import annotations

import pytest

from chatdesk.attachment_limits import (
    LIMITS,
    AttachmentLimitError,
    check_sendable,
    encoded_size,
    limit_problem,
)
from chatdesk.parts import Attachment, PartKind
from tests.pdfs import make_pdf

MB = 1_000_000


def image(size: int, name: str = "shot.png") -> Attachment:
    return Attachment(PartKind.IMAGE, name, "image/png", b"\x89PNG\r\n\x1a\n".ljust(size, b"\0"))


def pdf(pages: int, text: str | None = "words", name: str = "doc.pdf") -> Attachment:
    return Attachment(PartKind.DOCUMENT, name, "application/pdf",
                      make_pdf(*(["page"] * pages)), text)


def test_every_provider_type_has_limits() -> None:
    assert set(LIMITS) == {"anthropic", "openai", "gemini", "ollama"}


def test_anthropic_counts_an_image_as_sent_in_base64() -> None:
    fits = image(5 * 1024 * 1024 * 3 // 4)
    assert encoded_size(fits.size) <= 5 * 1024 * 1024
    assert limit_problem("anthropic", [fits]) is None
    assert limit_problem("anthropic", [image(fits.size + 3)]) == (
        "shot.png is 3.9 MB, and it takes images of at most 3.9 MB")
    assert limit_problem("openai", [image(fits.size + 3)]) is None  # 20 MB there


def test_image_count_and_pdf_pages() -> None:
    many = [image(100, f"i{n}.png") for n in range(101)]
    assert limit_problem("anthropic", many) == (
        "the conversation has 101 images, and it takes at most 100 in one request")
    assert limit_problem("anthropic", many[:100]) is None
    assert limit_problem("anthropic", [pdf(101)]) == (
        "doc.pdf has 101 pages, and it reads at most 100 pages in one request")
    assert limit_problem("anthropic", [pdf(100)]) is None
    assert limit_problem("anthropic", [pdf(60), pdf(41, name="b.pdf")]) == (
        "the conversation's PDFs have 101 pages, and it reads at most 100 pages in one request")
    assert limit_problem("gemini", [pdf(101)]) is None  # 1000 pages there


def test_request_totals() -> None:
    files = [image(8 * MB, f"i{n}.png") for n in range(2)]  # 16 MB: 21.3 MB as base64
    assert limit_problem("gemini", files) == (
        "the conversation's files come to 16 MB, and it takes at most 15.7 MB in one request")
    assert limit_problem("gemini", files[:1]) is None
    assert limit_problem("openai", files) is None
    assert limit_problem("openai", files * 2) is not None  # 32 MB: over 32 MiB of base64


def test_ollama_takes_a_pdf_as_its_text_only() -> None:
    assert limit_problem("ollama", [pdf(500)]) is None  # sent as text: pages do not count
    assert limit_problem("ollama", [pdf(1, text=None, name="scan.pdf")]) == (
        "it cannot read PDFs, and scan.pdf has no text chatdesk could take out of it (a scan?)")
    assert limit_problem("ollama", [image(40 * MB)]) is None


def test_one_candidate_that_fits_is_enough() -> None:
    big = [image(6 * MB, "big.png")]
    check_sendable([("a", "anthropic"), ("o", "openai")], big)
    check_sendable([], big)  # nobody to ask: that is the router's sentence, not this one
    check_sendable([("a", "anthropic")], [])
    with pytest.raises(AttachmentLimitError) as raised:
        check_sendable([("claude", "anthropic"), ("anthropic-2", "anthropic")], big)
    assert str(raised.value) == ("claude cannot take this message: big.png is 6 MB, and it "
                                 "takes images of at most 3.9 MB. Nothing was sent.")
    with pytest.raises(AttachmentLimitError, match="^Anthropic cannot take this message"):
        check_sendable([("anthropic", "anthropic")], big)


def test_sizes_read_as_people_say_them() -> None:
    from chatdesk.wording import file_size

    assert [file_size(n) for n in (0, 1, 999, 1_000, 14_200, 3_932_160, 30_000_000,
                                   16_777_216, 150_000_000, 2_500_000_000)] == [
        "0 bytes", "1 byte", "999 bytes", "1 KB", "14.2 KB", "3.9 MB", "30 MB", "16.8 MB",
        "150 MB", "2.5 GB"]
