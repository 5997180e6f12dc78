"""API keys: the OS keyring, then the encrypted key file or this session's memory, then
environment variables; and keeping keys out of logs."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chatdesk.keyfile import KeyFile, KeyFileError
from chatdesk.keyfile import WrongPassphraseError as KeyFileWrongPassphrase

if TYPE_CHECKING:  # keyring is imported lazily: loading its backends is slow-ish
    from keyring.backend import KeyringBackend

    from chatdesk.settings import ProviderSettings

SERVICE = "chatdesk"
REDACTED = "[redacted]"

# OpenAI-compatible services with their own key variable, matched in the base URL's host or
# the provider's name. Never fall back to OPENAI_API_KEY for these: it would hand an OpenAI
# key to a third party.
_OPENAI_COMPATIBLE_VARS = (
    ("openrouter", "OPENROUTER_API_KEY"),
    ("mistral", "MISTRAL_API_KEY"),
    ("groq", "GROQ_API_KEY"),
    ("deepseek", "DEEPSEEK_API_KEY"),
)
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_USUAL_VARS = {
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "ollama": (),
}


class KeyStoreError(Exception):
    """The keyring failed; the message is a sentence for the user and never holds a key."""


class NoSecureStoreError(KeyStoreError):
    """There is no secure keyring backend on this machine."""


class WrongPassphraseError(KeyStoreError):
    """The passphrase does not open the encrypted key file; nothing changed."""


class KeyPlace(StrEnum):
    """Where new keys are written."""

    KEYRING = "keyring"
    FILE = "file"  # the encrypted key file, when there is no keyring
    SESSION = "session"  # this process's memory, when there is neither


class KeyFileState(StrEnum):
    """The encrypted key file as this process sees it."""

    ABSENT = "absent"
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    DAMAGED = "damaged"


PLACE_LABELS = {
    KeyPlace.KEYRING: "system keyring",
    KeyPlace.FILE: "encrypted key file",
    KeyPlace.SESSION: "this session only",
}


def source_label(source: str) -> str:
    """KeyLookup.source as people read it: "system keyring", "env:NAME", "none"…"""
    if source in PLACE_LABELS:
        return PLACE_LABELS[KeyPlace(source)]
    return {"locked": "encrypted key file (locked)", "not-needed": "no key needed"}.get(
        source, source)


@dataclass(frozen=True)
class KeyLookup:
    """Where a provider's key was found: "keyring", "file", "session", "env:NAME", "none",
    "not-needed", or "locked" (the encrypted key file holds it but is not unlocked)."""

    key: str | None = field(repr=False)
    source: str

    @property
    def found(self) -> bool:
        return self.key is not None


def key_env_vars(provider: ProviderSettings) -> list[str]:
    """The environment variables consulted for provider, in order (api_key_env first)."""
    names: list[str] = [provider.api_key_env] if provider.api_key_env else []
    if provider.type == "openai":
        host = (urlsplit(provider.effective_base_url()).hostname or "").lower()
        name = provider.name.lower()
        usual = next(
            (var for word, var in _OPENAI_COMPATIBLE_VARS if word in host),
            next((var for word, var in _OPENAI_COMPATIBLE_VARS if word in name), None),
        )
        # An OpenAI key goes only to OpenAI: an unknown host gets its key from the keyring
        # or its own api_key_env, never from OPENAI_API_KEY.
        if usual is None and host == "api.openai.com":
            usual = "OPENAI_API_KEY"
        if usual:
            names.append(usual)
    else:
        names.extend(_USUAL_VARS.get(provider.type, ()))
    return list(dict.fromkeys(names))


class KeyStore:
    """Reads, stores and removes provider keys (service "chatdesk", user = provider name)."""

    def __init__(
        self,
        environ: Mapping[str, str] = os.environ,
        backend: KeyringBackend | None = None,
        key_file: Path | None = None,
    ) -> None:
        self._environ = environ
        self._backend = backend
        self._file = KeyFile(key_file) if key_file is not None else None
        self._session: dict[str, str] = {}
        self._place: KeyPlace | None = None  # chosen in Settings for this session

    def backend(self) -> KeyringBackend | None:
        """The keyring backend in use (found on first use), or None if keyring cannot load one."""
        if self._backend is None:
            try:
                import keyring

                self._backend = keyring.get_keyring()
            except Exception:
                return None
        return self._backend

    def secure_store_available(self) -> bool:
        """True when keys can be kept in a real OS key store (not fail/null/plaintext)."""
        backend = self.backend()
        return backend is not None and _is_secure(backend)

    def needs_key(self, provider: ProviderSettings) -> bool:
        """Ollama and OpenAI-compatible servers on this machine (LM Studio, llama.cpp…) need
        no key; every other provider does."""
        if provider.type == "ollama":
            return False
        host = (urlsplit(provider.effective_base_url()).hostname or "").lower()
        return not (provider.type == "openai" and host in _LOCAL_HOSTS)

    def lookup(self, provider: ProviderSettings, *, keyring: bool = True) -> KeyLookup:
        """The key of provider: the keyring (unless keyring=False), then api_key_env, then the
        type's usual variables."""
        # Even keyless servers may sit behind a proxy that wants one, so look anyway.
        key = self._from_keyring(provider.name) if keyring else None
        if key:
            register_secret(key)
            return KeyLookup(key, "keyring")
        locked = False
        if keyring and self._file is not None:  # keyring=False: "what if no store held it"
            if self._file.unlocked:
                key = self._file.get(provider.name)
                if key:
                    register_secret(key)
                    return KeyLookup(key, "file")
            else:
                locked = provider.name in self.key_file_names()
        key = self._session.get(provider.name) if keyring else None
        if key:
            return KeyLookup(key, "session")
        for var in key_env_vars(provider):
            key = self._environ.get(var, "").strip()
            if key:
                register_secret(key)
                return KeyLookup(key, f"env:{var}")
        if locked:
            return KeyLookup(None, "locked")
        return KeyLookup(None, "none" if self.needs_key(provider) else "not-needed")

    # --- where keys live without a keyring ----------------------------------------------
    def place(self) -> KeyPlace:
        """Where set() writes: the keyring when there is a secure one; else the encrypted key
        file if it exists (or was chosen), else this session's memory."""
        if self.secure_store_available():
            return KeyPlace.KEYRING
        if self._place is not None:
            return self._place
        if self._file is not None and self._file.exists():
            return KeyPlace.FILE
        return KeyPlace.SESSION

    def choose_session_only(self) -> None:
        """New keys stay in memory until the process ends (the key file, if any, stays)."""
        self._place = KeyPlace.SESSION

    def choose_key_file(self) -> None:
        """New keys go to the encrypted key file, which must exist (create_key_file)."""
        if self._file is None or not self._file.exists():
            raise KeyStoreError("There is no encrypted key file yet; choose a passphrase to "
                                "create one.")
        self._place = KeyPlace.FILE

    @property
    def key_file_path(self) -> Path | None:
        return self._file.path if self._file is not None else None

    def key_file_state(self) -> KeyFileState:
        if self._file is None or not self._file.exists():
            return KeyFileState.ABSENT
        if self._file.unlocked:
            return KeyFileState.UNLOCKED
        return KeyFileState.DAMAGED if self.key_file_problem() else KeyFileState.LOCKED

    def key_file_problem(self) -> str | None:
        """Why the key file cannot be read (damaged, unknown format), as a sentence."""
        if self._file is None or not self._file.exists() or self._file.unlocked:
            return None
        try:
            self._file.names()
        except KeyFileError as exc:
            return str(exc)
        return None

    def key_file_names(self) -> list[str]:
        """The providers the key file holds keys for; [] if none, no file or a damaged one."""
        if self._file is None or not self._file.exists():
            return []
        try:
            return self._file.names()
        except KeyFileError:
            return []

    def unlock_key_file(self, passphrase: str) -> None:
        """Read the key file's keys into memory. WrongPassphraseError or KeyStoreError (the
        file is damaged) leave everything as it was."""
        file = self._require_file()
        try:
            file.unlock(passphrase)
        except KeyFileWrongPassphrase as exc:
            raise WrongPassphraseError(str(exc)) from None
        except KeyFileError as exc:
            raise KeyStoreError(str(exc)) from None
        for name in file.names():  # redacted from now on, wherever they appear
            register_secret(file.get(name))

    def create_key_file(self, passphrase: str) -> None:
        """Create the encrypted key file, moving this session's keys into it; from then on
        new keys are written there."""
        file = self._require_file()
        try:
            file.create(passphrase, self._session)
        except KeyFileError as exc:
            raise KeyStoreError(str(exc)) from None
        self._session.clear()
        self._place = KeyPlace.FILE

    def change_passphrase(self, passphrase: str) -> None:
        """Seal the unlocked key file with a new passphrase."""
        try:
            self._require_file().change_passphrase(passphrase)
        except KeyFileError as exc:
            raise KeyStoreError(str(exc)) from None

    def _require_file(self) -> KeyFile:
        if self._file is None:
            raise KeyStoreError("This chatdesk has no data folder for an encrypted key file.")
        return self._file

    def set(
        self,
        name: str,
        key: str,
        provider: ProviderSettings | None = None,
        env_var: str | None = None,
    ) -> None:
        """Store key for provider name. provider or env_var only name the variable in errors."""
        key = key.strip()
        if not key:
            raise KeyStoreError(f"The key for {name} is empty; nothing was saved.")
        register_secret(key)
        place = self.place()
        if place == KeyPlace.SESSION:
            self._session[name] = key
            return
        if place == KeyPlace.FILE:
            try:
                self._require_file().set(name, key)
            except KeyFileError as exc:
                raise KeyStoreError(f"The key for {name} was not saved: "
                                    f"{_lower_first(str(exc))}") from None
            return
        backend = self.backend()
        assert backend is not None
        try:
            backend.set_password(SERVICE, name, key)
        except Exception as exc:
            raise _keyring_failure(exc, f"The key for {name} could not be saved") from None

    def delete(self, name: str, provider: ProviderSettings | None = None) -> bool:
        """Remove the stored key of provider name from every store that holds it (keyring,
        encrypted key file, this session); False if none did."""
        removed = self._session.pop(name, None) is not None
        if self._file is not None and name in self.key_file_names():
            try:
                removed = self._file.delete(name) or removed
            except KeyFileError as exc:
                raise KeyStoreError(f"The key for {name} was not deleted: "
                                    f"{_lower_first(str(exc))}") from None
        if not self.secure_store_available():
            return removed
        backend = self.backend()
        assert backend is not None
        try:
            if backend.get_password(SERVICE, name) is None:
                return removed
            backend.delete_password(SERVICE, name)
        except Exception as exc:
            raise _keyring_failure(exc, f"The key for {name} could not be deleted") from None
        return True

    def _from_keyring(self, name: str) -> str | None:
        backend = self.backend()
        if backend is None:
            return None
        try:
            value = backend.get_password(SERVICE, name)
        except Exception:  # no backend, locked, D-Bus down...: simply "not there"
            return None
        return value.strip() if isinstance(value, str) and value.strip() else None


