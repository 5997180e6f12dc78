"""Attaching in the window: the attach button's files, a drop, a pasted screenshot; chips
that can be taken out; the message sent with them; pictures as thumbnails that open full
size and files that save; one sentence for a file that cannot go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QIODevice, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from chatdesk.parts import PartKind
from chatdesk.ui.main_window import MainWindow
from tests.fakes.server import FakeProvider, Synth
from tests.ui.conftest import qt_warning_marks
from tests.ui.test_main_window import rows, wait_idle

pytestmark = qt_warning_marks()


def png(width: int, height: int, color: str = "#3070c0") -> bytes:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]
    return bytes(buffer.data().data())


def said(window: MainWindow) -> str:
    return window.statusBar().currentMessage()


def drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    assert window.composer is not None
    window.composer.dropEvent(event)


def send_with_files(qtbot: Any, window: MainWindow, paths: list[Path], text: str) -> list[Any]:
    """Attach the files, send `text`, wait for the answer: the question's AttachmentInfos."""
    window.controller.files.add_paths([str(p) for p in paths])
    window.send_text(text)
    wait_idle(qtbot, window)
    store = window.controller.store
    question = store.messages(window.controller.conversation_id)[0]
    return store.attachment_infos([question.id])[question.id]


def test_dropped_and_pasted_files_go_with_the_message_and_show_in_the_transcript(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path) -> None:
    fake_anthropic.script(Synth(["It is a blue square."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    composer = window.composer
    assert composer is not None and not composer.tray.isVisible()
    shot = tmp_path / "screen shot.png"
    shot.write_bytes(png(1600, 900))
    notes = tmp_path / "notes.txt"
    notes.write_text("the tide tables for May\n", encoding="utf-8")
    drop(window, [shot, notes])
    assert [c.name_label.toolTip() for c in composer.tray.chips] == ["screen shot.png",
                                                                     "notes.txt"]
    assert composer.tray.isVisible()
    # A pasted screenshot is a file too, not text.
    mime = QMimeData()
    mime.setImageData(QImage.fromData(png(40, 30, "#c03030")))
    composer.edit.insertFromMimeData(mime)
    assert len(composer.tray.chips) == 3 and composer.text() == ""
    composer.tray.chips[2].remove_button.click()  # taken out again
    assert len(composer.tray.chips) == 2

    composer.set_text("What is in the picture?")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert not composer.tray.isVisible()  # they went with the message
    question = ctx.store.messages(window.controller.conversation_id)[0]
    stored = ctx.store.attachments([question.id])[question.id]
    assert [(a.kind, a.name) for a in stored] == [(PartKind.IMAGE, "screen shot.png"),
                                                  (PartKind.TEXT_FILE, "notes.txt")]
    assert stored[0].data == shot.read_bytes()

    view = window.transcript
    doc = view.delegate.document(view.tmodel.index(0)).toHtml()
    assert f"thumb:{stored[0].sha256}" in doc and "notes.txt" in doc
    # The picture is decoded after the first paint, small, and the row drawn again with it.
    qtbot.waitUntil(lambda: view.thumbnails.decoded_image(stored[0].sha256) is not None)
    image = view.thumbnails.decoded_image(stored[0].sha256)
    assert (image.width(), image.height()) == (240, 135)  # 1600 × 900 scaled into 240 × 180
    assert image.pixelColor(10, 10).name() == "#3070c0"  # the picture, not the placeholder
    assert rows(window)[1].content == "It is a blue square."
    from chatdesk.ui.transcript_model import spoken_provenance

    assert "2 attached: screen shot.png, notes.txt" in spoken_provenance(rows(window)[0])


def test_a_picture_opens_full_size_and_a_file_saves(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path, monkeypatch: Any) -> None:
    fake_anthropic.script(Synth(["Seen."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    picture = tmp_path / "chart.png"
    picture.write_bytes(png(300, 200))
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n", encoding="utf-8")
    infos = send_with_files(qtbot, window, [picture, notes], "look")

    window.transcript.fileRequested.emit("view", infos[0].sha256, "chart.png")
    viewer = next(w for w in QApplication.topLevelWidgets()
                  if w.objectName() == "imageViewer" and w.isVisible())
    assert viewer.windowTitle() == "chart.png"
    assert viewer.picture.pixmap().width() == 300  # full size, not the thumbnail
    viewer.close()

    from PySide6.QtWidgets import QFileDialog

    target = tmp_path / "out" / "saved.md"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    window.transcript.fileRequested.emit("save", infos[1].sha256, "notes.md")
    assert target.read_text(encoding="utf-8") == "# Notes\n"
    assert said(window) == "Saved saved.md."
    blocked = tmp_path / "missing-folder" / "x.md"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(blocked), "")))
    window.transcript.fileRequested.emit("save", infos[1].sha256, "notes.md")
    assert said(window).startswith("x.md was not saved: its folder does not exist")


def test_a_file_that_cannot_go_is_one_sentence_and_the_others_are_attached(
        make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider, tmp_path: Path) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    good = tmp_path / "ok.txt"
    good.write_text("fine", encoding="utf-8")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 this is not really a pdf")
    window.controller.files.add_paths([str(broken), str(good), str(tmp_path / "gone.png")])
    assert window.composer is not None
    assert [c.name_label.toolTip() for c in window.composer.tray.chips] == ["ok.txt"]
    message = said(window)
    assert "broken.pdf" in message and "gone.png" in message
    window.controller.files.add_paths([str(good)])  # the same file twice: once
    assert len(window.composer.tray.chips) == 1
    assert said(window) == "ok.txt is attached already."


def test_files_wait_with_their_conversation(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    older = ctx.store.create_conversation("Older")
    ctx.store.add_message(older.id, "user", "hi")
    window = make_window(ctx)
    window.open_conversation(None)
    note = tmp_path / "a.txt"
    note.write_text("a", encoding="utf-8")
    window.controller.files.add_paths([str(note)])
    assert window.composer is not None and len(window.composer.tray.chips) == 1
    window.open_conversation(older.id)
    assert not window.composer.tray.chips and not window.composer.tray.isVisible()
    window.open_conversation(None)
    assert len(window.composer.tray.chips) == 1  # back with the new chat


def test_a_pdf_sent_as_its_text_says_so_in_the_answer(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_ollama: FakeProvider,
        tmp_path: Path) -> None:
    from tests.pdfs import make_pdf

    fake_ollama.script(Synth(["Revenue rose."]))
    ctx = make_ctx([("ollama", fake_ollama)])
    window = make_window(ctx)
    report = tmp_path / "report.pdf"
    report.write_bytes(make_pdf("Quarterly zeppelin report", "Revenue rose"))
    window.controller.files.add_paths([str(report)])
    window.send_text("Summarise it")
    wait_idle(qtbot, window)
    body = fake_ollama.requests[-1].json
    assert "Quarterly zeppelin report" in str(body["messages"][-1]["content"])
    answer = rows(window)[1]
    texts = [n.text for n in window.transcript.tmodel.notices(answer)]
    assert "Ollama got report.pdf as its extracted text (it is not known to read PDFs)" in texts


def test_files_no_provider_takes_are_refused_before_sending_and_kept(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path) -> None:
    import os

    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    big = tmp_path / "huge photo.png"
    # A PNG whose bytes are over Anthropic's 5 MB a picture (base64 counts): still a PNG.
    big.write_bytes(png(8, 8) + os.urandom(4_500_000))
    window.controller.files.add_paths([str(big)])
    assert window.composer is not None
    window.composer.set_text("What is this?")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    assert fake_anthropic.requests == []
    assert "huge photo.png" in said(window)
    assert window.composer.text() == "What is this?"  # nothing lost
    assert len(window.composer.tray.chips) == 1
    assert window.controller.conversation_id is None  # nothing saved


def test_a_screenshot_and_a_pdf_answered_by_the_backup_then_found_by_search(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider, tmp_path: Path) -> None:
    """The issue's whole path, as a person would go: drop a screenshot and a PDF, ask; the
    first provider is down, the backup answers with both files in its own format; the
    PDF's words are found by the sidebar's search."""
    import base64

    from tests.fakes.server import ErrorResponse
    from tests.pdfs import make_pdf

    fake_anthropic.script(ErrorResponse(529))
    fake_openai.script(Synth(["The screenshot shows the login page; the PDF is an invoice."]))
    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
    window = make_window(ctx)
    shot = tmp_path / "login.png"
    shot.write_bytes(png(320, 200))
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(make_pdf("Invoice 4711 for aubergines"))
    drop(window, [shot, invoice])
    assert window.composer is not None
    window.composer.set_text("What are these?")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert rows(window)[1].provider == "openai"
    parts = fake_openai.requests[-1].json["messages"][-1]["content"]
    image = next(p for p in parts if p["type"] == "image_url")
    assert image["image_url"]["url"] == \
        "data:image/png;base64," + base64.b64encode(shot.read_bytes()).decode()
    # A model not known to read PDFs (a fake's "gpt-test") gets the PDF's text, and says so.
    text = " ".join(p.get("text", "") for p in parts if p["type"] == "text")
    assert "invoice.pdf" in text and "Invoice 4711 for aubergines" in text
    notices = [n.text for n in window.transcript.tmodel.notices(rows(window)[1])]
    assert any("got invoice.pdf as its extracted text" in n for n in notices)

    window.sidebar.search.setText("aubergines")
    window.sidebar.run_search()
    qtbot.waitUntil(lambda: window.sidebar.results_model.rowCount() == 1, timeout=3000)
    from chatdesk.ui.sidebar import SearchRole

    shown = window.sidebar.results_model.data(window.sidebar.results_model.index(0),
                                              SearchRole.HTML)
    assert "in invoice.pdf" in shown and "<b>aubergines</b>" in shown


def test_a_file_opens_from_a_private_copy(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path, monkeypatch: Any) -> None:
    import stat

    from PySide6.QtGui import QDesktopServices

    fake_anthropic.script(Synth(["Read."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n", encoding="utf-8")
    [info] = send_with_files(qtbot, window, [notes], "read it")
    assert f"chatdesk-attachment:file:{info.sha256}" in window.transcript.delegate.document(
        window.transcript.tmodel.index(0)).toHtml()

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    monkeypatch.setattr(window, "open_or_save", lambda name: "open")  # the menu's first item
    window.transcript.fileRequested.emit("file", info.sha256, "../../notes.md")
    [path] = opened
    copy = Path(path)
    assert copy.name == "notes.md" and copy.read_text(encoding="utf-8") == "# Notes\n"
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700  # only this user reads it


def test_a_link_in_a_message_cannot_reach_another_messages_file(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path, monkeypatch: Any) -> None:
    fake_anthropic.script(Synth(["ok"]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    secret = tmp_path / "secret.txt"
    secret.write_text("private", encoding="utf-8")
    [info] = send_with_files(qtbot, window, [secret], "keep this")
    asked: list[tuple[str, str, str]] = []
    window.transcript.fileRequested.connect(lambda *a: asked.append(a))
    monkeypatch.setattr(window, "open_or_save", lambda name: None)  # the menu, dismissed
    view = window.transcript
    # The answer's text links to the question's file: nothing happens.
    view.activate(("link", 1, f"chatdesk-attachment:file:{info.sha256}"))
    view.activate(("link", 1, "file:///etc/passwd"))
    assert asked == []
    view.activate(("link", 0, f"chatdesk-attachment:file:{info.sha256}"))  # its own row
    assert asked == [("file", info.sha256, "secret.txt")]
