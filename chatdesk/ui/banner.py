"""Banner: a one-line notice above the transcript (read-only, settings problems, Undo)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class Banner(QFrame):
    """A one-line notice above the transcript, with an optional action and a close button."""

    def __init__(self, name: str, closable: bool = True, warning: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.warning = warning
        self.label = QLabel()
        self.label.setObjectName(f"{name}Text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton()
        self.action.setObjectName(f"{name}Action")
        self.action.hide()
        self._callback: Callable[[], object] | None = None
        self.action.clicked.connect(self._act)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action)
        if closable:
            close = QPushButton("✕")
            close.setObjectName(f"{name}Close")
            close.setFlat(True)
            close.setToolTip("Dismiss")
            close.setFixedWidth(28)
            close.clicked.connect(self.hide)
            layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_text(self, text: str, action: str | None = None,
                  callback: Callable[[], object] | None = None, timeout_ms: int = 0) -> None:
        tint = QColor("#d29922") if self.warning else \
            self.palette().color(QPalette.ColorRole.Highlight)
        rgb = f"{tint.red()}, {tint.green()}, {tint.blue()}"
        self.setStyleSheet(f"QFrame#{self.objectName()} {{ background: rgba({rgb}, 40);"
                           f" border: none; border-bottom: 1px solid rgba({rgb}, 120); }}")
        self.label.setText(text)
        self._callback = callback
        self.action.setText(action or "")
        self.action.setVisible(bool(action))
        self.show()
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def _act(self) -> None:
        callback, self._callback = self._callback, None
        self.hide()
        if callback is not None:
            callback()
