"""Screenshots of the main states, saved as PNGs (tmp dir and /tmp/chatdesk-shots/) to look at."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from chatdesk.store import HistoryStore
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.theme import apply_theme
from tests.fakes.server import ErrorResponse, FakeProvider, Stream, Synth
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()
SHOTS = Path("/tmp/chatdesk-shots")

MARKDOWN_ANSWER = """\
## Reading a CSV file

Three steps:

1. Open the file with `open()`.
2. Wrap it in a **csv.reader**.
3. Loop over the rows — see the [csv docs](https://docs.python.org/3/library/csv.html).

| Column | Type | Note |
|---|---|---|
| name | str | required |
| age | int | may be empty |

```python
import csv

with open("people.csv", newline="") as f:
    for row in csv.reader(f):
        print(row)
```

> Tip: pass `newline=""` or blank lines appear on Windows.
"""


@pytest.fixture
def shoot(tmp_path: Path, qtbot: Any) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)

    def save(window: MainWindow, name: str) -> Path:
        qtbot.wait(120)  # let delayed layouts and lazy renders settle
        path = tmp_path / f"{name}.png"
        assert window.grab().save(str(path)), f"could not save {path}"
        shutil.copy(path, SHOTS / path.name)
        assert path.stat().st_size > 5000  # a real picture, not an empty image
        return path

    yield save


def seed_markdown(store: HistoryStore) -> int:
    older = store.create_conversation("Trip to Lisbon")
    store.add_message(older.id, "user", "Plan three days in Lisbon")
    store.add_message(older.id, "assistant", "Day 1: Alfama…", provider="openai",
                      model="gpt-4o")
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "How do I read a CSV file in Python?")
    store.add_message(conv.id, "assistant", MARKDOWN_ANSWER, provider="anthropic",
                      model="claude-sonnet-4-5")
    return conv.id


def test_empty_window(make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                      shoot: Any) -> None:
    window = make_window(make_ctx([("anthropic", fake_anthropic)]))
    shoot(window, "01-empty")


def open_markdown(qtbot: Any, make_ctx: Any, make_window: Any,
                  fake_anthropic: FakeProvider) -> MainWindow:
    """A window showing the markdown conversation from its top."""
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = seed_markdown(ctx.store)
    window = make_window(ctx)
    window.open_conversation(conv)
    window.transcript.scrollToTop()
    qtbot.wait(50)
    return window


def test_markdown_conversation(qtbot: Any, make_ctx: Any, make_window: Any,
                               fake_anthropic: FakeProvider, shoot: Any) -> None:
    window = open_markdown(qtbot, make_ctx, make_window, fake_anthropic)
    view = window.transcript
    # Hover the answer: its Copy / Regenerate links appear at its top right.
    rect = view.visualRect(view.tmodel.index(1))
    qtbot.mouseMove(view.viewport(), rect.center())
    shoot(window, "02-markdown")


def test_selected_text(qtbot: Any, make_ctx: Any, make_window: Any,
                       fake_anthropic: FakeProvider, shoot: Any) -> None:
    window = open_markdown(qtbot, make_ctx, make_window, fake_anthropic)
    view = window.transcript
    index = view.tmodel.index(1)
    rect = view.visualRect(index)
    origin = view.delegate.doc_origin(rect, view.tmodel.row(index.row()))
    start = origin + QPoint(60, 52)  # in "Three steps", then down into the list
    end = QPoint(rect.center().x(), origin.y() + 110)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), pos=end)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    assert "Open the file with open()." in view.selected_text()
    shoot(window, "02b-selection")


def test_search_results(qtbot: Any, make_ctx: Any, make_window: Any,
                        fake_anthropic: FakeProvider, shoot: Any) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    seed_markdown(ctx.store)
    window = make_window(ctx)
    qtbot.keyClicks(window.sidebar.search, "csv")
    qtbot.waitUntil(lambda: window.sidebar.results_model.rowCount() > 0, timeout=3000)
    shoot(window, "08-search")


def test_streaming(qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                   shoot: Any) -> None:
    words = "Tides are caused mainly by the Moon's gravity pulling on the oceans, "
    fake_anthropic.script(Synth([w + " " for w in (words * 3).split()], delay_s=0.05))
    window = make_window(make_ctx([("anthropic", fake_anthropic)]))
    window.composer.set_text("Why are there tides?")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.transcript.tmodel.rows) == 2
                    and len(window.transcript.tmodel.rows[1].content) > 60, timeout=5000)
    window.composer.set_text("And what about")
    shoot(window, "03-streaming")
    qtbot.waitUntil(lambda: not window.controller.bridge.busy, timeout=10000)


def test_streaming_markdown(qtbot: Any, make_ctx: Any, make_window: Any,
                            fake_anthropic: FakeProvider, shoot: Any) -> None:
    # A markdown answer mid-stream: its settled part is drawn part by part (delegate's live
    # document), which must look like the finished answer.
    pieces = re.findall(r"\s*\S+", MARKDOWN_ANSWER)
    fake_anthropic.script(Synth(pieces, delay_s=0.03))
    window = make_window(make_ctx([("anthropic", fake_anthropic)]))
    window.composer.set_text("How do I read a CSV file in Python?")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.transcript.tmodel.rows) == 2
                    and "for row in" in window.transcript.tmodel.rows[1].content,
                    timeout=10000)
    shoot(window, "03b-streaming-markdown")
    qtbot.waitUntil(lambda: not window.controller.bridge.busy, timeout=15000)
    shoot(window, "03c-streamed-markdown-finished")


def test_failover_notice(qtbot: Any, make_ctx: Any, make_window: Any,
                         fake_anthropic: FakeProvider, fake_openai: FakeProvider,
                         shoot: Any) -> None:
    fake_anthropic.script(Stream("stream_error_overloaded_midstream.sse"))
    window = make_window(make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)]))
    window.composer.set_text("What causes tides?")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.controller.bridge.busy, timeout=10000)
    model = window.transcript.tmodel
    answer = model.rows[-1]
    notice = model.notices(answer)[0]
    model.toggle_notice(len(model.rows) - 1, notice.attempt_id)
    shoot(window, "04-failover")


def test_pending(qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                 fake_openai: FakeProvider, shoot: Any) -> None:
    fake_anthropic.default_response = ErrorResponse(529)
    fake_openai.default_response = ErrorResponse(503)
    window = make_window(make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)]))
    window.composer.set_text("Summarise the meeting notes")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.controller.bridge.busy, timeout=10000)
    window.controller.refresh_status()
    shoot(window, "05-pending")


def test_read_only_browse(make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                          data_dir: Path, shoot: Any) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = seed_markdown(ctx.store)
    path = ctx.paths.history_db
    store = HistoryStore.open_readonly(path)
    try:
        window = make_window(store=store, browse_path=path)
        window.open_conversation(conv)
        shoot(window, "06-browse")
    finally:
        store.close()


def test_dark_theme(make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                    shoot: Any) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "dark")
    try:
        ctx = make_ctx([("anthropic", fake_anthropic)])
        conv = seed_markdown(ctx.store)
        window = make_window(ctx)
        window.open_conversation(conv)
        window.transcript.scrollToTop()
        shoot(window, "07-dark")
    finally:
        apply_theme(app, "light")


def test_undo_banner(make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                     shoot: Any) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = seed_markdown(ctx.store)
    window = make_window(ctx)
    window.sidebar.delete_conversation(conv)
    assert window.undo_banner.isVisibleTo(window)
    shoot(window, "09-undo")


def huge_table(rows: int, cols: int) -> str:
    head = "| " + " | ".join(f"Col {c}" for c in range(cols)) + " |\n|" + "---|" * cols + "\n"
    return "Here is the whole export:\n\n" + head + "".join(
        "| " + " | ".join(f"{r * cols + c}" for c in range(cols)) + " |\n" for r in range(rows))


def test_huge_message_collapsed(qtbot: Any, make_ctx: Any, make_window: Any,
                                fake_anthropic: FakeProvider, shoot: Any) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Export everything")
    ctx.store.add_message(conv.id, "user", "Put all 3,000 rows in one table")
    ctx.store.add_message(conv.id, "assistant", huge_table(3000, 20), provider="anthropic",
                          model="claude-sonnet-4-5")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    view = window.transcript
    qtbot.waitUntil(lambda: view.tmodel.rowCount() == 2, timeout=3000)
    doc = view.delegate.document_for(view.tmodel.row(1), view.tmodel)
    assert "Show all" in doc.toPlainText()
    shoot(window, "13-huge-collapsed")
    view.activate(("link", 1, "page:0"))
    view.scrollToBottom()
    shoot(window, "13b-huge-show-all")


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("width", [1100, 480])
def test_all_down_and_recovered(make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                                fake_openai: FakeProvider, shoot: Any, qtbot: Any,
                                width: int, theme: str) -> None:
    """The pending message with its reason, countdown and Send now; then the late answer
    with its provenance. Nothing may be cut off, at any width, in either theme."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme)
    try:
        fake_anthropic.script(ErrorResponse(529))
        fake_openai.script(ErrorResponse(503))
        ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)], cooldown_s=60)
        window = make_window(ctx, size=(width, 640))
        assert window.composer is not None
        window.composer.set_text("Where is the nearest train station?")
        window.send_text("Where is the nearest train station?")
        qtbot.waitUntil(lambda: not window.controller.busy
                        and bool(window.transcript.tmodel.rows[0].pending_note), timeout=10000)
        shoot(window, f"30-all-down-{width}-{theme}")
        pending = window.transcript.tmodel.rows[0]
        doc = window.transcript.delegate.document_for(pending, window.transcript.tmodel)
        assert doc.size().width() <= window.transcript.delegate.text_width() + 1  # it wraps
        fake_anthropic.script(ErrorResponse(529))
        fake_openai.script(Synth(["The station is two streets away, past the bakery."]))
        assert window.controller.send_now()
        qtbot.waitUntil(lambda: not window.controller.busy
                        and len(window.transcript.tmodel.rows) == 2, timeout=10000)
        shoot(window, f"31-recovered-{width}-{theme}")
    finally:
        apply_theme(app, "light")


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("width", [1100, 800])
def test_refusal_then_versions(make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                               fake_openai: FakeProvider, shoot: Any, qtbot: Any,
                               width: int, theme: str) -> None:
    """A refusal with its collapsed thinking and "Ask OpenAI"; then OpenAI's answer, with the
    question's "‹ 2/2 ›" and the answer's usage. Every button and word is in the window."""
    from tests.ui.layout_check import clipped_text, outside
    from tests.wirefiles import WIRE_COPY

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme)
    try:
        refusal = (WIRE_COPY / "sdk" / "anthropic" / "thinking_then_refusal.sse").read_bytes()
        fake_anthropic.script(Stream(refusal))
        fake_openai.script(Synth(["A solar eclipse happens when the Moon passes between the "
                                  "Sun and the Earth and casts its shadow on the Earth."]))
        ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
        window = make_window(ctx, size=(width, 560))
        window.send_text("What is a solar eclipse?")
        qtbot.waitUntil(lambda: not window.controller.busy
                        and window.transcript.tmodel.rows[-1].status == "refused", timeout=10000)
        view = window.transcript
        shoot(window, f"14-refused-{width}-{theme}")
        assert "ask-other" in view.tmodel.actions(1)
        assert window.controller.message_actions.ask_other(view.tmodel.rows[1].id)
        qtbot.waitUntil(lambda: not window.controller.busy
                        and window.transcript.tmodel.rows[-1].provider == "openai",
                        timeout=10000)
        qtbot.waitUntil(lambda: view.tmodel.rows[0].versions is not None)
        view.setFocus()
        view.setCurrentIndex(view.tmodel.index(0))  # the keyboard's row: its buttons show
        shoot(window, f"15-versions-{width}-{theme}")
        assert clipped_text(window) == [] and outside(window) == []
        viewport = view.viewport().rect()
        for row in (0, 1):
            rect = view.visualRect(view.tmodel.index(row))
            areas = view.delegate.button_rects(rect, view.tmodel.row(row),
                                               view.tmodel.actions(row), view.footer_font(),
                                               view.tmodel)
            assert areas and all(viewport.contains(a) for _, a in areas), (row, areas)
        counts = [a for n, a in view.delegate.button_rects(
            view.visualRect(view.tmodel.index(0)), view.tmodel.row(0),
            view.tmodel.actions(0), view.footer_font(), view.tmodel) if n == "count"]
        metrics = QFontMetrics(view.footer_font())
        assert counts and counts[0].width() >= metrics.horizontalAdvance("2/2")  # it fits
    finally:
        apply_theme(app, "light")


