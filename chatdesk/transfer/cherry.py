"""Reading a Cherry Studio backup (cherry-studio.*.zip: data.json and its Data/Files folder)."""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from chatdesk import wording
from chatdesk.attachment_files import MAX_ATTACHMENT_BYTES, AttachmentError, attachment_from_bytes
from chatdesk.parts import Attachment
from chatdesk.transfer.cherry_parts import message_parts
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
from chatdesk.transfer.formats import kind_of_conversation, kind_of_document, wrong_kind

# data.json is one JSON object (Cherry Studio writes it with one JSON.stringify), so it is
# read whole: the parsed objects take about five to eight times the file's size in memory.
# Cherry Studio cannot write one over 512 MB (V8's longest string), hence the cap.
MAX_DATA_JSON = 640 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
try:
    _ijson = ijson.get_backend("yajl2_c")
except ImportError:  # no compiled backend here: the default one says the same, slower
    _ijson = ijson
_ROLES = {"user": "user", "assistant": "assistant", "system": "system"}
# IndexedDB tables chatdesk has no place for, as the summary names them.
_OTHER_TABLES = {
    "knowledge_notes": "knowledge base notes",
    "translate_history": "translations",
    "quick_phrases": "quick phrases",
}


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
            backup = _parse(label, data)
            del data
            state = _persisted(backup.get("localStorage"))
            assistants = _assistants(state)
            tables = _tables(backup.get("indexedDB"))
            preset_of: dict[str, str] = {}
            self._presets(assistants, preset_of)
            self._side(state, tables)
        except BaseException:
            self.close()
            raise
        self._items = self._run(assistants, tables, preset_of)

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
        try:
            if path.stat().st_size > MAX_DATA_JSON:
                raise self._fail(_too_large())
            return path.read_bytes()
        except OSError as exc:
            raise self._fail(f"could not be read ({exc.strerror or exc}); nothing was "
                             "imported") from exc

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
        stored = _text(meta.get("name"))
        candidates = [stored, _text(meta.get("id")) + _text(meta.get("ext")),
                      _text(meta.get("path")).replace("\\", "/").rsplit("/", 1)[-1]]
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

    def _run(self, assistants: list[dict[str, Any]], tables: dict[str, Any],
             preset_of: dict[str, str]) -> Iterator[ImportedConversation]:
        topics_meta: dict[str, dict[str, Any]] = {}  # a topic's name and times, by its id
        for assistant in assistants:
            for topic in _items(assistant.get("topics")):
                if isinstance(topic, dict) and _text(topic.get("id")):
                    topics_meta.setdefault(_text(topic["id"]), {
                        **topic, "assistantId": _text(topic.get("assistantId"))
                        or _text(assistant.get("id"))})
        blocks = {b["id"]: b for b in _items(tables.get("message_blocks"))
                  if isinstance(b, dict) and isinstance(b.get("id"), str)}
        for topic in _items(tables.get("topics")):
            if isinstance(topic, dict):
                meta = topics_meta.get(_text(topic.get("id")), {})
                yield self._conversation(topic, meta, blocks, preset_of)

    def _conversation(self, topic: dict[str, Any], meta: dict[str, Any],
                      blocks: dict[str, dict[str, Any]],
                      preset_of: dict[str, str]) -> ImportedConversation:
        raw = [m for m in _items(topic.get("messages")) if isinstance(m, dict)]
        created = iso_from_text(meta.get("createdAt"))
        messages = flatten(*self._tree(raw, blocks), created)
        topic_id = _text(topic.get("id"))
        title = _text(meta.get("name")).strip() or first_user_title(messages)
        assistant = _text(meta.get("assistantId")) or next(
            (_text(m.get("assistantId")) for m in raw if _text(m.get("assistantId"))), "")
        return ImportedConversation(
            source_id=topic_id or f"untitled-{created}-{title}",
            title=title,
            created_at=created or (messages[0].created_at if messages else None),
            updated_at=iso_from_text(meta.get("updatedAt")),
            messages=messages,
            system_prompt=_text(meta.get("prompt")).strip() or None,
            preset=preset_of.get(assistant),
        )

    def _tree(self, raw: list[dict[str, Any]],
              blocks: dict[str, dict[str, Any]]) -> tuple[dict[str, RawNode], str | None]:
        """The topic's messages as a tree. A topic lists its messages in the order shown;
        each answer names the question it answers (`askId`): several answers to one
        question (regenerated, or asked of several models at once) are siblings, and the
        one the user picked (`foldSelected`), else the last, goes on to the next question."""
        keys = [_text(m.get("id")) or f"#{i}" for i, m in enumerate(raw)]
        picked = {_text(m.get("askId")) for m in raw if m.get("foldSelected") is True}
        chosen: dict[str, str] = {}
        for key, msg in zip(keys, raw, strict=True):
            ask = _text(msg.get("askId"))
            if msg.get("role") == "assistant" and ask and (
                    ask not in picked or msg.get("foldSelected") is True):
                chosen[ask] = key
        nodes: dict[str, RawNode] = {}
        tail: str | None = None
        for key, msg in zip(keys, raw, strict=True):
            role = _ROLES.get(_text(msg.get("role")))
            if msg.get("type") == "clear":
                role = None  # Cherry Studio's "clear context" mark: not a message
            ask = _text(msg.get("askId"))
            parent = ask if role == "assistant" and ask in nodes else tail
            node = RawNode(key, parent, role, "", iso_from_text(msg.get("createdAt")))
            if role is not None:
                parts = message_parts(msg, blocks, self._open_stored, _inline)
                node.content, node.reasoning = parts.content, parts.reasoning
                node.attachments, node.missing_files = parts.attachments, parts.missing_files
            if role == "assistant":
                found = msg.get("model")
                model: dict[str, Any] = found if isinstance(found, dict) else {}
                node.model = (_text(model.get("id")) or _text(model.get("name"))
                              or _text(msg.get("modelId")) or None)
                node.provider = _text(model.get("provider")) or None
            nodes.setdefault(key, node)
            if not (role == "assistant" and ask in nodes and chosen.get(ask) != key):
                tail = key
        return nodes, tail

    # -- assistants, providers, settings -------------------------------------------------

    def _presets(self, assistants: list[dict[str, Any]], preset_of: dict[str, str]) -> None:
        """Each assistant with a prompt becomes a preset of its name (a second assistant of
        the same name with another prompt is "NAME (2)"); its topics follow it."""
        by_name: dict[str, str] = {}
        imported = skipped = 0
        for assistant in assistants:
            prompt = _text(assistant.get("prompt")).strip()
            if not prompt:
                skipped += 1
                continue
            base = _text(assistant.get("name")).strip() or "Cherry Studio assistant"
            name, n = base, 1
            while name in by_name and by_name[name] != prompt:
                n += 1
                name = f"{base} ({n})"
            if name not in by_name:
                by_name[name] = prompt
                self.presets.append(ImportedPreset(name, prompt))
                imported += 1
            preset_of[_text(assistant.get("id"))] = name
        if imported or skipped:
            self.side.append(SideOutcome(
                "assistants", imported, skipped,
                "it has no prompt" if skipped == 1 else "they have no prompt", "presets"))

    def _side(self, state: dict[str, Any], tables: dict[str, Any]) -> None:
        llm = _slice(state, "llm")
        providers = [p for p in _items(llm.get("providers")) if isinstance(p, dict)]
        if providers:
            self.side.append(SideOutcome(
                "model providers", skipped=len(providers),
                why="chatdesk keeps its own providers; API keys are never imported"))
        if _slice(state, "settings") or tables.get("settings"):
            self.side.append(SideOutcome("settings", skipped=1,
                                         why="chatdesk keeps its own settings"))
        for table, kind in _OTHER_TABLES.items():
            count = len(_items(tables.get(table)))
            if count:
                self.side.append(SideOutcome(kind, skipped=count,
                                             why="chatdesk has no place for them"))


# -- parsing ---------------------------------------------------------------------------------


def _parse(label: str, data: bytes) -> dict[str, Any]:
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
    out = [a for a in _items(found.get("assistants")) if isinstance(a, dict)]
    default = found.get("defaultAssistant")
    if isinstance(default, dict) and all(a.get("id") != default.get("id") for a in out):
        out.append(default)
    return out


def _tables(db: Any) -> dict[str, Any]:
    """The IndexedDB tables by name. Backup version 1 (2024) listed {key, value} pairs, a
    topic under the key `topic:ID`; later versions hold each table's rows by its name."""
    if isinstance(db, dict):
        return db
    topics = [item["value"] for item in _items(db) if isinstance(item, dict)
              and _text(item.get("key")).startswith("topic:") and isinstance(item.get("value"),
                                                                              dict)]
    return {"topics": topics}


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


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def read_cherry(path: Path) -> CherryBackup:
    """The topics of a Cherry Studio backup (the .zip, the unpacked folder, or data.json
    alone) as conversations; assistants with a prompt as presets. Providers, API keys and
    settings are never imported (said in `side`). Raises `ImportFormatError` (one line)
    when the backup cannot be read. Empty topics are yielded with no messages."""
    return CherryBackup(Path(path))
