"""Reading Chatbox's backup (Settings → Data Backup: chatbox-exported-data-<date>.json)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatdesk.transfer.chatbox_file import Opener, entries, locate
from chatdesk.transfer.chatbox_parts import conversation
from chatdesk.transfer.common import (
    ImportedConversation,
    ImportedPreset,
    ImportFormatError,
    SideOutcome,
)
from chatdesk.transfer.formats import kind_of_document, wrong_kind
from chatdesk.transfer.shapes import as_list, as_text

# Keys of Chatbox's storage that are settings (its own, the defaults of new chats and
# pictures, the Chatbox account's sign-in): never imported, API keys least of all.
_SETTINGS = ("settings", "chat-session-settings", "picture-session-settings", "authInfo")
# The example conversations Chatbox puts in a new install (src/renderer/packages/
# initial_data.ts); left out while untouched: no message of theirs is newer than the times
# the examples were written with (none, or July 2024 in the Artifact and Mermaid ones).
_EXAMPLES = frozenset({
    "justchat-b612-406a-985b-3ab4d2c482ff", "6dafa15e-c72f-4036-ac89-33c09e875bdc",
    "e22ab364-4681-4e24-aaba-461ed0fccfd3", "55d92e88-02af-4c3b-a378-aa0a1970abb1",
    "35df5a96-b612-406a-985b-3ab4d2c481ff", "776eac23-7b4a-40da-91cd-f233bb4742ed",
    "81cfc426-48b4-4a13-ad42-bfcfc4544299", "8732ec08-b23c-4b5e-8f65-d63d808f970f",
    "3e091ac6-ebfa-42c9-b125-c67ac2d45ee1", "chatbox-chat-demo-image-creator",
    "chatbox-chat-demo-artifact-1-en", "chatbox-chat-demo-artifact-1-cn",
    "mermaid-demo-1-en", "mermaid-demo-1-cn",
})
_EXAMPLES_WRITTEN = 1721300000000  # 2024-07-18 in ms, after the examples' newest time


@dataclass
class _Survey:
    """What the first reading of one backup file found (its sessions are read again, one
    at a time, as they are converted: a backup is never held whole)."""

    keys: set[str] = field(default_factory=set)
    copilots: dict[str, str] = field(default_factory=dict)  # copilot id -> preset name
    presets: list[ImportedPreset] = field(default_factory=list)
    blank_copilots: int = 0
    settings: int = 0
    listed: bool = False  # a `chat-sessions-list`
    keyed: set[str] = field(default_factory=set)  # ids of `session:<id>` keys
    old: list[str] = field(default_factory=list)  # ids of the `chat-sessions` list's
    examples: dict[str, int] = field(default_factory=lambda: {"keyed": 0, "old": 0})
    pictures: dict[str, int] = field(default_factory=lambda: {"keyed": 0, "old": 0})

    @property
    def new_shape(self) -> bool:
        """Since Chatbox 1.12 (storage version 8) each session is its own `session:<id>`
        key, listed by `chat-sessions-list`; before, all were in `chat-sessions`, which
        stays in the storage (and the backup) after the update, no longer read."""
        return bool(self.keyed) or self.listed

    def note(self, session: dict[str, Any], where: str) -> None:
        if _untouched_example(session):
            self.examples[where] += 1
        elif session.get("type") == "picture" and any(
                isinstance(m, dict) and m.get("role") in ("user", "assistant", "tool")
                for messages in _lists(session) for m in messages):
            self.pictures[where] += 1


class ChatboxBackup(Iterator[ImportedConversation]):
    """The conversations of one or more Chatbox backups, read and converted one at a time;
    the copilots as `presets`, and what else the backup holds and became of it (`side`)."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.presets: list[ImportedPreset] = []
        self.side: list[SideOutcome] = []
        self._read: list[tuple[str, Opener, _Survey]] = []
        self._items: Iterator[ImportedConversation] = iter(())

    def __next__(self) -> ImportedConversation:
        return next(self._items)

    def close(self) -> None:
        close = getattr(self._items, "close", None)
        if callable(close):
            close()

    def _run(self) -> Iterator[ImportedConversation]:
        for label, opener, survey in self._read:
            want = _is_session_key if survey.new_shape else _is_old_list
            for key, start, value in entries(label, opener, want):
                if not isinstance(value, dict) or (key == "chat-sessions") != (start == "item"):
                    continue
                if key.startswith("session:"):
                    value.setdefault("id", key[len("session:"):])
                if not _untouched_example(value):
                    yield conversation(value, survey.copilots)


