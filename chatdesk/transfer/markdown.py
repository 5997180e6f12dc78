"""Markdown export: one `.md` file per conversation, readable as it is and in any editor."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

from chatdesk import wording
from chatdesk.events import AttemptFailed
from chatdesk.parts import AttachmentInfo, PartKind
from chatdesk.paths import private_opener
from chatdesk.store import Attempt, Conversation, HistoryStore, MessageStatus, StoredMessage
from chatdesk.transfer.native import ExportSummary, Progress, load, open_output

ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System", "tool": "Tool"}
SOURCE_NAMES = {"chatgpt": "ChatGPT", "claude": "Claude", "chatdesk": "a chatdesk export"}
_SLUG_DROP = re.compile(r"[^\w]+")
SLUG_LENGTH = 50
# What no file name may hold on any system: separators, control characters, and what
# Windows refuses (a name's own "..", "." or a drive letter goes with them).
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
NAME_LENGTH = 80


def slug(title: str | None) -> str:
    """A file-name-safe form of a title: lower case, words joined by '-', 'untitled' if none."""
    words = _SLUG_DROP.sub("-", (title or "").lower()).replace("_", "-").strip("-")
    words = re.sub("-{2,}", "-", words)[:SLUG_LENGTH].rstrip("-")
    return words or "untitled"


def markdown_filename(conv: Conversation) -> str:
    return f"{conv.id:05d}-{slug(conv.title)}.md"


def safe_file_name(name: str) -> str:
    """An attachment's name as a file name that stays in its folder: no folders, no
    separators or control characters, no leading dots, at most NAME_LENGTH characters
    (the suffix kept)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if len(base) > NAME_LENGTH:
        stem, dot, suffix = base.rpartition(".")
        keep = suffix if dot and 0 < len(suffix) <= 10 else ""
        base = (base[:NAME_LENGTH - len(keep) - 1] + "." + keep) if keep else base[:NAME_LENGTH]
    return base or "attachment"


def attachment_file_name(info: AttachmentInfo) -> str:
    """`<first 12 of its SHA-256>-<its name>`: unique in the folder, the same bytes once."""
    return f"{info.sha256[:12]}-{safe_file_name(info.name)}"


def files_folder(path: Path) -> Path:
    """Where a Markdown file's attachments go: `<its name>_files` beside it."""
    return path.with_name(f"{path.stem}_files")