def _lower_first(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]


def _is_secure(backend: KeyringBackend) -> bool:
    from keyring.backends import chainer, fail

    if isinstance(backend, fail.Keyring):
        return False
    if type(backend).__module__.startswith("keyrings.alt"):  # plaintext files, never secure
        return False
    if isinstance(backend, chainer.ChainerBackend):
        try:
            chained = list(backend.backends)
        except Exception:
            return False
        return bool(chained) and _is_secure(chained[0])  # set_password writes to the first
    try:
        return float(backend.priority) >= 1
    except Exception:
        return False


def _keyring_failure(exc: Exception, what: str) -> KeyStoreError:
    from keyring import errors

    if isinstance(exc, errors.NoKeyringError):
        return NoSecureStoreError(
            f"{what}: no secure key store (keyring backend) is available on this machine. "
            "Use the provider's environment variable instead."
        )
    if isinstance(exc, errors.KeyringLocked):
        return KeyStoreError(f"{what}: the system keyring is locked. Unlock it and try again.")
    reason = redact(" ".join(str(exc).split()))[:200] or "no reason given"
    return KeyStoreError(
        f"{what} in the system keyring ({reason}). Check that the keyring service is running "
        "and unlocked, or use the provider's environment variable instead."
    )


# --- redaction ------------------------------------------------------------------------------

