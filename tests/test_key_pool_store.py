"""A pool of keys in each key store (keyring, encrypted key file, session): added after one
another, removed by number with the later ones moving up, deleted whole; never on disk in
plain text; the status bar's cached pool follows every change made here."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyring.backends import fail

from chatdesk.secrets import KeyStore, KeyStoreError, fingerprint
from chatdesk.settings import ProviderSettings
from tests.helpers import MemoryKeyring

MAIN = ProviderSettings("main", "anthropic", "claude-sonnet-4-5", api_key_env="MAIN_KEY")
KEYS = ["sk-ant-pool-store-first-0001", "sk-ant-pool-store-second-0002",
        "sk-ant-pool-store-third-0003"]


def stores(tmp_path: Path) -> dict[str, KeyStore]:
    in_file = KeyStore(environ={}, backend=fail.Keyring(), key_file=tmp_path / "keys.enc")
    in_file.create_key_file("a long enough passphrase")
    session = KeyStore(environ={}, backend=fail.Keyring(), key_file=tmp_path / "none.enc")
    session.choose_session_only()
    return {"keyring": KeyStore(environ={}, backend=MemoryKeyring()), "file": in_file,
            "session": session}


@pytest.mark.parametrize("where", ["keyring", "file", "session"])
def test_add_remove_and_delete_a_pool(tmp_path: Path, where: str) -> None:
    keys = stores(tmp_path)[where]
    assert [keys.add_to_pool("main", k) for k in KEYS] == [1, 2, 3]
    assert keys.lookup(MAIN).key == KEYS[0]  # the first key is where a single key was
    assert [(k.key, k.source) for k in keys.pool(MAIN)] == [(k, where) for k in KEYS]
    with pytest.raises(KeyStoreError, match="already key 2 of main"):
        keys.add_to_pool("main", KEYS[1])

    assert [k.fingerprint for k in keys.cached_pool(MAIN)] == [fingerprint(k) for k in KEYS]
    assert keys.remove_from_pool("main", 1) == fingerprint(KEYS[0])
    assert [k.key for k in keys.cached_pool(MAIN)] == KEYS[1:]  # the cache followed
    assert keys.lookup(MAIN).key == KEYS[1]
    with pytest.raises(KeyStoreError, match="there is no key 3"):
        keys.remove_from_pool("main", 3)

    assert keys.delete("main")
    assert keys.pool(MAIN) == [] and keys.stored_keys("main") == []
    for file in tmp_path.rglob("*"):
        for key in KEYS:
            assert key.encode() not in file.read_bytes()


def test_stored_keys_come_before_the_environment_pool() -> None:
    keyring = MemoryKeyring()
    env = {"MAIN_KEY": "sk-ant-pool-store-env-00009", "ANTHROPIC_API_KEY": "sk-ant-usual-0008"}
    keys = KeyStore(environ=env, backend=keyring)
    keys.add_to_pool("main", KEYS[0])
    keys.add_to_pool("main", KEYS[1])
    assert [k.source for k in keys.pool(MAIN)] == ["keyring", "keyring", "env:MAIN_KEY"]
    assert [k.stored for k in keys.pool(MAIN)] == [True, True, False]
    keys.delete("main")
    assert [k.source for k in keys.pool(MAIN)] == ["env:MAIN_KEY"]
    bare = ProviderSettings("bare", "anthropic", "claude-sonnet-4-5")
    assert [k.source for k in keys.pool(bare)] == ["env:ANTHROPIC_API_KEY"]  # as before
