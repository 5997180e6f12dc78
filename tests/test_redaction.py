"""Keys a provider echoes in its error text end up nowhere: not in the history file (attempts,
provider health), `providers --json`, the JSON export, stderr, nor the log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.server import ErrorResponse, FakeProvider, Synth
from tests.fakes.synth import error_json
from tests.helpers import key_env, write_settings

ROOT = Path(__file__).resolve().parents[1]
# A key shaped like no known kind (only its registration can hide it), and secrets of others
# shaped like keys: redacted because of their shape.
FOREIGN = ("sk-ant-api03-Zm9yZWlnbi1rZXktbm90LW91cnM", "AIzaSyD-foreignKey0123456789abcdefghij",
           "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")


def _echo(key: str) -> str:
    return f"Invalid request from key {key} (also seen: {', '.join(FOREIGN)})"


@pytest.fixture
def echoing() -> Iterator[list[tuple[str, FakeProvider]]]:
    """Six providers, each failing in its own way with its own key in the error text."""
    specs = [("p500", "anthropic", 500, "html"), ("p429", "openai", 429, "json"),
             ("p403", "gemini", 403, "json"), ("p401", "anthropic", 401, "json"),
             ("pevent", "ollama", 200, "event"), ("p400", "openai", 400, "json")]
    fakes = []
    for name, ptype, status, how in specs:
        key = f"our own {name} secret value"  # not key-shaped: only known keys hide it
        fake = FakeProvider(ptype, api_key=key.replace(" ", "-")).start()
        key = fake.api_key
        if how == "html":
            fake.default_response = ErrorResponse(
                # The key straddles the 300 characters kept of a body that is not JSON.
                status, f"<html><body>{'x' * 250} {_echo(key)}</body></html>".encode())
        elif how == "event":
            fake.default_response = Synth(["Half an"], error=_echo(key))
        else:
            fake.default_response = ErrorResponse(status, error_json(ptype, status, _echo(key)))
        fakes.append((name, fake))
    try:
        yield fakes
    finally:
        for _, fake in fakes:
            fake.stop()


def _chatdesk(data: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatdesk", "--data-dir", str(data), *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT), "CHATDESK_DEBUG": "1"},
        capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.slow
def test_keys_echoed_in_error_bodies_are_stored_and_shown_redacted(
    echoing: list[tuple[str, FakeProvider]], tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    write_settings(data, echoing, connect_timeout_s=2, first_token_timeout_s=5,
                   stall_timeout_s=5)
    env = key_env(echoing)
    secrets = [*env.values(), *(key[:12] for key in env.values()), *FOREIGN]
    assert len(env) == 6

    asked = _chatdesk(data, env, "ask", "Hello there")
    assert asked.returncode == 1, asked.stderr
    assert all(len(fake.requests) == 1 for _, fake in echoing), asked.stderr
    assert "p400" in asked.stderr and "[redacted]" in asked.stderr  # the 400 is printed
    listed = _chatdesk(data, env, "providers", "--json")
    assert listed.returncode == 0, listed.stderr
    errors = {p["name"]: p["last_error"] for p in json.loads(listed.stdout)}
    assert all("[redacted]" in (errors[name] or "") for name, _ in echoing[:5]), errors
    export = tmp_path / "export.json"
    exported = _chatdesk(data, env, "export", "--all", "--format", "json", "--output",
                         str(export))
    assert exported.returncode == 0, exported.stderr
    assert "[redacted]" in export.read_text(encoding="utf-8")

    outputs = {"ask": asked.stdout + asked.stderr, "providers": listed.stdout + listed.stderr,
               "export": exported.stdout + exported.stderr}
    files = [p for p in data.rglob("*") if p.is_file()] + [export]
    [log] = [p for p in files if p.name == "chatdesk.log"]
    assert "p500 failed" in log.read_text(encoding="utf-8")  # the failures were logged
    for path in files:
        raw = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in raw, (path.name, secret)
    for what, text in outputs.items():
        for secret in secrets:
            assert secret not in text, (what, secret)
