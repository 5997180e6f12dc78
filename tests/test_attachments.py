"""Attachments from files and pasted bytes, and ChatService sending them with every turn."""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk.attachment_files import (
    MAX_ATTACHMENT_BYTES,
    AttachmentError,
    attachment_from_bytes,
    read_attachment,
)
from chatdesk.chat import ChatService
from chatdesk.parts import Attachment, PartKind
from chatdesk.providers.base import ChatRequest, Provider, ProviderEvent
from chatdesk.secrets import KeyStore
from chatdesk.settings import ProviderSettings
from chatdesk.store import HistoryStore
from tests.fakes.server import ErrorResponse, FakeProvider
from tests.pdfs import make_pdf
from tests.test_chat import FakeClock, entry, env_var, make_settings


def png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- files into attachments -------------------------------------------------------------

@pytest.mark.parametrize(("name", "data", "media_type"), [
    ("shot.png", png(), "image/png"),
    ("photo.jpg", JPEG, "image/jpeg"),
    ("anim.gif", GIF, "image/gif"),
    ("pic.webp", WEBP, "image/webp"),
    ("misnamed.txt", png(), "image/png"),  # the content decides, not the name
    ("no-extension", JPEG, "image/jpeg"),
])
def test_images_are_known_by_their_content(tmp_path: Path, name: str, data: bytes,
                                           media_type: str) -> None:
    got = read_attachment(write(tmp_path, name, data))
    assert (got.kind, got.name, got.media_type, got.data, got.text) == (
        PartKind.IMAGE, name, media_type, data, None)


def test_a_pdf_has_its_text_extracted(tmp_path: Path) -> None:
    data = make_pdf("Quarterly zeppelin report\nRevenue rose", "Second page: dirigibles")
    got = read_attachment(write(tmp_path, "report.pdf", data))
    assert (got.kind, got.media_type, got.data) == (PartKind.DOCUMENT, "application/pdf", data)
    assert got.text is not None
    assert "Quarterly zeppelin report" in got.text and "dirigibles" in got.text


@pytest.mark.parametrize(("name", "data", "media_type", "text"), [
    ("notes.txt", "ünïcode notes\n".encode(), "text/plain", "ünïcode notes\n"),
    ("README.md", b"# Title\n", "text/markdown", "# Title\n"),
    ("data.json", b'{"a": 1}', "application/json", '{"a": 1}'),
    ("main.py", b"print('hi')\n", "text/x-python", "print('hi')\n"),
    ("bom.txt", b"\xef\xbb\xbfwith bom", "text/plain", "with bom"),
    ("wide.txt", "wide text".encode("utf-16"), "text/plain", "wide text"),
    ("Makefile", b"all:\n\ttrue\n", "text/plain", "all:\n\ttrue\n"),
])
def test_text_files_are_decoded(tmp_path: Path, name: str, data: bytes, media_type: str,
                                text: str) -> None:
    got = read_attachment(write(tmp_path, name, data))
    assert (got.kind, got.media_type, got.text, got.data) == (
        PartKind.TEXT_FILE, media_type, text, data)


def one_sentence(message: str) -> None:
    assert message[0].isupper() and message.endswith(".") and "\n" not in message
    assert "Traceback" not in message and "Error" not in message


