"""Export and import keep attachments: JSON round trip, Markdown folder, HTML embedding,
ChatGPT's and Claude's files, and a bounded memory while exporting."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from chatdesk.attachment_files import attachment_from_bytes
from chatdesk.parts import Attachment, PartKind
from chatdesk.store import HistoryStore
from chatdesk.transfer import html as html_export
from chatdesk.transfer.chatgpt import read_chatgpt
from chatdesk.transfer.claude import read_claude
from chatdesk.transfer.common import ImportFormatError, write_conversations
from chatdesk.transfer.jobs import import_summary
from chatdesk.transfer.markdown import export_markdown
from chatdesk.transfer.native import export_native, import_native
from tests.pdfs import make_pdf
from tests.test_attachments import png

PHOTO = png(3, 2)
OTHER_PHOTO = png(4, 4)
PDF = make_pdf("Quarterly tides report", "Second page about moons")
NOTES = b"Moon phases\n- new\n- full\n"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(tmp_path / "a" / "history.db") as s:
        yield s


@pytest.fixture
def target(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(tmp_path / "b" / "history.db") as s:
        yield s


def seed(store: HistoryStore, photo_name: str = "tide chart.png") -> int:
    """A conversation whose messages carry an image, a PDF and a text file; the image is
    attached twice (stored once)."""
    conv = store.create_conversation("Tides with files")
    q = store.add_message(conv.id, "user", "What do these show?")
    store.add_attachments(q.id, [attachment_from_bytes(photo_name, PHOTO),
                                 attachment_from_bytes("report.pdf", PDF),
                                 attachment_from_bytes("notes.md", NOTES)])
    store.add_message(conv.id, "assistant", "Spring tides.", provider="openai", model="gpt-x")
    again = store.add_message(conv.id, "user", "And this one, with the first again?")
    store.add_attachments(again.id, [attachment_from_bytes("moon.png", OTHER_PHOTO),
                                     attachment_from_bytes("again.png", PHOTO)])
    return conv.id


def every_attachment(store: HistoryStore) -> list[tuple[str, Attachment]]:
    out = []
    for summary in store.list_conversations(limit=100):
        messages = store.messages(summary.id, include_alternates=True)
        found = store.attachments(m.id for m in messages)
        out += [(m.content, a) for m in messages for a in found.get(m.id, [])]
    return out


def as_tuple(a: Attachment) -> tuple[Any, ...]:
    return (a.kind, a.name, a.media_type, a.sha256, a.data, a.text)


# -- chatdesk's JSON export ------------------------------------------------------------


def test_json_round_trip_keeps_every_byte_and_hash(store: HistoryStore, target: HistoryStore,
                                                   tmp_path: Path) -> None:
    id = seed(store)
    export_native(store, [id], str(tmp_path / "one.json"))
    data = json.loads((tmp_path / "one.json").read_text())
    assert data["version"] == 2
    first = data["conversations"][0]["messages"][0]["attachments"]
    assert [(a["kind"], a["name"], a["media_type"], a["size"]) for a in first] == [
        ("image", "tide chart.png", "image/png", len(PHOTO)),
        ("document", "report.pdf", "application/pdf", len(PDF)),
        ("text_file", "notes.md", "text/markdown", len(NOTES))]
    # the bytes once per SHA-256, however often attached
    assert len(data["blobs"]) == 4
    for sha, encoded in data["blobs"].items():
        assert hashlib.sha256(base64.b64decode(encoded)).hexdigest() == sha

    report = import_native(target, tmp_path / "one.json")
    assert report.attachments_added == 5 and report.notes == []
    assert target.blob_count() == 4
    assert sorted(map(as_tuple, (a for _, a in every_attachment(target)))) == sorted(
        map(as_tuple, (a for _, a in every_attachment(store))))
    pdf = next(a for _, a in every_attachment(target) if a.kind is PartKind.DOCUMENT)
    assert pdf.text is not None and "Quarterly tides report" in pdf.text  # found by search
    # and out again the same
    export_native(target, [id], str(tmp_path / "two.json"))
    again = json.loads((tmp_path / "two.json").read_text())
    assert again["blobs"] == data["blobs"]
    assert again["conversations"] == data["conversations"]
    # importing it again adds nothing
    assert import_native(target, tmp_path / "one.json").attachments_added == 0
    assert len(every_attachment(target)) == 5


def test_a_damaged_file_is_one_sentence_and_the_rest_imports(
        store: HistoryStore, target: HistoryStore, tmp_path: Path) -> None:
    id = seed(store)
    path = tmp_path / "export.json"
    export_native(store, [id], str(path))
    data = json.loads(path.read_text())
    pdf_sha = hashlib.sha256(PDF).hexdigest()
    broken = bytearray(base64.b64decode(data["blobs"][pdf_sha]))
    broken[len(broken) // 2] ^= 0xFF  # one bit pattern changed: a copy gone wrong
    data["blobs"][pdf_sha] = base64.b64encode(bytes(broken)).decode()
    notes_sha = hashlib.sha256(NOTES).hexdigest()
    data["blobs"][notes_sha] = "not base64 at all!"
    path.write_text(json.dumps(data))

    report = import_native(target, path)
    assert report.messages_added == 3 and report.attachments_added == 3
    assert report.notes == [
        "report.pdf was left out of the import: its bytes in the export do not match their "
        "SHA-256, so the export is damaged there.",
        "notes.md was left out of the import: its bytes in the export do not match their "
        "SHA-256, so the export is damaged there."]
    assert {a.name for _, a in every_attachment(target)} == {"tide chart.png", "moon.png",
                                                            "again.png"}
    summary = import_summary(report, "chatdesk", 1)
    assert summary.splitlines()[1:] == report.notes
    assert "3 attachments" in summary.splitlines()[0]


def test_a_file_missing_from_the_export_is_named(store: HistoryStore, target: HistoryStore,
                                                 tmp_path: Path) -> None:
    id = seed(store)
    path = tmp_path / "export.json"
    export_native(store, [id], str(path))
    data = json.loads(path.read_text())
    del data["blobs"][hashlib.sha256(OTHER_PHOTO).hexdigest()]
    path.write_text(json.dumps(data))
    report = import_native(target, path)
    assert report.notes == ["moon.png was left out of the import: the export lists it but "
                            "does not hold its bytes."]
    assert report.attachments_added == 4


def test_an_export_without_attachments_of_version_1_still_imports(
        target: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({
        "format": "chatdesk", "version": 1, "exported_at": "2026-01-01T00:00:00.000+00:00",
        "conversations": [{
            "uid": "c1", "title": "Old", "created_at": "2026-01-01T00:00:00.000+00:00",
            "messages": [{"uid": "m1", "role": "user", "content": "hello", "status": "complete",
                          "created_at": "2026-01-01T00:00:00.000+00:00", "attempts": []}]}]}))
    report = import_native(target, path)
    assert (report.conversations_added, report.messages_added, report.attachments_added) == (
        1, 1, 0)


def test_a_refused_export_leaves_no_files_behind(store: HistoryStore, target: HistoryStore,
                                                  tmp_path: Path) -> None:
    id = seed(store)
    path = tmp_path / "export.json"
    export_native(store, [id], str(path))
    text = path.read_text().replace('"version": 2', '"version": 99')
    path.write_text(text)
    with pytest.raises(ImportFormatError, match="version 99"):
        import_native(target, path)
    assert target.count_conversations() == 0 and target.blob_count() == 0
    assert not [p for p in path.parent.glob("b/.chatdesk-import-*")]  # the spool is gone


def test_a_malformed_attachment_listing_refuses_the_file(target: HistoryStore,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({
        "format": "chatdesk", "version": 2, "conversations": [{
            "uid": "c1", "created_at": "2026-01-01T00:00:00.000+00:00",
            "messages": [{"uid": "m1", "role": "user", "content": "x", "status": "complete",
                          "created_at": "2026-01-01T00:00:00.000+00:00",
                          "attachments": [{"kind": "image", "name": "a.png",
                                           "media_type": "image/png", "sha256": "../etc"}]}]}],
        "blobs": {}}))
    with pytest.raises(ImportFormatError, match="message 1 has a malformed attachment"):
        import_native(target, path)


@pytest.mark.slow
def test_exporting_20_mb_of_images_holds_one_file_at_a_time(store: HistoryStore,
                                                            tmp_path: Path) -> None:
    conv = store.create_conversation("Many photos")
    size = 1_000_000
    for n in range(20):
        m = store.add_message(conv.id, "user", f"photo {n}")
        store.add_attachments(m.id, [Attachment(PartKind.IMAGE, f"p{n}.png", "image/png",
                                                b"\x89PNG\r\n\x1a\n" + os.urandom(size))])
    tracemalloc.start()
    try:
        export_native(store, [conv.id], str(tmp_path / "big.json"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "big.json").stat().st_size > 20 * size * 4 // 3
    # one file's bytes (and its pieces of base64) at a time, not 20 MB
    assert peak < 4 * size, f"peak {peak:,} bytes"
    tracemalloc.start()
    try:
        html_export.export_html(store, [conv.id], str(tmp_path / "big.html"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * size, f"peak {peak:,} bytes (HTML)"


# -- Markdown ----------------------------------------------------------------------------


def test_markdown_writes_the_files_beside_and_links_them(store: HistoryStore,
                                                        tmp_path: Path) -> None:
    id = seed(store, photo_name="../../../outside/tide [chart].png")
    out = tmp_path / "md"
    export_markdown(store, [id], str(out))
    (md,) = out.glob("*.md")
    folder = out / f"{md.stem}_files"
    written = sorted(p.name for p in folder.iterdir())
    sha = {data: hashlib.sha256(data).hexdigest()[:12] for data in (PHOTO, OTHER_PHOTO, PDF, NOTES)}
    assert written == sorted([f"{sha[PHOTO]}-tide [chart].png", f"{sha[OTHER_PHOTO]}-moon.png",
                              f"{sha[PDF]}-report.pdf", f"{sha[NOTES]}-notes.md",
                              f"{sha[PHOTO]}-again.png"])
    assert (folder / f"{sha[PDF]}-report.pdf").read_bytes() == PDF
    assert not (tmp_path / "outside").exists()  # the name's folders are not followed
    text = md.read_text()
    link = f"{folder.name}/{sha[PHOTO]}-tide%20%5Bchart%5D.png".replace(" ", "%20")
    assert f"![../../../outside/tide \\[chart\\].png]({link})" in text
    assert f"[report.pdf]({folder.name}/{sha[PDF]}-report.pdf) (PDF, " in text
    assert f"[notes.md]({folder.name}/{sha[NOTES]}-notes.md) (text/markdown, " in text
    # every link resolves to a file of the folder
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        assert (md.parent / unquote(target)).resolve().parent == folder.resolve()


def test_one_markdown_file_and_stdout(store: HistoryStore, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    id = seed(store)
    export_markdown(store, [id], str(tmp_path / "tides.md"))
    assert len(list((tmp_path / "tides_files").iterdir())) == 5
    export_markdown(store, [id], "-")
    printed = capsys.readouterr().out
    assert "*Attachment: report.pdf (PDF, " in printed and "_files/" not in printed


# -- HTML ----------------------------------------------------------------------------------


def _page_files(page: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="chatdesk-files">(.*?)</script>',
                      page, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_html_embeds_files_and_loads_nothing(store: HistoryStore, tmp_path: Path) -> None:
    id = seed(store)
    html_export.export_html(store, [id], str(tmp_path / "page.html"))
    page = (tmp_path / "page.html").read_text()
    assert f'content="{html_export.CSP}"' in page and "img-src data:" in html_export.CSP
    files = _page_files(page)
    assert len(files) == 4  # each file once
    photo = files[hashlib.sha256(PHOTO).hexdigest()]
    assert photo == "data:image/png;base64," + base64.b64encode(PHOTO).decode()
    # a PDF or text file is a download, never a page the browser would open
    assert files[hashlib.sha256(PDF).hexdigest()].startswith("data:application/octet-stream;")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    data = json.loads(re.search(r'id="chatdesk-data">(.*?)</script>', page, re.S)
                      .group(1).replace("\\u003c", "<"))  # type: ignore[union-attr]
    listed = data["conversations"][0]["messages"][0]["files"]
    assert [(f["name"], f["kind"]) for f in listed] == [
        ("tide chart.png", "image"), ("report.pdf", "document"), ("notes.md", "text_file")]


def test_html_names_a_file_too_large_to_embed(store: HistoryStore, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    id = seed(store)
    monkeypatch.setattr(html_export, "EMBED_CAP", len(PDF) - 1)
    html_export.export_html(store, [id], str(tmp_path / "page.html"))
    page = (tmp_path / "page.html").read_text()
    assert hashlib.sha256(PDF).hexdigest() not in _page_files(page)
    assert "report.pdf (" in page and "is not embedded: the page embeds files up to" in page


# -- ChatGPT and Claude --------------------------------------------------------------------

WHEN = 1_733_300_000.0


def _node(key: str, parent: str | None, role: str, content: dict[str, Any],
          metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": key, "parent": parent, "children": [], "message": {
        "id": key, "author": {"role": role}, "create_time": WHEN, "content": content,
        "metadata": metadata or {}}}


def chatgpt_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A ChatGPT export (shape of a real one, texts invented): a photo in a multimodal
    message, uploads listed in metadata.attachments, one of them not in the zip."""
    conversation = {
        "id": "conv-1", "conversation_id": "conv-1", "title": "Photo and notes",
        "create_time": WHEN, "update_time": WHEN, "current_node": "b",
        "mapping": {
            "a": _node("a", None, "user", {
                "content_type": "multimodal_text",
                "parts": [{"content_type": "image_asset_pointer",
                           "asset_pointer": "file-service://file-Img1", "size_bytes": 80,
                           "width": 3, "height": 2}, "What is in the photo and the notes?"]},
                {"attachments": [
                    {"id": "file-Img1", "name": "harbour.png", "size": 80,
                     "mime_type": "image/png"},
                    {"id": "file-Doc1", "name": "notes.txt", "size": 20,
                     "mime_type": "text/plain"},
                    {"id": "file-Gone", "name": "lost.pdf", "size": 999,
                     "mime_type": "application/pdf"}]}),
            "b": _node("b", "a", "assistant", {"content_type": "text", "parts": ["A harbour."]},
                       {"model_slug": "gpt-4o"}),
        }}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("conversations.json", json.dumps([conversation]))
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_chatgpt_zip_images_and_files_become_parts(target: HistoryStore, tmp_path: Path) -> None:
    path = chatgpt_zip(tmp_path / "export.zip", {"file-Img1-harbour.png": PHOTO,
                                                 "file-Doc1-notes.txt": NOTES})
    report = write_conversations(target, read_chatgpt(path), "chatgpt")
    assert (report.attachments_added, report.attachments_missing) == (2, 1)
    ((content, photo), (_, notes)) = every_attachment(target)
    assert content == "[file: lost.pdf]\n\nWhat is in the photo and the notes?"
    assert (photo.kind, photo.name, photo.media_type, photo.data) == (
        PartKind.IMAGE, "harbour.png", "image/png", PHOTO)
    assert (notes.kind, notes.name, notes.text) == (PartKind.TEXT_FILE, "notes.txt",
                                                    NOTES.decode())
    summary = import_summary(report, "chatgpt", 1)
    assert "2 attachments; 1 file was not in the export" in summary
    # again: nothing new, no file twice
    assert write_conversations(target, read_chatgpt(path), "chatgpt").attachments_added == 0
    assert target.blob_count() == 2


