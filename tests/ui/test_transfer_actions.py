"""File ▸ Import / Export in the app: worker thread, progress, cancel, summaries, browse mode."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QPushButton

from chatdesk.cli import main as cli_main
from chatdesk.store import HistoryStore
from chatdesk.transfer import native
from chatdesk.transfer.chatgpt import read_chatgpt
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.transfer_actions import TransferActions
from tests.fakes.server import FakeProvider, Synth
from tests.transfer.test_chatgpt import real_export_zip
from tests.transfer.test_native import seed_history
from tests.ui.conftest import OFFSCREEN_NOISE, qt_warning_marks

pytestmark = qt_warning_marks()
FIXTURES = Path(__file__).parents[1] / "transfer" / "fixtures"
SHOTS = Path("/tmp/chatdesk-shots")
CHATGPT_TITLES = {"Greetings in three scripts", "What breed is this cat? Also plot y = x² for me.",
                  "Wie spät ist es in Tōkyō — und warum heißt es 東京?"}


def titles(window: MainWindow) -> set[str]:
    model = window.sidebar.model
    return {s.title or "" for s in (model.summary(r) for r in range(model.rowCount())) if s}


def counts(store: HistoryStore) -> tuple[int, int]:
    return (store.count_conversations(),
            store.db.execute("SELECT count(*) FROM messages").fetchone()[0])


def finish(qtbot: Any, actions: TransferActions) -> str:
    """Wait for the running job, then return (and dismiss) the message it showed."""
    qtbot.waitUntil(lambda: not actions.busy, timeout=15000)
    box = actions.message_box
    assert box is not None and box.isVisible()
    text = box.text()
    assert text == actions.last_message
    box.close()
    return text


def one_line(text: str) -> str:
    assert "\n" not in text and "Traceback" not in text and "Error" not in text, text
    return text


def cli_summary(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> str:
    capsys.readouterr()
    assert cli_main(["--data-dir", str(data), *argv]) == 0
    return capsys.readouterr().err.strip()


def seed(store: HistoryStore) -> list[int]:
    a = store.create_conversation("Wombat facts")
    store.add_message(a.id, "user", "Tell me about wombats")
    store.add_message(a.id, "assistant", "Wombats make cube-shaped droppings.",
                      provider="anthropic", model="claude-test")
    b = store.create_conversation("Bread")
    store.add_message(b.id, "user", "banana bread?")
    store.add_message(b.id, "assistant", "Mash three ripe bananas.", provider="openai",
                      model="gpt-test")
    return [a.id, b.id]


@pytest.fixture
def window(make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> MainWindow:
    return make_window(make_ctx([("anthropic", fake_anthropic)]))


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, threading.Event]]:
    """ChatGPT's reader, held after the first conversation until `proceed` is set."""
    events = {"reached": threading.Event(), "proceed": threading.Event()}

    def slow_reader(path: Path) -> Iterator[Any]:
        items = read_chatgpt(path)
        try:
            time.sleep(0.15)  # past the writer's first progress report
            yield next(items)
            events["reached"].set()
            events["proceed"].wait(10)
            yield from items
        finally:
            items.close()

    monkeypatch.setattr("chatdesk.transfer.chatgpt.read_chatgpt", slow_reader)
    yield events
    events["proceed"].set()


