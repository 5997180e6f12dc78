"""`chatdesk keys` and `ask` without a system keyring, in a subprocess as a user runs them:
the encrypted key file, its passphrase from CHATDESK_KEYS_PASSPHRASE, one sentence when it
cannot be unlocked."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.fakes.server import FakeProvider
from tests.helpers import write_settings

ROOT = Path(__file__).parents[1]
PASS = "a long enough passphrase"


def chatdesk(data_dir: Path, *argv: str, stdin: str = "", passphrase: str | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    extra = env or {}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CHATDESK_TEST_KEY") and k != "CHATDESK_KEYS_PASSPHRASE"}
    env.update(CHATDESK_DATA_DIR=str(data_dir),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", **extra)
    if passphrase is not None:
        env["CHATDESK_KEYS_PASSPHRASE"] = passphrase
    return subprocess.run([sys.executable, "-m", "chatdesk", *argv], input=stdin, cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


def test_keys_set_creates_the_key_file_and_ask_unlocks_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with FakeProvider("anthropic") as fake:
        write_settings(data_dir, [("main", fake)])
        done = chatdesk(data_dir, "keys", "set", "main", stdin=fake.api_key + "\n",
                        passphrase=PASS)
        assert done.returncode == 0, done.stderr
        key_file = data_dir / "keys.enc"
        assert f"Saved the API key of main in the encrypted key file {key_file}." in done.stderr
        assert fake.api_key.encode() not in key_file.read_bytes()
        if os.name == "posix":
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

        status = chatdesk(data_dir, "keys", "status")  # no passphrase needed
        assert status.returncode == 0 and status.stdout.split() == [
            "main", "encrypted", "key", "file", "(locked)"]

        answered = chatdesk(data_dir, "ask", "hi", passphrase=PASS)
        assert answered.returncode == 0, answered.stderr
        assert answered.stdout.strip() and fake.requests

        # No terminal, no variable: one sentence saying how, nothing sent.
        sent = len(fake.requests)
        locked = chatdesk(data_dir, "ask", "hi again")
        assert locked.returncode == 2 and locked.stderr.count("\n") == 1
        assert "CHATDESK_KEYS_PASSPHRASE" in locked.stderr and str(key_file) in locked.stderr
        assert len(fake.requests) == sent

        before = key_file.read_bytes()
        wrong = chatdesk(data_dir, "keys", "set", "main", stdin="sk-other-0000000001\n",
                         passphrase="not the passphrase")
        assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1
        assert "does not open" in wrong.stderr and key_file.read_bytes() == before

        removed = chatdesk(data_dir, "keys", "delete", "main", passphrase=PASS)
        assert removed.returncode == 0 and "Removed the API key of main" in removed.stderr
        status = chatdesk(data_dir, "keys", "status")
        assert status.stdout.split() == ["main", "none"]


def test_a_damaged_key_file_is_named_and_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with FakeProvider("anthropic") as fake:
        write_settings(data_dir, [("main", fake)])
        key_file = data_dir / "keys.enc"
        key_file.write_bytes(b"chatdesk-keys\n\x01\x00")
        status = chatdesk(data_dir, "keys", "status")
        assert status.returncode == 0 and status.stdout.split() == ["main", "none"]
        assert f"The key file {key_file} is damaged" in status.stderr
        done = chatdesk(data_dir, "keys", "set", "main", stdin="sk-x-00000000001\n",
                        passphrase=PASS)
        assert done.returncode == 2 and done.stderr.count("\n") == 1
        assert "damaged" in done.stderr and key_file.read_bytes() == b"chatdesk-keys\n\x01\x00"


def test_keys_set_refuses_a_short_passphrase(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with FakeProvider("anthropic") as fake:
        write_settings(data_dir, [("main", fake)])
        done = chatdesk(data_dir, "keys", "set", "main", stdin="sk-x-00000000001\n",
                        passphrase="short")
        assert done.returncode == 2 and "at least 8 characters" in done.stderr
        assert "nothing was saved" in done.stderr and not (data_dir / "keys.enc").exists()


class _Tty:
    def isatty(self) -> bool:
        return True


def _in_process(monkeypatch, capsys, data_dir: Path, answers: list[str], *argv: str):
    """main() as on a terminal: every hidden prompt takes the next answer."""
    import getpass

    from chatdesk.cli import main

    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setenv("CHATDESK_DATA_DIR", str(data_dir))
    monkeypatch.delenv("CHATDESK_KEYS_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys, "stdin", _Tty())
    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, err, prompts


def test_on_a_terminal_the_passphrase_is_asked_twice_then_up_to_three_times(
        tmp_path: Path, monkeypatch, capsys) -> None:
    data_dir = tmp_path / "data"
    with FakeProvider("anthropic") as fake:
        write_settings(data_dir, [("main", fake)])
        code, err, prompts = _in_process(monkeypatch, capsys, data_dir,
                                         [fake.api_key, PASS, PASS + "?"], "keys", "set", "main")
        assert code == 2 and "the two passphrases differ; nothing was saved" in err
        assert len(prompts) == 3 and not (data_dir / "keys.enc").exists()
        code, err, prompts = _in_process(monkeypatch, capsys, data_dir,
                                         [fake.api_key, PASS, PASS], "keys", "set", "main")
        assert code == 0 and "No system keyring here" in err
        assert "New passphrase" in prompts[1] and "again" in prompts[2]
        code, err, prompts = _in_process(monkeypatch, capsys, data_dir,
                                         ["nope nope", "still wrong", PASS], "ask", "hi")
        assert code == 0, err
        assert err.count("does not open") == 2 and len(prompts) == 3
        code, err, prompts = _in_process(monkeypatch, capsys, data_dir,
                                         ["a", "b", "c"], "ask", "hi")
        assert code == 2 and len(prompts) == 3 and "does not open" in err.splitlines()[-1]