def _escaped(text: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", " ".join(text.split()))


def attachment_lines(infos: Iterable[AttachmentInfo], folder: str | None) -> list[str]:
    """Markdown for a message's attachments: an image shown, any other file a link, both to
    its file in `folder` (relative to the .md); None: not written (the Markdown went to
    stdout), so only their names and sizes."""
    lines = []
    for info in infos:
        label = _escaped(info.name)
        what = f"{'PDF' if info.kind is PartKind.DOCUMENT else info.media_type}, " \
            f"{wording.file_size(info.size)}"
        if folder is None:
            lines.append(f"*Attachment: {label} ({what})*")
            continue
        url = quote(f"{folder}/{attachment_file_name(info)}")
        lines.append(f"![{label}]({url})" if info.kind is PartKind.IMAGE
                     else f"[{label}]({url}) ({what})")
    return lines


def write_attachment_files(store: HistoryStore, infos: Iterable[AttachmentInfo],
                           folder: Path) -> int:
    """Write each file once into `folder` (created when there is one), one file's bytes
    read at a time; a file already there with the same name and size is kept. Returns how
    many files the folder holds for these attachments."""
    written: set[str] = set()
    for info in infos:
        name = attachment_file_name(info)
        if name in written:
            continue
        written.add(name)
        target = folder / name
        if target.is_file() and target.stat().st_size == info.size:
            continue
        data = store.attachment_data(info.sha256)
        if data is None:  # deleted while exporting
            written.discard(name)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{os.getpid()}.part"
        try:
            with open(tmp, "wb", opener=private_opener) as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return len(written)


def when(iso: str | None) -> str:
    """'2026-11-25T15:11:52.123+00:00' → '2026-11-25 15:11 UTC'."""
    if not iso:
        return "?"
    return f"{iso[:10]} {iso[11:16]} UTC" if len(iso) >= 16 else iso


def failed_attempt_line(attempt: Attempt) -> str | None:
    """'anthropic failed after 12 words: overloaded (529)' for an attempt that did not finish."""
    if attempt.outcome == "cancelled":
        return f"{attempt.provider}: stopped by you"
    if attempt.outcome != "failed":
        return None
    return AttemptFailed(attempt.provider, attempt.model or "", attempt.error_class or "error",
                         attempt.error_message or "", attempt.http_status,
                         attempt.streamed_text or "").summary()


def message_heading(m: StoredMessage) -> str:
    """'Assistant · anthropic · claude-sonnet-4-5 [partial]' — who wrote it and how it ended
    ('Output' or 'Result of web search' for a tool turn)."""
    parts = [ROLE_NAMES.get(m.role, m.role.title())]
    if m.role == "tool":  # what the tool gave back: "Output", "Result of web search"
        parts = [wording.tool_heading(m.model)]
    elif m.role == "assistant":
        parts += [p for p in (m.provider, m.model) if p]
    status = "" if m.status == MessageStatus.COMPLETE else f" [{m.status}]"
    return " · ".join(parts) + status


def conversation_markdown(store: HistoryStore, conv: Conversation,
                          messages: list[StoredMessage], folder: str | None = None) -> str:
    """The conversation's main line as Markdown; message text is kept exactly as written,
    each message's attachments after it, linked into `folder` (see attachment_lines)."""
    infos = store.attachment_infos(m.id for m in messages if not m.is_alternate)
    lines = [f"# {_one_line(conv.title) or '(untitled)'}", "",
             f"- Created: {when(conv.created_at)}",
             f"- Updated: {when(conv.updated_at)}",
             f"- Conversation: {conv.id} (`chatdesk history show {conv.id}`)"]
    if conv.source:
        lines.append(f"- Imported from: {SOURCE_NAMES.get(conv.source, conv.source)}")
    if conv.system_prompt:
        lines += ["", "**System prompt:**", ""]
        lines += [f"> {line}" if line else ">" for line in conv.system_prompt.splitlines()]
    for m in messages:
        if m.is_alternate:
            continue
        lines += ["", "---", "", f"## {message_heading(m)}", "", f"*{when(m.created_at)}*", ""]
        if m.role == "assistant":
            notes = [n for n in map(failed_attempt_line, store.attempts(m.id)) if n]
            lines += [f"> {note}" for note in notes] + ([""] if notes else [])
        files = attachment_lines(infos.get(m.id, ()), folder)
        if m.content.strip() or not files:
            lines.append(m.content if m.content.strip() else "*(no text)*")
        lines += [""] + files if m.content.strip() and files else files
    return "\n".join(lines).rstrip("\n") + "\n"


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def export_markdown(store: HistoryStore, ids: Sequence[int], output: str,
                    progress: Progress | None = None) -> ExportSummary:
    """One conversation with `--output x.md` (or `-`) → that file; otherwise a folder of
    `{id:05d}-{slug}.md` files (created if needed; files of the same names are replaced).
    Attachments go into a `<file name>_files` folder beside each .md (not with `-`)."""
    target = Path(output).expanduser()
    single = len(ids) == 1 and (output == "-" or (target.suffix.lower() == ".md"
                                                  and not target.is_dir()))
    if not single:
        target.mkdir(parents=True, exist_ok=True)
    count = 0
    for n, id in enumerate(ids):
        conv, messages = load(store, id)
        path = None if output == "-" else target if single else target / markdown_filename(conv)
        folder = None
        if path is not None:
            folder = files_folder(path)
            shown = store.attachment_infos(m.id for m in messages if not m.is_alternate)
            write_attachment_files(store, (i for infos in shown.values() for i in infos),
                                   folder)
        with open_output(path) as out:
            out.write(conversation_markdown(store, conv, messages,
                                            folder.name if folder is not None else None))
        count += sum(1 for m in messages if not m.is_alternate)
        if progress:
            progress(n + 1, len(ids))
    return ExportSummary(len(ids), count, None if output == "-" else target)
