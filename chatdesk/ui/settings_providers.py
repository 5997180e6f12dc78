"""The Providers page of the settings dialog: failover order, one provider's fields, its key."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Coroutine
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk import wording
from chatdesk.chat import TEST_PROMPT
from chatdesk.secrets import KeyFileState, KeyPlace, key_env_vars
from chatdesk.settings import (
    DEFAULT_BASE_URLS,
    DEFAULT_MODELS,
    PROVIDER_TYPES,
    ProviderSettings,
    key_env_text,
    parse_key_env_text,
)
from chatdesk.ui.key_hint import key_hint
from chatdesk.wording import missing_key, provider_failure

if TYPE_CHECKING:
    import asyncio

    from chatdesk.chat import ChatService
    from chatdesk.ui.controller import ChatController

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ProviderItemRole(IntEnum):
    """The data roles of the failover-order list's items beyond Qt's own."""

    NAME = Qt.ItemDataRole.UserRole + 301  # the provider's name (the text may change)


NEEDS_LOOP = "This needs chatdesk's event loop; open the settings from the app."


class ProvidersPage(QWidget):
    """Edits a copy of the providers; the dialog reads order(), providers and the key edits."""

    def __init__(self, controller: ChatController, providers: list[ProviderSettings],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("providersPage")
        self.controller = controller
        self.providers: dict[str, ProviderSettings] = {
            p.name: dataclasses.replace(p) for p in providers}
        self.typed_keys: dict[str, str] = {}
        self.forget_keys: set[str] = set()
        self.removed: set[str] = set()
        self.secure = controller.keys.secure_store()
        self._loading = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._notes: dict[tuple[str, str], str] = {}  # (provider, "fetch"|"test") -> sentence
        self._models: dict[str, list[str]] = {}
        self._build()
        for p in providers:
            self._add_item(p.name)
        if self.list.count():
            self.list.setCurrentRow(0)
        self._show_current()

    # --- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.list = named(QListWidget(), "providerList")
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setToolTip("Failover order: the first provider is asked first. Drag to reorder.")
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(lambda *_: self._show_current())
        self.up = named(QToolButton(), "providerUp", "Up")
        self.down = named(QToolButton(), "providerDown", "Down")
        self.remove = named(QToolButton(), "providerRemove", "Remove")
        self.up.clicked.connect(lambda: self.move_current(-1))
        self.down.clicked.connect(lambda: self.move_current(1))
        self.remove.clicked.connect(self.remove_current)
        moves = QHBoxLayout()
        for button in (self.up, self.down, self.remove):
            moves.addWidget(button)
        moves.addStretch(1)
        self.new_name = named(QLineEdit(), "newProviderName")
        self.new_name.setPlaceholderText("name")
        self.new_name.setToolTip("A name for the new entry, e.g. groq or anthropic-work")
        self.new_type = named(QComboBox(), "newProviderType")
        self.new_type.addItems(list(PROVIDER_TYPES))
        self.add = named(QPushButton("Add"), "providerAdd")
        self.add.clicked.connect(self._on_add)
        self.new_name.returnPressed.connect(self._on_add)
        adding = QHBoxLayout()
        adding.addWidget(self.new_name, 1)
        adding.addWidget(self.new_type)
        adding.addWidget(self.add)
        self.page_error = make_note("providersError", error=True)
        left = QVBoxLayout()
        left.addWidget(QLabel("Failover order (first is asked first):"))
        left.addWidget(self.list, 1)
        left.addLayout(moves)
        left.addWidget(QLabel("Add a provider:"))
        left.addLayout(adding)
        left.addWidget(self.page_error)

        self.editor = named(QWidget(), "providerEditor")
        form = QFormLayout(self.editor)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_label = named(QLabel(), "providerName")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.type = named(QComboBox(), "providerType")
        self.type.addItems(list(PROVIDER_TYPES))
        self.type.setToolTip("openai covers every OpenAI-compatible service (OpenRouter, Groq, "
                             "LM Studio, llama.cpp…).")
        self.base_url = named(QLineEdit(), "providerBaseUrl")
        self.model = named(QComboBox(), "providerModel")
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.fetch = named(QPushButton("Fetch models"), "fetchModels")
        self.fetch_note = make_note("fetchModelsStatus")
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.fetch)
        self.key = named(QLineEdit(), "providerKey")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_show = named(QToolButton(), "providerKeyShow", "Show")
        self.key_show.setCheckable(True)
        self.key_forget = named(QToolButton(), "providerKeyForget", "Forget")
        self.key_forget.setToolTip("Remove the stored key (on Save).")
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.key_show)
        key_row.addWidget(self.key_forget)
        self.key_note = make_note("providerKeyNote")
        self._build_key_store()
        self.key_env = named(QLineEdit(), "providerKeyEnv")
        self.test = named(QPushButton("Test"), "providerTest")
        self.test.setToolTip(f"Sends one tiny request (“{TEST_PROMPT}”) with these settings.")
        self.test_note = make_note("providerTestResult")
        form.addRow("Name:", self.name_label)
        form.addRow("Type:", self.type)
        form.addRow("Base URL:", self.base_url)
        form.addRow("Model:", stacked(model_row, self.fetch_note))
        form.addRow("API key:", stacked(key_row, self.key_note))
        if not self.secure:
            store_row = QHBoxLayout()
            store_row.addWidget(self.key_store, 1)
            store_row.addWidget(self.key_file_button)
            form.addRow("Keys kept:", stacked(store_row, self.key_store_note))
        form.addRow("Key variable:", self.key_env)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test)
        test_row.addStretch(1)
        form.addRow("", stacked(test_row, self.test_note))

        grid = QGridLayout(self)
        grid.addLayout(left, 0, 0)
        grid.addWidget(self.editor, 0, 1)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)

        self.type.currentTextChanged.connect(self._on_type)
        self.base_url.textEdited.connect(self._on_base_url)
        self.model.editTextChanged.connect(self._on_model)
        self.key.textEdited.connect(self._on_key)
        self.key_env.textEdited.connect(self._on_key_env)
        self.key_show.toggled.connect(self._on_show_key)
        self.key_forget.clicked.connect(self._on_forget)
        self.fetch.clicked.connect(self.fetch_models)
        self.test.clicked.connect(self.run_test)

    # --- where keys live without a keyring ------------------------------------------------
    def _build_key_store(self) -> None:
        self.key_store = named(QComboBox(), "keyStore")
        self.key_store.addItem("This session only (until chatdesk closes)", KeyPlace.SESSION)
        self.key_store.addItem("In an encrypted file, with a passphrase", KeyPlace.FILE)
        self.key_store.setToolTip("There is no system keyring on this computer: choose where "
                                  "the keys you type here are kept.")
        self.key_file_button = named(QPushButton(), "keyFileButton")
        self.key_file_button.clicked.connect(self._on_key_file_button)
        self.key_store_note = make_note("keyStoreNote")
        self.passphrase_dialog: QDialog | None = None
        self._show_key_store()
        self.key_store.activated.connect(self._on_key_store)

    def _show_key_store(self) -> None:
        """The store choice, its button and a sentence on what it means, as things are now."""
        if self.secure:
            return
        place = self.controller.keys.place()
        state = self.controller.keys.file_state()
        self.key_store.setCurrentIndex(self.key_store.findData(place))
        path = self.controller.keys.file_path()
        self.key_file_button.setVisible(state in (KeyFileState.LOCKED, KeyFileState.UNLOCKED))
        self.key_file_button.setText("Unlock…" if state == KeyFileState.LOCKED
                                     else "Change passphrase…")
        problem = self.controller.keys.file_problem()
        if problem:
            note = problem
        elif place == KeyPlace.SESSION:
            note = ("No system keyring here: keys you type are kept in memory only until "
                    "chatdesk closes, then they are gone. To keep them, choose an encrypted "
                    "file.")
        elif state == KeyFileState.LOCKED:
            note = (f"Keys are kept in the encrypted file {path}, which is locked: unlock it "
                    "to use or change its keys.")
        else:
            note = f"Keys are kept in the encrypted file {path}, sealed with your passphrase."
        self.key_store_note.setText(note)

    def _on_key_store(self, index: int) -> None:
        place = KeyPlace(self.key_store.itemData(index))
        state = self.controller.keys.file_state()
        if place == KeyPlace.SESSION or state == KeyFileState.UNLOCKED:
            self._key_store_done(self.controller.keys.choose_store(place))
        elif state == KeyFileState.ABSENT:
            self.ask_passphrase("create")
        elif state == KeyFileState.LOCKED:
            self.ask_passphrase("unlock", then_choose=True)
        else:  # damaged: say so, keep this session's store
            self._key_store_done(None)

    def _on_key_file_button(self) -> None:
        locked = self.controller.keys.file_state() == KeyFileState.LOCKED
        self.ask_passphrase("unlock" if locked else "change")

    def ask_passphrase(self, mode: str, then_choose: bool = False) -> QDialog:
        """Open the passphrase dialog (window-modal, without blocking); the page follows its
        outcome."""
        from chatdesk.ui.passphrase_dialog import PassphraseDialog, PassphraseMode

        dialog = PassphraseDialog(self.controller, PassphraseMode(mode), self.window())
        self.passphrase_dialog = dialog

        def finished(result: int) -> None:
            self.passphrase_dialog = None
            dialog.deleteLater()
            problem = None
            if result == QDialog.DialogCode.Accepted and then_choose:
                problem = self.controller.keys.choose_store(KeyPlace.FILE)
            self._key_store_done(problem)

        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def _key_store_done(self, problem: str | None) -> None:
        self._show_key_store()
        if problem:
            self.key_store_note.setText(problem)
        p = self.current()
        if p is not None:
            self._refresh_hints(p)

    # --- the list -----------------------------------------------------------------------
    def order(self) -> list[str]:
        return [self.list.item(i).data(ProviderItemRole.NAME) for i in range(self.list.count())]

    def current(self) -> ProviderSettings | None:
        item = self.list.currentItem()
        return self.providers.get(item.data(ProviderItemRole.NAME)) if item is not None else None

    def select(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(ProviderItemRole.NAME) == name:
                self.list.setCurrentRow(i)

    def _add_item(self, name: str) -> None:
        item = QListWidgetItem(name)
        item.setData(ProviderItemRole.NAME, name)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)  # drop between, not onto
        self.list.addItem(item)

    def move_current(self, delta: int) -> None:
        row = self.list.currentRow()
        target = row + delta
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)

    def add_provider(self, name: str, type_name: str) -> str | None:
        """Add and select a provider; returns the problem as a sentence, or None."""
        name = name.strip()
        if not NAME_RE.match(name):
            return ("Give the provider a name of letters, digits, '-', '_' or '.', "
                    "starting with a letter or digit.")
        if name in self.providers:
            return f"There is already a provider named {name}; choose another name."
        if type_name not in PROVIDER_TYPES:
            return "Choose a type: anthropic, openai, gemini or ollama."
        self.providers[name] = ProviderSettings(name, type_name, DEFAULT_MODELS[type_name])
        self.removed.discard(name)
        self._add_item(name)
        self.list.setCurrentRow(self.list.count() - 1)
        return None

    def _on_add(self) -> None:
        problem = self.add_provider(self.new_name.text(), self.new_type.currentText())
        self.page_error.setText(problem or "")
        if problem is None:
            self.new_name.clear()

    def remove_current(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        name = self.list.takeItem(row).data(ProviderItemRole.NAME)
        self.providers.pop(name, None)
        self.typed_keys.pop(name, None)
        self.removed.add(name)
        if self.list.count():
            self.list.setCurrentRow(min(row, self.list.count() - 1))
        self._show_current()

    # --- the editor ---------------------------------------------------------------------
    def _show_current(self) -> None:
        p = self.current()
        self.editor.setEnabled(p is not None)
        self.up.setEnabled(p is not None and self.list.currentRow() > 0)
        self.down.setEnabled(p is not None and self.list.currentRow() < self.list.count() - 1)
        self.remove.setEnabled(p is not None)
        self._loading = True
        try:
            if p is None:
                for field in (self.base_url, self.key, self.key_env):
                    field.clear()
                self.name_label.clear()
                self.model.clear()
                return
            self.name_label.setText(p.name)
            self.type.setCurrentText(p.type)
            self.base_url.setText(p.base_url or "")
            self.model.clear()
            self.model.addItems(self._models.get(p.name, []))
            self.model.setEditText(p.model)
            self.key.setText(self.typed_keys.get(p.name, ""))
            self.key_env.setText(key_env_text(p.api_key_env))
            self.fetch_note.setText(self._notes.get((p.name, "fetch"), ""))
            self.test_note.setText(self._notes.get((p.name, "test"), ""))
            self._refresh_hints(p)
        finally:
            self._loading = False

    def _refresh_hints(self, p: ProviderSettings) -> None:
        self.base_url.setPlaceholderText(DEFAULT_BASE_URLS[p.type])
        env_vars = key_env_vars(p)
        self.key_env.setPlaceholderText(env_vars[0] if env_vars else "e.g. MY_PROVIDER_API_KEY")
        hint = key_hint(p, self.controller.keys.lookup(p).source, self.controller.keys.needs_key(p),
                        self.secure, p.name in self.forget_keys, self.controller.keys.place())
        self.key_forget.setVisible(hint.stored)
        self.key.setPlaceholderText(hint.placeholder)
        pool = self.controller.keys.pool_fingerprints(p) if p.name not in self.forget_keys \
            else []
        note = hint.note
        if len(pool) > 1:  # a pool: this form edits its first key (see README, Key pools)
            note = (f"{note} " if note else "") + wording.pool_note(p.name, pool)
            self.key_forget.setToolTip(f"Remove all {len(pool)} stored keys (on Save).")
        else:
            self.key_forget.setToolTip("Remove the stored key (on Save).")
        self.key_note.setText(note)

    def _edit(self) -> ProviderSettings | None:
        return None if self._loading else self.current()

    def _on_type(self, type_name: str) -> None:
        p = self._edit()
        if p is None or type_name not in PROVIDER_TYPES or type_name == p.type:
            return
        if not p.model or p.model == DEFAULT_MODELS.get(p.type):
            p.model = DEFAULT_MODELS[type_name]
        p.type = type_name
        self._models.pop(p.name, None)
        self._show_current()

    def _on_base_url(self, text: str) -> None:
        p = self._edit()
        if p is not None:
            p.base_url = text.strip() or None
            self._refresh_hints(p)

    def _on_model(self, text: str) -> None:
        p = self._edit()
        if p is not None:
            p.model = text.strip()

    def _on_key(self, text: str) -> None:
        p = self._edit()
        if p is None:
            return
        if text.strip():
            self.typed_keys[p.name] = text.strip()
        else:
            self.typed_keys.pop(p.name, None)

    def _on_key_env(self, text: str) -> None:
        p = self._edit()
        if p is not None:
            p.api_key_env = parse_key_env_text(text)
            self._refresh_hints(p)

    def _on_show_key(self, shown: bool) -> None:
        self.key.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.key_show.setText("Hide" if shown else "Show")

    def _on_forget(self) -> None:
        p = self.current()
        if p is not None:
            self.forget_keys.add(p.name)
            self._refresh_hints(p)

    # --- talking to the provider ----------------------------------------------------------
    def key_for(self, p: ProviderSettings) -> str | None:
        if p.name in self.typed_keys:
            return self.typed_keys[p.name]
        # A keyring entry about to be forgotten does not count: only variables do.
        return self.controller.keys.lookup(p, keyring=p.name not in self.forget_keys).key

    def _start(self, p: ProviderSettings, what: str, button: QPushButton,
               job: Callable[[ChatService], Coroutine[Any, Any, str]]) -> None:
        """Run a request on the engine; its outcome (or failure) as a sentence under it."""
        label = self.fetch_note if what == "fetch" else self.test_note
        name = p.name

        def show(note: str) -> None:
            button.setEnabled(True)
            self._notes[(name, what)] = note
            current = self.current()
            if current is not None and current.name == name:
                label.setText(note)

        task = self.controller.run_job(job, show,
                                       lambda exc: show(provider_failure(exc, p.name,
                                                                       p.effective_base_url())))
        if task is None:
            label.setText(NEEDS_LOOP)
            return
        button.setEnabled(False)
        label.setText("Fetching models…" if what == "fetch" else "Testing…")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: button.setEnabled(True) if t.cancelled() else None)

    def _missing_key(self, p: ProviderSettings) -> str | None:
        if self.key_for(p) or not self.controller.keys.needs_key(p):
            return None
        return missing_key(p.name, next(iter(key_env_vars(p)), None), self.secure, where="app")

    def fetch_models(self) -> None:
        p = self.current()
        if p is None:
            return
        missing = self._missing_key(p)
        if missing:
            self.fetch_note.setText(missing)
            return
        p, key = dataclasses.replace(p), self.key_for(p)

        async def fetch(service: ChatService) -> str:
            return self._models_fetched(p, await service.probe_models(p, key))

        self._start(p, "fetch", self.fetch, fetch)

    def _models_fetched(self, p: ProviderSettings, models: list[str]) -> str:
        self._models[p.name] = models
        current = self.current()
        if current is not None and current.name == p.name:
            self._loading = True
            text = self.model.currentText()
            self.model.clear()
            self.model.addItems(models)
            self.model.setEditText(text)
            self._loading = False
        if not models:
            return "The provider lists no models; type the model name."
        return f"{len(models)} models available; pick one from the list."

    def run_test(self) -> None:
        p = self.current()
        if p is None:
            return
        if not p.model:
            self.test_note.setText("Type or pick a model first.")
            return
        missing = self._missing_key(p)
        if missing:
            self.test_note.setText(missing)
            return
        p, key = dataclasses.replace(p), self.key_for(p)
        self._start(p, "test", self.test, lambda service: service.test_provider(p, key))

    def busy(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def shutdown(self) -> None:
        """Cancel running requests (the dialog is closing)."""
        for task in list(self._tasks):
            task.cancel()


class Note(QLabel):
    """A wrapped, selectable sentence that takes no room while it is empty."""

    def __init__(self, name: str, error: bool = False, muted: bool = False) -> None:
        super().__init__()
        self.setObjectName(name)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if error:
            self.setStyleSheet("color: #e5534b;")  # readable on light and dark
        elif muted:
            self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.setVisible(False)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setVisible(bool(text))


W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, text: str | None = None) -> W:
    """widget with an object name (what tests and style sheets find it by) and maybe a text."""
    widget.setObjectName(name)
    if text is not None and isinstance(widget, QAbstractButton):
        widget.setText(text)
    return widget


def make_note(name: str, error: bool = False, muted: bool = False) -> Note:
    return Note(name, error, muted)


def stacked(*parts: QWidget | QLayout) -> QWidget:
    """Widgets and layouts one under another, tight, for a form field with a note below."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(3)
    for part in parts:
        if isinstance(part, QLayout):
            column.addLayout(part)
        else:
            column.addWidget(part)
    return box