def test_chatgpt_files_missing_or_unreadable_never_stop_the_import(
        target: HistoryStore, tmp_path: Path) -> None:
    path = chatgpt_zip(tmp_path / "export.zip", {"file-Doc1-notes.txt": b"\x00\x01binary"})
    report = write_conversations(target, read_chatgpt(path), "chatgpt")
    assert report.messages_added == 2 and report.attachments_added == 0
    assert report.attachments_missing == 2  # the photo and lost.pdf: placeholders
    (note,) = report.notes
    assert note.startswith("notes.txt was left out of the import: ") and "\n" not in note
    texts = [m.content for m in target.messages(1)]
    # the photo the export lacks goes by the name it was uploaded with, not its id
    assert texts[0] == ("[file: lost.pdf]\n\n[image: harbour.png]\n\n"
                        "What is in the photo and the notes?")


def test_claude_attachments_become_text_files_and_files_placeholders(
        target: HistoryStore, tmp_path: Path) -> None:
    """A Claude export's shape (texts invented): `attachments` carry the text claude.ai
    extracted, `files` only a name."""
    conversation = {
        "uuid": "c-1", "name": "Budget review", "created_at": "2025-03-04T10:00:00Z",
        "updated_at": "2025-03-04T10:05:00Z", "chat_messages": [
            {"uuid": "m-1", "sender": "human", "created_at": "2025-03-04T10:00:00Z",
             "content": [{"type": "text", "text": "Check these."}],
             "attachments": [
                 {"file_name": "plan.md", "file_size": 12, "file_type": "text/markdown",
                  "extracted_content": "# Plan\n\nShip it."},
                 {"file_name": "budget.pdf", "file_size": 4000, "file_type": "pdf",
                  "extracted_content": "Total: 42 coins"}],
             "files": [{"file_name": "sketch.png", "file_uuid": "f-1"}]},
            {"uuid": "m-2", "sender": "assistant", "created_at": "2025-03-04T10:01:00Z",
             "content": [{"type": "text", "text": "Looks fine."}], "attachments": [],
             "files": []}]}
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conversation]))
    report = write_conversations(target, read_claude(path), "claude")
    assert (report.attachments_added, report.attachments_missing) == (2, 1)
    (content, plan), (_, budget) = every_attachment(target)
    assert content == "Check these.\n\n[file: sketch.png]"
    assert (plan.kind, plan.name, plan.media_type, plan.text) == (
        PartKind.TEXT_FILE, "plan.md", "text/markdown", "# Plan\n\nShip it.")
    # the text of a PDF, not the PDF: a text file that says so by its name
    assert (budget.kind, budget.name, budget.text) == (
        PartKind.TEXT_FILE, "budget.pdf.txt", "Total: 42 coins")


def test_a_damaged_zip_entry_is_left_out_with_one_sentence(target: HistoryStore,
                                                           tmp_path: Path) -> None:
    path = chatgpt_zip(tmp_path / "export.zip", {"file-Img1-harbour.png": PHOTO,
                                                 "file-Doc1-notes.txt": NOTES})
    raw = bytearray(path.read_bytes())
    at = raw.index(PHOTO)  # stored, not deflated: the bytes are there as they are
    raw[at + len(PHOTO) - 5] ^= 0xFF  # its CRC no longer matches
    path.write_bytes(bytes(raw))
    report = write_conversations(target, read_chatgpt(path), "chatgpt")
    assert report.attachments_added == 1 and report.messages_added == 2
    assert report.notes == ["harbour.png was left out of the import: it is damaged in the "
                            "export."]
