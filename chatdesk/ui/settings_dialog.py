"""The settings dialog: providers and keys, failover timeouts, appearance; saves on OK only."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chatdesk.secrets import env_pool_vars
from chatdesk.settings import FailoverSettings, ProviderSettings, Settings, UiSettings
from chatdesk.ui.settings_providers import ENV_RE, ProvidersPage, make_note, named, stacked

if TYPE_CHECKING:
    from chatdesk.ui.controller import ChatController

THEME_LABELS = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
# (field, objectName, label, minimum, maximum, help)
TIMEOUT_FIELDS = (
    ("connect_timeout_s", "connectTimeout", "Connect timeout:", 0.5, 300.0,
     "How long to wait for the connection to a provider (TCP and TLS)."),
    ("first_token_timeout_s", "firstTokenTimeout", "First-token timeout:", 1.0, 900.0,
     "How long to wait from sending a message to the first words of the answer."),
    ("stall_timeout_s", "stallTimeout", "Stall timeout:", 1.0, 900.0,
     "How long an answer may go silent in the middle before the next provider takes over."),
    ("cooldown_s", "cooldown", "Cooldown:", 0.0, 3600.0,
     "How long a failed provider is skipped; it doubles while it keeps failing (at most "
     "10 minutes)."),
)


class SettingsDialog(QDialog):
    """Edits a copy of the settings; Save hands them to the controller (which writes
    settings.toml and the keys and tells everyone), Cancel drops all.

    `saved` fires after a successful save.
    """

    saved = Signal()

    def __init__(self, controller: ChatController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.controller = controller
        assert controller.settings is not None, "browse mode has no settings to edit"
        settings: Settings = controller.settings
        self.settings = settings
        problem = controller.settings_problem
        self.tabs = named(QTabWidget(), "settingsTabs")
        self.providers_page = ProvidersPage(controller, settings.ordered_providers(), self)
        self.tabs.addTab(self.providers_page, "Providers")
        self.tabs.addTab(self._failover_page(settings.failover), "Failover")
        self.tabs.addTab(self._appearance_page(settings.ui), "Appearance")

        self.file_error = make_note("settingsFileError", error=True)
        if problem is not None:
            self.file_error.setText(
                f"{problem} Fix that line in settings.toml first; until then these "
                "settings cannot be saved from here.")
        self.file_error.setVisible(problem is not None)
        self.error = make_note("settingsError", error=True)
        self.buttons = named(QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel),
            "settingsButtons")
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("settingsSave")
        self.save_button.setEnabled(problem is None)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName(
            "settingsCancel")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.file_error)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(820, 540)

    # --- pages --------------------------------------------------------------------------
    def _failover_page(self, failover: FailoverSettings) -> QWidget:
        page = named(QWidget(), "failoverPage")
        form = QFormLayout(page)
        form.setVerticalSpacing(12)
        intro = make_note("failoverIntro")
        intro.setText("When a provider fails or is too slow, chatdesk asks the next one in the "
                      "order of the Providers page.")
        form.addRow(intro)
        self.timeouts: dict[str, QDoubleSpinBox] = {}
        for key, name, label, low, high, help_text in TIMEOUT_FIELDS:
            spin = named(QDoubleSpinBox(), name)
            spin.setRange(low, high)
            spin.setDecimals(1)
            spin.setSingleStep(1.0)
            spin.setSuffix(" s")
            spin.setValue(float(getattr(failover, key)))
            spin.setToolTip(help_text)
            spin.setMinimumWidth(110)
            self.timeouts[key] = spin
            hint = make_note(f"{name}Help", muted=True)
            hint.setText(help_text)
            row = QHBoxLayout()
            row.addWidget(spin)
            row.addStretch(1)
            form.addRow(label, stacked(row, hint))
        return page

    def _appearance_page(self, ui: UiSettings) -> QWidget:
        page = named(QWidget(), "appearancePage")
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.theme = named(QComboBox(), "themeCombo")
        for value, label in THEME_LABELS:
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(ui.theme)))
        form.addRow("Theme:", self.theme)
        return page

    # --- saving -------------------------------------------------------------------------
    def collect(self) -> Settings:
        """The settings as the dialog shows them now."""
        page = self.providers_page
        order = page.order()
        providers = {n: dataclasses.replace(page.providers[n]) for n in order}
        old = self.settings.failover
        seconds: dict[str, Any] = {key: spin.value() for key, spin in self.timeouts.items()}
        failover = dataclasses.replace(old, order=order, **seconds)
        # The [prices] tables have no page here: kept as the file has them.
        return Settings(failover, providers, UiSettings(theme=str(self.theme.currentData())),
                        prices=dict(self.settings.prices))

    def problems(self, settings: Settings) -> str | None:
        """The first thing that stops saving, as a sentence (and shows that provider)."""
        for p in settings.providers.values():
            problem = _provider_problem(p)
            if problem:
                self.tabs.setCurrentWidget(self.providers_page)
                self.providers_page.select(p.name)
                return problem
        return None

    def save(self) -> bool:
        """Validate, then save through the controller; on success close. False keeps it open."""
        from chatdesk.context import KeyChanges

        if self.controller.settings_problem is not None:
            self.error.setText("settings.toml has an error (see above); fix it, then reopen "
                               "the settings.")
            return False
        settings = self.collect()
        page = self.providers_page
        problem = self.problems(settings) or self.plain_http_refused(settings) or \
            self.controller.save_settings(
            settings, KeyChanges(dict(page.typed_keys), frozenset(page.forget_keys),
                                 frozenset(page.removed)))
        if problem is not None:
            self.error.setText(problem)
            return False
        self.error.clear()
        self.saved.emit()
        self.accept()
        return True

    def plain_http_refused(self, settings: Settings) -> str | None:
        """Ask before a key may travel over plain http:// to another machine; a "yes" writes
        allow_insecure_http = true for that provider, a "no" keeps the dialog open."""
        for p in settings.providers.values():
            host = p.plain_http_host()
            if p.type == "ollama" or host is None or p.allow_insecure_http:
                continue
            self.tabs.setCurrentWidget(self.providers_page)
            self.providers_page.select(p.name)
            if not self.confirm_plain_http(p.name, host):
                return (f"Not saved: use https:// for {p.name}, or agree to send its key "
                        "over plain HTTP.")
            p.allow_insecure_http = True
            self.providers_page.providers[p.name].allow_insecure_http = True
        return None

    def confirm_plain_http(self, name: str, host: str) -> bool:
        """The user's answer to sending the key of name in clear to host (tests replace it)."""
        from PySide6.QtWidgets import QMessageBox

        answer = QMessageBox.warning(
            self, "Send the key unencrypted?",
            f"The base URL of {name} is plain http:// to {host}, another machine: its API "
            "key would travel unencrypted, and anyone on the network could read it.\n\n"
            "Send it anyway? (This writes allow_insecure_http = true for this provider.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def done(self, result: int) -> None:
        self.providers_page.shutdown()
        super().done(result)


def _provider_problem(p: ProviderSettings) -> str | None:
    if not p.model.strip():
        return f"{p.name} has no model; type one or use Fetch models."
    if p.base_url and not p.base_url.startswith(("http://", "https://")):
        return f"The base URL of {p.name} must start with http:// or https://."
    if any(not ENV_RE.match(var) for var in env_pool_vars(p)):
        return (f"The key variable of {p.name} must be a variable name of letters, digits "
                "and '_', e.g. MY_API_KEY (or several, separated by commas).")
    return None
