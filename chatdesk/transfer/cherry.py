"""Reading a Cherry Studio backup (cherry-studio.*.zip: data.json and its Data/Files folder)."""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from chatdesk import wording
from chatdesk.attachment_files import MAX_ATTACHMENT_BYTES, AttachmentError, attachment_from_bytes
from chatdesk.parts import Attachment
from chatdesk.transfer.cherry_parts import message_parts
from chatdesk.transfer.cherry_side import CherrySide, parse_backup, read_side
from chatdesk.transfer.common import (
    ImportedAttachment,
    ImportedConversation,
    ImportedPreset,
    ImportFormatError,
    RawNode,
    SideOutcome,
    first_user_title,
    flatten,
    iso_from_text,
)
from chatdesk.transfer.shapes import as_list, as_text

# data.json is one JSON object (Cherry Studio writes it with one JSON.stringify), its topics
# in one table and their blocks in another, so it is read whole: while it is parsed the
# file's bytes and the objects are both in memory, about 4.5 times the file's size (3.5 for
# the objects, measured on a 77 MB backup of 80,000 messages); the bytes are dropped once
# it is parsed. Cherry Studio cannot write one over 512 MB (V8's longest string), hence
# the cap.
MAX_DATA_JSON = 640 * 1024 * 1024
_ROLES = {"user": "user", "assistant": "assistant", "system": "system"}


