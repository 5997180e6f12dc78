"""API keys: the OS keyring first, then environment variables; and keeping keys out of logs."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

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


@dataclass(frozen=True)
class KeyLookup:
    """Where a provider's key was found: "keyring", "env:NAME", "none" or "not-needed"."""

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
    ) -> None:
        self._environ = environ
        self._backend = backend

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
        for var in key_env_vars(provider):
            key = self._environ.get(var, "").strip()
            if key:
                register_secret(key)
                return KeyLookup(key, f"env:{var}")
        return KeyLookup(None, "none" if self.needs_key(provider) else "not-needed")

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
        self._require_secure_store(name, provider, env_var, "saved")
        backend = self.backend()
        assert backend is not None
        try:
            backend.set_password(SERVICE, name, key)
        except Exception as exc:
            raise _keyring_failure(exc, f"The key for {name} could not be saved") from None

    def delete(self, name: str, provider: ProviderSettings | None = None) -> bool:
        """Remove the stored key of provider name; False if there was none."""
        self._require_secure_store(name, provider, None, "deleted")
        backend = self.backend()
        assert backend is not None
        try:
            if backend.get_password(SERVICE, name) is None:
                return False
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

    def _require_secure_store(
        self, name: str, provider: ProviderSettings | None, env_var: str | None, action: str
    ) -> None:
        if self.secure_store_available():
            return
        if env_var is None:
            candidates = key_env_vars(provider) if provider is not None else []
            env_var = candidates[0] if candidates else _guess_env_var(name)
        where = f"the environment variable {env_var}" if env_var else "its environment variable"
        if action == "saved":
            todo = f"Set {where} instead"
        else:
            todo = f"Nothing is stored here; if the key comes from {where}, unset it there"
        raise NoSecureStoreError(
            "No secure key store (keyring backend) is available on this machine, so the key for "
            f"{name} cannot be {action}. {todo}, or install and unlock a keyring service "
            "(on Linux a Secret Service such as GNOME Keyring or KWallet) and try again."
        )


def _guess_env_var(name: str) -> str | None:
    from chatdesk.settings import DEFAULT_MODELS, ProviderSettings

    if name in DEFAULT_MODELS:
        return next(iter(key_env_vars(ProviderSettings(name, name, DEFAULT_MODELS[name]))),
                    None)
    return None


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
