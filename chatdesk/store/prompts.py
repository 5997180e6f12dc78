"""Saved prompts and presets in the history file, and which preset a conversation follows."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from chatdesk.store.connection import StoreConnection
from chatdesk.store.errors import NotFoundError, StoreError
from chatdesk.store.models import now_iso


@dataclass(frozen=True)
class Prompt:
    """A saved prompt; `uses` and `last_used_at` say how often and when it was last sent."""

    id: int
    name: str
    text: str
    created_at: str
    updated_at: str
    uses: int = 0
    last_used_at: str | None = None


@dataclass(frozen=True)
class Route:
    """One provider of a preset's order, and the model to ask it for (None: its own)."""

    provider: str
    model: str | None = None

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}" if self.model else self.provider


@dataclass(frozen=True)
class Preset:
    """What other clients call an assistant: a system prompt, a provider order with a model
    each, a temperature and a longest answer (None: the providers' own)."""

    id: int
    name: str
    system_prompt: str | None
    routes: tuple[Route, ...]
    temperature: float | None
    max_tokens: int | None
    created_at: str
    updated_at: str

    def same_content(self, other: Preset) -> bool:
        """Whether two presets say the same (names, ids and times aside)."""
        return (self.system_prompt or None, self.routes, self.temperature, self.max_tokens) \
            == (other.system_prompt or None, other.routes, other.temperature, other.max_tokens)


class NameTakenError(StoreError):
    """A prompt or preset of that name exists already."""


def routes_to_json(routes: tuple[Route, ...]) -> str:
    return json.dumps([{"provider": r.provider, "model": r.model} for r in routes])


def routes_from_json(text: str | None) -> tuple[Route, ...]:
    try:
        items = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(Route(str(i["provider"]), i.get("model") or None) for i in items
                 if isinstance(i, dict) and i.get("provider"))


def _prompt(row: sqlite3.Row) -> Prompt:
    return Prompt(int(row["id"]), row["name"], row["text"], row["created_at"],
                  row["updated_at"], int(row["uses"]), row["last_used_at"])


def _preset(row: sqlite3.Row) -> Preset:
    temperature = row["temperature"]
    return Preset(int(row["id"]), row["name"], row["system_prompt"],
                  routes_from_json(row["providers"]),
                  None if temperature is None else float(temperature),
                  None if row["max_tokens"] is None else int(row["max_tokens"]),
                  row["created_at"], row["updated_at"])


class Prompts(StoreConnection):
    """The prompt-library half of HistoryStore (see history.py). Names are unique."""

    # -- prompts -------------------------------------------------------------------------

    def prompts(self) -> list[Prompt]:
        """Every saved prompt, by name."""
        return [_prompt(r) for r in self._rows("SELECT * FROM prompts ORDER BY name COLLATE "
                                               "NOCASE, name")]

    def get_prompt(self, name: str) -> Prompt | None:
        row = self._one("SELECT * FROM prompts WHERE name = ?", (name,))
        return _prompt(row) if row else None

    def add_prompt(self, name: str, text: str, *, created_at: str | None = None) -> Prompt:
        """A new prompt; NameTakenError when the name is in use."""
        now = created_at or now_iso()
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM prompts WHERE name = ?", (name,)).fetchone():
                raise NameTakenError(f"There is a prompt named {name!r} already.")
            cur = conn.execute(
                "INSERT INTO prompts (name, text, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (name, text, now, now))
            return Prompt(int(cur.lastrowid or 0), name, text, now, now)

    def update_prompt(self, name: str, text: str) -> None:
        self._update("UPDATE prompts SET text = ?, updated_at = ? WHERE name = ?",
                     (text, now_iso(), name), f"There is no prompt named {name!r}.")

    def delete_prompt(self, name: str) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM prompts WHERE name = ?", (name,)).rowcount > 0

    def record_prompt_use(self, name: str) -> None:
        """One more use of the prompt, now."""
        self._update("UPDATE prompts SET uses = uses + 1, last_used_at = ? WHERE name = ?",
                     (now_iso(), name), f"There is no prompt named {name!r}.")

    # -- presets -------------------------------------------------------------------------

    def presets(self) -> list[Preset]:
        """Every preset, by name."""
        return [_preset(r) for r in self._rows("SELECT * FROM presets ORDER BY name COLLATE "
                                               "NOCASE, name")]

    def get_preset(self, name: str) -> Preset | None:
        row = self._one("SELECT * FROM presets WHERE name = ?", (name,))
        return _preset(row) if row else None

    def add_preset(self, name: str, system_prompt: str | None = None,
                   routes: tuple[Route, ...] = (), temperature: float | None = None,
                   max_tokens: int | None = None) -> Preset:
        """A new preset; NameTakenError when the name is in use."""
        now = now_iso()
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM presets WHERE name = ?", (name,)).fetchone():
                raise NameTakenError(f"There is a preset named {name!r} already.")
            cur = conn.execute(
                "INSERT INTO presets (name, system_prompt, providers, temperature, max_tokens,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, system_prompt or None, routes_to_json(routes), temperature, max_tokens,
                 now, now))
            return Preset(int(cur.lastrowid or 0), name, system_prompt or None, routes,
                          temperature, max_tokens, now, now)

    def update_preset(self, preset: Preset) -> None:
        """Save a preset's content (found by name)."""
        self._update(
            "UPDATE presets SET system_prompt = ?, providers = ?, temperature = ?,"
            " max_tokens = ?, updated_at = ? WHERE name = ?",
            (preset.system_prompt or None, routes_to_json(preset.routes), preset.temperature,
             preset.max_tokens, now_iso(), preset.name),
            f"There is no preset named {preset.name!r}.")

    def delete_preset(self, name: str) -> bool:
        """Delete a preset; conversations made from it go on with the default order."""
        with self._write() as conn:
            return conn.execute("DELETE FROM presets WHERE name = ?", (name,)).rowcount > 0

    def set_conversation_preset(self, conversation_id: int, name: str | None) -> None:
        self._update("UPDATE conversations SET preset = ? WHERE id = ?", (name, conversation_id),
                     f"There is no conversation {conversation_id}.")

    def conversation_preset(self, conversation_id: int) -> str | None:
        """The name of the preset a conversation follows, or None."""
        row = self._one("SELECT preset FROM conversations WHERE id = ?", (conversation_id,))
        if row is None:
            raise NotFoundError(f"There is no conversation {conversation_id}.")
        return None if row[0] is None else str(row[0])
