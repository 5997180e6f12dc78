"""The export dialog: a format, and a file or folder to write it to."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

FILTERS = {"chatgpt": "ChatGPT export (*.zip *.json);;All files (*)",
            "claude": "Claude export (*.zip *.json);;All files (*)",
            "deepseek": "DeepSeek export (*.zip *.json);;All files (*)",
            "openwebui": "Open WebUI export (*.json);;All files (*)",
            "chatbox": "Chatbox backup (*.json);;All files (*)",
            "cherry": "Cherry Studio backup (*.zip *.bak);;All files (*)",
            "chatdesk": "chatdesk export (*.json);;All files (*)",
            "json": "chatdesk JSON (*.json)", "html": "HTML page (*.html)",
            "md": "Markdown (*.md)"}

def standard_dir(name: str) -> str:
    kind = getattr(QStandardPaths.StandardLocation, f"{name}Location")
    return QStandardPaths.writableLocation(kind) or str(Path.home())


class ExportDialog(QDialog):
    """Format and destination: a file, or a folder when several Markdown files are written."""

    def __init__(self, parent: QWidget | None, *, what: str, count: int, stem: str,
                 folder: str) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export")
        self.count, self.stem = count, stem
        self.format_box = QComboBox()
        self.format_box.addItem("Markdown (.md)", "md")
        self.format_box.addItem("chatdesk JSON (.json), to import again", "json")
        self.format_box.addItem("HTML (.html), one page to read and search offline", "html")
        self.path_edit = QLineEdit(str(Path(folder) / self._name("md")))
        self.path_edit.setMinimumWidth(360)
        self.choose_button = QPushButton("Choose…")
        self.choose_button.clicked.connect(self.choose)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        where = QHBoxLayout()
        where.addWidget(self.path_edit, 1)
        where.addWidget(self.choose_button)
        form = QFormLayout(self)
        form.addRow(QLabel(f"Export {what}."))
        form.addRow("Format:", self.format_box)
        form.addRow("Save to:", where)
        form.addRow(self.hint)
        form.addRow(self.buttons)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self.path_edit.textChanged.connect(self._path_changed)
        self._format_changed()

    def fmt(self) -> str:
        return str(self.format_box.currentData())

    def destination(self) -> str:
        return self.path_edit.text().strip()

    def set_format(self, fmt: str) -> None:
        self.format_box.setCurrentIndex(self.format_box.findData(fmt))

    def wants_folder(self) -> bool:
        return self.fmt() == "md" and self.count > 1

    def _name(self, fmt: str) -> str:
        return self.stem if fmt == "md" and self.count > 1 else f"{self.stem}.{fmt}"

    def _format_changed(self) -> None:
        current = Path(self.destination() or ".").expanduser()
        self.path_edit.setText(str(current.parent / self._name(self.fmt())))
        self.hint.setText("One .md file per conversation goes into this folder (made if "
                          "needed)." if self.wants_folder() else
                          "A file of that name is replaced.")

    def _path_changed(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
            bool(self.destination()))

    def choose(self) -> None:
        current = self.destination() or standard_dir("Documents")
        if self.wants_folder():
            chosen = QFileDialog.getExistingDirectory(self, "Folder for the Markdown files",
                                                      str(Path(current).parent))
        else:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export as", current,
                                                    FILTERS[self.fmt()])
            if chosen and not Path(chosen).suffix:
                chosen += f".{self.fmt()}"
        if chosen:
            self.path_edit.setText(chosen)
