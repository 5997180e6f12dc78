"""Reading Open WebUI's "Export Chats" file (chat-export-<ms>.json: a list of chats)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from chatdesk.transfer.common import (
    ImportedConversation,
    RawNode,
    SideOutcome,
    first_user_title,
    flatten,
    iso_from_unix,
)
from chatdesk.transfer.export_stream import ExportFiles, ExportReader
from chatdesk.transfer.formats import why_not
from chatdesk.transfer.openwebui_parts import Spool, message_parts
from chatdesk.transfer.shapes import as_dict, as_list, as_text

_ROLES = {"user": "user", "assistant": "assistant", "system": "system"}
# Open WebUI names every export `chat-export-<ms>.json` (one chat or all of them).
_EXPORT_FILE = re.compile(r"chat-export.*\.json", re.IGNORECASE)
_DEFAULT_TITLE = "New Chat"  # the title Open WebUI gives a chat before naming it


class OpenWebUIReader(ExportReader):
    """An ExportReader of chat-export files that also counts what it does not import
    (tags, folders, share links), said in `side` once every chat is read."""

    def __init__(self, path: Path) -> None:
        self.tags: set[str] = set()
        self.tagged = self.in_folders = self.shared = 0
        self.folders: set[str] = set()
        self.spool = Spool()
        super().__init__(path, "Open WebUI", self._read, _foreign, single=True)

    def close(self) -> None:
        super().close()
        self.spool.close()

    @property
    def side(self) -> list[SideOutcome]:
        out = []
        if self.tags:
            out.append(SideOutcome("tags", skipped=len(self.tags), why=(
                f"chatdesk has no tags; {self.tagged:,} conversation"
                f"{'' if self.tagged == 1 else 's'} imported without them")))
        if self.folders:
            out.append(SideOutcome("folders", skipped=len(self.folders), why=(
                "the export names a folder by its id only (not its name), and chatdesk "
                "has no folders; their conversations are imported")))
        if self.shared:
            out.append(SideOutcome("share links", skipped=self.shared, why=(
                "a link points to the Open WebUI server, not to chatdesk")))
        return out

    def _locate(self) -> list[tuple[str, Callable[[], IO[bytes]]]]:
        """The export file itself, or the chat-export*.json files of a folder or zip."""
        path = self.path
        if not path.exists() or (path.is_file() and not zipfile.is_zipfile(path)):
            return super()._locate()
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file()
                           and _EXPORT_FILE.fullmatch(p.name))  # fmt: skip
            found = [(p.relative_to(path).as_posix(), _opener(p)) for p in files]
        else:
            try:
                zf = self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise self._fail(f"the zip cannot be read ({exc}) — make it again") from exc
            names = sorted(n for n in zf.namelist() if "__MACOSX" not in n
                           and _EXPORT_FILE.fullmatch(n.replace("\\", "/").rsplit("/", 1)[-1]))
            found = [(n, _member(zf, n)) for n in names]
        if not found:
            raise self._fail("there is no chat-export-….json in it — in Open WebUI, "
                             "Settings → Chats → Export Chats saves that file")
        return found

    def _read(self, item: dict[str, Any], assets: ExportFiles) -> ImportedConversation:
        chat = as_dict(item.get("chat")) or item
        meta = as_dict(item.get("meta"))
        tags = [t for t in as_list(meta.get("tags")) + as_list(chat.get("tags"))
                if isinstance(t, str) and t.strip()]
        if tags:
            self.tags.update(t.strip().lower() for t in tags)
            self.tagged += 1
        if isinstance(item.get("folder_id"), str) and item["folder_id"]:
            self.folders.add(item["folder_id"])
        self.shared += bool(isinstance(item.get("share_id"), str) and item["share_id"])
        return replace(_conversation(item, chat, self.spool), pinned=item.get("pinned") is True)


def read_openwebui(path: Path) -> OpenWebUIReader:
    """The chats of an Open WebUI export (chat-export-<ms>.json, a folder or zip holding
    it, or one chat saved as a JSON object), streamed; archived chats too.

    Raises `ImportFormatError` (one line) when the export cannot be read, either here or
    while iterating. Chats without messages are yielded with none.
    """
    return OpenWebUIReader(Path(path))


def _foreign(index: int, item: dict[str, Any]) -> str | None:
    """Why `item` (the index-th of the file; 0: the whole file) is not an Open WebUI chat,
    or None."""
    return why_not("openwebui", index, item,
                   "`chat` with a `history` (the messages of an Open WebUI chat)", noun="chat")


def _conversation(item: dict[str, Any], chat: dict[str, Any],
                  spool: Spool) -> ImportedConversation:
    created = _when(item.get("created_at")) or _when(chat.get("timestamp"))
    history = as_dict(chat.get("history"))
    tree = history.get("messages")
    nodes: dict[str, RawNode] = {}
    if isinstance(tree, dict) and tree:
        for key, msg in tree.items():
            if isinstance(msg, dict):
                node = _node(as_text(msg.get("id")) or str(key), msg, spool)
                node.parent = as_text(msg.get("parentId")) or None
                nodes.setdefault(node.key, node)
        leaf = as_text(history.get("currentId")) or None
    else:  # the oldest exports: a linear `messages` list, each answering the one before
        previous: str | None = None
        for i, msg in enumerate(as_list(chat.get("messages"))):
            if isinstance(msg, dict):
                node = _node(as_text(msg.get("id")) or f"#{i}", msg, spool)
                node.parent = as_text(msg.get("parentId")) or previous
                nodes.setdefault(node.key, node)
                previous = node.key
        leaf = previous
    messages = flatten(nodes, leaf, created)
    title = (as_text(item.get("title")) or as_text(chat.get("title"))).strip()
    if not title or title == _DEFAULT_TITLE:
        title = first_user_title(messages) or title
    source_id = (as_text(item.get("id")) or as_text(chat.get("id"))
                 or f"untitled-{item.get('created_at')}-{title}")
    params = as_dict(chat.get("params"))
    system = as_text(params.get("system")) or as_text(chat.get("system"))
    return ImportedConversation(
        source_id=source_id,
        title=title or None,
        created_at=created or (messages[0].created_at if messages else None),
        updated_at=_when(item.get("updated_at")),
        messages=messages,
        system_prompt=system.strip() or None,
    )


def _node(key: str, msg: dict[str, Any], spool: Spool) -> RawNode:
    role = _ROLES.get(as_text(msg.get("role")))
    node = RawNode(key, None, role, "", _when(msg.get("timestamp")))
    if role is not None:
        parts = message_parts(msg, spool)
        node.content, node.reasoning = parts.content, parts.reasoning
        node.attachments, node.missing_files = parts.attachments, parts.missing_files
    if role == "assistant":
        node.model = as_text(msg.get("model")).strip() or None
    return node


def _when(value: Any) -> str | None:
    """A unix time as Open WebUI keeps it: seconds for chats and messages, milliseconds
    for the chat body's `timestamp` (told apart by size, never shifted)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return iso_from_unix(value / 1000 if value > 100_000_000_000 else value)


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _member(zf: zipfile.ZipFile, name: str) -> Callable[[], IO[bytes]]:
    return lambda: zf.open(name)
