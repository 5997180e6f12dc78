"""AppContext: the data dir, settings, keys and history of one run, shared by CLI and app."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatdesk.keyfile import KEY_FILE_NAME
from chatdesk.paths import (
    PRIVATE_DIR_MODE,
    DataDirError,
    DataPaths,
    ensure_data_dir,
    private_opener,
    resolve_data_dir,
)
from chatdesk.secrets import KeyStore, KeyStoreError, RedactingFilter, source_label
from chatdesk.settings import Settings, SettingsError, load_settings_or_defaults, save_settings
from chatdesk.store import HealthState, HistoryStore

if TYPE_CHECKING:
    from chatdesk.chat import ChatService
    from chatdesk.failover.health import HealthBook
    from chatdesk.failover.keys import KeyBook
    from chatdesk.provider_status import ProviderStatus

LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3


class ConfigError(Exception):
    """The data dir or settings cannot be used as they are (exit 2)."""


class SettingsChangeError(Exception):
    """New settings or keys could not be saved; the message says why, as a sentence."""


@dataclass(frozen=True)
class KeyChanges:
    """What the settings dialog does to keys on Save."""

    typed: dict[str, str] = field(default_factory=dict)  # provider -> new key
    forget: frozenset[str] = frozenset()  # providers whose stored key goes
    removed: frozenset[str] = frozenset()  # providers taken out of settings


@dataclass
class AppContext:
    """Everything one chatdesk process works on, opened lazily."""

    paths: DataPaths
    settings: Settings
    settings_error: SettingsError | None
    keys: KeyStore = field(default_factory=KeyStore)
    _store: HistoryStore | None = None

    @classmethod
    def create(cls, data_dir: str | None = None, portable: bool = False,
               warn: bool = True) -> AppContext:
        try:
            root = ensure_data_dir(resolve_data_dir(data_dir, portable))
        except DataDirError as exc:
            raise ConfigError(str(exc)) from None
        paths = DataPaths(root)
        paths.make_private()
        _setup_logging(paths)
        settings, error = load_settings_or_defaults(paths.settings_file)
        if error is not None and warn:
            print(f"chatdesk: {str(error).rstrip('.')} (using default settings)",
                  file=sys.stderr)
        return cls(paths, settings, error, KeyStore(key_file=paths.root / KEY_FILE_NAME))

    def require_settings(self) -> None:
        """Commands that talk to providers refuse to guess when settings.toml is broken."""
        if self.settings_error is not None:
            problem = str(self.settings_error).rstrip(".")
            raise ConfigError(f"{problem} (nothing is sent until settings.toml is fixed)")

    def save_settings(self, settings: Settings, keys: KeyChanges = KeyChanges()) -> None:
        """Store the keys, then write settings.toml; from then on this context uses the new
        settings. Raises SettingsChangeError (nothing changes in settings.toml then)."""
        if self.settings_error is not None:
            raise SettingsChangeError("settings.toml has an error (see above); fix it, then "
                                      "reopen the settings.")
        self._save_keys(settings, keys)
        try:
            save_settings(settings, self.paths.settings_file)
        except SettingsError as exc:
            raise SettingsChangeError(str(exc)) from None
        self.settings, self.settings_error = settings, None

    def _save_keys(self, settings: Settings, changes: KeyChanges) -> None:
        try:
            for name, key in changes.typed.items():
                if name in settings.providers:
                    self.keys.set(name, key, provider=settings.providers[name])
            for name in changes.forget - set(changes.typed):
                if name in settings.providers:
                    self.keys.delete(name, provider=settings.providers[name])
        except KeyStoreError as exc:
            raise SettingsChangeError(str(exc)) from None
        for name in changes.removed - set(settings.providers):
            try:  # a removed provider's key should not linger in any store
                self.keys.delete(name)
            except KeyStoreError:
                pass

    @property
    def store(self) -> HistoryStore:
        if self._store is None:
            self._store = HistoryStore.open(self.paths.history_db)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def health(self) -> HealthBook:
        from chatdesk.failover.health import HealthBook

        return HealthBook(self.store, self.settings.failover.cooldown_s)

    def key_book(self, cached: bool = False) -> KeyBook:
        """The health of each key of each provider's pool (`cached`: the pools as last
        read, so that a status refresh does not ask the keyring)."""
        from chatdesk.failover.keys import KeyBook

        return KeyBook(self.store, self.keys.cached_pool if cached else self.keys.pool,
                       lambda: self.settings.failover.cooldown_s)

    def prepare_to_send(self) -> None:
        """When a provider is reached over https://, start reading the CA file on a thread
        (OpenSSL does it without the GIL), so that it overlaps loading the chat engine.
        (keyring's search for its backend is mostly Python: on a thread it only took CPU
        time from the rest.) With none, the CAs are read only if a TLS connection is made."""
        if not any(p.effective_base_url().lower().startswith("https:")
                   for p in self.settings.providers.values()):
            return
        from chatdesk.providers.tls import prepare_default_context

        prepare_default_context()

    def chat_service(self) -> ChatService:
        from chatdesk.chat import ChatService  # httpx and the providers: only when sending

        return ChatService(self.store, self.settings, self.keys)

    def missing_keys(self) -> frozenset[str]:
        """Providers that need a key and have none (reads the keyring: may be slow); the
        pools of keys are read afresh from then on too."""
        from chatdesk.provider_status import missing_keys  # not on `ask`'s way to a send

        self.keys.forget_pools()
        return missing_keys(self.settings, self.keys)

    def provider_statuses(self, missing: frozenset[str] | None = None, *,
                          pools: bool = True) -> list[ProviderStatus]:
        """Every provider's state in failover order; keys are looked up unless `missing`
        (the providers known to have no key) is given. `pools=False` leaves out how many
        keys of each pool are usable (reading them loads the keyring)."""
        from chatdesk.provider_status import provider_statuses

        return provider_statuses(self.settings, self.health(),
                                 self.missing_keys() if missing is None else missing,
                                 # Known missing keys: the pools as last read, like them.
                                 self.key_book(cached=missing is not None) if pools else None)

    def retry_ready(self, missing: frozenset[str] | None = None) -> bool:
        """Whether sending the pending messages now could work: some wait, and some provider
        that is set up (setup_rules) is not cooling down."""
        from chatdesk.setup_rules import checks

        if not self.store.pending_messages(interrupted=False):
            return False
        missing = self.missing_keys() if missing is None else missing
        set_up = {c.name for c in checks(self.settings, self.health(), missing) if c.ok}
        return any(s.ready for s in self.provider_statuses(missing) if s.name in set_up)

    def interrupted_pending(self) -> int:
        """How many pending messages had their answer cut off by a crash (the app asks before
        sending those; `chatdesk retry` sends them)."""
        return len(self.store.pending_messages()) - len(
            self.store.pending_messages(interrupted=False))

    def provider_rows(self) -> list[dict[str, Any]]:
        """SPEC's `providers --json` rows, in failover order."""
        return [{
            "name": s.name, "type": s.type, "model": s.model, "base_url": s.base_url,
            "state": s.state.spec_state, "last_error": s.last_error,
            "cooldown_left_s": s.cooldown_left_s, "slow": s.state == HealthState.SLOW,
            "set_up": s.not_set_up is None and s.state != HealthState.NO_KEY,
        } for s in self.provider_statuses()]

    def key_status(self) -> list[tuple[str, str]]:
        """(provider, which store holds its key: "system keyring", "encrypted key file",
        "this session only", "env:NAME", "none"…) — never the key itself. Does not unlock
        the key file: its provider names are readable without the passphrase."""
        return [(p.name, source_label(self.keys.lookup(p).source))
                for p in self.settings.ordered_providers()]


