"""API keys: the OS keyring, then the encrypted key file or this session's memory, then
environment variables; and keeping keys out of logs."""

from __future__ import annotations

import logging
import os
import re
import sys
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


def fingerprint(key: str) -> str:
    """How a key is named wherever people or the history file see it: its kind's prefix and
    its last four characters, 'sk-…3f9a' (never enough of it to use or guess)."""
    key = key.strip()
    prefix = _FINGERPRINT_PREFIX.match(key)
    tail = key[-4:] if len(key) >= _FINGERPRINT_MIN_LENGTH else key[-2:]
    return f"{prefix.group(0) if prefix else ''}…{tail}"


_FINGERPRINT_PREFIX = re.compile(r"^[A-Za-z]{2,4}[-_]")
_FINGERPRINT_MIN_LENGTH = 12  # shorter keys (test keys, local proxies) show two characters
POOL_SEPARATOR = "#"  # "NAME#2": a pool's second key (provider names never hold a "#")
MAX_POOL = 32


@dataclass(frozen=True)
class PoolKey:
    """One key of a provider's pool, and where it was found ("keyring", "env:NAME"…)."""

    key: str = field(repr=False)
    source: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    @property
    def stored(self) -> bool:
        """Kept by chatdesk (keyring, key file, session), so `keys remove` can take it out."""
        return not self.source.startswith("env:")


def pool_entry(name: str, number: int) -> str:
    """The key store's name of the number-th key of provider name (1: its name alone, as
    before pools: a single key stays where it always was)."""
    return name if number == 1 else f"{name}{POOL_SEPARATOR}{number}"


def env_pool_vars(provider: ProviderSettings) -> list[str]:
    """The variables named by api_key_env (one name or a list of names), in order."""
    env = provider.api_key_env
    if not env:
        return []
    return [env] if isinstance(env, str) else [v for v in env if v]


def key_env_vars(provider: ProviderSettings) -> list[str]:
    """The environment variables consulted for provider, in order (api_key_env first)."""
    names: list[str] = env_pool_vars(provider)
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
        self._pools: dict[str, list[PoolKey]] = {}  # the pools last read (see cached_pool)

    def backend(self) -> KeyringBackend | None:
        """The keyring backend in use (found on first use), or None if keyring cannot load one."""
        if self._backend is None:
            if _keyring_turned_off():
                return None
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

    # --- key pools -----------------------------------------------------------------------
    def pool(self, provider: ProviderSettings) -> list[PoolKey]:
        """Every key of provider, in the order they are tried: the stored keys (where its
        first key was found: keyring, key file or session), then the keys of the api_key_env
        variables; the type's usual variable only when nothing else holds a key. A key found
        twice counts once."""
        first = self.lookup(provider)
        found: list[PoolKey] = []
        if first.key and first.source in {place.value for place in KeyPlace}:
            found = [PoolKey(key, first.source)
                     for key in self._stored_in(first.source, provider.name)]
        for var in env_pool_vars(provider):
            key = self._environ.get(var, "").strip()
            if key:
                register_secret(key)
                found.append(PoolKey(key, f"env:{var}"))
        if not found and first.key:
            found.append(PoolKey(first.key, first.source))
        unique: dict[str, PoolKey] = {}
        for item in found:
            unique.setdefault(item.key, item)
        self._pools[provider.name] = list(unique.values())
        return list(unique.values())

    def cached_pool(self, provider: ProviderSettings) -> list[PoolKey]:
        """The pool as last read (read now if never): for the status bar, which must not
        ask the keyring on every refresh. Sending always reads it afresh (`pool`)."""
        cached = self._pools.get(provider.name)
        return list(cached) if cached is not None else self.pool(provider)

    def forget_pools(self) -> None:
        """The next cached_pool reads the stores again (keys may have changed elsewhere)."""
        self._pools.clear()

    def stored_keys(self, name: str) -> list[str]:
        """The keys of provider name in the store new keys go to, in pool order."""
        return self._stored_in(self.place().value, name)

    def add_to_pool(self, name: str, key: str) -> int:
        """Store one more key for provider name (after its others); its number in the pool.
        KeyStoreError when that key is there already (nothing changes then)."""
        key = key.strip()
        stored = self.stored_keys(name)
        if key in stored:
            raise KeyStoreError(f"That key ({fingerprint(key)}) is already key "
                                f"{stored.index(key) + 1} of {name}; nothing was saved.")
        if len(stored) >= MAX_POOL:
            raise KeyStoreError(f"{name} has {MAX_POOL} keys already; remove one first.")
        self.set(pool_entry(name, len(stored) + 1), key)
        return len(stored) + 1

    def remove_from_pool(self, name: str, number: int) -> str:
        """Take the number-th stored key of provider name out (the later ones move up one);
        its fingerprint. KeyStoreError when there is no such key."""
        stored = self.stored_keys(name)
        if not 1 <= number <= len(stored):
            held = f"only {len(stored)} stored key{'s' if len(stored) != 1 else ''}" \
                if stored else "no stored key"
            raise KeyStoreError(f"{name} has {held}; there is no key {number} to remove.")
        gone = stored.pop(number - 1)
        for index in range(number - 1, len(stored)):
            self.set(pool_entry(name, index + 1), stored[index])
        self._delete_entry(pool_entry(name, len(stored) + 1))
        return fingerprint(gone)

    def _stored_in(self, place: str, name: str) -> list[str]:
        keys: list[str] = []
        for number in range(1, MAX_POOL + 1):
            key = self._read_entry(place, pool_entry(name, number))
            if not key:
                break
            register_secret(key)
            keys.append(key)
        return keys

    def _read_entry(self, place: str, entry: str) -> str | None:
        if place == KeyPlace.SESSION:
            return self._session.get(entry)
        if place == KeyPlace.FILE:
            return self._file.get(entry) if self._file is not None else None
        return self._from_keyring(entry)

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
        self._pools.pop(name.partition(POOL_SEPARATOR)[0], None)
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
        """Remove the stored keys (its whole pool) of provider name from every store that
        holds them (keyring, encrypted key file, this session); False if none did."""
        removed = False
        for number in range(1, MAX_POOL + 1):  # a pool has no gaps: stop at the first
            gone = self._delete_entry(pool_entry(name, number))
            if not gone and number > 1:
                break
            removed = gone or removed
        return removed

    def _delete_entry(self, name: str) -> bool:
        """Remove one stored entry from every store that holds it; False if none did."""
        self._pools.pop(name.partition(POOL_SEPARATOR)[0], None)
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


