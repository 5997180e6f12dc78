"""The conversation panel (Ctrl+I): the title, the system prompt and facts of the
conversation shown. Edits go to the controller; nothing here reads or writes the history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFocusEvent, QPalette
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from chatdesk.ui.controller import ChatController, ConversationFacts

PANEL_MIN_PX = 260
SAVE_AFTER_MS = 600  # the system prompt is saved this long after the last keystroke


class _PromptEdit(QPlainTextEdit):
    def __init__(self, panel: ConversationPanel) -> None:
        super().__init__()
        self.panel = panel

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        self.panel.save_prompt()
        super().focusOutEvent(event)


class ConversationPanel(QWidget):
    def __init__(self, controller: ChatController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationPanel")
        self.setMinimumWidth(PANEL_MIN_PX)
        self.controller = controller
        self._quiet = False
        self.heading = QLabel("<b>This conversation</b>")
        self.title = QLineEdit()
        self.title.setObjectName("conversationTitle")
        self.title.setAccessibleName("Title")
        self.title.setPlaceholderText("Made from your first message")
        self.title.editingFinished.connect(self._rename)
        self.prompt = _PromptEdit(self)
        self.prompt.setObjectName("systemPrompt")
        self.prompt.setAccessibleName("System prompt")
        self.prompt.setPlaceholderText("Instructions every answer in this conversation "
                                       "follows, e.g. “Answer briefly, in French.”")
        self.prompt.setTabChangesFocus(True)
        self.prompt.textChanged.connect(self._prompt_changed)
        self.prompt_note = QLabel("Sent to whichever provider answers, after a failover too.")
        self.prompt_note.setObjectName("systemPromptNote")
        self.prompt_note.setWordWrap(True)
        self.facts = QLabel()
        self.facts.setObjectName("conversationFacts")
        self.facts.setWordWrap(True)
        for note in (self.prompt_note, self.facts):
            note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_AFTER_MS)
        self._timer.timeout.connect(self.save_prompt)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        form.addRow("&Title", self.title)
        form.addRow("&System prompt", self.prompt)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.prompt_note)
        layout.addWidget(self.facts)
        layout.addStretch(1)
        for label in form.findChildren(QLabel):
            label.setBuddy(self.title if "Title" in label.text() else self.prompt)

    def show_facts(self, facts: ConversationFacts) -> None:
        """Fill the panel for the conversation shown (a new chat: what its first message
        will carry)."""
        self.save_prompt()
        self._quiet = True
        try:
            self.title.setText(facts.title or "")
            self.title.setEnabled(facts.conversation_id is not None)
            if self.prompt.toPlainText() != (facts.system_prompt or ""):
                self.prompt.setPlainText(facts.system_prompt or "")
        finally:
            self._quiet = False
        self.facts.setText("\n".join(facts.summary.split(" · ")))

    def _prompt_changed(self) -> None:
        if not self._quiet:
            self._timer.start()

    def save_prompt(self) -> None:
        if self._timer.isActive() or self.prompt.document().isModified():
            self._timer.stop()
            self.prompt.document().setModified(False)
            self.controller.set_system_prompt(self.prompt.toPlainText())

    def _rename(self) -> None:
        if not self._quiet and self.title.isModified():
            self.title.setModified(False)
            self.controller.rename_shown(self.title.text())
