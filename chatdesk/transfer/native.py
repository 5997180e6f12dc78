"""chatdesk's own JSON export: the shared export plumbing, the streamed writer and its importer."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import ijson

from chatdesk import wording
from chatdesk.attachment_files import AttachmentError, attachment_from_bytes
from chatdesk.parts import Attachment, AttachmentInfo, PartKind
from chatdesk.paths import private_opener
from chatdesk.secrets import redact
from chatdesk.store import Attempt, Conversation, HistoryStore, StoredMessage, now_iso
from chatdesk.store.models import ATTEMPT_OUTCOMES, MESSAGE_STATUSES, ROLES
from chatdesk.transfer.common import (
    FileLeftOut,
    ImportCancelled,
    ImportedAttachment,
    ImportFormatError,
    ImportReport,
    PendingAttachments,
)
from chatdesk.transfer.json_guard import MAX_DEPTH, JsonGuard, TooDeep

if TYPE_CHECKING:
    from chatdesk.store.bulk import BulkWriter

FORMAT = "chatdesk"
# 2: messages list their attachments and the file ends with their bytes ("blobs"); the
#    prompt library and presets ("prompts", "presets") come before them.
VERSION = 2
READS = (1, 2)  # every version this chatdesk imports
SOURCE = "chatdesk"
# Bytes base64-encoded per write: a multiple of 3, so the pieces join into one text.
_BLOB_CHUNK = 3 * 65_536

# progress(done, total): conversations done so far; total is None while it is not known.
Progress = Callable[[int, int | None], None]


class ExportError(Exception):
    """The export cannot be made as asked (e.g. an unknown id); the message is one sentence."""


@dataclass(frozen=True)
class ExportSummary:
    conversations: int
    messages: int
    path: Path | None  # None when written to stdout


# -- shared by every export format -------------------------------------------------------

def select_conversations(store: HistoryStore, ids: Sequence[int] | None) -> list[int]:
    """The ids to export: `ids` as given (each must exist), or every conversation (None)."""
    if ids is None:
        total = store.count_conversations()
        return sorted(s.id for s in store.list_conversations(limit=max(total, 1)))
    missing = [i for i in ids if store.get_conversation(i) is None]
    if missing:
        listed = ", ".join(str(i) for i in missing)
        raise ExportError(f"no conversation with id {listed} (see: chatdesk history list)")
    return list(dict.fromkeys(ids))


def load(store: HistoryStore, id: int) -> tuple[Conversation, list[StoredMessage]]:
    """One conversation and all its messages (alternates too), in order."""
    conv = store.get_conversation(id)
    if conv is None:
        raise ExportError(f"conversation {id} was deleted while exporting; try again")
    return conv, store.messages(id, include_alternates=True)


def output_path(output: str, default_name: str) -> Path | None:
    """Where a one-file export goes: None for stdout ('-'), a folder gets `default_name`."""
    if output == "-":
        return None
    path = Path(output).expanduser()
    return path / default_name if path.is_dir() else path


@contextmanager
def open_output(path: Path | None) -> Iterator[TextIO]:
    """Write to a temporary file beside `path` and rename it at the end, so a failure
    (disk full, Ctrl+C) never leaves half a file under the real name."""
    if path is None:
        yield sys.stdout
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        # 0600: an export holds the whole conversation, like the history file.
        with open(tmp, "w", encoding="utf-8", newline="\n", opener=private_opener) as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -- export ----------------------------------------------------------------------------

def _attempt_json(attempt: Attempt, index_of: dict[int, int]) -> dict[str, Any]:
    return {
        "provider": attempt.provider, "model": attempt.model,
        "started_at": attempt.started_at, "ended_at": attempt.ended_at,
        "outcome": attempt.outcome, "error_class": attempt.error_class,
        # Redacted again: a file written by an older version may hold a key there.
        "error_message": _redacted(attempt.error_message),
        "http_status": attempt.http_status,
        "streamed_text": attempt.streamed_text,
        # an index into this message's attempts (ids are not kept across import)
        "continued_from": index_of.get(attempt.continued_from or -1),
    }


def _attachment_json(info: AttachmentInfo) -> dict[str, Any]:
    return {"kind": str(info.kind), "name": info.name, "media_type": info.media_type,
            "size": info.size, "sha256": info.sha256}


def _message_json(store: HistoryStore, m: StoredMessage, uid_of: dict[int, str],
                  infos: Sequence[AttachmentInfo] = ()) -> dict[str, Any]:
    attempts = store.attempts(m.id)
    index_of = {a.id: i for i, a in enumerate(attempts)}
    parent_uid = None
    if m.parent_id is not None:
        parent = uid_of.get(m.parent_id) or getattr(store.get_message(m.parent_id), "uid", None)
        parent_uid = parent
    return {
        "id": m.id, "uid": m.uid, "role": m.role, "content": m.content,
        "provider": m.provider, "model": m.model, "status": m.status,
        "created_at": m.created_at, "updated_at": m.updated_at,
        "input_tokens": m.input_tokens, "output_tokens": m.output_tokens,
        "finish_reason": m.finish_reason, "reasoning": m.reasoning, "parent_uid": parent_uid,
        "is_alternate": m.is_alternate, "source_id": m.source_id,
        "attempts": [_attempt_json(a, index_of) for a in attempts],
        "attachments": [_attachment_json(i) for i in infos],
    }


def conversation_json(store: HistoryStore, conv: Conversation,
                      messages: list[StoredMessage]) -> dict[str, Any]:
    """One conversation as exported: SPEC's `history show --json` shape plus every field;
    each message lists its attachments (their bytes follow, in the export's `blobs`)."""
    uid_of = {m.id: m.uid for m in messages}
    infos = store.attachment_infos(m.id for m in messages)
    return {
        "id": conv.id, "uid": conv.uid, "title": conv.title,
        "created_at": conv.created_at, "updated_at": conv.updated_at,
        "system_prompt": conv.system_prompt, "preferred_provider": conv.preferred_provider,
        "pinned": conv.pinned, "source": conv.source, "source_id": conv.source_id,
        "preset": conv.preset,
        "messages": [_message_json(store, m, uid_of, infos.get(m.id, ())) for m in messages],
    }


def write_native(store: HistoryStore, ids: Sequence[int], out: TextIO,
                 progress: Progress | None = None) -> tuple[int, int]:
    """Stream the export to `out`, one conversation at a time, then the attachments' bytes
    one file at a time (each once, however often attached); returns (conversations,
    messages)."""
    out.write(f'{{\n  "format": "{FORMAT}",\n  "version": {VERSION},\n'
              f'  "exported_at": {json.dumps(now_iso())},\n  "conversations": [')
    count = 0
    blobs: dict[str, None] = {}  # the files attached, in the order first seen
    for n, id in enumerate(ids):
        conv, messages = load(store, id)
        data = conversation_json(store, conv, messages)
        for m in data["messages"]:
            blobs.update((a["sha256"], None) for a in m["attachments"])
        text = json.dumps(data, ensure_ascii=False, indent=2)
        out.write(("\n    " if n == 0 else ",\n    ") + text.replace("\n", "\n    "))
        count += len(messages)
        if progress:
            progress(n + 1, len(ids))
    out.write("\n  ],\n" if ids else "],\n")
    _write_library(store, out)
    _write_blobs(store, blobs, out)
    out.write("}\n")
    return len(ids), count


def _write_library(store: HistoryStore, out: TextIO) -> None:
    """The prompt library and the presets (they are the history's too: an export carries
    them, as a copy of the file does)."""
    prompts = [{"name": p.name, "text": p.text, "created_at": p.created_at,
                "updated_at": p.updated_at, "uses": p.uses, "last_used_at": p.last_used_at}
               for p in store.prompts()]
    presets = [{"name": p.name, "system_prompt": p.system_prompt,
                "providers": [{"provider": r.provider, "model": r.model} for r in p.routes],
                "temperature": p.temperature, "max_tokens": p.max_tokens,
                "created_at": p.created_at, "updated_at": p.updated_at}
               for p in store.presets()]
    for key, items in (("prompts", prompts), ("presets", presets)):
        text = json.dumps(items, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        out.write(f'  "{key}": {text},\n')


def _write_blobs(store: HistoryStore, shas: Iterable[str], out: TextIO) -> None:
    """`"blobs": {sha256: base64, …}`: one file's bytes read at a time, written in pieces."""
    out.write('  "blobs": {')
    first = True
    for sha in shas:
        data = store.attachment_data(sha)
        if data is None:  # deleted while exporting: its parts name it, the import says so
            continue
        out.write(("\n" if first else ",\n") + f'    "{sha}": "')
        for start in range(0, len(data), _BLOB_CHUNK):
            out.write(base64.b64encode(data[start:start + _BLOB_CHUNK]).decode("ascii"))
        out.write('"')
        first = False
        del data
    out.write("\n  }\n" if not first else "}\n")


def export_native(store: HistoryStore, ids: Sequence[int], output: str,
                  progress: Progress | None = None) -> ExportSummary:
    path = output_path(output, "chatdesk-export.json")
    with open_output(path) as out:
        conversations, messages = write_native(store, ids, out, progress)
    return ExportSummary(conversations, messages, path)


# -- reading ---------------------------------------------------------------------------

def _fail(path: Path, why: str) -> ImportFormatError:
    return ImportFormatError(f"{path.name} is not a whole chatdesk export ({why}); "
                             "nothing was imported")


# Optional fields and the type each must have when present (anything else: refused).
_CONVERSATION_FIELDS = {"id": int, "title": str, "updated_at": str, "system_prompt": str,
                        "preferred_provider": str, "source": str, "source_id": str}
_MESSAGE_FIELDS = {"id": int, "provider": str, "model": str, "updated_at": str,
                   "input_tokens": int, "output_tokens": int, "finish_reason": str,
                   "source_id": str, "parent_uid": str, "attempts": list,
                   "attachments": list}
_ATTEMPT_FIELDS = {"model": str, "ended_at": str, "error_class": str, "error_message": str,
                   "http_status": int, "streamed_text": str}
_BIGGEST = 2**63 - 1  # SQLite's integers


def _malformed(item: dict[str, Any], fields: dict[str, type]) -> str | None:
    """The first optional field of `item` with a value of the wrong type, if any."""
    for name, kind in fields.items():
        value = item.get(name)
        if value is None:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            return name
        if isinstance(value, int) and not 0 <= value <= _BIGGEST:
            return name
    return None


_SHA256 = re.compile(r"[0-9a-f]{64}")
_KINDS = frozenset(str(k) for k in PartKind)


def _attachment_ok(a: Any) -> bool:
    return (isinstance(a, dict) and a.get("kind") in _KINDS
            and isinstance(a.get("name"), str) and bool(a["name"].strip())
            and isinstance(a.get("media_type"), str)
            and isinstance(a.get("sha256"), str) and _SHA256.fullmatch(a["sha256"]) is not None)


def _check_conversation(path: Path, n: int, conv: Any) -> dict[str, Any]:
    where = f"conversation {n + 1}"
    if not isinstance(conv, dict) or not isinstance(conv.get("uid"), str) or not conv["uid"]:
        raise _fail(path, f"{where} has no uid")
    if not isinstance(conv.get("created_at"), str) or not isinstance(conv.get("messages"), list):
        raise _fail(path, f"{where} lacks created_at or messages")
    if bad := _malformed(conv, _CONVERSATION_FIELDS):
        raise _fail(path, f"{where} has a malformed {bad}")
    for k, m in enumerate(conv["messages"]):
        here = f"{where}, message {k + 1}"
        if not isinstance(m, dict) or not isinstance(m.get("uid"), str) or not m["uid"]:
            raise _fail(path, f"{here} has no uid")
        if (not isinstance(m.get("role"), str) or m["role"] not in ROLES
                or not isinstance(m.get("status"), str) or m["status"] not in MESSAGE_STATUSES):
            raise _fail(path, f"{here} has an unknown role or status")
        if not isinstance(m.get("content"), str) or not isinstance(m.get("created_at"), str):
            raise _fail(path, f"{here} lacks its content or created_at")
        if bad := _malformed(m, _MESSAGE_FIELDS):
            raise _fail(path, f"{here} has a malformed {bad}")
        for a in m.get("attachments") or []:
            if not _attachment_ok(a):
                raise _fail(path, f"{here} has a malformed attachment")
        for a in m.get("attempts") or []:
            if (not isinstance(a, dict) or not isinstance(a.get("provider"), str)
                    or not isinstance(a.get("outcome"), str)
                    or a["outcome"] not in ATTEMPT_OUTCOMES
                    or not isinstance(a.get("started_at"), str)
                    or _malformed(a, _ATTEMPT_FIELDS)):
                raise _fail(path, f"{here} has a malformed attempt")
    return conv


# What the reader yields: a conversation, or the bytes of one file (its sha256, its base64).
Item = tuple[str, Any, Any]


def _items(path: Path, stream: BinaryIO | JsonGuard) -> Iterator[Item]:
    header: dict[str, Any] = {}
    listed = False
    builder: ijson.ObjectBuilder | None = None
    blob = ""  # the sha256 whose bytes come next in "blobs"
    n = 0
    library: ijson.ObjectBuilder | None = None  # a prompt or preset being read
    library_kind = ""
    for prefix, event, value in ijson.parse(stream, use_float=True):
        if builder is not None:
            builder.event(event, value)
            if prefix == "conversations.item" and event == "end_map":
                yield "conversation", _check_conversation(path, n, builder.value), None
                builder, n = None, n + 1
        elif library is not None:
            library.event(event, value)
            if prefix == f"{library_kind}.item" and event == "end_map":
                yield library_kind, library.value, None
                library = None
        elif prefix == "" and event == "start_array":
            raise _fail(path, "it holds a list, as ChatGPT and Claude exports do: import those "
                        "with `chatdesk import chatgpt` or `chatdesk import claude`")
        elif prefix == "" and event not in ("start_map", "map_key", "end_map"):
            raise _fail(path, "it is not a JSON object")
        elif prefix in ("format", "version"):
            header[prefix] = value
        elif prefix == "conversations":
            listed = listed or event == "start_array"
        elif prefix == "conversations.item":
            if event != "start_map":
                raise _fail(path, f"conversation {n + 1} is not an object")
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
        elif prefix in ("prompts.item", "presets.item"):
            library = ijson.ObjectBuilder()
            library.event(event, value)
            library_kind = prefix.split(".")[0]
        elif prefix == "blobs":
            if event == "map_key":
                if not isinstance(value, str) or not _SHA256.fullmatch(value):
                    raise _fail(path, "its blobs are not named by their SHA-256")
                blob = value
            elif event not in ("start_map", "end_map"):
                raise _fail(path, "its blobs are not an object")
        elif blob and prefix == f"blobs.{blob}":
            if event != "string":
                raise _fail(path, f"the bytes of file {blob[:12]} are not base64 text")
            yield "blob", blob, value
            blob = ""
        elif prefix.startswith("blobs."):
            raise _fail(path, "its blobs are not base64 texts")
    if header.get("format") != FORMAT:
        raise _fail(path, "its format is not 'chatdesk'")
    if header.get("version") not in READS:
        raise ImportFormatError(f"{path.name} is a chatdesk export of version "
                                f"{header.get('version')}; this chatdesk reads versions "
                                f"{READS[0]} to {READS[-1]}. Update chatdesk to import it.")
    if not listed:
        raise _fail(path, "it has no list of conversations")


def _read_items(path: Path) -> Iterator[Item]:
    """`_items` of the file, its problems said as ImportFormatError (one line)."""
    try:
        with open(path, "rb") as stream:
            if not stream.read(1):
                raise _fail(path, "the file is empty")
            stream.seek(0)
            yield from _items(path, JsonGuard(stream))
    except TooDeep as exc:
        raise _fail(path, f"its lists and objects nest more than {MAX_DEPTH} levels deep, "
                    f"near byte {exc.pos:,}") from None
    except ijson.JSONError as exc:
        detail = (str(exc).splitlines() or ["parse error"])[0].strip().rstrip(".")
        cut = "premature eof" in detail.lower() or "incomplete json" in detail.lower()
        raise _fail(path, "the file ends in the middle: it was cut off while being copied or "
                    "written" if cut else f"the JSON is damaged: {detail}") from None
    except UnicodeDecodeError:
        # A JSON escape of half a UTF-16 pair (\ud800 alone) is no text at all.
        raise _fail(path, "it holds text that is not valid Unicode (an unpaired \\u escape)"
                    ) from None
    except OSError as exc:
        raise ImportFormatError(f"Could not read {path}: {exc.strerror or exc}; "
                                "nothing was imported") from None


def read_native(path: Path | str) -> Iterator[dict[str, Any]]:
    """Each conversation of a chatdesk JSON export, checked, streamed from the file (the
    attachments' bytes after them are checked for their shape and skipped).

    Raises ImportFormatError (one line) for a file that is not a whole chatdesk export; the
    format and version are checked at the end, so import everything in one bulk writer.
    """
    for kind, value, _ in _read_items(Path(path)):
        if kind == "conversation":
            yield value


# -- import ----------------------------------------------------------------------------

def _find(writer: BulkWriter, conv: dict[str, Any]) -> tuple[int | None, bool]:
    """(existing conversation id, whether it is the same one by uid)."""
    found = writer.conversation_by_uid(conv["uid"])
    if found is not None:
        return found, True
    if conv.get("source") and conv.get("source_id"):
        found = writer.conversation_by_source(conv["source"], conv["source_id"])
    return found, False


def _add_conversation(writer: BulkWriter, conv: dict[str, Any]) -> int:
    """The conversation as exported: its id kept if free, its uid, times and flags."""
    return writer.add_conversation(
        id=conv.get("id"), uid=conv["uid"], title=conv.get("title"),
        system_prompt=conv.get("system_prompt"),
        preferred_provider=conv.get("preferred_provider"), pinned=bool(conv.get("pinned")),
        created_at=conv["created_at"], updated_at=conv.get("updated_at") or conv["created_at"],
        source=conv.get("source"), source_id=conv.get("source_id"),
    )  # fmt: skip


class _Spool:
    """The attachments' bytes of the export being imported, each checked against its
    SHA-256 and kept in a file of a private folder beside the history until the messages
    that name them are stored (they come after the conversations in the export)."""

    def __init__(self, store: HistoryStore, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self.damaged: set[str] = set()

    def put(self, sha: str, encoded: str) -> None:
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            self.damaged.add(sha)
            return
        if hashlib.sha256(data).hexdigest() != sha:
            self.damaged.add(sha)
            return
        self.damaged.discard(sha)
        with open(self.folder / sha, "wb", opener=private_opener) as f:
            f.write(data)

    def loader(self, part: dict[str, Any]) -> ImportedAttachment:
        name, sha = part["name"], part["sha256"]

        def load() -> Attachment:
            if sha in self.damaged:
                raise FileLeftOut(wording.import_file_damaged(name))
            spooled = self.folder / sha
            data = spooled.read_bytes() if spooled.exists() else self.store.attachment_data(sha)
            if data is None:
                raise FileLeftOut(wording.import_file_absent(name))
            kind = PartKind(part["kind"])
            return Attachment(kind, name, part["media_type"], data,
                              _text_of(kind, name, part["media_type"], data), sha)

        return ImportedAttachment(name, load)


def _text_of(kind: PartKind, name: str, media_type: str, data: bytes) -> str | None:
    """What search and text-only readers get of a file: made again from its bytes, as when
    it was attached (a text file's text, a PDF's extracted text)."""
    if kind is PartKind.IMAGE:
        return None
    try:
        return attachment_from_bytes(name, data, media_type).text
    except AttachmentError:
        return None


def _add_messages(writer: BulkWriter, conv_id: int, messages: list[dict[str, Any]],
                  spool: _Spool, files: PendingAttachments) -> int:
    """Add the messages this conversation does not have yet (by uid); returns the count.
    Their attachments wait in `files` for their bytes."""
    id_of = writer.message_uids(conv_id)
    links: list[tuple[int, str]] = []
    added = 0
    for m in messages:
        if m["uid"] in id_of:
            continue
        uid: str | None = m["uid"]
        if writer.message_by_uid(m["uid"]) is not None:
            uid = None  # the same uid in another conversation: keep both, this one anew
        msg_id = writer.add_message(
            conv_id, m["role"], m["content"], m["created_at"], id=m.get("id"), uid=uid,
            status=m["status"], provider=m.get("provider"), model=m.get("model"),
            updated_at=m.get("updated_at") or m["created_at"],
            input_tokens=m.get("input_tokens"), output_tokens=m.get("output_tokens"),
            finish_reason=m.get("finish_reason"), source_id=m.get("source_id"),
            reasoning=m.get("reasoning") if isinstance(m.get("reasoning"), str) else None,
            is_alternate=bool(m.get("is_alternate")),
        )  # fmt: skip
        id_of[m["uid"]] = msg_id
        files.add(msg_id, [spool.loader(a) for a in m.get("attachments") or []])
        added += 1
        if m.get("parent_uid"):
            links.append((msg_id, m["parent_uid"]))
        _add_attempts(writer, msg_id, m.get("attempts") or [])
    for msg_id, parent_uid in links:
        parent = id_of.get(parent_uid) or writer.message_by_uid(parent_uid)
        if parent is not None:
            writer.set_parent(msg_id, parent)
    return added


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def _add_attempts(writer: BulkWriter, msg_id: int, attempts: list[dict[str, Any]]) -> None:
    ids = [
        writer.add_attempt(
            msg_id, a["provider"], a["started_at"], model=a.get("model"),
            ended_at=a.get("ended_at"), outcome=a["outcome"], error_class=a.get("error_class"),
            error_message=_redacted(a.get("error_message")), http_status=a.get("http_status"),
            streamed_text=a.get("streamed_text") or "",
        )  # fmt: skip
        for a in attempts
    ]
    for attempt_id, a in zip(ids, attempts, strict=True):
        index = a.get("continued_from")
        if isinstance(index, int) and 0 <= index < len(ids):
            writer.set_continued_from(attempt_id, ids[index])


def import_native(store: HistoryStore, path: Path | str, progress: Progress | None = None,
                  cancel: Callable[[], bool] | None = None) -> ImportReport:
    """Import a chatdesk JSON export, all of it or nothing; importing it again adds nothing.

    Conversations are matched by uid (a known one gets only the messages it lacks) and by
    (source, source_id), so a ChatGPT conversation imported on two machines is kept once.
    Attachments keep their bytes and SHA-256; one whose bytes do not match it is left out
    with a note (in the report), and the rest is imported.
    """
    path = Path(path)
    added = updated = messages = done = 0
    folder = Path(store.path).parent
    with (store.bulk_writer() as writer,
          tempfile.TemporaryDirectory(prefix=".chatdesk-import-", dir=folder) as spooled):
        spool = _Spool(store, Path(spooled))
        files = PendingAttachments(store)
        library: list[tuple[str, Any]] = []
        presets_of: list[tuple[int, str]] = []  # (conversation, the preset it follows)
        for kind, value, encoded in _read_items(path):
            if cancel is not None and cancel():
                raise ImportCancelled()
            if kind == "blob":
                spool.put(value, encoded)
                continue
            if kind in ("prompts", "presets"):
                library.append((kind, value))
                continue
            conv = value
            done += 1
            if progress is not None:
                progress(done, None)
            found, same = _find(writer, conv)
            if found is None:
                conv_id = _add_conversation(writer, conv)
                messages += _add_messages(writer, conv_id, conv["messages"], spool, files)
                added += 1
                if isinstance(conv.get("preset"), str) and conv["preset"]:
                    presets_of.append((conv_id, conv["preset"]))
            elif same:
                new = _add_messages(writer, found, conv["messages"], spool, files)
                if new:
                    if conv.get("updated_at"):
                        writer.touch_conversation(found, conv["updated_at"])
                    messages += new
                    updated += 1
        files.write(writer)
    notes = list(files.notes)
    if library or presets_of:
        notes += _merge_library(store, path.name, library, presets_of)
    if progress is not None:
        progress(done, done)
    return ImportReport(source=SOURCE, conversations_added=added, conversations_updated=updated,
                        messages_added=messages, skipped_empty=0, files=[path.name],
                        attachments_added=files.added, notes=notes)


def _merge_library(store: HistoryStore, file_name: str, library: list[tuple[str, Any]],
                   presets_of: list[tuple[int, str]]) -> list[str]:
    """The export's prompts and presets, by the folder import's rules (a name taken with
    other content is kept as it is, and said); then which preset each new conversation
    follows. Sentences for the report: conflicts, and items that are not what they say."""
    from chatdesk.prompt_files import FolderReport, merge_preset, merge_prompt
    from chatdesk.store.prompts import Preset, Route

    report = FolderReport()
    with store.transaction():
        for kind, item in library:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) \
                    or not item["name"].strip():
                report.skipped.append(f"A {kind[:-1]} of {file_name} has no name; it was "
                                      "left out.")
                continue
            if kind == "prompts":
                if isinstance(item.get("text"), str):
                    merge_prompt(store, file_name, item["name"], item["text"], report)
                    continue
            else:
                routes = item.get("providers") or []
                if isinstance(routes, list) and all(
                        isinstance(r, dict) and isinstance(r.get("provider"), str)
                        for r in routes):
                    temperature, max_tokens = item.get("temperature"), item.get("max_tokens")
                    merge_preset(store, file_name, Preset(
                        0, item["name"], item.get("system_prompt") or None,
                        tuple(Route(r["provider"], r.get("model") or None) for r in routes),
                        float(temperature) if isinstance(temperature, int | float) else None,
                        max_tokens if isinstance(max_tokens, int) else None, "", ""), report)
                    continue
            report.skipped.append(f"The {kind[:-1]} {item['name']!r} of {file_name} is not "
                                  "readable; it was left out.")
        for conversation_id, name in presets_of:
            store.set_conversation_preset(conversation_id, name)
    return report.conflicts + report.skipped
