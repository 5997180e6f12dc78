"""The JSON export carries the prompt library and the presets, and which preset each
conversation follows; importing it merges them by the folder import's rules."""

from __future__ import annotations

import json
from pathlib import Path

from chatdesk.store import HistoryStore
from chatdesk.store.prompts import Route
from chatdesk.transfer.native import export_native, import_native


def make_source(path: Path) -> int:
    with HistoryStore.open(path) as store:
        store.add_prompt("summarise", "Summarise {{text}} in {{words}} words.")
        store.add_preset("careful", "Be careful.", (Route("anthropic", "claude-sonnet-4-5"),
                                                   Route("openai")), 0.2, 800)
        conv = store.create_conversation("With a preset", preset="careful")
        store.add_message(conv.id, "user", "hello")
        return conv.id


def test_prompts_presets_and_a_conversations_preset_round_trip(tmp_path: Path) -> None:
    make_source(tmp_path / "a.db")
    out = tmp_path / "export.json"
    with HistoryStore.open(tmp_path / "a.db") as store:
        export_native(store, [c.id for c in store.list_conversations()], str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [p["name"] for p in data["prompts"]] == ["summarise"]
    assert data["presets"][0]["providers"] == [
        {"provider": "anthropic", "model": "claude-sonnet-4-5"},
        {"provider": "openai", "model": None}]
    assert data["conversations"][0]["preset"] == "careful"

    with HistoryStore.open(tmp_path / "b.db") as other:
        report = import_native(other, out)
        assert report.notes == []
        [prompt] = other.prompts()
        assert (prompt.name, prompt.text) == ("summarise",
                                              "Summarise {{text}} in {{words}} words.")
        [preset] = other.presets()
        assert (preset.system_prompt, preset.routes, preset.temperature, preset.max_tokens) == (
            "Be careful.", (Route("anthropic", "claude-sonnet-4-5"), Route("openai")), 0.2, 800)
        [conv] = other.list_conversations()
        assert other.conversation_preset(conv.id) == "careful"
        again = import_native(other, out)  # the same export twice: nothing more
        assert again.conversations_added == 0 and again.notes == []
        assert len(other.prompts()) == 1 and len(other.presets()) == 1


def test_a_prompt_whose_name_is_taken_is_kept_and_said(tmp_path: Path) -> None:
    make_source(tmp_path / "a.db")
    out = tmp_path / "export.json"
    with HistoryStore.open(tmp_path / "a.db") as store:
        export_native(store, [], str(out))
    with HistoryStore.open(tmp_path / "b.db") as other:
        other.add_prompt("summarise", "My own text.")
        report = import_native(other, out)
        assert other.get_prompt("summarise").text == "My own text."
        assert len(report.notes) == 1 and "'summarise'" in report.notes[0]
        assert other.get_preset("careful") is not None  # the rest came in


def test_an_export_without_a_library_still_imports(tmp_path: Path) -> None:
    make_source(tmp_path / "a.db")
    out = tmp_path / "export.json"
    with HistoryStore.open(tmp_path / "a.db") as store:
        export_native(store, [c.id for c in store.list_conversations()], str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    del data["prompts"], data["presets"], data["conversations"][0]["preset"]
    out.write_text(json.dumps(data), encoding="utf-8")
    with HistoryStore.open(tmp_path / "b.db") as other:
        report = import_native(other, out)
        assert report.conversations_added == 1 and other.prompts() == []
