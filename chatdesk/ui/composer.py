"""Where the user writes: the composer (Enter sends) and the provider/model picker above it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QEvent, QIODevice, QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.ui.attachment_tray import AttachmentTray
from chatdesk.ui.resources import icon

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from PySide6.QtGui import QResizeEvent

    from chatdesk.parts import Attachment
    from chatdesk.prompts import Prompt
    from chatdesk.ui.prompt_picker import PromptList, PromptSource, VariablesForm

MAX_LINES = 10


PLACEHOLDERS = ("Write a message… (Enter sends, Shift+Enter for a new line)",
                "Write a message… (Enter sends)", "Write a message…", "Message…")


def dropped_files(mime: QMimeData) -> list[str]:
    """The local files a drag or a paste carries (paths), if any."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


def image_bytes(mime: QMimeData) -> bytes | None:
    """A pasted image (a screenshot in the clipboard), as PNG bytes; None if there is none."""
    if not mime.hasImage():
        return None
    image = mime.imageData()
    if not isinstance(image, QImage) or image.isNull():
        return None
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs omit QIODevice
    return bytes(buffer.data().data())


class ComposerEdit(QPlainTextEdit):
    """Enter sends, Shift+Enter starts a new line, Esc stops (or cancels an edit), Up on an
    empty box edits the last message, PageUp / PageDown scroll the transcript while the box
    needs no scrolling of its own. It grows with its text up to MAX_LINES lines. A pasted
    image or file is not text: it is handed on to be attached."""

    submit = Signal()
    escape = Signal()
    editLast = Signal()
    filesPasted = Signal(list)  # paths
    imagePasted = Signal(bytes)  # PNG
    pageRequested = Signal(int)  # -1 a page up, 1 a page down (of the transcript)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerEdit")
        self.setPlaceholderText(PLACEHOLDERS[0])
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().contentsChanged.connect(self._fit)
        # Keys taken first by what is open above the box (the "/" list); True: taken.
        self.intercept: Callable[[QKeyEvent], bool] | None = None
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.intercept is not None and self.intercept(event):
            return
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submit.emit()
            return
        if key == Qt.Key.Key_Escape:
            self.escape.emit()
            return
        if key == Qt.Key.Key_Up and not self.toPlainText():
            self.editLast.emit()
            return
        if key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown) \
                and mods == Qt.KeyboardModifier.NoModifier \
                and self.verticalScrollBar().maximum() == 0:
            self.pageRequested.emit(-1 if key == Qt.Key.Key_PageUp else 1)
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 - Qt's name
        return source.hasImage() or bool(dropped_files(source)) \
            or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt's name
        files = dropped_files(source)
        if files:
            self.filesPasted.emit(files)
            return
        image = image_bytes(source)
        if image is not None and not source.hasText():
            self.imagePasted.emit(image)
            return
        super().insertFromMimeData(source)

    def _fit(self) -> None:
        lines = max(1, min(MAX_LINES, int(self.document().size().height())))
        line = self.fontMetrics().lineSpacing()
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        self.setFixedHeight(lines * line + frame + 4)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()
        self._choose_hint()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # zoom
            self._choose_hint()

    def _choose_hint(self) -> None:
        """The longest hint that fits on one line: a wrapped one is cut off by the box.
        (contentsRect, not viewport(): the viewport is resized after a resize event.)"""
        room = self.contentsRect().width() - 2 * int(self.document().documentMargin()) - 4
        metrics = self.fontMetrics()
        hint = next((h for h in PLACEHOLDERS if metrics.horizontalAdvance(h) <= room),
                    PLACEHOLDERS[-1])
        if hint != self.placeholderText():
            self.setPlaceholderText(hint)


