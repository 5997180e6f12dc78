"""An attached picture at full size, in a window of its own (Esc closes it)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget


class ImageViewer(QDialog):
    """The picture at its own size (scaled down to fit the screen, never up)."""

    def __init__(self, data: bytes, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self.setWindowTitle(name)
        image = QImage.fromData(data)
        self.picture = QLabel()
        self.picture.setObjectName("imageViewerPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setAccessibleName(f"Picture: {name}")
        if image.isNull():
            self.picture.setText(f"{name} cannot be shown: its picture data is not readable.")
        else:
            screen = QGuiApplication.primaryScreen()
            room = screen.availableGeometry().size() * 0.85 if screen else image.size()
            if image.width() > room.width() or image.height() > room.height():
                image = image.scaled(room, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
            self.picture.setPixmap(QPixmap.fromImage(image))
        scroll = QScrollArea()
        scroll.setWidget(self.picture)
        scroll.setWidgetResizable(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        if not image.isNull():
            self.resize(image.width() + 24, image.height() + 24)
