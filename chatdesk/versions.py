"""Versions of a message: the edits and regenerations kept beside it, linked by parent.

Every message chatdesk writes names its parent (the message before it; an answer, its
question), and so do imported trees. The versions of a message are the messages with the
same parent and role; one of them is on the main line, the others and everything after
them are alternates. Switching versions moves the main line, deleting nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatdesk.store import StoredMessage


@dataclass(frozen=True)
class Versions:
    """The versions of one message, oldest first, and which one is shown."""

    ids: tuple[int, ...]
    current: int  # index into ids

    @property
    def label(self) -> str:
        return f"{self.current + 1}/{len(self.ids)}"


def _linked(messages: Sequence[StoredMessage]) -> bool:
    """Whether the conversation's main line carries parent links (older chatdesk files did
    not: none of their messages has versions)."""
    main = [m for m in messages if not m.is_alternate]
    return all(m.parent_id is not None for m in main[1:])


def versions_of(messages: Sequence[StoredMessage], message_id: int) -> Versions | None:
    """The versions of `message_id` among all of a conversation's messages (alternates
    included), or None when it has no other version."""
    by_id = {m.id: m for m in messages}
    message = by_id.get(message_id)
    if message is None or not _linked(messages):
        return None
    siblings = [m for m in messages if m.parent_id == message.parent_id
                and m.role == message.role and m.id in by_id]
    if len(siblings) < 2:
        return None
    siblings.sort(key=lambda m: (m.created_at, m.id))
    ids = tuple(m.id for m in siblings)
    return Versions(ids, ids.index(message_id))


def all_versions(messages: Sequence[StoredMessage]) -> dict[int, Versions]:
    """The versions of every main-line message that has others, by message id."""
    if not _linked(messages):
        return {}
    groups: dict[tuple[int | None, str], list[StoredMessage]] = {}
    for m in messages:
        groups.setdefault((m.parent_id, m.role), []).append(m)
    found: dict[int, Versions] = {}
    for siblings in groups.values():
        if len(siblings) < 2:
            continue
        siblings.sort(key=lambda m: (m.created_at, m.id))
        ids = tuple(m.id for m in siblings)
        for i, m in enumerate(siblings):
            if not m.is_alternate:
                found[m.id] = Versions(ids, i)
    return found


def _children(messages: Sequence[StoredMessage]) -> dict[int | None, list[StoredMessage]]:
    children: dict[int | None, list[StoredMessage]] = {}
    for m in sorted(messages, key=lambda m: (m.created_at, m.id)):
        children.setdefault(m.parent_id, []).append(m)
    return children


def _subtree(children: dict[int | None, list[StoredMessage]], root: int) -> list[int]:
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(c.id for c in children.get(node, ()))
    return out


def switch_plan(messages: Sequence[StoredMessage],
                target_id: int) -> tuple[list[int], list[int]] | None:
    """What showing version `target_id` changes: (ids that become alternates, ids that
    join the main line). After the target the main line follows, at each step, the child
    that was on the main line most recently — the newest one. None: nothing to switch."""
    versions = versions_of(messages, target_id)
    if versions is None:
        return None
    by_id = {m.id: m for m in messages}
    children = _children(messages)
    shown = next((i for i in versions.ids if not by_id[i].is_alternate), None)
    if shown == target_id:
        return None
    leaving = _subtree(children, shown) if shown is not None else []
    joining = [target_id]
    node = target_id
    while children.get(node):
        kids = children[node]
        # Prefer a child still marked main (a deeper switch made earlier), else the newest.
        nxt = next((k for k in reversed(kids) if not k.is_alternate), kids[-1])
        joining.append(nxt.id)
        node = nxt.id
    return leaving, joining


def main_line_upto(messages: Sequence[StoredMessage], message_id: int) -> list[StoredMessage]:
    """The main line from its start to `message_id` (what "Branch from here" copies)."""
    main = [m for m in sorted(messages, key=lambda m: (m.created_at, m.id))
            if not m.is_alternate]
    end = next((i for i, m in enumerate(main) if m.id == message_id), None)
    if end is None:
        raise LookupError(f"message {message_id} is not in the conversation's main line")
    return main[:end + 1]
