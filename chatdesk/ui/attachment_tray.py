"""The files about to be sent, as chips above the composer: a thumbnail or a file mark, the
name and size, and a button that takes one out."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QToolButton, QWidget

from chatdesk.parts import Attachment, PartKind
from chatdesk.ui.bounds import size_label

THUMB_PX = 36
_MARKS = {PartKind.DOCUMENT: "PDF", PartKind.TEXT_FILE: "TXT"}


def thumbnail(data: bytes, side: int) -> QPixmap | None:
    """A square-bounded thumbnail of an image's bytes; None if Qt cannot read them."""
    image = QImage.fromData(data)
    if image.isNull():
        return None
    return QPixmap.fromImage(image.scaled(
        QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation))


class AttachmentChip(QFrame):
    """One file: its picture (or kind), name, size and a remove button."""

    removeRequested = Signal()

    def __init__(self, attachment: Attachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentChip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(6)
        picture = QLabel()
        picture.setFixedSize(THUMB_PX, THUMB_PX)
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pixmap = thumbnail(attachment.data, THUMB_PX) \
            if attachment.kind == PartKind.IMAGE else None
        if pixmap is not None:
            picture.setPixmap(pixmap)
        else:
            picture.setText(_MARKS.get(attachment.kind, "IMG"))
            picture.setObjectName("attachmentMark")
        layout.addWidget(picture)
        self.name_label = QLabel(attachment.name)
        self.name_label.setObjectName("attachmentName")
        self.name_label.setToolTip(attachment.name)
        metrics = self.name_label.fontMetrics()
        shown = metrics.elidedText(attachment.name, Qt.TextElideMode.ElideMiddle, 180)
        self.name_label.setText(shown)
        self.name_label.setFixedWidth(metrics.horizontalAdvance(shown) + 4)
        size = QLabel(size_label(attachment.size))
        size.setObjectName("attachmentSize")
        layout.addWidget(self.name_label)
        layout.addWidget(size)
        self.remove_button = QToolButton()
        self.remove_button.setObjectName("removeAttachment")
        self.remove_button.setText("✕")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setToolTip(f"Remove {attachment.name}")
        self.remove_button.setAccessibleName(f"Remove {attachment.name}")
        self.remove_button.clicked.connect(self.removeRequested)
        layout.addWidget(self.remove_button)
        self.setAccessibleName(f"Attached: {attachment.name}, {size_label(attachment.size)}")


class AttachmentTray(QScrollArea):
    """The chips of the files attached to the message being written (hidden when none), in
    one row that scrolls sideways when they are wider than the composer."""

    removeRequested = Signal(int)  # the index of the file to take out

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentTray")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        row = QWidget()
        row.setObjectName("attachmentRow")
        self._layout = QHBoxLayout(row)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._layout.addStretch(1)
        self.setWidget(row)
        self.chips: list[AttachmentChip] = []
        self.hide()

    def show_files(self, attachments: Sequence[Attachment]) -> None:
        for chip in self.chips:
            chip.deleteLater()
        self.chips = []
        for i, attachment in enumerate(attachments):
            chip = AttachmentChip(attachment, self.widget())
            chip.removeRequested.connect(lambda i=i: self.removeRequested.emit(i))
            self._layout.insertWidget(i, chip)
            self.chips.append(chip)
        if self.chips:  # one chip's height, and room for the sideways scroll bar
            self.setFixedHeight(self.chips[0].sizeHint().height()
                                + self.horizontalScrollBar().sizeHint().height() + 2)
        self.setVisible(bool(attachments))
