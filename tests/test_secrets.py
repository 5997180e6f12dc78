"""Tests for chatdesk.secrets: keyring then environment, clear failures, redaction."""

from __future__ import annotations

import logging
import sys

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringLocked

from chatdesk.secrets import (
    KeyLookup,
    KeyStore,
    KeyStoreError,
    NoSecureStoreError,
    RedactingFilter,
    key_env_vars,
    redact,
    register_secret,
)
from chatdesk.settings import ProviderSettings
from tests.helpers import MemoryKeyring

ANTHROPIC = ProviderSettings("anthropic", "anthropic", "claude-sonnet-4-5")
OPENAI = ProviderSettings("openai", "openai", "gpt-4o")
GEMINI = ProviderSettings("gemini", "gemini", "gemini-2.5-flash")
OLLAMA = ProviderSettings("ollama", "ollama", "llama3.2")


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the collection is locked")


class BrokenKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"D-Bus said no while storing {password}")


class PlaintextKeyring(MemoryKeyring):
    """Pretends to be keyrings.alt's plaintext file backend."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


def test_set_lookup_delete_with_a_secure_store() -> None:
    backend = MemoryKeyring()
    store = KeyStore(environ={}, backend=backend)
    assert store.secure_store_available()
    assert store.lookup(ANTHROPIC) == KeyLookup(None, "none")

    store.set("anthropic", "  sk-ant-stored-key-0001\n")
    assert backend.entries == {("chatdesk", "anthropic"): "sk-ant-stored-key-0001"}
    assert store.lookup(ANTHROPIC) == KeyLookup("sk-ant-stored-key-0001", "keyring")

    assert store.delete("anthropic") is True
    assert store.delete("anthropic") is False
    assert store.lookup(ANTHROPIC).source == "none"


def test_lookup_order_keyring_then_api_key_env_then_usual_variable() -> None:
    backend = MemoryKeyring()
    provider = ProviderSettings("work", "anthropic", "m", api_key_env="WORK_KEY")
    env = {"ANTHROPIC_API_KEY": "usual-variable-key", "WORK_KEY": "named-variable-key"}
    store = KeyStore(environ=env, backend=backend)
    assert store.lookup(provider) == KeyLookup("named-variable-key", "env:WORK_KEY")
    backend.set_password("chatdesk", "work", "keyring-key-0001")
    assert store.lookup(provider) == KeyLookup("keyring-key-0001", "keyring")
    del env["WORK_KEY"]
    backend.entries.clear()
    assert store.lookup(provider) == KeyLookup("usual-variable-key", "env:ANTHROPIC_API_KEY")


def test_empty_values_count_as_absent() -> None:
    backend = MemoryKeyring()
    backend.set_password("chatdesk", "anthropic", "")
    env = {"ANTHROPIC_API_KEY": "   ", "X": ""}
    provider = ProviderSettings("anthropic", "anthropic", "m", api_key_env="X")
    assert KeyStore(environ=env, backend=backend).lookup(provider) == KeyLookup(None, "none")


def test_gemini_falls_back_to_google_api_key() -> None:
    store = KeyStore(environ={"GOOGLE_API_KEY": "google-key-0001"}, backend=MemoryKeyring())
    assert store.lookup(GEMINI) == KeyLookup("google-key-0001", "env:GOOGLE_API_KEY")
    both = {"GOOGLE_API_KEY": "google-key-0001", "GEMINI_API_KEY": "gemini-key-0001"}
    assert KeyStore(environ=both, backend=MemoryKeyring()).lookup(GEMINI).source == (
        "env:GEMINI_API_KEY"
    )


@pytest.mark.parametrize(
    ("name", "base_url", "variable"),
    [
        ("router", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        ("openrouter", None, "OPENROUTER_API_KEY"),
        ("eu", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
        ("fast", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        ("ds", "https://api.deepseek.com", "DEEPSEEK_API_KEY"),
        ("openai", None, "OPENAI_API_KEY"),
    ],
)
def test_openai_compatible_variables(name: str, base_url: str | None, variable: str) -> None:
    provider = ProviderSettings(name, "openai", "m", base_url=base_url)
    env = {"OPENAI_API_KEY": "openai-key-0001", variable: "the-right-key-0001"}
    found = KeyStore(environ=env, backend=MemoryKeyring()).lookup(provider)
    assert found.source == f"env:{variable}"
    assert key_env_vars(provider) == [variable]


def test_unknown_hosts_never_get_the_openai_key() -> None:
    other = ProviderSettings("together", "openai", "m", base_url="https://api.together.xyz/v1")
    store = KeyStore(environ={"OPENAI_API_KEY": "openai-key-0001"}, backend=MemoryKeyring())
    assert store.lookup(other) == KeyLookup(None, "none")
    assert store.needs_key(other)


def test_local_openai_compatible_servers_need_no_key() -> None:
    store = KeyStore(environ={}, backend=MemoryKeyring())
    for url in ("http://localhost:1234/v1", "http://127.0.0.1:8080/v1"):
        assert not store.needs_key(ProviderSettings("local", "openai", "m", base_url=url))


def test_openrouter_never_gets_the_openai_key() -> None:
    router = ProviderSettings("router", "openai", "m", base_url="https://openrouter.ai/api/v1")
    store = KeyStore(environ={"OPENAI_API_KEY": "openai-key-0001"}, backend=MemoryKeyring())
    assert store.lookup(router) == KeyLookup(None, "none")


def test_ollama_needs_no_key_but_uses_one_it_was_given() -> None:
    backend = MemoryKeyring()
    store = KeyStore(environ={"OPENAI_API_KEY": "x" * 20}, backend=backend)
    assert not store.needs_key(OLLAMA) and store.needs_key(OPENAI)
    assert store.lookup(OLLAMA) == KeyLookup(None, "not-needed")
    # An Ollama behind an authenticating proxy: a stored key is sent.
    backend.set_password("chatdesk", "ollama", "proxy-key-0001")
    assert store.lookup(OLLAMA) == KeyLookup("proxy-key-0001", "keyring")


def test_fail_backend_means_no_secure_store_but_variables_work() -> None:
    store = KeyStore(environ={"ANTHROPIC_API_KEY": "env-key-0001"}, backend=fail.Keyring())
    assert not store.secure_store_available()
    assert store.lookup(ANTHROPIC) == KeyLookup("env-key-0001", "env:ANTHROPIC_API_KEY")
    assert store.lookup(OPENAI) == KeyLookup(None, "none")
    # Without a keyring (and no key file chosen) a key is kept for this session only, and it
    # comes before the variables, as a keyring entry would.
    store.set("anthropic", "sk-ant-session-only-0001", provider=ANTHROPIC)
    assert store.lookup(ANTHROPIC) == KeyLookup("sk-ant-session-only-0001", "session")
    assert store.lookup(ANTHROPIC, keyring=False).source == "env:ANTHROPIC_API_KEY"
    assert store.delete("anthropic")
    assert not store.delete("anthropic")


def test_a_keyring_that_cannot_load_is_said_in_a_sentence() -> None:
    from keyring.errors import NoKeyringError

    class NoKeyring(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise NoKeyringError("no backend")

    with pytest.raises(NoSecureStoreError, match="No secure key store|no secure key store"):
        KeyStore(backend=NoKeyring()).set("anthropic", "sk-ant-never-stored-0001")


def test_weak_backends_are_not_secure() -> None:
    class LowPriority(MemoryKeyring):
        priority = 0.5  # type: ignore[assignment]

    assert not KeyStore(backend=LowPriority()).secure_store_available()
    assert not KeyStore(backend=PlaintextKeyring()).secure_store_available()
    assert KeyStore(backend=MemoryKeyring()).secure_store_available()


def test_keyring_errors_become_sentences_without_the_key() -> None:
    locked = KeyStore(environ={"ANTHROPIC_API_KEY": "env-key-0001"}, backend=LockedKeyring())
    assert locked.lookup(ANTHROPIC).source == "env:ANTHROPIC_API_KEY"  # swallowed on lookup
    with pytest.raises(KeyStoreError, match="locked"):
        locked.set("anthropic", "sk-ant-locked-out-0001")
    with pytest.raises(KeyStoreError) as err:
        KeyStore(backend=BrokenKeyring()).set("anthropic", "my-very-secret-key-0001")
    assert "could not be saved" in str(err.value)
    assert "my-very-secret-key-0001" not in str(err.value)
    with pytest.raises(KeyStoreError, match="empty"):
        KeyStore(backend=MemoryKeyring()).set("anthropic", "  ")


def test_backend_is_found_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    calls: list[int] = []

    def fake_get_keyring() -> KeyringBackend:
        calls.append(1)
        return MemoryKeyring()

    monkeypatch.setattr(keyring, "get_keyring", fake_get_keyring)
    store = KeyStore(environ={})
    assert calls == []
    assert store.secure_store_available()
    store.lookup(ANTHROPIC)
    assert calls == [1]


def test_repr_of_a_lookup_hides_the_key() -> None:
    found = KeyLookup("sk-ant-hidden-from-repr-0001", "keyring")
    assert "sk-ant-hidden-from-repr-0001" not in repr(found)
    assert "sk-ant-hidden-from-repr-0001" not in str(found)
    assert "keyring" in repr(found)


def test_redact_registered_and_key_shaped_values() -> None:
    register_secret("plain-custom-token-4711")
    text = (
        "sent plain-custom-token-4711 and sk-ant-api03-abcdefghijklmnop and "
        "sk-proj-ABCDEFGHIJKLMNOPQRST and AIzaSyA1234567890abcdefghijklmnopqrstu "
        "and Authorization: Bearer abcdefghijklmnopqrstuvwx to chatdesk-data"
    )
    out = redact(text)
    for secret in [
        "plain-custom-token-4711", "sk-ant-api03", "sk-proj-", "AIzaSy", "abcdefghijklmnopqrstuvwx",
    ]:
        assert secret not in out
    assert out.count("[redacted]") == 5
    assert "chatdesk-data" in out and "task-list" in redact("task-list")


def test_keys_seen_by_the_store_are_redacted() -> None:
    store = KeyStore(environ={"WORK_KEY": "an-unusual-shape-9931"}, backend=MemoryKeyring())
    store.lookup(ProviderSettings("w", "anthropic", "m", api_key_env="WORK_KEY"))
    store.set("other", "another-odd-secret-5521")
    assert redact("x an-unusual-shape-9931 y another-odd-secret-5521") == (
        "x [redacted] y [redacted]"
    )


def test_logging_filter_redacts_message_args_and_traceback() -> None:
    register_secret("filter-secret-value-8812")
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("chatdesk.test_secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("key %s rejected (%d)", "filter-secret-value-8812", 401)
        logger.warning("dict %(k)s", {"k": "sk-ant-api03-zzzzzzzzzzzzzzzz"})
        try:
            raise ValueError("bad key filter-secret-value-8812")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert records[0] == "key [redacted] rejected (401)"
    assert records[1] == "dict [redacted]"
    assert "ValueError" in records[2] and "filter-secret-value-8812" not in records[2]
    assert "[redacted]" in records[2]


def test_module_name_does_not_shadow_the_standard_library() -> None:
    import secrets as stdlib_secrets

    assert stdlib_secrets.token_hex(4) and "chatdesk" not in (stdlib_secrets.__file__ or "")
    assert "chatdesk.secrets" in sys.modules


@pytest.mark.parametrize("text", [
    "request id 3f2b1c9a8d7e6f5a4b3c2d1e0f9a8b7c0d1e2f3a failed",  # a long hex secret
    "key Xy7pQ2mN9vB4kL8sD3fG6hJ1aZ5cV0bT rejected",  # 32 random characters, no prefix
    "Invalid API key: abc123def456ghi", 'api_key="zz9yy8xx7ww6vv"',
    "x-api-key: 0123456789abcdef0123",
    "xai-abcdefghij0123456789xyz", "hf_abcdefghij0123456789xyz", "Bearer AbC.dEf-123_456/789+0=",
])
def test_more_key_shapes_are_redacted(text: str) -> None:
    out = redact(text)
    assert "[redacted]" in out
    assert not any(len(word) >= 12 and any(c.isdigit() for c in word) for word in out.split())


@pytest.mark.parametrize("text", [
    "Authorization: required", "GenerateContentInputTokensPerModelPerMinute-FreeTier",
    "model gemini-2.5-flash-preview-native-audio-dialog-20250101 not found",
    "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-pro:streamGenerateContent",
    "uuid 123e4567-e89b-12d3-a456-426614174000", "overloaded_error", "claude-sonnet-4-5-20250929",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ", "sk-short",
])
def test_ordinary_words_ids_and_urls_are_kept(text: str) -> None:
    assert redact(text) == text


KEYRING_OFF = """
import sys
if sys.argv[1] == "load-keyring":
    import keyring  # a program that loaded keyring (and might have set a backend on it)
