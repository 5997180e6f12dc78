"""First run on the command line: `ask` with nothing set up, and `chatdesk setup`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chatdesk.settings import load_settings
from tests.fakes.ports import closed_port
from tests.fakes.server import FakeProvider, Synth


def chatdesk(data_dir: Path, *args: str, stdin: str = "",
             **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and k not in ("OLLAMA_HOST", "CHATDESK_KEYS_PASSPHRASE")}
    env.update(extra_env)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return subprocess.run([sys.executable, "-m", "chatdesk", "--data-dir", str(data_dir),
                           *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=60)


def test_ask_with_nothing_set_up_exits_2_names_setup_and_keeps_a_draft(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = chatdesk(data, "ask", "hello there")
    assert done.returncode == 2 and done.stdout == ""
    assert "chatdesk setup" in done.stderr and "draft" in done.stderr
    assert "pending" not in done.stderr and "ollama" not in done.stderr.lower()
    assert done.stderr.count("\n") == 1
    assert json.loads((data / "drafts.json").read_text()) == {"new": "hello there"}
    listed = chatdesk(data, "history", "list", "--json")
    assert json.loads(listed.stdout) == []  # nothing saved, nothing pending


def test_setup_finds_a_local_server_tests_it_and_saves_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with FakeProvider("ollama", models=["llama3.2", "qwen3"]) as fake:
        fake.script(Synth(["OK"]), Synth(["Hello", " from the fake."]))
        # Only the fake's loopback port is looked at, never the real usual ports.
        done = chatdesk(data, "setup", "--server", fake.base_url, stdin="8\n2\n")
        assert done.returncode == 0, done.stderr
        assert "OK — answered" in done.stderr and "second provider" in done.stderr
        saved = load_settings(data / "settings.toml")
        assert saved.providers["local"].model == "qwen3"
        asked = chatdesk(data, "ask", "hi")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout == "Hello from the fake.\n"


def test_setup_with_a_key_that_fails_saves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with FakeProvider("openai") as fake:
        nowhere = f"http://127.0.0.1:{closed_port()}"
        done = chatdesk(data, "setup", "--server", nowhere, "--base-url", fake.base_url,
                        stdin="2\nwrong-key\n")
    assert done.returncode == 1
    assert "Key rejected" in done.stderr and "Nothing was saved" in done.stderr
    assert not (data / "settings.toml").exists()


def test_ask_to_a_server_that_was_never_reachable_exits_2_and_nothing_is_pending(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.toml").write_text(
        '[failover]\norder = ["mine"]\n\n[providers.mine]\ntype = "ollama"\nmodel = "m"\n'
        f'base_url = "http://127.0.0.1:{closed_port()}"\n', encoding="utf-8")
    for attempt in ("first", "second"):  # refused once, then known never reachable
        done = chatdesk(data, "ask", attempt)
        assert done.returncode == 2, done.stderr
        assert "chatdesk setup" in done.stderr and "pending" not in done.stderr
    assert json.loads((data / "drafts.json").read_text()) == {"new": "first\n\nsecond"}
    assert json.loads(chatdesk(data, "history", "list", "--json").stdout) == []


def test_setup_without_a_keyring_keeps_the_pasted_key_in_the_encrypted_file(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    passphrase = {"CHATDESK_KEYS_PASSPHRASE": "a long passphrase"}
    with FakeProvider("openai") as fake:
        fake.script(Synth(["OK"]), Synth(["Hello", " again."]))
        nowhere = f"http://127.0.0.1:{closed_port()}"
        done = chatdesk(data, "setup", "--server", nowhere, "--base-url", fake.base_url,
                        stdin=f"2\n{fake.api_key}\n", **passphrase)
        assert done.returncode == 0, done.stderr
        assert "encrypted key file" in done.stderr
        assert fake.api_key not in (data / "settings.toml").read_text()
        asked = chatdesk(data, "ask", "hi", **passphrase)
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout == "Hello again.\n"