def test_imported_tool_turns(make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                             shoot: Any, qtbot: Any) -> None:
    """An imported ChatGPT code-interpreter run: the code, then its output, never "Not
    answered"."""
    from chatdesk.transfer.chatgpt import read_chatgpt
    from chatdesk.transfer.common import write_conversations

    fixture = Path(__file__).parents[1] / "transfer" / "fixtures" / "toolturns" / "chatgpt" \
        / "conversations.json"
    ctx = make_ctx([("anthropic", fake_anthropic)])
    write_conversations(ctx.store, read_chatgpt(fixture), "chatgpt")
    window = make_window(ctx, size=(1100, 760))
    [summary] = ctx.store.list_conversations()
    window.open_conversation(summary.id)
    view = window.transcript
    first_tool = next(i for i, r in enumerate(view.tmodel.rows) if r.role == "tool")
    view.scrollTo(view.tmodel.index(max(0, first_tool - 2)),
                  view.ScrollHint.PositionAtTop)
    qtbot.wait(80)
    shoot(window, "16-tool-turns")
    shown = [view.delegate.document(view.tmodel.index(i)).toPlainText()
             for i in range(view.tmodel.rowCount())]
    assert not any("Not answered" in text for text in shown)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_attachments(make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
                     shoot: Any, qtbot: Any, tmp_path: Path, theme: str) -> None:
    """A sent picture as a thumbnail in your bubble, a file line, and chips of the next
    message's files above the composer; nothing cut off."""
    from tests.ui.layout_check import clipped_text, outside
    from tests.ui.test_attachments_ui import png

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme)
    try:
        fake_anthropic.script(Synth(["The chart shows sales rising from March to May."]))
        ctx = make_ctx([("anthropic", fake_anthropic)])
        window = make_window(ctx, size=(1100, 700))
        chart = tmp_path / "sales chart.png"
        chart.write_bytes(png(1200, 700, "#4a8f5c"))
        report = tmp_path / "quarterly report.txt"
        report.write_text("Q2: up 12 %\n", encoding="utf-8")
        window.controller.files.add_paths([str(chart), str(report)])
        window.send_text("What does this chart show?")
        qtbot.waitUntil(lambda: not window.controller.busy
                        and len(window.transcript.tmodel.rows) == 2, timeout=10000)
        notes = tmp_path / "meeting notes.md"
        notes.write_text("- ask about June\n", encoding="utf-8")
        window.controller.files.add_paths([str(notes)])
        window.controller.files.add_image(png(64, 48, "#c07030"))
        shoot(window, f"17-attachments-{theme}")
        assert clipped_text(window) == [] and outside(window) == []
    finally:
        apply_theme(app, "light")