class CherryBackup(Iterator[ImportedConversation]):
    """The conversations (topics) of one backup, one at a time; `presets` are its
    assistants that have a prompt, `side` what became of the rest, `close()` releases the
    zip (the files are read from it when their messages are stored)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.files: list[str] = []
        self.presets: list[ImportedPreset] = []
        self.side: list[SideOutcome] = []
        self._zip: zipfile.ZipFile | None = None
        self._stored: dict[str, Callable[[], IO[bytes]]] = {}  # Data/Files name -> opener
        try:
            label, data = self._locate()
            self.files.append(label.rsplit(" in ", 1)[0])
            backup = parse_backup(label, data)
            del data
            found = read_side(backup)
            self.presets, self.side = found.presets, found.side
        except BaseException:
            self.close()
            raise
        self._items = self._run(found)

    def __next__(self) -> ImportedConversation:
        return next(self._items)

    def close(self) -> None:
        items = getattr(self, "_items", None)
        if items is not None:
            items.close()
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    # -- finding data.json and the files ---------------------------------------------

    def _fail(self, why: str) -> ImportFormatError:
        return ImportFormatError(f"{self.path.name}: {why}")

    def _locate(self) -> tuple[str, bytes]:
        path = self.path
        if not path.exists():
            raise self._fail(f"there is no such file or folder — check the path ({path})")
        if path.is_dir():
            found = sorted(path.rglob("data.json"), key=lambda p: len(p.parts))
            if not found:
                names = [p.relative_to(path).as_posix() for p in path.rglob("*")]
                raise self._fail(_no_data_json(names, "an unpacked"))
            self._files_beside(found[0].parent)
            return f"data.json in {path.name}", self._read_file(found[0])
        if zipfile.is_zipfile(path):
            return self._open_zip(path)
        with path.open("rb") as f:
            if f.read(4) == b"PK\x03\x04":
                raise self._fail("the zip file is incomplete or damaged — make the backup "
                                 "again. Nothing was imported")
        self._files_beside(path.parent)
        return path.name, self._read_file(path)

    def _files_beside(self, folder: Path) -> None:
        files = folder / "Data" / "Files"
        try:
            entries = [p for p in files.iterdir() if p.is_file()] if files.is_dir() else []
        except OSError:
            entries = []
        for p in entries:
            self._stored[p.name] = _path_opener(p)

    def _read_file(self, path: Path) -> bytes:
        """data.json, or a `.bak` (the first backups: data.json gzipped, no files)."""
        try:
            with path.open("rb") as f:
                gzipped = f.read(2) == b"\x1f\x8b"
            if gzipped:
                return self._gunzip(path)
            if path.stat().st_size > MAX_DATA_JSON:
                raise self._fail(_too_large())
            return path.read_bytes()
        except OSError as exc:
            raise self._fail(f"could not be read ({exc.strerror or exc}); nothing was "
                             "imported") from exc

    def _gunzip(self, path: Path) -> bytes:
        try:
            with gzip.open(path, "rb") as f:  # bounded: a small file may unpack to any size
                data = f.read(MAX_DATA_JSON + 1)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise self._fail("the backup is damaged or cut short (its compressed data ends "
                             "early) — make it again. Nothing was imported") from exc
        if len(data) > MAX_DATA_JSON:
            raise self._fail(_too_large())
        return data

    def _open_zip(self, path: Path) -> tuple[str, bytes]:
        try:
            zf = self._zip = zipfile.ZipFile(path)
            infos = [i for i in zf.infolist() if not i.is_dir() and "__MACOSX" not in i.filename]
        except (zipfile.BadZipFile, OSError) as exc:
            raise self._fail(f"the zip cannot be read ({exc}) — make the backup again. "
                             "Nothing was imported") from exc
        data_json = sorted((i for i in infos if i.filename.rsplit("/", 1)[-1] == "data.json"),
                           key=lambda i: i.filename.count("/"))
        if not data_json:
            raise self._fail(_no_data_json([i.filename for i in infos], "a"))
        info = data_json[0]
        prefix = info.filename[: -len("data.json")]
        for i in infos:
            if i.filename.startswith(prefix + "Data/Files/"):
                self._stored[i.filename.rsplit("/", 1)[-1]] = _zip_opener(zf, i.filename)
        if info.file_size > MAX_DATA_JSON:
            raise self._fail(_too_large())
        label = f"{info.filename} in {path.name}"
        try:
            with zf.open(info) as f:  # bounded: a zip entry may claim any size
                data = f.read(MAX_DATA_JSON + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ImportFormatError(f"{label}: the zip is damaged ({exc}) — make the backup "
                                    "again. Nothing was imported") from exc
        if len(data) > MAX_DATA_JSON:
            raise self._fail(_too_large())
        return label, data

    def _open_stored(self, meta: dict[str, Any], name: str) -> ImportedAttachment | None:
        """A file a message names, from Data/Files (kept there as its id and extension)."""
        stored = as_text(meta.get("name"))
        candidates = [stored, as_text(meta.get("id")) + as_text(meta.get("ext")),
                      as_text(meta.get("path")).replace("\\", "/").rsplit("/", 1)[-1]]
        opener = next((self._stored[c] for c in candidates if c and c in self._stored), None)
        if opener is None:
            return None

        def load() -> Attachment:
            try:
                with opener() as f:
                    data = f.read(MAX_ATTACHMENT_BYTES + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
                raise AttachmentError(wording.attachment_unreadable(
                    name, "it is damaged in the backup")) from None
            return attachment_from_bytes(name, data)

        return ImportedAttachment(name, load)

    # -- the conversations ---------------------------------------------------------------

    def _run(self, found: CherrySide) -> Iterator[ImportedConversation]:
        assistants, tables, preset_of = found.assistants, found.tables, found.preset_of
        topics_meta: dict[str, dict[str, Any]] = {}  # a topic's name and times, by its id
        for assistant in assistants:
            for topic in as_list(assistant.get("topics")):
                if isinstance(topic, dict) and as_text(topic.get("id")):
                    topics_meta.setdefault(as_text(topic["id"]), {
                        **topic, "assistantId": as_text(topic.get("assistantId"))
                        or as_text(assistant.get("id"))})
        blocks = {b["id"]: b for b in as_list(tables.get("message_blocks"))
                  if isinstance(b, dict) and isinstance(b.get("id"), str)}
        for topic in as_list(tables.get("topics")):
            if isinstance(topic, dict):
                meta = topics_meta.get(as_text(topic.get("id")), {})
                yield self._conversation(topic, meta, blocks, preset_of)

    def _conversation(self, topic: dict[str, Any], meta: dict[str, Any],
                      blocks: dict[str, dict[str, Any]],
                      preset_of: dict[str, str]) -> ImportedConversation:
        raw = [m for m in as_list(topic.get("messages")) if isinstance(m, dict)]
        created = iso_from_text(meta.get("createdAt"))
        messages = flatten(*self._tree(raw, blocks), created)
        topic_id = as_text(topic.get("id"))
        title = as_text(meta.get("name")).strip() or first_user_title(messages)
        assistant = as_text(meta.get("assistantId")) or next(
            (as_text(m.get("assistantId")) for m in raw if as_text(m.get("assistantId"))), "")
        return ImportedConversation(
            source_id=topic_id or f"untitled-{created}-{title}",
            title=title,
            created_at=created or (messages[0].created_at if messages else None),
            updated_at=iso_from_text(meta.get("updatedAt")),
            messages=messages,
            system_prompt=as_text(meta.get("prompt")).strip() or None,
            preset=preset_of.get(assistant),
        )

    def _tree(self, raw: list[dict[str, Any]],
              blocks: dict[str, dict[str, Any]]) -> tuple[dict[str, RawNode], str | None]:
        """The topic's messages as a tree. A topic lists its messages in the order shown;
        each answer names the question it answers (`askId`): several answers to one
        question (regenerated, or asked of several models at once) are siblings, and the
        one the user picked (`foldSelected`), else the last, goes on to the next question."""
        keys = [as_text(m.get("id")) or f"#{i}" for i, m in enumerate(raw)]
        picked = {as_text(m.get("askId")) for m in raw if m.get("foldSelected") is True}
        chosen: dict[str, str] = {}
        for key, msg in zip(keys, raw, strict=True):
            ask = as_text(msg.get("askId"))
            if msg.get("role") == "assistant" and ask and (
                    ask not in picked or msg.get("foldSelected") is True):
                chosen[ask] = key
        nodes: dict[str, RawNode] = {}
        tail: str | None = None
        for key, msg in zip(keys, raw, strict=True):
            role = _ROLES.get(as_text(msg.get("role")))
            if msg.get("type") == "clear":
                role = None  # Cherry Studio's "clear context" mark: not a message
            ask = as_text(msg.get("askId"))
            parent = ask if role == "assistant" and ask in nodes else tail
            node = RawNode(key, parent, role, "", iso_from_text(msg.get("createdAt")))
            if role is not None:
                parts = message_parts(msg, blocks, self._open_stored, _inline)
                node.content, node.reasoning = parts.content, parts.reasoning
                node.attachments, node.missing_files = parts.attachments, parts.missing_files
            if role == "assistant":
                found = msg.get("model")
                model: dict[str, Any] = found if isinstance(found, dict) else {}
                node.model = (as_text(model.get("id")) or as_text(model.get("name"))
                              or as_text(msg.get("modelId")) or None)
                node.provider = as_text(model.get("provider")) or None
            nodes.setdefault(key, node)
            if not (role == "assistant" and ask in nodes and chosen.get(ask) != key):
                tail = key
        return nodes, tail


def _inline(name: str, data: bytes) -> ImportedAttachment:
    return ImportedAttachment(name, lambda: attachment_from_bytes(name, data))


def _no_data_json(names: list[str], what: str) -> str:
    """Why a zip or folder without data.json is not read: newer Cherry Studio versions can
    back up by copying the app's own database folders (IndexedDB, Local Storage: LevelDB
    files), which only Cherry Studio itself reads back."""
    folders = {part.lower() for name in names for part in name.split("/")[:-1]}
    if folders & {"indexeddb", "local storage", "leveldb"}:
        return ("it holds Cherry Studio's own database folders (IndexedDB, Local Storage), "
                "the kind of backup newer versions make, not a data.json — chatdesk reads the "
                "backups that hold data.json; nothing was imported")
    return (f"there is no data.json in it — is this {what} Cherry Studio backup (Settings → "
            "Data Settings → Backup)? Nothing was imported")


def _too_large() -> str:
    return ("its data.json is larger than Cherry Studio can write (640 MB) — this is not a "
            "backup, or it is damaged; nothing was imported")


def _path_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _zip_opener(zf: zipfile.ZipFile, name: str) -> Callable[[], IO[bytes]]:
    return lambda: zf.open(name)




def read_cherry(path: Path) -> CherryBackup:
    """The topics of a Cherry Studio backup (the .zip, the unpacked folder, data.json
    alone, or a first-generation .bak) as conversations; assistants with a prompt as
    presets. Providers, API keys and settings are never imported (said in `side`). Raises
    `ImportFormatError` (one line) when the backup cannot be read. Empty topics are
    yielded with no messages."""
    return CherryBackup(Path(path))
