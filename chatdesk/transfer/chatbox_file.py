"""Finding a Chatbox backup (file, folder or zip) and streaming its top-level keys."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any

import ijson

from chatdesk.transfer.common import ImportFormatError
from chatdesk.transfer.export_stream import _Counted, _ijson
from chatdesk.transfer.formats import kind_of_conversation, wrong_kind
from chatdesk.transfer.json_guard import MAX_DEPTH, JsonGuard, TooDeep

Opener = Callable[[], AbstractContextManager[IO[bytes]]]
_BACKUP_FILE = re.compile(r"chatbox-exported-data-(\d+)-(\d+)-(\d+)\D*\.json", re.IGNORECASE)


# -- reading the file: a stream of its top-level keys -----------------------------------

_OPEN = ("start_map", "start_array")
_CLOSE = ("end_map", "end_array")


def entries(label: str, opener: Opener,
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


def locate(path: Path) -> list[tuple[str, Opener]]:
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
