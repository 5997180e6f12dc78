"""What a Cherry Studio backup's data.json holds beside its topics: assistants (presets),
providers, settings; and the file's shape, told apart from other products' files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import ijson

from chatdesk.transfer.common import ImportedPreset, ImportFormatError, SideOutcome
from chatdesk.transfer.formats import kind_of_conversation, kind_of_document, wrong_kind
from chatdesk.transfer.shapes import as_list, as_text

_BOM = b"\xef\xbb\xbf"
try:
    _ijson = ijson.get_backend("yajl2_c")
except ImportError:  # no compiled backend here: the default one says the same, slower
    _ijson = ijson
# IndexedDB tables chatdesk has no place for, as the summary names them.
_OTHER_TABLES = {
    "knowledge_notes": "knowledge base notes",
    "translate_history": "translations",
    "quick_phrases": "quick phrases",
}


@dataclass
class CherrySide:
    """The backup's assistants (each listing its topics), its IndexedDB tables, the presets
    made of the assistants, which preset each assistant's topics follow, and `side`."""

    assistants: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)
    presets: list[ImportedPreset] = field(default_factory=list)
    preset_of: dict[str, str] = field(default_factory=dict)  # assistant id -> preset name
    side: list[SideOutcome] = field(default_factory=list)


def read_side(backup: dict[str, Any]) -> CherrySide:
    """The assistants, presets and tables of a parsed data.json (see `parse_backup`)."""
    state = _persisted(backup.get("localStorage"))
    out = CherrySide(_assistants(state), _tables(backup.get("indexedDB")))
    _presets(out.assistants, out)
    _others(state, out.tables, out)
    return out


def _presets(assistants: list[dict[str, Any]], out: CherrySide) -> None:
    """Each assistant with a prompt becomes a preset of its name (a second assistant of
    the same name with another prompt is "NAME (2)"); its topics follow it."""
    by_name: dict[str, str] = {}
    imported = skipped = 0
    for assistant in assistants:
        prompt = as_text(assistant.get("prompt")).strip()
        if not prompt:
            skipped += 1
            continue
        base = as_text(assistant.get("name")).strip() or "Cherry Studio assistant"
        name, n = base, 1
        while name in by_name and by_name[name] != prompt:
            n += 1
            name = f"{base} ({n})"
        if name not in by_name:
            by_name[name] = prompt
            out.presets.append(ImportedPreset(name, prompt))
            imported += 1
        out.preset_of[as_text(assistant.get("id"))] = name
    if imported or skipped:
        out.side.append(SideOutcome(
            "assistants", imported, skipped,
            "it has no prompt" if skipped == 1 else "they have no prompt", "presets"))


def _others(state: dict[str, Any], tables: dict[str, Any], out: CherrySide) -> None:
    llm = _slice(state, "llm")
    providers = [p for p in as_list(llm.get("providers")) if isinstance(p, dict)]
    if providers:
        out.side.append(SideOutcome(
            "model providers", skipped=len(providers),
            why="chatdesk keeps its own providers; API keys are never imported"))
    if _slice(state, "settings") or tables.get("settings"):
        out.side.append(SideOutcome("settings", skipped=1,
                                     why="chatdesk keeps its own settings"))
    for table, kind in _OTHER_TABLES.items():
        count = len(as_list(tables.get(table)))
        if count:
            out.side.append(SideOutcome(kind, skipped=count,
                                         why="chatdesk has no place for them"))


def parse_backup(label: str, data: bytes) -> dict[str, Any]:
    """data.json as an object, or one line saying why it is not a Cherry Studio backup."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if not data.strip():
        raise ImportFormatError(f"{label}: the file is empty; nothing was imported")
    try:
        value = json.loads(data)
    except RecursionError:
        raise ImportFormatError(f"{label}: its lists and objects nest deeper than any Cherry "
                                "Studio backup's — this is not a backup, or it is damaged; "
                                "nothing was imported") from None
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{label}: it is not text (UTF-8) — this is not a Cherry "
                                "Studio backup's data.json; nothing was imported") from exc
    except json.JSONDecodeError as exc:
        if _cut_short(data):
            raise ImportFormatError(f"{label}: the file ends in the middle (byte {len(data):,}) "
                                    "— the backup is truncated; make it again. Nothing was "
                                    "imported") from exc
        raise ImportFormatError(f"{label}: the JSON is damaged at line {exc.lineno:,} — make "
                                "the backup again. Nothing was imported") from exc
    if isinstance(value, list):
        first = value[0] if value and isinstance(value[0], dict) else None
        found = kind_of_conversation(first) if first is not None else None
        if found is not None:
            raise ImportFormatError(f"{label}: {wrong_kind(found, 'cherry')}; nothing was "
                                    "imported")
    elif isinstance(value, dict):
        found = kind_of_document(value)
        if found is not None and found != "cherry":
            raise ImportFormatError(f"{label}: {wrong_kind(found, 'cherry')}; nothing was "
                                    "imported")
        if isinstance(value.get("indexedDB"), dict | list):
            return value
    raise ImportFormatError(f"{label}: this is not a Cherry Studio backup: it has no "
                            "`indexedDB` (where Cherry Studio keeps its topics); nothing was "
                            "imported")


def _cut_short(data: bytes) -> bool:
    """Whether the JSON is whole up to where the file ends (a truncated file, not a damaged
    one): Python's parser does not tell, ijson's does ("premature EOF")."""
    try:
        for _ in _ijson.parse(data):
            pass
    except ijson.JSONError as exc:
        return "premature EOF" in str(exc) or "Incomplete JSON" in str(exc)
    return False


def _persisted(local_storage: Any) -> dict[str, Any]:
    """The Redux state Cherry Studio persists (`persist:cherry-studio`): a JSON text whose
    values (one per slice) are JSON texts again. A damaged one is read as empty: the
    topics are still imported, titled by their first question."""
    raw = local_storage.get("persist:cherry-studio") if isinstance(local_storage, dict) else None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            return {}
    return raw if isinstance(raw, dict) else {}


def _slice(state: dict[str, Any], name: str) -> dict[str, Any]:
    value = state.get(name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return {}
    return value if isinstance(value, dict) else {}


def _assistants(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The assistants (each with its topics), the default one too unless it is listed."""
    found = _slice(state, "assistants")
    out = [a for a in as_list(found.get("assistants")) if isinstance(a, dict)]
    default = found.get("defaultAssistant")
    if isinstance(default, dict) and all(a.get("id") != default.get("id") for a in out):
        out.append(default)
    return out


def _tables(db: Any) -> dict[str, Any]:
    """The IndexedDB tables by name. Backup version 1 (2024) listed {key, value} pairs, a
    topic under the key `topic:ID`; later versions hold each table's rows by its name."""
    if isinstance(db, dict):
        return db
    topics = [item["value"] for item in as_list(db) if isinstance(item, dict)
              and as_text(item.get("key")).startswith("topic:") and isinstance(item.get("value"),
                                                                              dict)]
    return {"topics": topics}
