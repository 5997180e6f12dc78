"""Reading DeepSeek's data export (conversations.json: a `mapping` tree of `fragments`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatdesk.transfer.common import (
    ImportedConversation,
    RawNode,
    SideOutcome,
    first_user_title,
    flatten,
    iso_from_text,
    sources_list,
)
from chatdesk.transfer.export_stream import ExportFiles, ExportReader
from chatdesk.transfer.formats import why_not
from chatdesk.transfer.shapes import as_list, as_text

# The fragment kinds of an answer (2025–2026); REQUEST is the person's turn, FILE a file
# they gave. The kinds that carry no text (SEARCH and the tool steps) carry `results`.
_ANSWER_KINDS = frozenset({"RESPONSE", "THINK", "SEARCH", "TOOL_SEARCH", "TOOL_OPEN"})
_NO_TEXT_KINDS = frozenset({"SEARCH", "TOOL_SEARCH", "TOOL_OPEN", "FILE"})
# An answer marks the page it cites with the page's `cite_index`: "[citation:3]".
_CITATION = re.compile(r"\[citation:(\d+)\]")
# Beside conversations.json, the export holds the account's own details.
_ACCOUNT_FILE = "user.json"


class DeepSeekReader(ExportReader):
    """An ExportReader that also says what became of the export's other file (`side`)."""

    side: list[SideOutcome]


def read_deepseek(path: Path) -> DeepSeekReader:
    """The conversations of a DeepSeek export (.zip, folder, or conversations.json),
    streamed.

    Raises `ImportFormatError` (one line) when the export cannot be read, either here or
    while iterating. Empty conversations are yielded with no messages.
    """
    reader = DeepSeekReader(Path(path), "DeepSeek", _conversation, _foreign, single=True)
    account = any(name.rsplit("/", 1)[-1].lower() == _ACCOUNT_FILE for name in reader.others)
    reader.side = [SideOutcome(
        "account details", skipped=1,
        why="user.json describes your DeepSeek account, which chatdesk does not keep",
    )] if account else []  # fmt: skip
    return reader


def _foreign(index: int, item: dict[str, Any]) -> str | None:
    """Why `item` (the index-th of the file; 0: the whole file) is not a DeepSeek
    conversation, or None."""
    return why_not("deepseek", index, item,
                   "`mapping` of `fragments` (the messages of a DeepSeek conversation)")


def _conversation(item: dict[str, Any], _assets: ExportFiles) -> ImportedConversation:
    mapping = item.get("mapping")
    if not isinstance(mapping, dict):
        mapping = {}
    created = iso_from_text(item.get("inserted_at"))
    nodes: dict[str, RawNode] = {}
    for key, node in mapping.items():
        if not isinstance(node, dict):
            continue
        parent = node.get("parent")
        raw = RawNode(str(key), parent if isinstance(parent, str) else None, None, "", None)
        message = node.get("message")
        if isinstance(message, dict):
            _fill(raw, message)
        nodes.setdefault(raw.key, raw)
    # The export names no current branch: the newest leaf ends the main line.
    messages = flatten(nodes, None, created)
    title = as_text(item.get("title")).strip() or first_user_title(messages)
    source_id = as_text(item.get("id")) or f"untitled-{item.get('inserted_at')}-{title}"
    return ImportedConversation(
        source_id=source_id,
        title=title,
        created_at=created or (messages[0].created_at if messages else None),
        updated_at=iso_from_text(item.get("updated_at")),
        messages=messages,
    )


@dataclass
class _Turn:
    """What one message's fragments say: its text, thinking, pages and files."""

    texts: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # names, each once
    kinds: set[str] = field(default_factory=set)

    def add_file(self, name: str) -> None:
        if name and name not in self.files:
            self.files.append(name)


def _fill(raw: RawNode, message: dict[str, Any]) -> None:
    """Role, text, reasoning, time, model and files of a node from its message; a message
    with nothing to show keeps role None (its children hang from its parent)."""
    raw.created_at = iso_from_text(message.get("inserted_at"))
    turn = _Turn()
    for fragment in as_list(message.get("fragments")):
        if isinstance(fragment, dict):
            _fragment(fragment, turn)
    for file in as_list(message.get("files")):  # the message's own list: {id, file_name}
        if isinstance(file, dict):
            turn.add_file(as_text(file.get("file_name")).strip())
    if "REQUEST" in turn.kinds or (turn.files and not turn.kinds & _ANSWER_KINDS):
        raw.role = "user"
        placeholders = [f"[file: {name}]" for name in turn.files]
        raw.content = "\n\n".join(p for p in (*placeholders, *turn.texts) if p.strip())
        raw.missing_files = len(turn.files)  # the export holds names, never the bytes
        return
    if not (turn.texts or turn.thinking or turn.results or turn.kinds & _ANSWER_KINDS):
        return
    raw.role = "assistant"
    raw.provider = "deepseek"
    raw.model = as_text(message.get("model")).strip() or None
    raw.reasoning = "\n\n".join(t for t in turn.thinking if t.strip()) or None
    text, links = _cited("\n\n".join(t for t in turn.texts if t.strip()), turn.results)
    raw.content = "\n\n".join(p for p in (text, sources_list(links)) if p)


def _fragment(fragment: dict[str, Any], turn: _Turn) -> None:
    kind = as_text(fragment.get("type")).upper()
    turn.kinds.add(kind)
    content = as_text(fragment.get("content"))
    if kind == "THINK":
        turn.thinking.append(content.strip())
    elif kind not in _NO_TEXT_KINDS and content.strip():
        turn.texts.append(content.strip("\n"))  # REQUEST, RESPONSE, and kinds unknown here
    turn.results += [r for r in as_list(fragment.get("results")) if isinstance(r, dict)]
    for file in as_list(fragment.get("files")):  # a FILE fragment's: {file_id, file_name}
        if isinstance(file, dict):
            turn.add_file(as_text(file.get("file_name")).strip())


def _cited(text: str, results: list[dict[str, Any]]) -> tuple[str, list[tuple[str, str]]]:
    """The answer with each `[citation:N]` a link to the page it names, and the pages for
    its Sources: the cited ones by their number, or (when it numbers none) every page the
    search found."""
    by_index: dict[int, tuple[str, str]] = {}
    found: list[tuple[str, str]] = []
    for result in results:
        url = as_text(result.get("url")).strip()
        if not url:
            continue
        page = (as_text(result.get("title")) or as_text(result.get("site_name")), url)
        found.append(page)
        number = _number(result.get("cite_index"))
        if number is not None:
            by_index.setdefault(number, page)

    def linked(match: re.Match[str]) -> str:
        cited = by_index.get(int(match.group(1)))
        return f"[{match.group(1)}]({cited[1]})" if cited else match.group(0)

    if by_index:
        return _CITATION.sub(linked, text), [by_index[n] for n in sorted(by_index)]
    return text, found


def _number(value: Any) -> int | None:
    """A `cite_index` (written 3 or 3.0), or None when there is none."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None
