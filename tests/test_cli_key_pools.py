"""`chatdesk keys add / list / remove` for a pool of keys, as a user runs them (in a
subprocess, without a system keyring: the encrypted key file), `ask` switching keys on a
429, and the keys never in any file under the data dir."""

from __future__ import annotations

from pathlib import Path

from chatdesk.secrets import fingerprint
from tests.fakes.server import ErrorResponse, FakeProvider
from tests.helpers import write_settings
from tests.test_cli_keys import PASS, chatdesk

KEY_1 = "sk-test-cli-pool-one-000000a1a1"
KEY_2 = "sk-test-cli-pool-two-000000b2b2"
KEY_3 = "sk-test-cli-pool-three-0000c3c3"


def files_holding(data_dir: Path, secret: str) -> list[Path]:
    """Every file under the data dir whose bytes hold `secret` (plain or UTF-16)."""
    needles = (secret.encode(), secret.encode("utf-16-le"))
    return [p for p in data_dir.rglob("*") if p.is_file()
            and any(n in p.read_bytes() for n in needles)]


def test_keys_add_list_remove_and_ask_switching_keys(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with FakeProvider("anthropic", api_key=KEY_1, more_keys=(KEY_2, KEY_3)) as fake:
        write_settings(data_dir, [("main", fake)])
        for number, key in enumerate((KEY_1, KEY_2, KEY_3), 1):
            added = chatdesk(data_dir, "keys", "add", "main", stdin=key + "\n", passphrase=PASS)
            assert added.returncode == 0, added.stderr
            assert f"Added key {number} of main ({fingerprint(key)})" in added.stderr
            assert key not in added.stderr + added.stdout

        again = chatdesk(data_dir, "keys", "add", "main", stdin=KEY_2 + "\n", passphrase=PASS)
        assert again.returncode == 2 and "already key 2 of main" in again.stderr

        listed = chatdesk(data_dir, "keys", "list", "main", passphrase=PASS)
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert [line.split()[:2] for line in lines] == [
            ["1", fingerprint(KEY_1)], ["2", fingerprint(KEY_2)], ["3", fingerprint(KEY_3)]]
        assert all(line.endswith("usable") for line in lines)
        for key in (KEY_1, KEY_2, KEY_3):
            assert key not in listed.stdout + listed.stderr

        # ask: key 1 is rate-limited, key 2 answers; stderr names both by fingerprint.
        fake.script_key(KEY_1, ErrorResponse(429))
        asked = chatdesk(data_dir, "ask", "hi", passphrase=PASS)
        assert asked.returncode == 0, asked.stderr
        assert (f"main key {fingerprint(KEY_1)} rate-limited (429) — trying key "
                f"{fingerprint(KEY_2)}") in asked.stderr
        assert (fake.requests_with_key(KEY_1), fake.requests_with_key(KEY_2)) == (1, 1)

        status = chatdesk(data_dir, "keys", "status", passphrase=PASS)
        assert status.returncode == 0, status.stderr
        assert "2 of 3 keys usable" in status.stdout and fingerprint(KEY_3) in status.stdout
        listed = chatdesk(data_dir, "keys", "list", "main", passphrase=PASS)
        assert "rate-limited" in listed.stdout.splitlines()[0]

        removed = chatdesk(data_dir, "keys", "remove", "main", "2", passphrase=PASS)
        assert removed.returncode == 0, removed.stderr
        assert f"Removed key 2 of main ({fingerprint(KEY_2)})" in removed.stderr
        listed = chatdesk(data_dir, "keys", "list", "main", passphrase=PASS)
        assert [line.split()[1] for line in listed.stdout.splitlines()] == [
            fingerprint(KEY_1), fingerprint(KEY_3)]
        missing = chatdesk(data_dir, "keys", "remove", "main", "5", passphrase=PASS)
        assert missing.returncode == 2 and "no key 5" in missing.stderr

        for key in (KEY_1, KEY_2, KEY_3):
            assert files_holding(data_dir, key) == [], key
        assert files_holding(data_dir, fingerprint(KEY_1))  # the history names it

        deleted = chatdesk(data_dir, "keys", "delete", "main", passphrase=PASS)
        assert deleted.returncode == 0, deleted.stderr
        listed = chatdesk(data_dir, "keys", "list", "main", passphrase=PASS)
        assert "main has no key" in listed.stderr and not listed.stdout


def test_an_environment_pool_is_listed_but_not_removed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with FakeProvider("anthropic") as fake:
        path = write_settings(data_dir, [("main", fake)])
        path.write_text(path.read_text().replace(
            'api_key_env = "CHATDESK_TEST_KEY_MAIN"',
            'api_key_env = ["CHATDESK_TEST_KEY_MAIN", "CHATDESK_TEST_KEY_MAIN_2"]'))
        env = {"CHATDESK_TEST_KEY_MAIN": KEY_1, "CHATDESK_TEST_KEY_MAIN_2": KEY_2}
        listed = chatdesk(data_dir, "keys", "list", "main", env=env)
        assert listed.returncode == 0, listed.stderr
        assert [line.split()[:3] for line in listed.stdout.splitlines()] == [
            ["1", fingerprint(KEY_1), "env:CHATDESK_TEST_KEY_MAIN"],
            ["2", fingerprint(KEY_2), "env:CHATDESK_TEST_KEY_MAIN_2"]]
        removed = chatdesk(data_dir, "keys", "remove", "main", "2", env=env)
        assert removed.returncode == 2
        assert "comes from env:CHATDESK_TEST_KEY_MAIN_2" in removed.stderr