class Composer(QFrame):
    """The message box with Send / Stop; it only emits what the user wants."""

    sendRequested = Signal(str)
    textChanged = Signal()
    stopRequested = Signal()
    editCancelled = Signal()
    editLastRequested = Signal()
    attachRequested = Signal()  # the attach button: choose files
    filesGiven = Signal(list)  # paths dropped or pasted
    imageGiven = Signal(bytes)  # an image pasted (PNG)
    removeAttachmentRequested = Signal(int)
    promptChosen = Signal(str)  # a saved prompt was inserted (its name): one more use
    pageRequested = Signal(int)  # PageUp (-1) / PageDown (1) typed in the box

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.busy = False
        self.editing_id: int | None = None  # the message being edited, if any
        self.before_edit = ""  # what the box held when the edit began; it comes back after

        self.edit = ComposerEdit(self)
        self.edit.submit.connect(self._submit)
        self.edit.escape.connect(self._escape)
        self.edit.editLast.connect(self.editLastRequested)
        self.edit.pageRequested.connect(self.pageRequested)
        self.edit.textChanged.connect(self.textChanged)
        self.edit.filesPasted.connect(self.filesGiven)
        self.edit.imagePasted.connect(self.imageGiven)
        self.has_files = False

        self.attach_button = QToolButton()
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setIcon(icon("attach"))
        self.attach_button.setAutoRaise(True)
        self.attach_button.setToolTip("Attach images, PDFs or text files (or drop them here, "
                                      "or paste a screenshot)")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.clicked.connect(self.attachRequested)
        self.tray = AttachmentTray(self)
        self.tray.removeRequested.connect(self.removeAttachmentRequested)

        self.send_button = QPushButton(icon("send"), "Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.clicked.connect(self._submit)
        self.stop_button = QPushButton(icon("stop"), "Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.stop_button.clicked.connect(self.stopRequested)
        self.stop_button.hide()

        self.edit_bar = QWidget(self)
        self.edit_bar.setObjectName("editBar")
        self.edit_label = QLabel("Editing your last message: sending replaces it and its answer.")
        cancel = QPushButton("Cancel")
        cancel.setObjectName("cancelEditButton")
        cancel.clicked.connect(self.cancel_edit)
        bar = QHBoxLayout(self.edit_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.edit_label, 1)
        bar.addWidget(cancel)
        self.edit_bar.hide()

        # "/" at the start of an empty box: the saved prompts, then their variables.
        self.prompt_source: PromptSource | None = None
        self._slash_closed = False  # Esc closed the list: not again until the box is empty
        self._prompt_list: PromptList | None = None  # both made at the first "/"
        self._variables_form: VariablesForm | None = None
        self.edit.intercept = self._slash_key
        self.edit.textChanged.connect(self._slash_changed)

        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.edit, 1)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 10)
        layout.setSpacing(4)
        layout.addWidget(self.edit_bar)
        layout.addWidget(self.tray)  # the prompt list and variables form go above it
        layout.addLayout(row)
        self.setFocusProxy(self.edit)
        self.setAcceptDrops(True)

    def show_files(self, attachments: Sequence[Attachment]) -> None:
        """The files that go with the next message."""
        self.has_files = bool(attachments)
        self.tray.show_files(attachments)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if dropped_files(event.mimeData()) or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        files = dropped_files(event.mimeData())
        image = image_bytes(event.mimeData())
        if files:
            self.filesGiven.emit(files)
        elif image is not None:
            self.imageGiven.emit(image)
        event.acceptProposedAction()

    @property
    def editing(self) -> bool:
        return self.editing_id is not None

    def text(self) -> str:
        return self.edit.toPlainText()

    def draft_text(self) -> str:
        """The unsent text to keep: during an edit, what the box held before the edit (the
        edit's text is the message being edited)."""
        return self.before_edit if self.editing else self.text()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        cursor = self.edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.edit.setTextCursor(cursor)

    def clear(self) -> None:
        self.edit.clear()

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)

    def begin_edit(self, message_id: int, text: str) -> None:
        if not self.editing:
            self.before_edit = self.text()
        self.editing_id = message_id
        self.set_text(text)
        self.edit_bar.show()
        self.focus()

    def end_edit(self) -> None:
        """The edit is over (sent): the box gets back what it held before the edit."""
        self.editing_id = None
        self.edit_bar.hide()
        self.set_text(self.before_edit)
        self.before_edit = ""

    def cancel_edit(self) -> None:
        if self.editing:
            self.end_edit()
            self.editCancelled.emit()
        self.focus()

    def _submit(self) -> None:
        text = self.text().strip()
        if (text or self.has_files) and not self.busy:
            self.sendRequested.emit(text)

    # -- "/": saved prompts ------------------------------------------------------------------

    @property
    def prompt_list(self) -> PromptList:
        """The saved prompts matching what follows "/" (made at its first use)."""
        if self._prompt_list is None:
            from chatdesk.ui.prompt_picker import PromptList

            self._prompt_list = PromptList(self)
            self._prompt_list.chosen.connect(self._prompt_chosen)
            self._above_the_tray(self._prompt_list)
        return self._prompt_list

    @property
    def variables_form(self) -> VariablesForm:
        """Asks for a chosen prompt's {{variables}} (made at its first use)."""
        if self._variables_form is None:
            from chatdesk.ui.prompt_picker import VariablesForm

            self._variables_form = VariablesForm(self)
            self._variables_form.filled.connect(self._prompt_filled)
            self._variables_form.cancelled.connect(self.focus)
            self._above_the_tray(self._variables_form)
        return self._variables_form

    def _above_the_tray(self, widget: QWidget) -> None:
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.indexOf(self.tray), widget)

    def set_prompt_source(self, source: PromptSource | None) -> None:
        """Where "/" gets the prompts matching a query (the controller's; None: no "/")."""
        self.prompt_source = source

    def _slash_changed(self) -> None:
        text = self.text()
        if not text:
            self._slash_closed = False
        if self.prompt_source is None or self.editing or self._slash_closed \
                or not text.startswith("/") or "\n" in text:
            if self._prompt_list is not None:
                self._prompt_list.hide()
            return
        query = text[1:]
        matches = self.prompt_source(query)
        self.prompt_list.show_matches(matches, library_empty=not matches
                                      and not self.prompt_source(""))

    def _slash_key(self, event: QKeyEvent) -> bool:
        if self._prompt_list is None or not self._prompt_list.isVisible():
            return False
        key = event.key()
        if key == Qt.Key.Key_Up:
            self.prompt_list.move_selection(-1)
        elif key == Qt.Key.Key_Down:
            self.prompt_list.move_selection(1)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                return False
            return self.prompt_list.choose_current() or key == Qt.Key.Key_Tab
        elif key == Qt.Key.Key_Escape:
            self._slash_closed = True
            self.prompt_list.hide()
        else:
            return False
        return True

    def _prompt_chosen(self, prompt: Prompt) -> None:
        from chatdesk.prompts import variables

        self.prompt_list.hide()
        if variables(prompt.text):
            self.variables_form.ask(prompt)
            return
        self._prompt_filled(prompt.name, prompt.text)

    def _prompt_filled(self, name: str, text: str) -> None:
        self._slash_closed = True  # the text may start with "/" itself
        self.set_text(text)
        self.promptChosen.emit(name)
        self.focus()

    def _escape(self) -> None:
        if self.busy:
            self.stopRequested.emit()
        elif self.editing:
            self.cancel_edit()


