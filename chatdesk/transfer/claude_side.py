"""Claude's projects and memories beside its conversations: presets, and what is left out."""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from chatdesk.transfer.common import ImportedPreset, ImportFormatError, SideOutcome
from chatdesk.transfer.shapes import as_list, as_text

MEMORY_PRESET = "Claude memory"
_MAX_SIDE_FILE = 256 * 1024 * 1024  # a projects.json holds its documents' text: allow much


@dataclass
class ClaudeSide:
    """What projects.json (or projects/*.json) and memories.json hold, as chatdesk keeps it."""

    presets: list[ImportedPreset] = field(default_factory=list)
    side: list[SideOutcome] = field(default_factory=list)
    project_names: dict[str, str] = field(default_factory=dict)  # project uuid -> preset


def read_side(others: dict[str, Callable[[], IO[bytes]]], export_name: str) -> ClaudeSide:
    """The projects and memories of an export whose other files are `others` (path in the
    export -> opener). Raises ImportFormatError (one line) for a damaged file."""
    out = ClaudeSide()
    projects: list[dict[str, Any]] = []
    memories: list[dict[str, Any]] = []
    for path in sorted(others):
        folder, _, base = path.rpartition("/")
        folder = folder.rsplit("/", 1)[-1]
        if base == "projects.json" or (folder == "projects" and base.endswith(".json")):
            projects += _objects(path, others[path], export_name, "projects")
        elif base == "memories.json" or (folder == "memories" and base.endswith(".json")):
            memories += _objects(path, others[path], export_name, "memories")
    _projects(projects, out)
    _memories(memories, out)
    return out


def _projects(projects: list[dict[str, Any]], out: ClaudeSide) -> None:
    imported = starters = documents = 0
    for project in projects:
        if project.get("is_starter_project") is True:
            starters += 1
            continue
        name = as_text(project.get("name")).strip() or "Untitled Claude project"
        instructions = (as_text(project.get("prompt_template")).strip()
                        or as_text(project.get("description")).strip() or None)
        out.presets.append(ImportedPreset(name, instructions))
        uuid = as_text(project.get("uuid"))
        if uuid:
            out.project_names[uuid] = name
        documents += sum(1 for d in as_list(project.get("docs")) if isinstance(d, dict))
        imported += 1
    if imported or starters:
        why = ("it is one of Claude's starter examples" if starters == 1
               else "they are Claude's starter examples")
        out.side.append(SideOutcome("projects", imported, starters, why, "presets",
                                    tuple(p.name for p in out.presets)))
    if documents:
        out.side.append(SideOutcome(
            "project documents", skipped=documents,
            why="a preset holds instructions, not files; they stay in the Claude export"))


def _memories(memories: list[dict[str, Any]], out: ClaudeSide) -> None:
    """The memory Claude keeps of the person (`conversations_memory`) becomes the preset
    "Claude memory"; a project's memory (`project_memories`, by project uuid) the preset
    "Claude memory: PROJECT"."""
    imported = skipped = 0
    before = len(out.presets)
    for memory in memories:
        text = as_text(memory.get("conversations_memory")).strip()
        if text:
            name = MEMORY_PRESET if not imported else f"{MEMORY_PRESET} ({imported + 1})"
            out.presets.append(ImportedPreset(name, text))
            imported += 1
        by_project = memory.get("project_memories")
        for uuid, value in (by_project.items() if isinstance(by_project, dict) else ()):
            text = as_text(value).strip()
            if not text:
                continue
            project = out.project_names.get(uuid)
            if project is None:
                skipped += 1
                continue
            out.presets.append(ImportedPreset(f"{MEMORY_PRESET}: {project}", text))
            imported += 1
    if imported or skipped:
        why = ("its project is not imported (not in the export, or a starter example)"
               if skipped == 1 else
               "their projects are not imported (not in the export, or starter examples)")
        out.side.append(SideOutcome("memories", imported, skipped, why, "presets",
                                    tuple(p.name for p in out.presets[before:])))


def _objects(path: str, opener: Callable[[], IO[bytes]], export_name: str,
             what: str) -> list[dict[str, Any]]:
    """The JSON objects of one side file (a list of them, or one)."""
    label = path if path == export_name else f"{path} in {export_name}"
    try:
        with opener() as f:
            data = f.read(_MAX_SIDE_FILE + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ImportFormatError(f"{label}: could not be read ({exc}) — download the export "
                                "again. Nothing was imported") from exc
    if len(data) > _MAX_SIDE_FILE:
        raise ImportFormatError(f"{label}: it is larger than any Claude export's {what} "
                                "file (256 MB); nothing was imported")
    if not data.strip():
        return []
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        where = f" at line {exc.lineno:,}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ImportFormatError(f"{label}: the JSON is damaged{where} — download the export "
                                "again. Nothing was imported") from exc
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) for item in items):
        raise ImportFormatError(f"{label}: it does not hold Claude's {what} (a list of "
                                "objects) — is it from another export? Nothing was imported")
    return items
