"""The composer's "/": a list of saved prompts filtered as you type, and a small form that
asks for a chosen prompt's {{variables}} in place (made at the first "/")."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.prompts import Prompt, fill, variables

VISIBLE_ROWS = 6
EMPTY_LIBRARY = "No saved prompts yet: save one with `chatdesk prompts add NAME`."
NO_MATCH = "No saved prompt matches; Esc closes this list."
PromptSource = Callable[[str], list[Prompt]]


def _summary(prompt: Prompt) -> str:
    line = " ".join(prompt.text.split())
    return f"{prompt.name} — {line[:80]}{'…' if len(line) > 80 else ''}"


class PromptList(QListWidget):
    """The matching prompts, best first; the composer keeps the focus and moves the
    selection (Up/Down), chooses (Enter, Tab, a click) or closes it (Esc)."""

    chosen = Signal(object)  # Prompt

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptPicker")
        self.setAccessibleName("Saved prompts")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setUniformItemSizes(True)
        self.itemClicked.connect(self._clicked)
        self.hide()

    def show_matches(self, prompts: list[Prompt], library_empty: bool) -> None:
        self.clear()
        for prompt in prompts:
            item = QListWidgetItem(_summary(prompt))
            item.setData(Qt.ItemDataRole.UserRole, prompt)
            item.setToolTip(prompt.text[:500])
            self.addItem(item)
        if not prompts:
            note = QListWidgetItem(EMPTY_LIBRARY if library_empty else NO_MATCH)
            note.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(note)
        else:
            self.setCurrentRow(0)
        rows = max(1, min(VISIBLE_ROWS, self.count()))
        self.setFixedHeight(rows * max(self.sizeHintForRow(0), 1) + 2 * self.frameWidth() + 2)
        self.show()

    def move_selection(self, step: int) -> None:
        if self.current_prompt() is None:
            return
        self.setCurrentRow(max(0, min(self.count() - 1, self.currentRow() + step)))

    def current_prompt(self) -> Prompt | None:
        item = self.currentItem()
        found = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return found if isinstance(found, Prompt) else None

    def choose_current(self) -> bool:
        prompt = self.current_prompt()
        if prompt is None:
            return False
        self.chosen.emit(prompt)
        return True

    def _clicked(self, item: QListWidgetItem) -> None:
        prompt = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(prompt, Prompt):
            self.chosen.emit(prompt)


class VariablesForm(QFrame):
    """One line per variable of the chosen prompt; Enter goes to the next one and, on the
    last, inserts the filled-in text; Esc (or Cancel) gives up."""

    filled = Signal(str, str)  # prompt name, the text with the values in
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptVariables")
        self.prompt: Prompt | None = None
        self.fields: dict[str, QLineEdit] = {}
        self.title = QLabel()
        self.form = QFormLayout()
        insert = QPushButton("Insert")
        insert.setObjectName("insertPromptButton")
        insert.clicked.connect(self.submit)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(insert)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(self.title)
        layout.addLayout(self.form)
        layout.addLayout(buttons)
        self.hide()

    def ask(self, prompt: Prompt) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.prompt, self.fields = prompt, {}
        self.title.setText(f"{prompt.name}: fill in its variables (Enter goes on, Esc "
                           "cancels)")
        names = variables(prompt.text)
        for index, name in enumerate(names):
            line = QLineEdit()
            line.setObjectName(f"variable_{name}")
            line.setAccessibleName(name)
            line.returnPressed.connect(
                self.submit if index == len(names) - 1 else self._next_after(index))
            self.form.addRow(f"{name}:", line)
            self.fields[name] = line
        self.show()
        if names:
            self.fields[names[0]].setFocus(Qt.FocusReason.OtherFocusReason)

    def _next_after(self, index: int) -> Callable[[], None]:
        def go() -> None:
            lines = list(self.fields.values())
            lines[index + 1].setFocus(Qt.FocusReason.TabFocusReason)
        return go

    def submit(self) -> None:
        if self.prompt is None:
            return
        text = fill(self.prompt.text, {n: f.text() for n, f in self.fields.items()})
        name = self.prompt.name
        self.prompt = None
        self.hide()
        self.filled.emit(name, text)

    def cancel(self) -> None:
        self.prompt = None
        self.hide()
        self.cancelled.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return
        super().keyPressEvent(event)