# An open menu grabs the keyboard, which the headless platform cannot do.
@pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE, "This plugin does not support grabbing the keyboard")
def test_the_file_menu_comes_first_and_its_actions_open_the_dialogs(
        qtbot: Any, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    bar = window.menuBar()
    assert [a.text() for a in bar.actions()][:2] == ["&File", "&Chat"]
    menu = bar.actions()[0].menu()
    assert [a.text() for a in menu.actions()] == [
        "Import from ChatGPT…", "Import from Claude…", "Import from another app",
        "Import an unzipped export folder", "Import chatdesk JSON…", "",
        "Export this conversation…", "Export all conversations…"]
    actions = window.transfers
    assert not actions.export_this.isEnabled()  # no conversation open yet

    SHOTS.mkdir(parents=True, exist_ok=True)
    menu.popup(window.mapToGlobal(QPoint(0, bar.height())))
    qtbot.waitUntil(menu.isVisible)
    qtbot.wait(100)
    assert menu.grab().save(str(SHOTS / "20-file-menu.png"))
    menu.hide()

    asked: list[tuple[str, str]] = []

    def open_file(parent: Any, title: str, start: str, filters: str) -> tuple[str, str]:
        asked.append((title, filters))
        return str(FIXTURES / "chatgpt" / "conversations.json"), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(open_file))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a: str(FIXTURES / "claude")))
    actions.import_chatgpt.trigger()
    assert asked == [("Import from ChatGPT", "ChatGPT export (*.zip *.json);;All files (*)")]
    assert finish(qtbot, actions).startswith("Imported 3 conversations (23 messages) from "
                                             "ChatGPT;")
    assert titles(window) == CHATGPT_TITLES
    actions.import_claude_dir.trigger()
    assert finish(qtbot, actions).startswith("Imported 3 conversations (15 messages) from Claude")
    assert len(titles(window)) == 6

    target = tmp_path / "all.html"
    actions.export_all.trigger()
    dialog = actions.export_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.set_format("html")
    assert dialog.destination().endswith("chatdesk-export.html")
    dialog.path_edit.setText(str(target))
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    shown = window.store.db.execute(
        "SELECT count(*) FROM messages WHERE is_alternate = 0").fetchone()[0]
    assert finish(qtbot, actions) == f"Exported 6 conversations ({shown} messages) to {target}"
    assert "Greetings in three scripts" in target.read_text(encoding="utf-8")

    window.sidebar.list.setCurrentIndex(window.sidebar.model.index(1))
    assert window.controller.conversation_id is not None
    assert actions.export_this.isEnabled()


