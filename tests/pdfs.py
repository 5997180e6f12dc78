"""Tiny real PDFs for the attachment tests, written with pypdf (no checked-in fixtures)."""

from __future__ import annotations

import io

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject


def _escaped(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")


def make_pdf(*pages: str, password: str | None = None) -> bytes:
    """A PDF with one page per text, each line drawn in Helvetica (extractable text)."""
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    }))
    for text in pages or ("",):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        lines = b" ".join(b"(" + _escaped(line) + b") Tj 0 -16 Td"
                          for line in text.splitlines())
        content = DecodedStreamObject()
        content.set_data(b"BT /F1 12 Tf 72 720 Td " + lines + b" ET")
        page[NameObject("/Contents")] = writer._add_object(content)
    if password is not None:
        writer.encrypt(password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
