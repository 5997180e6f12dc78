"""Shared test helpers: a data dir whose settings point at loopback fake providers, and an
in-memory keyring."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from tests.fakes.server import FakeProvider

MODELS = {"anthropic": "claude-test", "openai": "gpt-test", "gemini": "gemini-test",
          "ollama": "llama-test"}


def write_settings(data_dir: Path, fakes: Iterable[tuple[str, FakeProvider]],
                   **failover: float) -> Path:
    """settings.toml with one provider entry per (name, fake), in that failover order.
    Each entry reads its key from CHATDESK_TEST_KEY_<NAME>."""
    data_dir.mkdir(parents=True, exist_ok=True)
    entries = list(fakes)
    lines = ["[failover]", f"order = {[name for name, _ in entries]!r}".replace("'", '"')]
    for key, value in failover.items():
        lines.append(f"{key} = {value}")
    for name, fake in entries:
        lines += [
            "", f"[providers.{name}]", f'type = "{fake.provider_type}"',
            f'model = "{MODELS[fake.provider_type]}"', f'base_url = "{fake.base_url}"',
            f'api_key_env = "{key_var(name)}"',
        ]
    path = data_dir / "settings.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def reset_fakes(pool: dict[str, FakeProvider]) -> dict[str, FakeProvider]:
    """Fakes shared by a module's tests, back to no requests seen and nothing scripted."""
    for fake in pool.values():
        fake.clear()
        fake.default_response = None
    return pool


def key_var(name: str) -> str:
    return "CHATDESK_TEST_KEY_" + name.upper().replace("-", "_")


def key_env(fakes: Iterable[tuple[str, FakeProvider]]) -> dict[str, str]:
    """The variables that give each fake its right key."""
    return {key_var(name): fake.api_key for name, fake in fakes if fake.api_key}


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring, as a secure OS store would behave."""

    priority = 1  # type: ignore[assignment]
    viable = False  # keep keyring's own auto-selection from ever picking this test class

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


def serve(fakes: dict[str, FakeProvider]) -> Iterator[dict[str, FakeProvider]]:
    """A module's pool of fakes, started for its tests and stopped after them (for a
    fixture: `yield from serve({...})`)."""
    for fake in fakes.values():
        fake.start()
    try:
        yield fakes
    finally:
        for fake in fakes.values():
            fake.stop()
