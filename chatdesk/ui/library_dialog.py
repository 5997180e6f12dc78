"""Chat ▸ Prompts and presets…: the prompt library and the presets, to add, edit and
delete in the app (the CLI's `prompts` and `presets` do the same)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chatdesk.prompts import variables

if TYPE_CHECKING:
    from chatdesk.ui.prompt_actions import PromptActions


class _Page(QWidget):
    """A list of names on the left, the chosen one's fields on the right, and New / Save /
    Delete. `load(name)` fills the fields, `save(old)` returns a problem or None."""

    def __init__(self, kind: str, names: Callable[[], list[str]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self._names = names
        self.current: str | None = None  # the name being edited; None: a new one
        self.list = QListWidget()
        self.list.setObjectName(f"{kind}List")
        self.list.setAccessibleName(f"Saved {kind}s")
        self.list.currentItemChanged.connect(self._chosen)
        self.form = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName(f"{kind}Name")
        self.form.addRow("&Name", self.name)
        self.problem = QLabel()
        self.problem.setObjectName(f"{kind}Problem")
        self.problem.setWordWrap(True)
        self.new_button = QPushButton(f"New {kind}")
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.delete_button = QPushButton("Delete")
        self.new_button.clicked.connect(self.start_new)
        buttons = QHBoxLayout()
        for button in (self.new_button, self.save_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        right = QVBoxLayout()
        right.addLayout(self.form)
        right.addWidget(self.problem)
        right.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(right, 3)

    def reload(self, keep: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for name in self._names():
            QListWidgetItem(name, self.list)
        self.list.blockSignals(False)
        found = self.list.findItems(keep, Qt.MatchFlag.MatchExactly) if keep else []
        if found:
            self.list.setCurrentItem(found[0])
        elif self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.start_new()

    def _chosen(self, item: QListWidgetItem | None, _old: QListWidgetItem | None) -> None:
        if item is not None:
            self.current = item.text()
            self.name.setText(item.text())
            self.problem.clear()
            self.load(item.text())

    def start_new(self) -> None:
        self.list.setCurrentRow(-1)  # so choosing any item again is a change
        self.current = None
        self.name.clear()
        self.problem.clear()
        self.load(None)
        self.name.setFocus()

    def load(self, name: str | None) -> None:
        """Fill the page's own fields from the item named (None: empty, for a new one)."""

    def show_problem(self, problem: str | None, saved: str) -> None:
        if problem is None:
            self.reload(keep=saved)
            self.problem.setText(f"Saved {self.kind} {saved!r}.")
        else:
            self.problem.setText(problem)


class PromptsPage(_Page):
    def __init__(self, actions: PromptActions, parent: QWidget | None = None) -> None:
        self.library = actions
        self._uses = ""  # "Used 3 times, last on …" of the prompt shown
        super().__init__("prompt", lambda: [p.name for p in actions.all_prompts()], parent)
        self.text = QPlainTextEdit()
        self.text.setObjectName("promptText")
        self.text.setPlaceholderText("The prompt. {{name}} marks a value asked for when it "
                                     "is used (typing / in the message box).")
        self.text.setTabChangesFocus(True)
        self.text.textChanged.connect(self._show_variables)
        self.form.addRow("&Text", self.text)
        self.facts = QLabel()
        self.facts.setObjectName("promptFacts")
        self.facts.setWordWrap(True)
        self.form.addRow("", self.facts)
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self.delete)
        self.reload()

    def load(self, name: str | None) -> None:
        found = next((p for p in self.library.all_prompts() if p.name == name), None)
        self.text.setPlainText(found.text if found else "")
        self.delete_button.setEnabled(found is not None)
        uses = f"Used {found.uses} time{'s' if found.uses != 1 else ''}" if found else ""
        if found and found.last_used_at:
            uses += f", last on {found.last_used_at[:10]}"
        self._uses = uses
        self._show_variables()

    def _show_variables(self) -> None:
        names = variables(self.text.toPlainText())
        asked = f"Asks for: {', '.join(names)}." if names else "Asks for nothing."
        self.facts.setText(" · ".join(b for b in (asked, self._uses) if b))

    def save(self) -> None:
        name = self.name.text()
        self.show_problem(self.library.save_prompt(self.current, name,
                                                   self.text.toPlainText()), name.strip())

    def delete(self) -> None:
        if self.current is not None:
            self.library.delete_prompt(self.current)
            self.reload()


class PresetsPage(_Page):
    def __init__(self, actions: PromptActions, parent: QWidget | None = None) -> None:
        self.library = actions
        super().__init__("preset", lambda: [p.name for p in actions.presets()], parent)
        self.system = QPlainTextEdit()
        self.system.setObjectName("presetSystem")
        self.system.setTabChangesFocus(True)
        self.system.setPlaceholderText("The system prompt of its conversations (optional)")
        self.providers = QLineEdit()
        self.providers.setObjectName("presetProviders")
        self.providers.setPlaceholderText("anthropic:claude-sonnet-4-5, openai:gpt-4o, ollama")
        self.providers.setToolTip("The providers asked, in order, each with its model "
                                  "(NAME:MODEL, or NAME for its own model); blank: the "
                                  "failover order")
        self.temperature = QLineEdit()
        self.temperature.setObjectName("presetTemperature")
        self.temperature.setPlaceholderText("the provider's own")
        self.max_tokens = QLineEdit()
        self.max_tokens.setObjectName("presetMaxTokens")
        self.max_tokens.setPlaceholderText("the provider's own")
        self.form.addRow("&System prompt", self.system)
        self.form.addRow("&Providers, in order", self.providers)
        self.form.addRow("&Temperature", self.temperature)
        self.form.addRow("&Longest answer (tokens)", self.max_tokens)
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self.delete)
        self.reload()

    def load(self, name: str | None) -> None:
        found = next((p for p in self.library.presets() if p.name == name), None)
        self.system.setPlainText(found.system_prompt or "" if found else "")
        self.providers.setText(", ".join(str(r) for r in found.routes) if found else "")
        self.temperature.setText("" if not found or found.temperature is None
                                 else f"{found.temperature:g}")
        self.max_tokens.setText("" if not found or found.max_tokens is None
                                else str(found.max_tokens))
        self.delete_button.setEnabled(found is not None)

    def save(self) -> None:
        name = self.name.text()
        self.show_problem(self.library.save_preset(
            self.current, name, self.system.toPlainText(), self.providers.text(),
            self.temperature.text(), self.max_tokens.text()), name.strip())

    def delete(self) -> None:
        if self.current is not None:
            self.library.delete_preset(self.current)
            self.reload()


class LibraryDialog(QDialog):
    """The two pages in tabs; what is saved is in the history at once (Close just closes)."""

    def __init__(self, actions: PromptActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryDialog")
        self.setWindowTitle("Prompts and presets")
        self.tabs = QTabWidget()
        self.prompts = PromptsPage(actions)
        self.presets = PresetsPage(actions)
        self.tabs.addTab(self.prompts, "&Prompts")
        self.tabs.addTab(self.presets, "Pre&sets")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(close)
        self.resize(760, 480)
