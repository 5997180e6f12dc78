"""Reading Chatbox's backup (Settings → Data Backup: chatbox-exported-data-<date>.json)."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

from chatdesk.transfer.chatbox_parts import conversation
from chatdesk.transfer.common import (
    ImportedConversation,
    ImportedPreset,
    ImportFormatError,
    SideOutcome,
)
from chatdesk.transfer.export_stream import _Counted, _ijson
from chatdesk.transfer.formats import kind_of_conversation, kind_of_document, wrong_kind
from chatdesk.transfer.json_guard import MAX_DEPTH, JsonGuard, TooDeep

Opener = Callable[[], AbstractContextManager[IO[bytes]]]

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
            for key, start, value in _entries(label, opener, want):
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
    for label, opener in _locate(Path(path)):
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
    for key, start, value in _entries(label, opener,
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
            out.keyed.add(_text(value.get("id")))
            out.note(value, "keyed")
        elif key == "chat-sessions" and start == "item" and isinstance(value, dict):
            out.old.append(_text(value.get("id")))
            out.note(value, "old")
    found = kind_of_document(out.keys)
    if found != "chatbox":
        why = (wrong_kind(found, "chatbox") if found is not None else
               "this is not a Chatbox backup: it has none of Chatbox's keys "
               "(`chat-sessions-list`, `session:…`, `chat-sessions`)")
        raise ImportFormatError(f"{label}: {why}; nothing was imported")
    return out


def _copilots(value: Any, out: _Survey) -> None:
    for copilot in _items(value):
        if not isinstance(copilot, dict):
            continue
        prompt = _text(copilot.get("prompt")).strip()
        if not prompt:
            out.blank_copilots += 1
            continue
        name = _text(copilot.get("name")).strip() or "Chatbox copilot"
        out.presets.append(ImportedPreset(name, prompt))
        out.copilots[_text(copilot.get("id"))] = name


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


# -- reading the file: a stream of its top-level keys -----------------------------------

_OPEN = ("start_map", "start_array")
_CLOSE = ("end_map", "end_array")


def _entries(label: str, opener: Opener,
             want: Callable[[str], bool]) -> Iterator[tuple[str, str, Any]]:
    """(key, first event of its value, value) for each top-level key of the backup; the
    value is built only for the keys `want`ed (else None), and a wanted `chat-sessions`
    list comes one session at a time, as ("chat-sessions", "item", session)."""
    events = _events(label, opener)
    first = next(events, None)
    if first is None:
        return
    if first[0] == "start_array":
        item = None if (nxt := next(events))[0] in _CLOSE else _build(*nxt, events)
        found = kind_of_conversation(item) if isinstance(item, dict) else None
        why = (wrong_kind(found, "chatbox") if found is not None else
               "this is not a Chatbox backup: it holds a list, not Chatbox's stored data")
        raise ImportFormatError(f"{label}: {why}; nothing was imported")
    if first[0] != "start_map":
        raise ImportFormatError(f"{label}: this is not a Chatbox backup: it holds no JSON "
                                "object; nothing was imported")
    for event, key in events:
        if event != "map_key":
            break  # the end of the object
        start, value = next(events)
        if key == "chat-sessions" and start == "start_array" and want(key):
            while (item := next(events))[0] != "end_array":
                yield key, "item", _build(*item, events)
        elif want(key):
            yield key, start, _build(start, value, events)
        else:
            _build(start, value, events, keep=False)
            yield key, start, None
    for _ in events:  # the rest of the file: an error in it is said too
        pass


def _build(start: str, value: Any, events: Iterator[tuple[str, Any]],
           keep: bool = True) -> Any:
    """The value that begins with the event (`start`, `value`); with `keep` False it is
    only read past."""
    if start not in _OPEN:
        return value
    builder = ijson.ObjectBuilder() if keep else None
    if builder is not None:
        builder.event(start, value)
    depth = 1
    for event, item in events:
        if builder is not None:
            builder.event(event, item)
        if event in _OPEN:
            depth += 1
        elif event in _CLOSE:
            depth -= 1
            if depth == 0:
                break
    return builder.value if builder is not None else None


def _events(label: str, opener: Opener) -> Iterator[tuple[str, Any]]:
    """The file's JSON events; what is wrong with it as one line (ImportFormatError)."""
    try:
        with opener() as raw:
            src = _Counted(JsonGuard(raw))
            try:
                yield from _ijson.basic_parse(src, use_float=True)
            except TooDeep as exc:
                raise ImportFormatError(
                    f"{label}: its lists and objects nest more than {MAX_DEPTH} levels deep "
                    f"(near byte {exc.pos:,}), which no Chatbox backup does — this is not a "
                    "backup, or it is damaged; nothing was imported") from None
            except ijson.JSONError as exc:
                if not src.first:
                    raise ImportFormatError(
                        f"{label}: the file is empty; nothing was imported") from exc
                if src.eof:
                    raise ImportFormatError(
                        f"{label}: the file ends in the middle (byte {src.pos:,}) — the backup "
                        "is truncated; export it from Chatbox again. Nothing was imported"
                    ) from exc
                raise ImportFormatError(
                    f"{label}: the JSON is damaged near byte {src.pos:,} — export the backup "
                    "from Chatbox again. Nothing was imported") from exc
            if not src.first:
                raise ImportFormatError(f"{label}: the file is empty; nothing was imported")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ImportFormatError(f"{label}: the zip is damaged ({exc}) — make it again. "
                                "Nothing was imported") from exc
    except OSError as exc:
        raise ImportFormatError(f"{label}: could not be read ({exc.strerror or exc}); "
                                "nothing was imported") from exc


# -- finding the backup ------------------------------------------------------------------


def _locate(path: Path) -> list[tuple[str, Opener]]:
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


def _opener(path: Path) -> Opener:
    def open_file() -> AbstractContextManager[IO[bytes]]:
        with path.open("rb") as f:
            zip_start = f.read(4) == b"PK\x03\x04"
        if zip_start:
            raise ImportFormatError(f"{path.name}: the zip file is incomplete or damaged — "
                                    "make it again. Nothing was imported")
        return path.open("rb")
    return open_file


def _member(path: Path, member: str) -> Opener:
    @contextmanager
    def open_member() -> Iterator[IO[bytes]]:
        with zipfile.ZipFile(path) as zf, zf.open(member) as f:
            yield f
    return open_member


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