from chatdesk.secrets import KeyStore
from chatdesk.settings import ProviderSettings
store = KeyStore(environ={"ANTHROPIC_API_KEY": "env-key-0001"})
lookups = [store.lookup(ProviderSettings(n, n, "m")) for n in ("anthropic", "openai")]
store.set("anthropic", "sk-ant-session-only-0001")
print(lookups, store.secure_store_available(), store.place().value,
      store.lookup(ProviderSettings("anthropic", "anthropic", "m")), store.delete("anthropic"))
print("keyring" in sys.modules)
"""


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring",
                                     "keyring.backends.null.Keyring"])
def test_a_keyring_turned_off_by_its_variable_is_not_loaded_and_answers_the_same(
    backend: str,
) -> None:
    import os
    import subprocess

    def run(how: str) -> list[str]:
        env = dict(os.environ, PYTHON_KEYRING_BACKEND=backend)
        done = subprocess.run([sys.executable, "-c", KEYRING_OFF, how], env=env,
                              capture_output=True, text=True, timeout=60, check=True)
        return done.stdout.splitlines()

    asked, known = run("load-keyring"), run("")
    assert known[0] == asked[0]  # the same keys, stores and answers as keyring's own
    assert "KeyLookup(source='env:ANTHROPIC_API_KEY')" in known[0]
    assert known[0].endswith(" False session KeyLookup(source='session') True")
    assert (asked[1], known[1]) == ("True", "False")  # and keyring was never loaded