class _ModelCombo(QComboBox):
    """An editable combo that asks for its list the first time it opens."""

    aboutToShow = Signal()

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        self.aboutToShow.emit()
        super().showPopup()


class ProviderPicker(QWidget):
    """'Provider [anthropic ▾]  Model [claude-… ▾]' above the transcript."""

    providerChosen = Signal(str)  # by the user, not by set_current
    modelsWanted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("providerPicker")
        self._defaults: dict[str, str] = {}
        self._models: dict[str, list[str]] = {}
        self._asked: set[str] = set()
        self._quiet = False

        self.provider_combo = QComboBox()
        self.provider_combo.setObjectName("providerCombo")
        # Never narrower than the longest name: at 480 px the model box gives way instead.
        self.provider_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.provider_combo.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        self.provider_combo.setToolTip("Who answers first in this conversation; the others are "
                                       "tried in order if it fails")
        self.provider_combo.currentIndexChanged.connect(self._provider_changed)
        self.model_combo = _ModelCombo()
        self.model_combo.setObjectName("modelCombo")
        self.model_combo.setEditable(True)
        self.model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_combo.setMinimumContentsLength(10)
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setToolTip("The model to ask (type any model name)")
        self.model_combo.aboutToShow.connect(self._want_models)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 2)
        layout.setSpacing(6)
        for text, widget in (("Provider", self.provider_combo), ("Model", self.model_combo)):
            label = QLabel(text)
            label.setBuddy(widget)
            layout.addWidget(label)
            layout.addWidget(widget)
        layout.addStretch(1)

    def set_providers(self, providers: list[tuple[str, str]]) -> None:
        """(name, configured model) in failover order."""
        self._quiet = True
        try:
            self._defaults = dict(providers)
            self.provider_combo.clear()
            for name, model in providers:
                self.provider_combo.addItem(name, name)
                self.provider_combo.setItemData(self.provider_combo.count() - 1,
                                                f"{name} · {model}", Qt.ItemDataRole.ToolTipRole)
        finally:
            self._quiet = False

    def set_current(self, provider: str | None, model: str | None = None) -> None:
        """Show a conversation's provider and model without emitting providerChosen."""
        self._quiet = True
        try:
            index = self.provider_combo.findData(provider) if provider else -1
            self.provider_combo.setCurrentIndex(index if index >= 0 else 0)
            self._fill_models(model)
        finally:
            self._quiet = False

    def current_provider(self) -> str | None:
        data = self.provider_combo.currentData()
        return str(data) if data else None

    def current_model(self) -> str | None:
        text = self.model_combo.currentText().strip()
        return text or None

    def set_models(self, provider: str, models: list[str]) -> None:
        self._models[provider] = list(models)
        if provider == self.current_provider():
            self._fill_models(self.current_model())

    def models_failed(self, provider: str) -> None:
        """Listing failed: ask again the next time the list opens."""
        self._asked.discard(provider)

    def _fill_models(self, model: str | None) -> None:
        name = self.current_provider()
        default = self._defaults.get(name or "", "")
        chosen = model or default
        names = list(dict.fromkeys([default, *self._models.get(name or "", [])]))
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems([n for n in names if n])
        self.model_combo.setEditText(chosen)
        edit = self.model_combo.lineEdit()
        if edit is not None:  # a long name too wide for the box shows its start, not its end
            edit.setCursorPosition(0)
        self.model_combo.blockSignals(False)

    def _provider_changed(self, _index: int) -> None:
        if self._quiet:
            return
        self._fill_models(None)
        name = self.current_provider()
        if name:
            self.providerChosen.emit(name)
            self._want_models()

    def _want_models(self) -> None:
        name = self.current_provider()
        if name and name not in self._asked:
            self._asked.add(name)
            self.modelsWanted.emit(name)