# keyring's own ways of saying there is no keyring (its variable wins over its config file):
# the fail backend raises at every call, the null one holds nothing and stores nothing.
_NO_KEYRING_BACKENDS = frozenset({"keyring.backends.fail.Keyring",
                                  "keyring.backends.null.Keyring"})


def _keyring_turned_off() -> bool:
    """Whether PYTHON_KEYRING_BACKEND names one of those (and keyring was not loaded, so no
    program set another backend on it): keyring would find no key and keep none, which is
    known without loading it (~80 M instructions, ~10 % of what `ask` runs to its first
    byte). Nothing changes for a keyring that is there: it is always asked first."""
    return ("keyring" not in sys.modules
            and os.environ.get("PYTHON_KEYRING_BACKEND") in _NO_KEYRING_BACKENDS)


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
# Compiled at first use (re's own cache), not at every start (~1.5 ms): only a log line or an
# error message needs them.
_BOUNDARY = r"(?<![A-Za-z0-9_-])"
_TOKEN_PATTERNS = (
    _BOUNDARY + r"(?:sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{16,}"
    r"|AIza[A-Za-z0-9_-]{30,}|gsk_[A-Za-z0-9]{20,}|(?:xai|pplx)-[A-Za-z0-9_-]{20,}"
    r"|hf_[A-Za-z0-9]{20,})"
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]{16,}"
    r"|" + _BOUNDARY + r"(?=[A-Za-z]*[0-9])(?=[0-9]*[A-Za-z])[A-Za-z0-9]{32,}(?![A-Za-z0-9_-])"
)
_LABELLED = (
    r"((?:api[ _-]?key|x-goog-api-key|access[_-]?token|authorization|secret)"
    r"[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)(?=[A-Za-z._~+/-]*[0-9])([A-Za-z0-9._~+/-]{12,})"
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
    text = re.sub(_LABELLED, lambda m: m.group(1) + REDACTED, text, flags=re.IGNORECASE)
    return re.sub(_TOKEN_PATTERNS, REDACTED, text)


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
