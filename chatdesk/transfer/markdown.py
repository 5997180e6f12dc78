"""Markdown export: one `.md` file per conversation, readable as it is and in any editor."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from chatdesk import wording
from chatdesk.events import AttemptFailed
from chatdesk.store import Attempt, Conversation, HistoryStore, MessageStatus, StoredMessage
from chatdesk.transfer.native import ExportSummary, Progress, load, open_output

ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System", "tool": "Tool"}
SOURCE_NAMES = {"chatgpt": "ChatGPT", "claude": "Claude", "chatdesk": "a chatdesk export"}
_SLUG_DROP = re.compile(r"[^\w]+")
SLUG_LENGTH = 50


def slug(title: str | None) -> str:
    """A file-name-safe form of a title: lower case, words joined by '-', 'untitled' if none."""
    words = _SLUG_DROP.sub("-", (title or "").lower()).replace("_", "-").strip("-")
    words = re.sub("-{2,}", "-", words)[:SLUG_LENGTH].rstrip("-")
    return words or "untitled"


def markdown_filename(conv: Conversation) -> str:
    return f"{conv.id:05d}-{slug(conv.title)}.md"


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
                          messages: list[StoredMessage]) -> str:
    """The conversation's main line as Markdown; message text is kept exactly as written."""
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
        lines.append(m.content if m.content.strip() else "*(no text)*")
    return "\n".join(lines).rstrip("\n") + "\n"


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def export_markdown(store: HistoryStore, ids: Sequence[int], output: str,
                    progress: Progress | None = None) -> ExportSummary:
    """One conversation with `--output x.md` (or `-`) → that file; otherwise a folder of
    `{id:05d}-{slug}.md` files (created if needed; files of the same names are replaced)."""
    target = Path(output).expanduser()
    single = len(ids) == 1 and (output == "-" or (target.suffix.lower() == ".md"
                                                  and not target.is_dir()))
    if not single:
        target.mkdir(parents=True, exist_ok=True)
    count = 0
    for n, id in enumerate(ids):
        conv, messages = load(store, id)
        path = None if output == "-" else target if single else target / markdown_filename(conv)
        with open_output(path) as out:
            out.write(conversation_markdown(store, conv, messages))
        count += sum(1 for m in messages if not m.is_alternate)
        if progress:
            progress(n + 1, len(ids))
    return ExportSummary(len(ids), count, None if output == "-" else target)
