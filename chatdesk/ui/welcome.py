"""The first-run view in the transcript's place: paste an API key, or use a local model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from chatdesk.onboarding import KEY_PROVIDERS, WHY_A_SECOND
from chatdesk.ui import design

if TYPE_CHECKING:
    from chatdesk.local_servers import FoundServer

TEXT_WIDTH = 620  # a comfortable line length; narrower windows wrap


def _label(text: str, name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    if name:
        label.setObjectName(name)
    return label


def _scale(label: QLabel, factor: float) -> None:
    """Bold, and `factor` times the text size (set in pixels by the design, or in points)."""
    font = label.font()
    font.setBold(True)
    if font.pixelSize() > 0:
        font.setPixelSize(round(font.pixelSize() * factor))
    elif font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    label.setFont(font)


class WelcomeView(QScrollArea):
    """Shown while no provider is set up. Emits intents; the window asks the controller."""

    keySubmitted = Signal(str, str)  # provider name (onboarding.KEY_PROVIDERS), key
    probeRequested = Signal()
    serverChosen = Signal(object, str)  # FoundServer, model

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomeView")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._found: list[FoundServer] = []
        self._probed = False

        page = QWidget()
        page.setObjectName("welcomePage")
        outer = QHBoxLayout(page)
        outer.setContentsMargins(design.SPACE[3], design.SPACE[4], design.SPACE[3],
                                  design.SPACE[4])
        body = self._body = QWidget()
        body.setMaximumWidth(TEXT_WIDTH)
        outer.addStretch(1)
        outer.addWidget(body, 100)
        outer.addStretch(1)
        column = QVBoxLayout(body)
        column.setSpacing(design.SPACE[1])

        title = _label("Welcome to chatdesk", "welcomeTitle")
        _scale(title, design.HEADING_PX[0] / design.BODY_PX)
        column.addWidget(title)
        column.addWidget(_label("To get answers, connect chatdesk to an AI model: paste an API "
                                "key, or use a model that runs on this computer. Your text "
                                "in the box below is kept until then."))

        column.addWidget(self._heading("Paste an API key"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(0)
        self.provider_group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        for row, p in enumerate(KEY_PROVIDERS):
            radio = QRadioButton(p.label)
            radio.setObjectName(f"welcome_{p.name}")
            self.provider_group.addButton(radio, row)
            self.radios[p.name] = radio
            link = _label(f'<a href="{p.key_url}">Get a key</a>', wrap=False)
            link.setTextFormat(Qt.TextFormat.RichText)
            link.setOpenExternalLinks(True)
            link.setToolTip(p.key_url)
            grid.addWidget(radio, row, 0)
            grid.addWidget(link, row, 1)
        grid.setColumnStretch(2, 1)
        column.addLayout(grid)
        self.where_label = _label("", "welcomeWhere")
        self.where_label.setTextFormat(Qt.TextFormat.RichText)
        self.where_label.setOpenExternalLinks(True)
        column.addWidget(self.where_label)
        self.provider_group.idToggled.connect(self._toggled)
        self.radios[KEY_PROVIDERS[0].name].setChecked(True)

        key_row = QHBoxLayout()
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("welcomeKey")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("Paste the key here")
        self.key_edit.returnPressed.connect(self._submit_key)
        self.key_button = QPushButton("Test and save")
        self.key_button.setObjectName("welcomeKeyButton")
        self.key_button.clicked.connect(self._submit_key)
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.key_button)
        column.addLayout(key_row)
        self.key_note = _label("", "welcomeKeyNote")
        self.key_note.hide()
        self.key_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.key_note)

        column.addWidget(self._heading("Use a model on this computer"))
        column.addWidget(_label("chatdesk looks for Ollama, LM Studio, llama.cpp, vLLM and Jan "
                                "on their usual ports. No key needed; nothing leaves this "
                                "computer."))
        self.servers_box = QVBoxLayout()
        column.addLayout(self.servers_box)
        self.server_note = _label("", "welcomeServerNote")
        self.server_note.hide()
        column.addWidget(self.server_note)
        look_row = QHBoxLayout()
        self.probe_button = QPushButton("Look again")
        self.probe_button.setObjectName("welcomeProbeButton")
        self.probe_button.clicked.connect(self.probe)
        look_row.addWidget(self.probe_button)
        look_row.addStretch(1)
        column.addLayout(look_row)

        column.addSpacing(8)
        column.addWidget(_label(WHY_A_SECOND, "welcomeWhy"))
        column.addStretch(1)
        self.setWidget(page)

    def _heading(self, text: str) -> QLabel:
        label = _label(text, "welcomeHeading")
        _scale(label, design.HEADING_PX[2] / design.BODY_PX)
        label.setContentsMargins(0, design.SPACE[2], 0, 0)
        return label

    def _note(self, label: QLabel, text: str) -> None:
        """A note's text changed: its wrapped height must be measured again, or the lines
        below would draw over it."""
        label.setText(text)
        label.setVisible(bool(text))
        self._fit(label)

    def _fit(self, label: QLabel) -> None:
        # Measured at the column's width: the layout alone keeps a changed label's old
        # height in a scroll area, and the next lines would draw over its last line.
        width = self._body.contentsRect().width()
        label.setMinimumHeight(label.heightForWidth(width) if label.text() and width > 0
                               else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        for label in (self.key_note, self.server_note, self.where_label):
            self._fit(label)

    def _toggled(self, _id: int, on: bool) -> None:
        if on:
            self._show_where()

    def _show_where(self) -> None:
        p = KEY_PROVIDERS[max(0, self.provider_group.checkedId())]
        shown = p.key_url.removeprefix("https://")
        self._note(self.where_label, f'Get a key for {p.label} at <a href="{p.key_url}">{shown}</a>'
                                 ", then paste it here:")

    # -- intents ----------------------------------------------------------------------------

    def chosen_provider(self) -> str:
        return KEY_PROVIDERS[max(0, self.provider_group.checkedId())].name

    def _submit_key(self) -> None:
        key = self.key_edit.text().strip()
        if not key:
            self._note(self.key_note, "Paste a key first (the link beside each service says where "
                                  "to get one).")
            return
        self.key_button.setEnabled(False)
        self._note(self.key_note, "Testing the key with one tiny request…")
        self.keySubmitted.emit(self.chosen_provider(), key)

    def probe(self) -> None:
        self._probed = True
        self.probe_button.setEnabled(False)
        self._note(self.server_note, "Looking…")
        self.probeRequested.emit()

    def probe_once(self) -> None:
        """Look for local servers the first time the view is shown."""
        if not self._probed:
            self.probe()

    # -- state ------------------------------------------------------------------------------

    def key_result(self, problem: str | None) -> None:
        """The test and save ended: None when the provider is saved."""
        self.key_button.setEnabled(True)
        if problem is None:
            self.key_edit.clear()
            self._note(self.key_note, "Saved. Send your message below.")
        else:
            self._note(self.key_note, f"{problem} Nothing was saved.")

    def show_servers(self, found: list[FoundServer]) -> None:
        """What answered on this computer, each with its models and a "Use" button."""
        self.probe_button.setEnabled(True)
        while self.servers_box.count():
            item = self.servers_box.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._found = list(found)
        for index, server in enumerate(found):
            self.servers_box.addWidget(self._server_row(index, server))
        self._note(self.server_note,
            "" if found else "No model server answered. Start one (for example Ollama), "
            "then look again.")

    def _server_row(self, index: int, found: FoundServer) -> QWidget:
        row = QWidget()
        row.setObjectName(f"welcomeServer{index}")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(found.server.label))
        models = QComboBox()
        models.setObjectName("welcomeServerModels")
        models.addItems(found.models)
        models.setEnabled(bool(found.models))
        layout.addWidget(models, 1)
        use = QPushButton("Test and use")
        use.setObjectName("welcomeServerUse")
        use.setEnabled(bool(found.models))
        use.clicked.connect(lambda: self._use(found, models.currentText(), use))
        layout.addWidget(use)
        if not found.models:
            layout.addWidget(QLabel("(no models yet: download one first)"))
        return row

    def _use(self, found: FoundServer, model: str, button: QPushButton) -> None:
        button.setEnabled(False)
        self._note(self.server_note, f"Testing {found.server.label} ({model}) with one tiny "
                                 "request…")
        self.serverChosen.emit(found, model)

    def server_result(self, problem: str | None) -> None:
        for button in self.findChildren(QPushButton, "welcomeServerUse"):
            button.setEnabled(True)
        self._note(self.server_note, "Saved. Send your message below." if problem is None
                                 else f"{problem} Nothing was saved.")