def _setup_logging(paths: DataPaths) -> None:
    """A log file in the data dir, with keys redacted. Once per process."""
    root = logging.getLogger("chatdesk")
    if getattr(root, "_chatdesk_configured", False):
        return
    root._chatdesk_configured = True  # type: ignore[attr-defined]
    root.setLevel(logging.DEBUG if os.environ.get("CHATDESK_DEBUG") else logging.INFO)
    root.propagate = False
    log_file = paths.log_dir / "chatdesk.log"
    try:
        paths.log_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        rotate_log(log_file)
        handler: logging.Handler = _LogFile(log_file, encoding="utf-8", delay=True)
    except OSError:
        handler = logging.NullHandler()  # logging must never stop the app
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


class _LogFile(logging.FileHandler):
    """The log: created 0600, and a failed write (a full disk) never stops the app."""

    def _open(self):  # type: ignore[no-untyped-def]
        return open(self.baseFilename, self.mode, encoding=self.encoding,
                    errors=self.errors, opener=private_opener)

    def handleError(self, record: logging.LogRecord) -> None:
        # logging's default prints a traceback on stderr: on a full disk, that would be
        # after every line the CLI prints, and the user could not use chatdesk at all.
        return


def rotate_log(path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS) -> None:
    """Once a log is over max_bytes, it becomes NAME.1 (NAME.1 becomes NAME.2…) as a process
    starts. Rotating only at start keeps logging.handlers (~10 ms of imports) out of start-up;
    chatdesk logs little, so one run does not grow a log by much."""
    try:
        if path.stat().st_size < max_bytes:
            return
        for n in range(backups - 1, 0, -1):
            older = path.with_name(f"{path.name}.{n}")
            if older.exists():
                os.replace(older, path.with_name(f"{path.name}.{n + 1}"))
        os.replace(path, path.with_name(f"{path.name}.1"))
    except OSError:  # gone, or held open by another process (Windows): rotate another time
        return
