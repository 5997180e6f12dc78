"""The small dialog that asks for the encrypted key file's passphrase: to unlock it, or a new
one (typed twice) to create the file or change it. The controller does the work."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from chatdesk.ui.settings_providers import make_note, named

if TYPE_CHECKING:
    from chatdesk.ui.controller import ChatController


class PassphraseMode(StrEnum):
    UNLOCK = "unlock"
    CREATE = "create"
    CHANGE = "change"


_TITLES = {PassphraseMode.UNLOCK: "Unlock your API keys",
           PassphraseMode.CREATE: "Keep API keys in an encrypted file",
           PassphraseMode.CHANGE: "Change the key file's passphrase"}
_BUTTONS = {PassphraseMode.UNLOCK: "Unlock", PassphraseMode.CREATE: "Create the file",
            PassphraseMode.CHANGE: "Change"}


class PassphraseDialog(QDialog):
    """Accepted once the controller has unlocked, created or re-sealed the key file; a wrong
    passphrase or a mismatch is said under the fields and the dialog stays open."""

    def __init__(self, controller: ChatController, mode: PassphraseMode,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("passphraseDialog")
        self.controller, self.mode = controller, mode
        self.setWindowTitle(_TITLES[mode])
        path = controller.keys.file_path()
        intro = named(QLabel(_intro(mode, path)), "passphraseIntro")
        intro.setWordWrap(True)
        self.passphrase = named(QLineEdit(), "passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.again = named(QLineEdit(), "passphraseAgain")  # a new passphrase, typed twice
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = make_note("passphraseError", error=True)
        form = QFormLayout()
        new = mode != PassphraseMode.UNLOCK
        form.addRow("New passphrase:" if new else "Passphrase:", self.passphrase)
        if new:
            form.addRow("Once more:", self.again)
        else:
            self.again.setParent(self)
            self.again.hide()
        self.buttons = named(QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                              | QDialogButtonBox.StandardButton.Cancel),
                             "passphraseButtons")
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setObjectName("passphraseOk")
        self.ok.setText(_BUTTONS[mode])
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setObjectName("passphraseCancel")
        cancel.setText("Not now" if mode == PassphraseMode.UNLOCK else "Cancel")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        # Wrapped labels do not make a dialog taller by themselves: the layout's minimum
        # (height for this width) is the dialog's, and it grows when a sentence appears.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        intro.setMinimumWidth(460)  # the layout's minimum sets the width: a readable one
        self.adjustSize()
        self.passphrase.setFocus()

    def submit(self) -> bool:
        """Hand the passphrase to the controller; False (and a sentence) keeps it open."""
        text = self.passphrase.text()
        if self.mode != PassphraseMode.UNLOCK and text != self.again.text():
            return self._refuse("The two passphrases differ; type the same one twice.",
                                self.again)
        if self.mode == PassphraseMode.UNLOCK:
            problem = self.controller.keys.unlock(text)
        elif self.mode == PassphraseMode.CREATE:
            problem = self.controller.keys.create_file(text)
        else:
            problem = self.controller.keys.change_passphrase(text)
        if problem is not None:
            return self._refuse(problem, self.passphrase)
        self.error.setText("")
        self.accept()
        return True

    def _refuse(self, sentence: str, field: QLineEdit) -> bool:
        self.error.setText(sentence)
        self.adjustSize()
        field.selectAll()  # kept, so that a typo can be fixed; selected, to retype at once
        field.setFocus()
        return False


def _intro(mode: PassphraseMode, path: str) -> str:
    if mode == PassphraseMode.UNLOCK:
        return (f"Your API keys are in the encrypted key file {path}. Type its passphrase to "
                "use them until chatdesk closes.")
    if mode == PassphraseMode.CREATE:
        return ("There is no system keyring on this computer, so chatdesk can keep your API "
                f"keys in an encrypted file, {path}, locked with a passphrase you choose "
                "(at least 8 characters). chatdesk asks for it once each time it starts. A "
                "forgotten passphrase cannot be recovered: you would paste the keys again.")
    return f"Choose a new passphrase for {path} (at least 8 characters)."