_MIN_SECRET_LENGTH = 8  # shorter values would blank out ordinary words
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
# Shapes of keys, for text that holds one nobody registered (another account's, a key the
# provider echoes back): the usual prefixes; a value with a digit after "Bearer", "api_key=",
# "x-api-key:" and the like; and any run of 32+ letters AND digits (hex or random keys
# without a prefix). Words, model names and URLs have neither the length nor the mix.
_BOUNDARY = r"(?<![A-Za-z0-9_-])"
_TOKEN_PATTERNS = re.compile(
    _BOUNDARY + r"(?:sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{16,}"
    r"|AIza[A-Za-z0-9_-]{30,}|gsk_[A-Za-z0-9]{20,}|(?:xai|pplx)-[A-Za-z0-9_-]{20,}"
    r"|hf_[A-Za-z0-9]{20,})"
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]{16,}"
    r"|" + _BOUNDARY + r"(?=[A-Za-z]*[0-9])(?=[0-9]*[A-Za-z])[A-Za-z0-9]{32,}(?![A-Za-z0-9_-])"
)
_LABELLED = re.compile(
    r"((?:api[ _-]?key|x-goog-api-key|access[_-]?token|authorization|secret)"
    r"[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)(?=[A-Za-z._~+/-]*[0-9])([A-Za-z0-9._~+/-]{12,})",
    re.IGNORECASE,
)


def register_secret(value: str | None) -> None:
    """Remember a key so that redact() hides it wherever it appears."""
    if value and len(value.strip()) >= _MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value.strip())


def redact(text: str) -> str:
    """text with every registered key and anything shaped like an API key replaced."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _LABELLED.sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN_PATTERNS.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Redacts keys from log records. Attach it to handlers so it sees every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad format arguments: keep what there is, redacted
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
