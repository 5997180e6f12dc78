"""Tests for chatdesk.keyfile and the KeyStore's no-keyring stores: sealed, atomic, and
never losing a key to a wrong passphrase or a damaged file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from keyring.backends import fail

from chatdesk import keyfile
from chatdesk.keyfile import (
    MAGIC,
    KeyFile,
    KeyFileDamagedError,
    KeyFileError,
    WrongPassphraseError,
)
from chatdesk.secrets import (
    KeyFileState,
    KeyLookup,
    KeyPlace,
    KeyStore,
    KeyStoreError,
    source_label,
)
from chatdesk.secrets import WrongPassphraseError as StoreWrongPassphrase
from chatdesk.settings import ProviderSettings
from tests.helpers import MemoryKeyring

PASS = "correct horse battery"
KEY = "sk-ant-api03-sealed-key-0123456789"
ANTHROPIC = ProviderSettings("anthropic", "anthropic", "claude-sonnet-4-5")
OPENAI = ProviderSettings("openai", "openai", "gpt-4o")


def no_keyring(path: Path | None, environ: dict[str, str] | None = None) -> KeyStore:
    return KeyStore(environ=environ or {}, backend=fail.Keyring(), key_file=path)


def sealed(path: Path, keys: dict[str, str]) -> bytes:
    KeyFile(path).create(PASS, keys)
    return path.read_bytes()


def test_round_trip_and_a_fresh_object_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    file = KeyFile(path)
    file.create(PASS, {"anthropic": KEY})
    file.set("openai", "sk-proj-second-key-0123456789")
    again = KeyFile(path)
    assert not again.unlocked and again.names() == ["anthropic", "openai"]
    again.unlock(PASS)
    assert again.get("anthropic") == KEY
    assert again.get("openai") == "sk-proj-second-key-0123456789"
    assert again.delete("openai") and not again.delete("openai")
    third = KeyFile(path)
    third.unlock(PASS)
    assert third.names() == ["anthropic"]


def test_the_file_is_sealed_0600_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    data = sealed(path, {"anthropic": KEY})
    assert KEY.encode() not in data and b"sealed-key" not in data
    assert data.startswith(MAGIC) and data[len(MAGIC)] == keyfile.VERSION
    size = int.from_bytes(data[len(MAGIC) + 1:len(MAGIC) + 3], "big")
    header = json.loads(data[len(MAGIC) + 3:len(MAGIC) + 3 + size])
    assert (header["kdf"], header["cipher"]) == ("scrypt", "aes-256-gcm")
    assert header["n"] >= 2**15 and header["names"] == ["anthropic"]
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind
    # A new write has a new nonce; a new passphrase a new salt.
    file = KeyFile(path)
    file.unlock(PASS)
    file.set("anthropic", KEY)
    assert path.read_bytes() != data
    file.change_passphrase("another passphrase")
    with pytest.raises(WrongPassphraseError):
        KeyFile(path).unlock(PASS)
    fresh = KeyFile(path)
    fresh.unlock("another passphrase")
    assert fresh.get("anthropic") == KEY


def test_wrong_passphrase_is_one_sentence_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    data = sealed(path, {"anthropic": KEY})
    file = KeyFile(path)
    with pytest.raises(WrongPassphraseError) as err:
        file.unlock("not the passphrase")
    message = str(err.value)
    assert message.count(". ") == 0 and message.endswith(".") and str(path) in message
    assert not file.unlocked and path.read_bytes() == data
    with pytest.raises(KeyFileError, match="locked"):
        file.set("openai", "sk-x-0000000000")
    assert path.read_bytes() == data


@pytest.mark.parametrize(("damage", "words"), [
    (lambda d: d[: len(d) // 2], "damaged"),  # truncated in the sealed part
    (lambda d: d[:10], "damaged"),  # truncated in the magic
    (lambda d: d[: len(MAGIC) + 2], "cut short"),
    (lambda d: b"PK\x03\x04" + d[4:], "not a chatdesk key file"),
    (lambda d: d[: len(MAGIC)] + bytes([9]) + d[len(MAGIC) + 1:], "format 9"),
    (lambda d: d.replace(b'"n":32768', b'"n":3276'), "header"),  # not a power of two
    (lambda d: d.replace(b'"n":32768', b'"n":1073741824'), "header"),  # 128 GiB of scrypt
    (lambda d: d.replace(b'"kdf":"scrypt"', b'"kdf":"md5!!!"'), "header"),
    (lambda d: b"", "damaged"),
])
def test_damaged_files_are_named_kept_and_other_stores_work(tmp_path: Path, damage,
                                                            words: str) -> None:
    path = tmp_path / "keys.enc"
    bad = damage(sealed(path, {"anthropic": KEY}))
    path.write_bytes(bad)
    with pytest.raises(KeyFileDamagedError) as err:
        KeyFile(path).unlock(PASS)
    message = str(err.value)
    assert words in message and str(path) in message and message.endswith(".")
    assert "left as it is" in message and message.count(". ") == 0
    assert path.read_bytes() == bad
    store = no_keyring(path, {"ANTHROPIC_API_KEY": "env-key-000001"})
    assert store.key_file_state() == KeyFileState.DAMAGED
    assert store.key_file_problem() == message
    with pytest.raises(KeyStoreError):
        store.unlock_key_file(PASS)
    with pytest.raises(KeyStoreError, match="exists already"):
        store.create_key_file(PASS)  # never a new empty file over the damaged one
    assert store.lookup(ANTHROPIC) == KeyLookup("env-key-000001", "env:ANTHROPIC_API_KEY")
    store.choose_session_only()
    store.set("openai", "sk-session-key-00001")
    assert store.lookup(OPENAI) == KeyLookup("sk-session-key-00001", "session")
    assert path.read_bytes() == bad


def test_a_tampered_header_does_not_open(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    data = sealed(path, {"anthropic": KEY})
    path.write_bytes(data.replace(b'"names":["anthropic"]', b'"names":["anthropix"]'))
    with pytest.raises(WrongPassphraseError):  # the header is authenticated too
        KeyFile(path).unlock(PASS)


def test_a_failed_write_keeps_the_old_file_and_keys(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys.enc"
    data = sealed(path, {"anthropic": KEY})
    file = KeyFile(path)
    file.unlock(PASS)

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(KeyFileError, match="No space left on device.*not changed"):
        file.set("openai", "sk-proj-lost-key-000000001")
    monkeypatch.undo()
    assert path.read_bytes() == data and file.names() == ["anthropic"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.enc"]


def test_short_passphrases_and_existing_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    with pytest.raises(KeyFileError, match="at least 8"):
        KeyFile(path).create("short")
    assert not path.exists()
    data = sealed(path, {"anthropic": KEY})
    with pytest.raises(KeyFileError, match="exists already"):
        KeyFile(path).create(PASS, {})
    assert path.read_bytes() == data


def test_session_only_is_the_fallback_without_keyring_or_file(tmp_path: Path) -> None:
    store = no_keyring(tmp_path / "keys.enc")
    assert store.place() == KeyPlace.SESSION
    assert store.key_file_state() == KeyFileState.ABSENT
    store.set("anthropic", KEY)
    assert store.lookup(ANTHROPIC) == KeyLookup(KEY, "session")
    assert list(tmp_path.iterdir()) == []  # memory only
    assert no_keyring(tmp_path / "keys.enc").lookup(ANTHROPIC).key is None  # a new process
    assert store.delete("anthropic") and not store.delete("anthropic")
    assert store.lookup(ANTHROPIC) == KeyLookup(None, "none")
    # No data folder at all (a test's bare KeyStore): still session only.
    bare = no_keyring(None)
    bare.set("anthropic", KEY)
    assert bare.lookup(ANTHROPIC).source == "session"


def test_creating_the_file_moves_session_keys_into_it(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    store = no_keyring(path)
    store.set("anthropic", KEY)
    store.create_key_file(PASS)
    assert store.place() == KeyPlace.FILE and store.lookup(ANTHROPIC).source == "file"
    store.set("openai", "sk-proj-into-the-file-0001")
    later = no_keyring(path, {"OPENAI_API_KEY": "sk-env-0000000001"})
    assert later.place() == KeyPlace.FILE
    assert later.key_file_state() == KeyFileState.LOCKED
    assert later.lookup(ANTHROPIC) == KeyLookup(None, "locked")
    assert later.lookup(OPENAI).source == "env:OPENAI_API_KEY"  # locked: the variable answers
    with pytest.raises(StoreWrongPassphrase):
        later.unlock_key_file("wrong passphrase")
    with pytest.raises(KeyStoreError, match="locked"):
        later.set("gemini", "gemini-key-0000001")
    later.unlock_key_file(PASS)
    assert later.lookup(ANTHROPIC) == KeyLookup(KEY, "file")
    assert later.lookup(OPENAI) == KeyLookup("sk-proj-into-the-file-0001", "file")


def test_lookup_order_keyring_then_file_then_session_then_env(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    KeyFile(path).create(PASS, {"anthropic": "from-the-file-00001"})
    memory = MemoryKeyring()
    store = KeyStore(environ={"ANTHROPIC_API_KEY": "from-env-000001"}, backend=memory,
                     key_file=path)
    store.unlock_key_file(PASS)
    assert store.lookup(ANTHROPIC).source == "file"
    memory.set_password("chatdesk", "anthropic", "from-keyring-0001")
    assert store.lookup(ANTHROPIC).source == "keyring"
    assert store.place() == KeyPlace.KEYRING
    # Forgetting in Settings removes it everywhere it was stored.
    assert store.delete("anthropic")
    assert store.lookup(ANTHROPIC).source == "env:ANTHROPIC_API_KEY"
    assert KeyFile(path).names() == []


@pytest.mark.parametrize(("source", "label"), [
    ("keyring", "system keyring"), ("file", "encrypted key file"),
    ("session", "this session only"), ("env:X_KEY", "env:X_KEY"), ("none", "none"),
    ("locked", "encrypted key file (locked)"),
])
def test_source_labels(source: str, label: str) -> None:
    assert source_label(source) == label


def test_unlocked_keys_are_redacted(tmp_path: Path) -> None:
    from chatdesk.secrets import redact

    path = tmp_path / "keys.enc"
    KeyFile(path).create(PASS, {"custom": "plain-words-secret-keyfile"})
    no_keyring(path).unlock_key_file(PASS)
    assert redact("said plain-words-secret-keyfile") == "said [redacted]"