def read_chatbox(path: Path) -> ChatboxBackup:
    """The conversations of a Chatbox backup: the .json Chatbox writes, a folder or a .zip
    holding it (or several backups: oldest first), streamed. Raises `ImportFormatError`
    (one line) when it cannot be read, here or while iterating. Threads (the older topics
    of a conversation, whose context the user cleared) come first in the conversation, in
    order, then its current messages; empty conversations are yielded with no messages."""
    backup = ChatboxBackup()
    counts: dict[str, int] = {}
    for label, opener in locate(Path(path)):
        survey = _survey(label, opener)
        backup.files.append(label.split(" in ", 1)[0])
        backup._read.append((label, opener, survey))
        backup.presets += survey.presets
        where = "keyed" if survey.new_shape else "old"
        stale = sum(1 for i in survey.old if i not in survey.keyed) if survey.new_shape else 0
        for name, n in (("examples", survey.examples[where]), ("pictures",
                        survey.pictures[where]), ("stale", stale), ("copilots",
                        len(survey.presets)), ("blank", survey.blank_copilots),
                        ("settings", survey.settings)):
            counts[name] = counts.get(name, 0) + n
    backup.side = _side(counts)
    backup._items = backup._run()
    return backup


def _side(counts: dict[str, int]) -> list[SideOutcome]:
    side = []
    if n := counts["examples"]:
        side.append(SideOutcome(
            "example conversations", skipped=n,
            why=f"{'it is' if n == 1 else 'they are'} Chatbox's built-in "
                f"example{'' if n == 1 else 's'}, never used"))
    if counts["pictures"]:
        side.append(SideOutcome(
            "picture conversations", imported=counts["pictures"],
            became="text — the backup does not hold their pictures"))
    if counts["stale"]:
        side.append(SideOutcome(
            "old copies of conversations", skipped=counts["stale"],
            why="the backup keeps them from before Chatbox stored each conversation apart, "
                "and Chatbox no longer shows them"))
    if counts["copilots"] or counts["blank"]:
        blank = counts["blank"]
        side.append(SideOutcome(
            "copilots", imported=counts["copilots"], skipped=blank,
            why="it has no prompt" if blank == 1 else "they have no prompt", became="presets"))
    if counts["settings"]:
        side.append(SideOutcome(
            "settings", skipped=counts["settings"],
            why="chatdesk keeps its own settings and keys (the backup's API keys are not read)"))
    return side


def _is_session_key(key: str) -> bool:
    return key.startswith("session:")


def _is_old_list(key: str) -> bool:
    return key == "chat-sessions"


def _survey(label: str, opener: Opener) -> _Survey:
    """Read one backup through: its keys, copilots, settings (only that they are there)
    and which sessions it holds. Raises ImportFormatError for a file of another kind."""
    out = _Survey()
    small = ("myCopilots", "chat-sessions-list", "chat-sessions")
    for key, start, value in entries(label, opener,
                                      lambda k: k in small or k.startswith("session:")):
        out.keys.add(key)
        if key in _SETTINGS and start == "start_map":
            out.settings += 1
        elif key == "myCopilots":
            _copilots(value, out)
        elif key == "chat-sessions-list":
            out.listed = isinstance(value, list)
        elif key.startswith("session:") and isinstance(value, dict):
            value.setdefault("id", key[len("session:"):])
            out.keyed.add(as_text(value.get("id")))
            out.note(value, "keyed")
        elif key == "chat-sessions" and start == "item" and isinstance(value, dict):
            out.old.append(as_text(value.get("id")))
            out.note(value, "old")
    found = kind_of_document(out.keys)
    if found != "chatbox":
        why = (wrong_kind(found, "chatbox") if found is not None else
               "this is not a Chatbox backup: it has none of Chatbox's keys "
               "(`chat-sessions-list`, `session:…`, `chat-sessions`)")
        raise ImportFormatError(f"{label}: {why}; nothing was imported")
    return out


def _copilots(value: Any, out: _Survey) -> None:
    for copilot in as_list(value):
        if not isinstance(copilot, dict):
            continue
        prompt = as_text(copilot.get("prompt")).strip()
        if not prompt:
            out.blank_copilots += 1
            continue
        name = as_text(copilot.get("name")).strip() or "Chatbox copilot"
        out.presets.append(ImportedPreset(name, prompt))
        out.copilots[as_text(copilot.get("id"))] = name


def _untouched_example(session: dict[str, Any]) -> bool:
    if as_text(session.get("id")) not in _EXAMPLES:
        return False
    for messages in _lists(session):
        for m in messages:
            stamp = m.get("timestamp") if isinstance(m, dict) else None
            if isinstance(stamp, int | float) and stamp > _EXAMPLES_WRITTEN:
                return False  # the person went on with it: theirs now
    return True


def _lists(session: dict[str, Any]) -> list[list[Any]]:
    """Every list of messages a session holds: its threads', its own, its forks'."""
    out = [as_list(t.get("messages")) for t in as_list(session.get("threads"))
           if isinstance(t, dict)]
    out.append(as_list(session.get("messages")))
    forks = session.get("messageForksHash")
    for fork in forks.values() if isinstance(forks, dict) else ():
        if isinstance(fork, dict):
            out += [as_list(x.get("messages")) for x in as_list(fork.get("lists"))
                    if isinstance(x, dict)]
    return out
