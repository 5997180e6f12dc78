"""Reading Chatbox's backup (Settings → Backup: chatbox-exported-data-<date>.json)."""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chatdesk.transfer.chatbox_parts import conversation
from chatdesk.transfer.common import (
    ImportedConversation,
    ImportedPreset,
    ImportFormatError,
    SideOutcome,
)
from chatdesk.transfer.formats import kind_of_conversation, kind_of_document, wrong_kind

# A backup holds only text (Chatbox leaves its pictures and files out): 512 MB is far more
# than any; json.loads needs several times a file's size in memory.
MAX_BACKUP_BYTES = 512 * 1024 * 1024
_BACKUP_FILE = re.compile(r"chatbox-exported-data-(\d+)-(\d+)-(\d+)\D*\.json", re.IGNORECASE)
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


class ChatboxBackup(Iterator[ImportedConversation]):
    """The conversations of one or more Chatbox backups, converted one at a time; the
    copilots as `presets`, and what else the backup holds and became of it (`side`)."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.presets: list[ImportedPreset] = []
        self.side: list[SideOutcome] = []
        self._sessions: list[tuple[dict[str, Any], dict[str, str]]] = []
        self._items: Iterator[ImportedConversation] = iter(())

    def __next__(self) -> ImportedConversation:
        return next(self._items)

    def close(self) -> None:
        self._sessions.clear()
        self._items = iter(())

    def _run(self) -> Iterator[ImportedConversation]:
        for session, copilots in self._sessions:
            yield conversation(session, copilots)


def read_chatbox(path: Path) -> ChatboxBackup:
    """The conversations of a Chatbox backup: the .json Chatbox writes, a folder or a .zip
    holding it. Raises `ImportFormatError` (one line) when it cannot be read. Threads (the
    older topics of a conversation, whose context the user cleared) come first in the
    conversation, in order, then its current messages; empty conversations are yielded
    with no messages."""
    path = Path(path)
    backup = ChatboxBackup()
    counts: dict[str, int] = {}
    for label, opener in _locate(path):
        data = _load(label, opener)
        backup.files.append(label.split(" in ", 1)[0])
        _take(data, backup, counts)
    if counts.get("examples"):
        n = counts["examples"]
        backup.side.append(SideOutcome(
            "example conversations", skipped=n,
            why=f"{'it is' if n == 1 else 'they are'} Chatbox's built-in "
                f"example{'' if n == 1 else 's'}, never used"))
    if counts.get("pictures"):
        backup.side.append(SideOutcome(
            "picture conversations", imported=counts["pictures"],
            became="text — the backup does not hold their pictures"))
    if counts.get("stale"):
        backup.side.append(SideOutcome(
            "old copies of conversations", skipped=counts["stale"],
            why="the backup keeps them from before Chatbox stored each conversation apart, "
                "and Chatbox no longer shows them"))
    if counts.get("copilots") or counts.get("copilots_empty"):
        blank = counts.get("copilots_empty", 0)
        backup.side.append(SideOutcome(
            "copilots", imported=counts.get("copilots", 0), skipped=blank,
            why="it has no prompt" if blank == 1 else "they have no prompt", became="presets"))
    if counts.get("settings"):
        backup.side.append(SideOutcome(
            "settings", skipped=counts["settings"],
            why="chatdesk keeps its own settings and keys (the backup's API keys are not read)"))
    backup._items = backup._run()
    return backup


def _take(data: dict[str, Any], backup: ChatboxBackup, counts: dict[str, int]) -> None:
    """Note the sessions, copilots and settings of one backup."""
    copilots: dict[str, str] = {}
    for copilot in _items(data.get("myCopilots")):
        if not isinstance(copilot, dict):
            continue
        prompt = _text(copilot.get("prompt")).strip()
        if not prompt:
            counts["copilots_empty"] = counts.get("copilots_empty", 0) + 1
            continue
        name = _text(copilot.get("name")).strip() or "Chatbox copilot"
        backup.presets.append(ImportedPreset(name, prompt))
        copilots[_text(copilot.get("id"))] = name
        counts["copilots"] = counts.get("copilots", 0) + 1
    counts["settings"] = counts.get("settings", 0) + sum(
        1 for key in _SETTINGS if isinstance(data.get(key), dict))
    sessions, stale = _sessions(data)
    counts["stale"] = counts.get("stale", 0) + stale
    for session in sessions:
        if _untouched_example(session):
            counts["examples"] = counts.get("examples", 0) + 1
            continue
        if session.get("type") == "picture" and any(
                isinstance(m, dict) and m.get("role") in ("user", "assistant", "tool")
                for messages in _lists(session) for m in messages):
            counts["pictures"] = counts.get("pictures", 0) + 1
        backup._sessions.append((session, copilots))


def _sessions(data: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The sessions of a backup, and how many old copies of deleted ones it also holds.

    Since Chatbox 1.12 (storage version 8) each session is its own `session:<id>` key,
    listed in order by `chat-sessions-list`; before, they were all in `chat-sessions`,
    which stays in the storage (and the backup) after the update, no longer read."""
    keyed: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if key.startswith("session:") and isinstance(value, dict):
            value.setdefault("id", key[len("session:"):])
            keyed[key[len("session:"):]] = value
    listing = data.get("chat-sessions-list")
    old = [s for s in _items(data.get("chat-sessions")) if isinstance(s, dict)]
    if not keyed and not isinstance(listing, list):
        return old, 0
    listed = [_text(m.get("id")) for m in _items(listing) if isinstance(m, dict)]
    order = [i for i in listed if i in keyed] + list(keyed)
    stale = sum(1 for s in old if _text(s.get("id")) not in keyed)
    return [keyed[i] for i in dict.fromkeys(order)], stale


