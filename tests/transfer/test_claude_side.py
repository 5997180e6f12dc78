"""Claude's projects and memories: presets, the conversations that follow them, and the
summary's lines for what was not imported."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer import jobs
from chatdesk.transfer.claude import read_claude
from chatdesk.transfer.common import ImportedPreset, ImportFormatError

FAITHFUL = Path(__file__).parent / "fixtures" / "claude_faithful"
TRIP = "b0b0b0b0-0000-4c00-8000-000000000001"
PRESETS = [
    ImportedPreset("Trip planner", "You plan trips. Answer with checklists."),
    ImportedPreset("Reading notes", "Notes on the books I read"),  # a description only
    ImportedPreset("Claude memory",
                   "**Work context**\n\nAna plans trips for her family and reads a novel a week."),
    ImportedPreset("Claude memory: Trip planner", "Ana prefers trains to planes."),
]
SIDE_LINES = [
    "Projects: 2 imported as presets; 1 not imported — it is one of Claude's starter examples",
    "Project documents: 2 not imported — a preset holds instructions, not files; they stay "
    "in the Claude export",
    "Memories: 2 imported as presets; 1 not imported — its project is not imported (not in "
    "the export, or a starter example)",
]



def export_2026(path: Path) -> Path:
    """The newer layout: one file per project under projects/, memories under memories/."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(FAITHFUL / "conversations.json", "conversations.json")
        zf.write(FAITHFUL / "users.json", "users.json")
        for project in json.loads((FAITHFUL / "projects.json").read_text("utf-8")):
            zf.writestr(f"projects/{project['uuid']}.json", json.dumps(project))
        (memory,) = json.loads((FAITHFUL / "memories.json").read_text("utf-8"))
        zf.writestr(f"memories/{memory['account_uuid']}.json", json.dumps(memory))
    return path


def test_projects_and_memories_become_presets(tmp_path: Path) -> None:
    for path in (FAITHFUL, FAITHFUL / "conversations.json", export_2026(tmp_path / "e.zip")):
        reader = read_claude(path)
        presets = {c.source_id: c.preset for c in reader}
        assert reader.presets == PRESETS, path
        assert [jobs.side_line(s) for s in reader.side] == SIDE_LINES, path
        assert presets == {
            "a1a1a1a1-0000-4b00-8000-00000000000a": None,
            "b2b2b2b2-0000-4b00-8000-00000000000b": None,
            "c3c3c3c3-0000-4b00-8000-00000000000c": "Trip planner",  # by `project_uuid`
            "d4d4d4d4-0000-4b00-8000-00000000000d": None,  # the starter project's
            "e5e5e5e5-0000-4b00-8000-00000000000e": "Reading notes",  # by `project.uuid`
        }, path


def test_the_summary_names_what_became_of_them(store: HistoryStore) -> None:
    report = jobs.run_import(store, "claude", FAITHFUL)
    text = jobs.import_summary(report, "claude", 5)
    assert text.splitlines() == [
        "Imported 5 conversations (30 messages) from Claude; 1 attachment; 1 file was not in "
        "the export (a placeholder in the message names each); 0 empty skipped; 0 already there",
        *SIDE_LINES]
    trip = store.get_preset("Trip planner")
    assert trip is not None and trip.system_prompt == "You plan trips. Answer with checklists."
    memory = store.get_preset("Claude memory")
    assert memory is not None and memory.system_prompt is not None
    assert memory.system_prompt.startswith("**Work context**")
    lisbon = store.find_conversation_by_source("claude", "c3c3c3c3-0000-4b00-8000-00000000000c")
    assert lisbon is not None and store.conversation_preset(lisbon.id) == "Trip planner"
    again = jobs.run_import(store, "claude", FAITHFUL)
    assert again.notes == [] and again.conversations_added == 0  # the presets are there


def test_a_preset_of_that_name_with_other_instructions_is_kept(store: HistoryStore) -> None:
    store.add_preset("Trip planner", "Mine.")
    report = jobs.run_import(store, "claude", FAITHFUL)
    assert report.notes == [
        "The Claude export: a preset named 'Trip planner' exists already with other content; "
        "it was kept as it is (rename one of them, or delete yours first, to import this one)."]
    preset = store.get_preset("Trip planner")
    assert preset is not None and preset.system_prompt == "Mine."


@pytest.mark.parametrize(("name", "data", "said"), [
    ("projects.json", b'[{"uuid": "p1", "name": "Trip', "projects.json in e.zip: the JSON is "
     "damaged at line 1 — download the export again. Nothing was imported"),
    ("memories.json", b'{"conversations_memory": 3} [', "memories.json in e.zip: the JSON is "
     "damaged at line 1 — download the export again. Nothing was imported"),
    ("projects.json", b'["Trip planner"]', "projects.json in e.zip: it does not hold Claude's "
     "projects (a list of objects) — is it from another export? Nothing was imported"),
])
def test_a_damaged_side_file_is_one_line_and_imports_nothing(
        tmp_path: Path, store: HistoryStore, name: str, data: bytes, said: str) -> None:
    path = tmp_path / "e.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(FAITHFUL / "conversations.json", "conversations.json")
        zf.writestr(name, data)
    with pytest.raises(ImportFormatError) as caught:
        jobs.run_import(store, "claude", path)
    assert str(caught.value) == said
    assert store.list_conversations() == [] and store.get_preset("Claude memory") is None
