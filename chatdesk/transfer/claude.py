"""Reading Claude's data export (conversations.json: conversations with chat_messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatdesk.transfer.claude_parts import Documents, message_parts
from chatdesk.transfer.claude_side import read_side
from chatdesk.transfer.common import (
    ImportedConversation,
    ImportedPreset,
    RawNode,
    SideOutcome,
    first_user_title,
    flatten,
    iso_from_text,
)
from chatdesk.transfer.export_stream import ExportFiles, ExportReader
from chatdesk.transfer.formats import why_not
from chatdesk.transfer.shapes import as_list, as_text

_ROLES = {"human": "user", "user": "user", "assistant": "assistant", "system": "system"}
# claude.ai marks a message with no parent (the first one) with this id.
_ROOT = "00000000-0000-4000-8000-000000000000"


class ClaudeReader(ExportReader):
    """An ExportReader that also holds the export's projects and memories as presets,
    and what was not imported of them (`side`)."""

    presets: list[ImportedPreset]
    side: list[SideOutcome]


def read_claude(path: Path) -> ClaudeReader:
    """The conversations of a Claude export (.zip, folder, conversations.json, or one
    conversation saved as a JSON object), streamed; its projects and memories as presets.

    Raises `ImportFormatError` (one line) when the export cannot be read, either here or
    while iterating. Empty conversations are yielded with no messages.
    """
    projects: dict[str, str] = {}  # filled before the first conversation is read
    reader = ClaudeReader(Path(path), "Claude", lambda item, assets: _conversation(
        item, assets, projects), _foreign, single=True)
    try:
        found = read_side(reader.others, reader.path.name)
    except BaseException:
        reader.close()
        raise
    projects.update(found.project_names)
    reader.presets, reader.side = found.presets, found.side
    return reader


def _foreign(index: int, item: dict[str, Any]) -> str | None:
    """Why `item` (the index-th of the file; 0: the whole file) is not a Claude
    conversation, or None."""
    return why_not("claude", index, item, "`chat_messages` (the messages of a Claude conversation)")


def _conversation(item: dict[str, Any], assets: ExportFiles,
                  projects: dict[str, str]) -> ImportedConversation:
    created = iso_from_text(item.get("created_at"))
    model = as_text(item.get("model")) or None  # the official export has none: unknown
    raw = [m for m in as_list(item.get("chat_messages")) if isinstance(m, dict)]
    keys = [as_text(m.get("uuid")) or f"#{i}" for i, m in enumerate(raw)]
    # Newer exports link each message to its parent (edits and retries make branches);
    # older ones are a list, each message answering the one before it.
    linked = any(m.get("parent_message_uuid") for m in raw)
    order = _in_order(raw, linked)
    known = set(keys)
    docs = Documents()
    nodes: dict[str, RawNode] = {}
    previous: RawNode | None = None
    for i in order:
        key, msg = keys[i], raw[i]
        role = _ROLES.get(as_text(msg.get("sender")))
        parent: str | None
        if linked:
            link = as_text(msg.get("parent_message_uuid"))
            parent = link if link in known and link != _ROOT else None
        elif previous is not None and role is not None and role == previous.role:
            parent = previous.parent  # the same side twice: an edit or a retry, a sibling
        else:
            parent = previous.key if previous is not None else None
        node = RawNode(key, parent, role, "", iso_from_text(msg.get("created_at")))
        if role is not None:
            parts = message_parts(msg, role == "assistant", docs)
            node.content, node.reasoning = parts.content, parts.reasoning
            node.attachments, node.missing_files = parts.attachments, parts.missing_files
        if role == "assistant":
            node.provider = "anthropic"
            node.model = as_text(msg.get("model")) or model
        nodes.setdefault(key, node)
        previous = node
    if linked:
        leaf = as_text(item.get("current_leaf_message_uuid")) or None
    else:  # the last message written is where the conversation stands
        leaf = previous.key if previous is not None else None
    messages = flatten(nodes, leaf, created)
    title = as_text(item.get("name")).strip() or first_user_title(messages)
    source_id = as_text(item.get("uuid")) or f"untitled-{item.get('created_at')}-{title}"
    return ImportedConversation(
        source_id=source_id,
        title=title,
        created_at=created or (messages[0].created_at if messages else None),
        updated_at=iso_from_text(item.get("updated_at")),
        messages=messages,
        preset=_project_of(item, projects),
    )


def _in_order(raw: list[dict[str, Any]], linked: bool) -> list[int]:
    """The messages' positions in the order they were written. A list without parent ids
    is ordered by each message's `index` when every message has one, else by its time
    (a message without one stays after the one listed before it); ties keep the list's
    order. The times themselves are never changed."""
    indexes = [x for m in raw if isinstance(x := m.get("index"), int)
               and not isinstance(x, bool)]
    if not linked and len(indexes) == len(raw):
        return sorted(range(len(raw)), key=lambda i: indexes[i])
    times: list[str] = []
    for m in raw:
        times.append(iso_from_text(m.get("created_at")) or (times[-1] if times else ""))
    return sorted(range(len(raw)), key=lambda i: times[i])


def _project_of(item: dict[str, Any], projects: dict[str, str]) -> str | None:
    """The preset of the project the conversation belongs to, if it was imported."""
    project = item.get("project")
    uuid = as_text(item.get("project_uuid")) or (
        as_text(project.get("uuid")) if isinstance(project, dict) else "")
    return projects.get(uuid) if uuid else None