@pytest.mark.parametrize(("name", "data", "words"), [
    ("broken.png", b"not a png at all", "not a readable PNG image"),
    ("broken.pdf", make_pdf("cut short")[:200], "not a readable PDF"),
    ("junk.pdf", b"%PDF-1.7\nnothing else", "not a readable PDF"),
    ("locked.pdf", make_pdf("secret", password="pw"), "protected with a password"),
    ("archive.zip", b"PK\x03\x04" + b"\x00" * 40, "ZIP archive"),
    ("letter.docx", b"PK\x03\x04" + b"\x00" * 40, "ZIP archive"),
    ("picture.bmp", b"BM" + b"\x00" * 60, "BMP image"),
    ("song.mp3", b"ID3\x03\x00" + b"\x00" * 40, "MP3 file"),
    ("tool.bin", b"\x00\x01\x02\x03" * 10, "not text"),
    ("latin1.txt", "café".encode("latin-1"), "not UTF-8 text"),
    ("empty.txt", b"", "it is empty"),
])
def test_bad_files_give_one_sentence(tmp_path: Path, name: str, data: bytes, words: str,
                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(AttachmentError) as raised:
        read_attachment(write(tmp_path, name, data))
    message = str(raised.value)
    one_sentence(message)
    assert f"Could not attach {name}: " in message and words in message
    assert message.endswith(" Nothing was sent.")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as f:  # sparse: 32 MB on the disk's word, nothing written
        f.truncate(MAX_ATTACHMENT_BYTES + 2_000_000)

    def no_reading(*_: object, **__: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    with pytest.raises(AttachmentError) as raised:
        read_attachment(path)
    one_sentence(str(raised.value))
    assert "huge.png: it is 32 MB, more than the 30 MB" in str(raised.value)


def test_huge_pasted_bytes_are_refused() -> None:
    with pytest.raises(AttachmentError, match="more than the 30 MB"):
        attachment_from_bytes("paste.png", b"\x89PNG\r\n\x1a\n" + bytes(MAX_ATTACHMENT_BYTES))


def test_missing_unreadable_and_folders(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match="there is no such file"):
        read_attachment(tmp_path / "gone.txt")
    with pytest.raises(AttachmentError, match="it is not a file"):
        read_attachment(tmp_path)
    locked = write(tmp_path, "locked.txt", b"secret")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: every file is readable")
        with pytest.raises(AttachmentError, match="permission denied"):
            read_attachment(locked)
    finally:
        locked.chmod(0o600)


def test_a_pasted_image_keeps_its_bytes_and_a_name() -> None:
    data = png(3, 1)
    got = attachment_from_bytes("  ", data, "image/png")
    assert (got.kind, got.name, got.media_type, got.data) == (
        PartKind.IMAGE, "attachment", "image/png", data)
    with pytest.raises(AttachmentError, match="not a readable PNG image"):
        attachment_from_bytes("paste.png", b"garbage", "image/png")


# -- sending with attachments ------------------------------------------------------------

class RecordingService(ChatService):
    """A ChatService that notes every ChatRequest handed to a provider object."""

    requests: list[tuple[str, ChatRequest]]

    def build_provider(self, provider: ProviderSettings) -> Provider:
        built = super().build_provider(provider)
        seen = self.requests
        original = built.stream

        async def stream(request: ChatRequest) -> AsyncIterator[ProviderEvent]:
            seen.append((provider.name, request))
            async for event in original(request):
                yield event

        built.stream = stream  # type: ignore[method-assign]
        return built


@pytest.fixture
def two_fakes() -> Iterator[tuple[FakeProvider, FakeProvider]]:
    with FakeProvider("anthropic") as first, FakeProvider("openai") as backup:
        yield first, backup


@pytest.fixture
def service(tmp_path: Path,
            two_fakes: tuple[FakeProvider, FakeProvider]) -> Iterator[RecordingService]:
    first, backup = two_fakes
    entries = [entry("first", first), entry("backup", backup)]
    store = HistoryStore.open(tmp_path / "history.db")
    RecordingService.requests = []
    svc = RecordingService(store, make_settings(entries),
                           KeyStore(environ={env_var(n): k for n, _, _, k in entries if k}),
                           clock=FakeClock(), flush_interval_s=0.05)
    yield svc
    store.close()


async def collect(stream: AsyncIterator[ev.ChatEvent]) -> list[ev.ChatEvent]:
    return [event async for event in stream]


def shot() -> Attachment:
    return attachment_from_bytes("shot.png", png())


def report() -> Attachment:
    return attachment_from_bytes("report.pdf", make_pdf("zeppelin revenue table"))


async def test_prepare_saves_the_files_with_the_message(service: RecordingService) -> None:
    prepared = service.prepare("What is in these?", None, [shot(), report()])
    got = service.store.attachments([prepared.message.id])[prepared.message.id]
    assert [(a.name, a.kind) for a in got] == [("shot.png", PartKind.IMAGE),
                                               ("report.pdf", PartKind.DOCUMENT)]
    assert got[0].data == png()


async def test_a_file_that_cannot_be_saved_saves_no_message(service: RecordingService) -> None:
    forged = Attachment(PartKind.IMAGE, "f.png", "image/png", png(), sha256="00" * 32)
    with pytest.raises(ValueError):
        service.prepare("with a forged file", None, [shot(), forged])
    assert service.store.list_conversations() == []
    assert service.store.blob_count() == 0


async def test_every_earlier_attachment_reaches_the_backup(
        service: RecordingService, two_fakes: tuple[FakeProvider, FakeProvider]) -> None:
    first, backup = two_fakes
    events = await collect(service.send("Describe the screenshot", None, [shot()]))
    [done] = [e for e in events if isinstance(e, ev.AnswerFinished)]
    conversation = done.conversation_id
    assert service.requests[-1][1].messages[-1].attachments == (shot(),)

    first.script(ErrorResponse(529))  # the first is down: the backup gets it all
    events = await collect(service.send("And the PDF?", conversation, [report()]))
    [done] = [e for e in events if isinstance(e, ev.AnswerFinished)]
    assert done.provider == "backup"
    name, request = service.requests[-1]
    assert name == "backup"
    assert [(m.role, [a.name for a in m.attachments]) for m in request.messages] == [
        ("user", ["shot.png"]), ("assistant", []), ("user", ["report.pdf"])]
    assert request.messages[0].attachments[0].data == png()
    assert request.messages[2].attachments[0].text == "zeppelin revenue table"
    assert service.history(conversation, done.message_id)[0].attachments == (shot(),)


async def test_regenerate_and_branch_keep_the_files(service: RecordingService) -> None:
    events = await collect(service.send("Look", None, [shot()]))
    [done] = [e for e in events if isinstance(e, ev.AnswerFinished)]
    conversation = done.conversation_id
    await collect(service.regenerate(conversation))
    assert service.requests[-1][1].messages[-1].attachments == (shot(),)
    last = service.last_user_message(conversation)
    assert last is not None
    assert [a.name for a in service.store.attachments([last.id])[last.id]] == ["shot.png"]

    branch = service.branch_from(conversation, last.id)
    [copied] = [m for m in service.store.messages(branch) if m.role == "user"]
    assert service.store.attachments([copied.id])[copied.id] == [shot()]
    assert service.store.blob_count() == 1  # the copies share the one stored image


async def test_limits_count_the_files_of_earlier_messages(service: RecordingService) -> None:
    from chatdesk.attachment_limits import AttachmentLimitError

    many = [attachment_from_bytes(f"i{n}.png", png(1, n + 1)) for n in range(100)]
    prepared = service.prepare("a hundred images", None, many, providers=["first"])
    conversation = prepared.conversation_id
    service.store.set_message_status(prepared.message.id, "complete")
    one_more = [attachment_from_bytes("last.png", png(9, 9))]
    service.check_attachments(one_more, conversation)  # the backup (openai) takes 101
    with pytest.raises(AttachmentLimitError, match="has 101 images, and it takes at most 100"):
        service.check_attachments(one_more, conversation, providers=["first"])
    before = service.store.messages(conversation)
    with pytest.raises(AttachmentLimitError):
        service.prepare("one more", conversation, one_more, providers=["first"])
    assert service.store.messages(conversation) == before
    assert service.store.blob_count() == 100


async def test_an_earlier_pdfs_pages_count_for_a_follow_up(service: RecordingService) -> None:
    from chatdesk.attachment_limits import AttachmentLimitError

    long_pdf = attachment_from_bytes("long.pdf", make_pdf(*["a page"] * 60))
    prepared = service.prepare("read this", None, [long_pdf])
    service.store.set_message_status(prepared.message.id, "complete")
    more = attachment_from_bytes("more.pdf", make_pdf(*["another page"] * 41))
    with pytest.raises(AttachmentLimitError, match="the conversation's PDFs have 101 pages"):
        service.check_attachments([more], prepared.conversation_id)
    service.check_attachments([], prepared.conversation_id)
