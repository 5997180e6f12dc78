"""File ▸ Import and Export: choosers, a worker thread behind a progress dialog, the summary."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMenuBar

from chatdesk.store import HistoryStore, StoreError
from chatdesk.transfer import jobs

# The dialogs are loaded when first used: each Qt class costs start-up time (its enums).
if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

    from chatdesk.transfer.common import ImportReport
    from chatdesk.transfer.native import ExportSummary
    from chatdesk.ui.controller import ChatController
    from chatdesk.ui.export_dialog import ExportDialog

log = logging.getLogger("chatdesk.ui")

Progress = Callable[[int, int | None], None]
Work = Callable[[Progress, Callable[[], bool]], Any]

FORMATS = {"md": "Markdown", "json": "chatdesk JSON", "html": "HTML"}
OTHER_SOURCES = ("deepseek", "openwebui", "chatbox", "cherry")
PROGRESS_EVERY_S = 0.05
UNEXPECTED = ("Something unexpected went wrong, so it was stopped and nothing was changed. "
              "The log file has the details.")


class _ExportCancelled(Exception):
    pass


class TransferJob(QThread):
    """Runs one import or export off the UI thread; reports through queued signals."""

    progressed = Signal(int, object)  # done, total or None
    ended = Signal(str, object)  # "done" and the result | "failed" and a sentence | "cancelled"

    def __init__(self, work: Work, os_error: Callable[[OSError], str]) -> None:
        super().__init__()
        self._work = work
        self._os_error = os_error
        self._stop = threading.Event()
        self._last = 0.0
        self.done = 0  # conversations read (import) or written (export) so far

    def cancel(self) -> None:
        self._stop.set()

    def _progress(self, done: int, total: int | None) -> None:
        self.done = done
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_S or (total is not None and done >= total):
            self._last = now
            self.progressed.emit(done, total)

    def run(self) -> None:
        try:
            outcome, value = self._outcome()
        except Exception:  # the log keeps the details; the person gets a sentence
            log.exception("a transfer failed")
            outcome, value = "failed", UNEXPECTED
        self.ended.emit(outcome, value)  # always, exactly once: the window waits for it

    def _outcome(self) -> tuple[str, Any]:
        from chatdesk.transfer.common import ImportCancelled, ImportFormatError
        from chatdesk.transfer.native import ExportError

        try:
            return "done", self._work(self._progress, self._stop.is_set)
        except (ImportCancelled, _ExportCancelled):
            return "cancelled", None
        except (ImportFormatError, ExportError, StoreError) as exc:
            text = " ".join(str(exc).split())
            return "failed", text if text.endswith((".", "!", "?")) else f"{text}."
        except OSError as exc:
            return "failed", self._os_error(exc)


def _import_work(db: Path, kind: str, path: Path) -> Work:
    def work(progress: Progress, cancel: Callable[[], bool]) -> ImportReport:
        store = HistoryStore.open(db)  # sqlite3 connections belong to their thread
        try:
            return jobs.run_import(store, kind, path, progress, cancel)
        finally:
            store.close()
    return work


def _export_work(db: Path, ids: Sequence[int] | None, fmt: str, output: str) -> Work:
    def work(progress: Progress, cancel: Callable[[], bool]) -> ExportSummary:
        from chatdesk.transfer.native import select_conversations

        def tick(done: int, total: int | None) -> None:
            if cancel():
                raise _ExportCancelled()
            progress(done, total)

        store = HistoryStore.open_readonly(db)  # exporting never writes, even in browse mode
        try:
            return jobs.run_export(store, select_conversations(store, ids), fmt, output, tick)
        finally:
            store.close()
    return work


class TransferActions(QObject):
    """The File menu of one window; one import or export runs at a time."""

    finished = Signal(str, str)  # "done" | "failed" | "cancelled", the sentence shown

    def __init__(self, controller: ChatController, window: QWidget) -> None:
        super().__init__(window)
        self.controller = controller
        self.window = window  # the parent of the dialogs
        self.job: TransferJob | None = None
        self.progress: QProgressDialog | None = None
        self.message_box: QMessageBox | None = None
        self.export_dialog: ExportDialog | None = None
        self.last_message = ""
        self._importing = False
        self._job_kind = self._label = ""
        self._closing = False
        self._last_dir = ""

        def act(text: str, slot: Callable[[], Any]) -> QAction:
            action = QAction(text, self)
            action.triggered.connect(slot)
            return action

        self.import_chatgpt = act("Import from ChatGPT…", lambda: self.choose_import("chatgpt"))
        self.import_claude = act("Import from Claude…", lambda: self.choose_import("claude"))
        self.import_chatgpt_dir = act("From ChatGPT…", lambda: self.choose_import("chatgpt", True))
        self.import_claude_dir = act("From Claude…", lambda: self.choose_import("claude", True))
        # people moving from another client or service (formats.py tells them apart)
        self.import_other = {kind: act(f"{jobs.SOURCES[kind]}…", self._importer(kind))
                             for kind in OTHER_SOURCES if jobs.available(kind)}
        self.import_deepseek_dir = act("From DeepSeek…",
                                       lambda: self.choose_import("deepseek", True))
        self.import_native = act("Import chatdesk JSON…", lambda: self.choose_import("chatdesk"))
        self.export_this = act("Export this conversation…", lambda: self.choose_export(True))
        self.export_all = act("Export all conversations…", lambda: self.choose_export(False))
        self.imports = [self.import_chatgpt, self.import_claude, self.import_native,
                        self.import_chatgpt_dir, self.import_claude_dir,
                        self.import_deepseek_dir, *self.import_other.values()]
        self.folder_menu: QMenu | None = None
        self.other_menu: QMenu | None = None

    @property
    def busy(self) -> bool:
        return self.job is not None

    @property
    def importing(self) -> bool:
        """An import holds the history's write lock until it ends."""
        return self.job is not None and self._importing

    def add_menu(self, bar: QMenuBar) -> QMenu:
        menu = bar.addMenu("&File")
        menu.addActions([self.import_chatgpt, self.import_claude])
        self.other_menu = menu.addMenu("Import from another app")
        self.other_menu.addActions(list(self.import_other.values()))
        self.other_menu.menuAction().setVisible(bool(self.import_other))
        self.folder_menu = menu.addMenu("Import an unzipped export folder")
        self.folder_menu.addActions([self.import_chatgpt_dir, self.import_claude_dir])
        if jobs.available("deepseek"):
            self.folder_menu.addAction(self.import_deepseek_dir)
        menu.addAction(self.import_native)
        menu.addSeparator()
        menu.addActions([self.export_this, self.export_all])
        self.update_enabled()
        return menu

    def update_enabled(self, *_: Any) -> None:
        can_import = not self.controller.readonly and not self.busy
        for action in self.imports:
            action.setEnabled(can_import)
        for submenu in (self.folder_menu, self.other_menu):
            if submenu is not None:
                submenu.setEnabled(can_import)
        self.export_this.setEnabled(not self.busy and self.controller.conversation_id is not None)
        self.export_all.setEnabled(not self.busy)

    # -- import ---------------------------------------------------------------------------

    def _importer(self, kind: str) -> Callable[[], None]:
        return lambda: self.choose_import(kind)

    def choose_import(self, kind: str, folder: bool = False) -> None:
        from PySide6.QtWidgets import QFileDialog

        from chatdesk.ui.export_dialog import FILTERS, standard_dir

        start = self._last_dir or standard_dir("Download")
        title = f"Import from {jobs.SOURCES[kind]}"
        if folder:
            path = QFileDialog.getExistingDirectory(self.window, f"{title}: the unzipped "
                                                    "export folder", start)
        else:
            path, _ = QFileDialog.getOpenFileName(self.window, title, start, FILTERS[kind])
        if path:
            self._last_dir = str(Path(path).parent)
            self.import_path(kind, Path(path))

    def import_path(self, kind: str, path: Path) -> bool:
        """Start importing `path` (kind: a key of jobs.SOURCES); False if it cannot."""
        if self.controller.readonly:
            self._tell("Import", "This history is open read-only, so nothing can be imported "
                       "into it. Open chatdesk normally to import.", error=True)
            return False
        if self.busy:
            return False
        if self.controller.busy:
            self._tell("Import", "An answer is still being written. Wait for it to finish (or "
                       "stop it), then import again.", error=True)
            return False

        def unreadable(exc: OSError) -> str:
            return f"Could not read {path}: {exc.strerror or exc}; nothing was imported."

        self._importing = True
        started = self._start("import", TransferJob(_import_work(self.controller.store.path,
                                                                 kind, path), unreadable),
                              f"Importing from {jobs.SOURCES[kind]}…", kind)
        self.controller.set_import_running(started)
        return started

    # -- export ---------------------------------------------------------------------------

    def choose_export(self, only_this: bool) -> None:
        store, cid = self.controller.store, self.controller.conversation_id
        try:
            conversation = store.get_conversation(cid) if only_this and cid else None
            count = 1 if conversation else store.count_conversations()
        except StoreError as exc:
            self._tell("Export", str(exc), error=True)
            return
        if only_this and conversation is None:
            return
        if count == 0:
            self._tell("Export", "There are no conversations to export yet.")
            return
        if conversation is not None:
            from chatdesk.transfer.markdown import markdown_filename

            what = f"“{conversation.title or 'New chat'}”"
            stem = Path(markdown_filename(conversation)).stem
        else:
            what = f"all {count:,} conversation{'' if count == 1 else 's'}"
            stem = "chatdesk-export"
        from chatdesk.ui.export_dialog import ExportDialog, standard_dir

        dialog = ExportDialog(self.window, what=what, count=count, stem=stem,
                              folder=self._last_dir or standard_dir("Documents"))
        ids = [conversation.id] if conversation is not None else None
        dialog.finished.connect(lambda result: self._export_chosen(dialog, ids, result))
        self.export_dialog = dialog
        dialog.open()

    def _export_chosen(self, dialog: ExportDialog, ids: list[int] | None, result: int) -> None:
        self.export_dialog = None
        dialog.deleteLater()
        from PySide6.QtWidgets import QDialog

        if result != QDialog.DialogCode.Accepted or self._closing:
            return
        destination = dialog.destination()
        self._last_dir = str(Path(destination).expanduser().parent)
        self.export_to(ids, dialog.fmt(), destination)

    def export_to(self, ids: Sequence[int] | None, fmt: str, output: str) -> bool:
        """Start exporting `ids` (None: every conversation) as md, json or html to `output`."""
        if self.busy:
            return False
        output = str(Path(output.strip()).expanduser()) if output.strip() else ""
        if not output:
            self._tell("Export", "Choose where to save the export.", error=True)
            return False
        several = ids is None or len(ids) > 1
        if fmt == "md" and several and output.lower().endswith(".md"):
            self._tell("Export", "Several conversations are saved as one Markdown file each: "
                       "choose a folder.", error=True)
            return False

        def unwritable(exc: OSError) -> str:
            why = jobs.write_problem(exc)
            return f"Could not write {output}: {why}."

        self._importing = False
        return self._start("export", TransferJob(_export_work(self.controller.store.path, ids, fmt,
                                                               output), unwritable),
                           f"Exporting to {FORMATS[fmt]}…", fmt)

    # -- the running job ------------------------------------------------------------------

    def _start(self, what: str, job: TransferJob, label: str, kind: str) -> bool:
        from PySide6.QtWidgets import QProgressDialog

        self.job, self._job_kind, self._label = job, kind, label
        progress = QProgressDialog(label, "Cancel", 0, 0, self.window)
        progress.setWindowTitle("Import" if what == "import" else "Export")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.setMinimumWidth(360)
        progress.canceled.connect(self.cancel)
        self.progress = progress
        job.progressed.connect(self._progressed)
        job.ended.connect(self._ended)
        self.update_enabled()
        job.start()
        progress.show()
        return True

    def cancel(self) -> None:
        """Ask the running job to stop; the import's transaction is rolled back."""
        if self.job is not None:
            self.job.cancel()
            self.controller.say("Cancelling…")

    def _progressed(self, done: int, total: int | None) -> None:
        if self.progress is None:
            return
        unit = f"conversation{'' if done == 1 else 's'}"
        if self._importing:
            text = f"{done:,} {unit} read"
        else:
            text = f"{done:,} of {total:,} conversations written" if total is not None \
                else f"{done:,} {unit} written"
        self.progress.setLabelText(f"{self._label}\n{text}")
        if total:
            self.progress.setMaximum(total)
            self.progress.setValue(min(done, total))

    def _ended(self, outcome: str, value: Any) -> None:
        job, self.job = self.job, None
        self.controller.set_import_running(False)
        if job is not None:
            job.wait()  # it emitted this as its last act: this returns at once
            job.deleteLater()
        if self.progress is not None:
            self.progress.canceled.disconnect(self.cancel)
            self.progress.hide()
            self.progress.deleteLater()
            self.progress = None
        if self._closing or job is None:
            return
        self.update_enabled()
        title = "Import" if self._importing else "Export"
        if outcome == "failed":
            self._tell(f"{title} failed", value, error=True)
            return
        if outcome == "cancelled":
            text = ("The import was cancelled; nothing was imported." if self._importing
                    else "The export was cancelled.")
        elif self._importing:
            text = jobs.import_summary(value, self._job_kind, job.done)
            self.controller.imported(value.conversations_updated)
        else:
            text = jobs.export_summary(value)
        self.controller.say(text)
        self._tell(title, text, outcome=outcome)

    def _tell(self, title: str, text: str, error: bool = False, outcome: str = "") -> None:
        """A non-blocking message box; `finished` says how it ended."""
        from PySide6.QtWidgets import QMessageBox

        self.last_message = text
        box = QMessageBox(QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information,
                          title, text, QMessageBox.StandardButton.Ok, self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self.message_box = box
        box.open()
        self.finished.emit(outcome or ("failed" if error else "done"), text)

    def shutdown(self) -> None:
        """The window is closing: stop a running job and wait for it (an import rolls back)."""
        self._closing = True
        if self.export_dialog is not None:
            self.export_dialog.reject()
        if self.job is not None:
            self.job.cancel()
            self._ended("cancelled", None)