def test_the_import_summary_is_the_command_lines(
        qtbot: Any, window: MainWindow, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    export = real_export_zip(tmp_path / "chatgpt.zip")
    actions = window.transfers
    assert actions.import_path("chatgpt", export)
    assert actions.busy and not actions.import_chatgpt.isEnabled()
    first = finish(qtbot, actions)
    assert first == cli_summary(capsys, tmp_path / "cli", "import", "chatgpt", str(export))
    assert first == ("Imported 3 conversations (23 messages) from ChatGPT; 2 attachments; "
                     "1 empty skipped; 0 already there\n"  # the zip's photo and DALL·E picture
                     "Custom instructions: 1 imported as a preset its conversations follow\n"
                     "Memory: 1 imported as the preset “ChatGPT memory”")
    assert titles(window) == CHATGPT_TITLES
    assert window.statusBar().currentMessage() == first
    assert actions.import_chatgpt.isEnabled()

    assert actions.import_path("chatgpt", export)
    again = finish(qtbot, actions)
    assert again == cli_summary(capsys, tmp_path / "cli", "import", "chatgpt", str(export))
    assert again == ("Imported 0 conversations (0 messages) from ChatGPT; 1 empty skipped; "
                     "3 already there\nCustom instructions: 1 already there\n"
                     "Memory: 1 already there")
    assert counts(window.store) == (3, 23)


def test_a_chatdesk_json_export_imports(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "other.db") as other:
        seed_history(other)
        native.export_native(other, native.select_conversations(other, None),
                             str(tmp_path / "mine.json"))
        expected = {s.title or "" for s in other.list_conversations()}
        n = other.count_conversations()
        m = other.db.execute("SELECT count(*) FROM messages WHERE conversation_id IN"
                             " (SELECT id FROM conversations WHERE deleted_at IS NULL)"
                             ).fetchone()[0]
    assert n >= 2
    actions = window.transfers
    assert actions.import_path("chatdesk", tmp_path / "mine.json")
    assert finish(qtbot, actions) == (f"Imported {n} conversations ({m} messages) from a "
                                      "chatdesk export; 0 empty skipped; 0 already there")
    assert titles(window) == expected
    assert counts(window.store) == (n, m)


def test_a_truncated_export_says_so_in_one_line_and_adds_nothing(
        qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    seed(window.store)
    window.sidebar.reload()
    before, shown = counts(window.store), titles(window)
    data = (FIXTURES / "chatgpt" / "conversations.json").read_bytes()
    cut = tmp_path / "conversations.json"
    cut.write_bytes(data[: len(data) * 2 // 3])
    outcomes: list[str] = []
    window.transfers.finished.connect(lambda outcome, _text: outcomes.append(outcome))
    assert window.transfers.import_path("chatgpt", cut)
    text = one_line(finish(qtbot, window.transfers))
    assert outcomes == ["failed"]
    assert text.startswith("conversations.json: the file ends in the middle")
    assert text.endswith("download it again. Nothing was imported.")
    assert counts(window.store) == before and titles(window) == shown
    # A ChatGPT export given as a chatdesk one: the same, with a hint.
    assert window.transfers.import_path("chatdesk", FIXTURES / "chatgpt" / "conversations.json")
    text = one_line(finish(qtbot, window.transfers))
    assert "chatdesk import chatgpt" in text and "nothing was imported" in text
    assert counts(window.store) == before


def test_cancel_leaves_the_history_as_it_was(
        qtbot: Any, window: MainWindow, gate: dict[str, threading.Event]) -> None:
    seed(window.store)
    window.sidebar.reload()
    before, shown = counts(window.store), titles(window)
    actions = window.transfers
    assert actions.import_path("chatgpt", FIXTURES / "chatgpt")
    progress = actions.progress
    assert progress is not None
    qtbot.waitUntil(lambda: progress.isVisible() and gate["reached"].is_set(), timeout=5000)
    qtbot.waitUntil(lambda: "1 conversation read" in progress.labelText(), timeout=5000)
    assert progress.labelText() == "Importing from ChatGPT…\n1 conversation read"
    assert progress.maximum() == 0  # the total is not known: a busy bar
    assert window.controller.retry_pending_if_ready() is False  # the import holds the write lock
    qtbot.wait(100)
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert progress.grab().save(str(SHOTS / "21-import-progress.png"))

    cancel = [b for b in progress.findChildren(QPushButton) if b.text() == "Cancel"]
    assert len(cancel) == 1
    qtbot.mouseClick(cancel[0], Qt.MouseButton.LeftButton)
    gate["proceed"].set()
    assert finish(qtbot, actions) == "The import was cancelled; nothing was imported."
    assert counts(window.store) == before and titles(window) == shown


def test_closing_the_window_mid_import_rolls_it_back(
        qtbot: Any, window: MainWindow, gate: dict[str, threading.Event]) -> None:
    store = window.store
    assert window.transfers.import_path("chatgpt", FIXTURES / "chatgpt")
    qtbot.waitUntil(gate["reached"].is_set, timeout=5000)
    threading.Timer(0.2, gate["proceed"].set).start()  # the reader goes on while we wait
    window.close()
    assert not window.transfers.busy
    assert counts(store) == (0, 0)


def test_export_all_and_one_in_each_format(qtbot: Any, window: MainWindow,
                                           tmp_path: Path) -> None:
    wombat, bread = seed(window.store)
    actions = window.transfers

    assert actions.export_to(None, "html", str(tmp_path / "all.html"))
    assert finish(qtbot, actions) == \
        f"Exported 2 conversations (4 messages) to {tmp_path / 'all.html'}"
    page = (tmp_path / "all.html").read_text(encoding="utf-8")
    assert "Wombats make cube-shaped droppings." in page and "Mash three ripe bananas." in page

    assert actions.export_to(None, "json", str(tmp_path / "all.json"))
    finish(qtbot, actions)
    data = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    assert {m["content"] for c in data["conversations"] for m in c["messages"]} == {
        "Tell me about wombats", "Wombats make cube-shaped droppings.", "banana bread?",
        "Mash three ripe bananas."}

    assert actions.export_to([bread], "md", str(tmp_path / "bread.md"))
    assert finish(qtbot, actions).startswith("Exported 1 conversation (2 messages)")
    assert "Mash three ripe bananas." in (tmp_path / "bread.md").read_text(encoding="utf-8")
    assert actions.export_to(None, "md", str(tmp_path / "notes"))
    finish(qtbot, actions)
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == [
        f"{wombat:05d}-wombat-facts.md", f"{bread:05d}-bread.md"]

    assert not actions.export_to(None, "md", str(tmp_path / "all.md"))
    assert actions.last_message == ("Several conversations are saved as one Markdown file "
                                    "each: choose a folder.")
    actions.message_box.close()
    missing = tmp_path / "no such folder" / "x.html"
    assert actions.export_to(None, "html", str(missing))
    assert one_line(finish(qtbot, actions)) == (
        f"Could not write {missing}: its folder does not exist; create it or choose another place.")
    assert not missing.parent.exists()


def test_the_export_dialog_picks_a_file_or_a_folder(
        qtbot: Any, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    wombat, _ = seed(window.store)
    window.sidebar.reload()
    window.open_conversation(wombat)
    actions = window.transfers
    actions._last_dir = str(tmp_path)
    actions.export_this.trigger()
    dialog = actions.export_dialog
    assert dialog is not None
    assert dialog.destination() == str(tmp_path / f"{wombat:05d}-wombat-facts.md")
    dialog.set_format("json")
    assert dialog.destination() == str(tmp_path / f"{wombat:05d}-wombat-facts.json")
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a: (str(tmp_path / "picked"), "")))
    qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)
    assert dialog.destination() == str(tmp_path / "picked.json")
    dialog.accept()
    assert finish(qtbot, actions).startswith("Exported 1 conversation (2 messages)")
    assert json.loads((tmp_path / "picked.json").read_text())["conversations"][0]["title"] == \
        "Wombat facts"

    actions.export_all.trigger()
    dialog = actions.export_dialog
    assert dialog is not None and dialog.wants_folder()
    assert dialog.destination() == str(tmp_path / "chatdesk-export")
    qtbot.waitExposed(dialog)
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(SHOTS / "22-export-dialog.png"))
    dialog.set_format("html")
    assert not dialog.wants_folder()
    assert dialog.destination() == str(tmp_path / "chatdesk-export.html")
    dialog.path_edit.setText("")
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    dialog.reject()
    assert not actions.busy


def test_browse_mode_disables_imports_but_exports(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        tmp_path: Path) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    seed(ctx.store)
    path = ctx.paths.history_db
    ctx.close()
    store = HistoryStore.open_readonly(path)
    try:
        window = make_window(store=store, browse_path=path)
        actions = window.transfers
        for action in (actions.import_chatgpt, actions.import_claude, actions.import_native,
                       actions.import_chatgpt_dir, actions.import_claude_dir):
            assert not action.isEnabled()
        assert actions.folder_menu is not None and not actions.folder_menu.isEnabled()
        assert actions.other_menu is not None and not actions.other_menu.isEnabled()
        assert not any(a.isEnabled() for a in actions.import_other.values())
        assert actions.export_all.isEnabled()
        assert not actions.import_path("chatgpt", FIXTURES / "chatgpt")
        assert "read-only" in actions.last_message
        actions.message_box.close()

        assert actions.export_to(None, "html", str(tmp_path / "browse.html"))
        assert finish(qtbot, actions).startswith("Exported 2 conversations (4 messages)")
        assert "Wombats make cube-shaped droppings." in \
            (tmp_path / "browse.html").read_text(encoding="utf-8")
        assert store.count_conversations() == 2
    finally:
        store.close()


def test_a_running_job_or_answer_refuses_another_import(
        qtbot: Any, window: MainWindow, gate: dict[str, threading.Event],
        fake_anthropic: FakeProvider, tmp_path: Path) -> None:
    actions = window.transfers
    assert actions.import_path("chatgpt", FIXTURES / "chatgpt")
    qtbot.waitUntil(gate["reached"].is_set, timeout=5000)
    assert not actions.import_path("claude", FIXTURES / "claude")
    assert not actions.export_to(None, "html", str(tmp_path / "x.html"))
    assert not actions.export_all.isEnabled() and not actions.import_claude.isEnabled()
    gate["proceed"].set()
    assert finish(qtbot, actions).startswith("Imported 3 conversations")

    fake_anthropic.script(Synth(["Slowly", " answering."], delay_s=0.5))
    assert window.controller.bridge is not None and window.send_text("hello")
    qtbot.waitUntil(lambda: window.controller.bridge.busy, timeout=5000)
    assert not actions.import_path("claude", FIXTURES / "claude")
    assert actions.last_message.startswith("An answer is still being written.")
    actions.message_box.close()
    qtbot.waitUntil(lambda: not window.controller.bridge.busy, timeout=10000)
    assert window.store.count_conversations() == 4


def test_the_import_summary_says_what_became_of_projects_and_memories(
        qtbot: Any, window: MainWindow, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.transfer.test_claude_side import FAITHFUL, SIDE_LINES

    actions = window.transfers
    assert actions.import_path("claude", FAITHFUL)
    qtbot.waitUntil(lambda: not actions.busy, timeout=15000)
    box = actions.message_box
    assert box is not None and box.isVisible()
    text = box.text()
    lines = text.splitlines()
    assert lines[0].startswith("Imported ") and "from Claude" in lines[0]
    assert lines[1:4] == SIDE_LINES  # per kind: imported, not imported, and why
    assert text == cli_summary(capsys, tmp_path / "cli", "import", "claude", str(FAITHFUL))
    SHOTS.mkdir(parents=True, exist_ok=True)
    qtbot.wait(50)
    assert box.grab().save(str(SHOTS / "import-summary-claude.png"))
    box.close()


FIXTURES = Path(__file__).parents[1] / "transfer" / "fixtures"


@pytest.mark.parametrize(("kind", "path"), [
    ("chatgpt", FIXTURES / "chatgpt_faithful" / "conversations.json"),
    ("deepseek", FIXTURES / "deepseek"),
    ("openwebui", FIXTURES / "openwebui" / "chat-export-1733700000000.json"),
    ("chatbox", FIXTURES / "chatbox" / "chatbox-exported-data-2026-3-30.json"),
    ("cherry", FIXTURES / "cherry"),
])
def test_every_source_is_offered_and_its_summary_is_the_command_lines(
        qtbot: Any, window: MainWindow, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        kind: str, path: Path) -> None:
    from chatdesk.transfer.jobs import SOURCES

    actions = window.transfers
    file_menu = window.menuBar().actions()[0].menu()
    offered = [a.text() for a in file_menu.actions()]
    assert actions.other_menu is not None
    offered += [a.text() for a in actions.other_menu.actions()]
    assert any(SOURCES[kind] in text for text in offered), offered
    assert actions.import_path(kind, path)
    qtbot.waitUntil(lambda: not actions.busy, timeout=15000)
    box = actions.message_box
    assert box is not None and box.isVisible()
    text = box.text()
    assert text.startswith("Imported ") and f"from {SOURCES[kind]}" in text.splitlines()[0]
    assert text == cli_summary(capsys, tmp_path / "cli", "import", kind, str(path))
    SHOTS.mkdir(parents=True, exist_ok=True)
    qtbot.wait(50)
    assert box.grab().save(str(SHOTS / f"import-summary-{kind}.png"))
    box.close()
