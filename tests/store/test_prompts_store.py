"""Prompts and presets in the history file: CRUD, uses, a conversation's preset, migration."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore, NotFoundError, schema_version
from chatdesk.store import schema as schema_module
from chatdesk.store.prompts import NameTakenError, Route


def test_prompt_crud_and_uses(store: HistoryStore) -> None:
    made = store.add_prompt("summarize", "Summarize {{text}}")
    assert made.uses == 0 and made.last_used_at is None
    with pytest.raises(NameTakenError):
        store.add_prompt("summarize", "other")
    store.add_prompt("Alpha", "first")
    assert [p.name for p in store.prompts()] == ["Alpha", "summarize"]
    store.update_prompt("summarize", "Summarize {{text}} briefly")
    store.record_prompt_use("summarize")
    store.record_prompt_use("summarize")
    found = store.get_prompt("summarize")
    assert found is not None and found.text == "Summarize {{text}} briefly"
    assert found.uses == 2 and found.last_used_at is not None
    with pytest.raises(NotFoundError):
        store.update_prompt("missing", "x")
    assert store.delete_prompt("Alpha") and not store.delete_prompt("Alpha")
    assert store.get_prompt("Alpha") is None


def test_preset_crud_and_a_conversation_remembers_its_preset(store: HistoryStore) -> None:
    routes = (Route("anthropic", "claude-x"), Route("ollama", None))
    made = store.add_preset("careful", "Be careful.", routes, 0.2, 900)
    with pytest.raises(NameTakenError):
        store.add_preset("careful")
    found = store.get_preset("careful")
    assert found == made
    assert (found.routes, found.temperature, found.max_tokens) == (routes, 0.2, 900)
    from dataclasses import replace

    store.update_preset(replace(found, temperature=None, routes=routes[1:]))
    again = store.get_preset("careful")
    assert again is not None and again.temperature is None and again.routes == routes[1:]
    conv = store.create_conversation("from a preset", preset="careful")
    assert store.get_conversation(conv.id).preset == "careful"  # type: ignore[union-attr]
    assert store.conversation_preset(conv.id) == "careful"
    store.set_conversation_preset(conv.id, None)
    assert store.conversation_preset(conv.id) is None
    assert store.create_conversation("plain").preset is None
    assert store.delete_preset("careful") and store.presets() == []


def test_migration_adds_the_tables_to_an_older_file_and_keeps_it(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step = schema_module.MIGRATIONS.index(schema_module._v7_prompts_and_presets)
    monkeypatch.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:step])
    with HistoryStore.open(db_path) as old:
        conv = old.create_conversation("Before prompts")
        old.add_message(conv.id, "user", "hello")
    monkeypatch.undo()
    with HistoryStore.open(db_path) as s:
        assert s.db.conn.execute("PRAGMA user_version").fetchone()[0] == schema_version() > step
        assert s.backup_path is not None  # an update is backed up first
        kept = s.get_conversation(conv.id)
        assert kept is not None and kept.title == "Before prompts" and kept.preset is None
        s.add_prompt("p", "text")
        s.add_preset("q", routes=(Route("a", "m"),))
        s.set_conversation_preset(conv.id, "q")
    with closing(sqlite3.connect(db_path)) as raw:
        assert raw.execute("SELECT name, uses FROM prompts").fetchall() == [("p", 0)]
        assert raw.execute("SELECT providers FROM presets").fetchone()[0] == \
            '[{"provider": "a", "model": "m"}]'


def test_a_copy_of_the_history_file_carries_them(db_path: Path, tmp_path: Path) -> None:
    with HistoryStore.open(db_path) as s:
        s.add_prompt("kept", "in the file")
        s.add_preset("also kept", "system")
    copy = tmp_path / "copy.db"
    with closing(sqlite3.connect(db_path)) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
    with HistoryStore.open_readonly(copy) as c:
        assert [p.text for p in c.prompts()] == ["in the file"]
        assert [p.system_prompt for p in c.presets()] == ["system"]