def _untouched_example(session: dict[str, Any]) -> bool:
    if _text(session.get("id")) not in _EXAMPLES:
        return False
    for messages in _lists(session):
        for m in messages:
            stamp = m.get("timestamp") if isinstance(m, dict) else None
            if isinstance(stamp, int | float) and stamp > _EXAMPLES_WRITTEN:
                return False  # the person went on with it: theirs now
    return True


def _lists(session: dict[str, Any]) -> list[list[Any]]:
    """Every list of messages a session holds: its threads', its own, its forks'."""
    out = [_items(t.get("messages")) for t in _items(session.get("threads"))
           if isinstance(t, dict)]
    out.append(_items(session.get("messages")))
    forks = session.get("messageForksHash")
    for fork in forks.values() if isinstance(forks, dict) else ():
        if isinstance(fork, dict):
            out += [_items(x.get("messages")) for x in _items(fork.get("lists"))
                    if isinstance(x, dict)]
    return out


# -- finding and loading the backup ---------------------------------------------------


def _locate(path: Path) -> list[tuple[str, Callable[[], bytes]]]:
    """(label, opener) of each backup file: the file itself, or those in a folder or zip
    (named chatbox-exported-data-….json, or the only .json there), oldest first."""
    name = path.name
    if not path.exists():
        raise ImportFormatError(f"{name}: there is no such file or folder — check the path "
                                f"({path})")
    if path.is_dir():
        found = {p.relative_to(path).as_posix(): p for p in path.rglob("*.json")
                 if p.is_file() and "__MACOSX" not in p.parts}
        chosen = _choose(list(found), name)
        return [(f"{n} in {name}", _opener(found[n])) for n in chosen]
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                members = [n for n in zf.namelist() if n.lower().endswith(".json")
                           and "__MACOSX" not in n]
        except (zipfile.BadZipFile, OSError) as exc:
            raise ImportFormatError(f"{name}: the zip cannot be read ({exc}) — make it "
                                    "again. Nothing was imported") from exc
        chosen = _choose(members, name)
        return [(f"{n} in {name}", _member(path, n)) for n in chosen]
    return [(name, _opener(path))]


def _choose(names: list[str], where: str) -> list[str]:
    backups = [n for n in names if _BACKUP_FILE.fullmatch(n.rsplit("/", 1)[-1])]
    if not backups and len(names) == 1:
        backups = names
    if not backups:
        raise ImportFormatError(
            f"{where}: there is no chatbox-exported-data-….json in it — is this a Chatbox backup? "
            "Nothing was imported")

    def date(n: str) -> tuple[int, ...]:
        match = _BACKUP_FILE.fullmatch(n.rsplit("/", 1)[-1])
        return tuple(int(g) for g in match.groups()) if match else (0, 0, 0)

    return sorted(backups, key=lambda n: (date(n), n))


def _opener(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        with path.open("rb") as f:
            return f.read(MAX_BACKUP_BYTES + 1)
    return read


def _member(path: Path, member: str) -> Callable[[], bytes]:
    def read() -> bytes:  # a bounded read: a zip entry may claim any size
        with zipfile.ZipFile(path) as zf, zf.open(member) as f:
            return f.read(MAX_BACKUP_BYTES + 1)
    return read


def _load(label: str, read: Callable[[], bytes]) -> dict[str, Any]:
    """The backup's JSON object. Raises ImportFormatError (one line) for any other file."""
    try:
        raw = read()
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ImportFormatError(f"{label}: the zip is damaged ({exc}) — make it again. "
                                "Nothing was imported") from exc
    except OSError as exc:
        raise ImportFormatError(f"{label}: could not be read ({exc.strerror or exc}); "
                                "nothing was imported") from exc
    if len(raw) > MAX_BACKUP_BYTES:
        raise ImportFormatError(f"{label}: it is larger than any Chatbox backup "
                                f"({MAX_BACKUP_BYTES // 2**20} MB); nothing was imported")
    if raw.startswith(b"PK\x03\x04"):
        raise ImportFormatError(f"{label}: the zip file is incomplete or damaged — make it "
                                "again. Nothing was imported")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{label}: it is not text (byte {exc.start:,} is not UTF-8) — "
                                "this is not a Chatbox backup; nothing was imported") from exc
    if not text.strip():
        raise ImportFormatError(f"{label}: the file is empty; nothing was imported")
    try:
        value = json.loads(text)
    except RecursionError:
        raise ImportFormatError(f"{label}: its lists and objects nest deeper than any "
                                "Chatbox backup's — this is not a backup, or it is damaged; "
                                "nothing was imported") from None
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip()):
            raise ImportFormatError(
                f"{label}: the file ends in the middle (byte {len(raw):,}) — the backup is "
                "truncated; export it from Chatbox again. Nothing was imported") from None
        where = len(text[: exc.pos].encode("utf-8"))
        raise ImportFormatError(f"{label}: the JSON is damaged near byte {where:,} — export "
                                "the backup from Chatbox again. Nothing was imported") from None
    if isinstance(value, dict):
        found = kind_of_document(value, value)
        if found == "chatbox":
            return value
        why = (wrong_kind(found, "chatbox") if found is not None else
               "this is not a Chatbox backup: it has none of Chatbox's keys "
               "(`chat-sessions-list`, `session:…`, `chat-sessions`)")
    elif isinstance(value, list):
        first = next((item for item in value if isinstance(item, dict)), None)
        found = kind_of_conversation(first) if first is not None else None
        why = (wrong_kind(found, "chatbox") if found is not None else
               "this is not a Chatbox backup: it holds a list, not Chatbox's stored data")
    else:
        why = "this is not a Chatbox backup: it holds no JSON object"
    raise ImportFormatError(f"{label}: {why}; nothing was imported")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
