"""Reading Claude's data export (conversations.json: conversations with chat_messages)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chatdesk import wording
from chatdesk.attachment_files import AttachmentError, attachment_from_bytes
from chatdesk.parts import Attachment, PartKind
from chatdesk.transfer.common import (
    ImportedAttachment,
    ImportedConversation,
    RawNode,
    fence,
    first_user_title,
    flatten,
    iso_from_text,
    quoted,
)
from chatdesk.transfer.export_stream import ExportFiles, ExportReader
from chatdesk.transfer.formats import kind_of_conversation, wrong_kind

_ROLES = {"human": "user", "user": "user", "assistant": "assistant", "system": "system"}
# claude.ai marks a message with no parent (the first one) with this id.
_ROOT = "00000000-0000-4000-8000-000000000000"


def read_claude(path: Path) -> ExportReader:
    """The conversations of a Claude export (.zip, folder, or conversations.json), streamed.

    Raises `ImportFormatError` (one line) when the export cannot be read, either here or
    while iterating. Empty conversations are yielded with no messages.
    """
    return ExportReader(Path(path), "Claude", _conversation, _foreign)


def _foreign(index: int, item: dict[str, Any]) -> str | None:
    """Why `item` (the index-th of the file) is not a Claude conversation, or None."""
    found = kind_of_conversation(item)
    if found == "claude":
        return None
    if found is not None:
        return wrong_kind(found, "claude")
    which = "its conversations have" if index == 1 else f"conversation {index:,} has"
    return (f"this is not a Claude export: {which} no `chat_messages` (the messages of a "
            "Claude conversation)")


def _conversation(item: dict[str, Any], assets: ExportFiles) -> ImportedConversation:
    created = iso_from_text(item.get("created_at"))
    model = _text(item.get("model")) or None  # the official export has none: unknown
    raw_messages = [m for m in _items(item.get("chat_messages")) if isinstance(m, dict)]
    keys = [_text(m.get("uuid")) or f"#{i}" for i, m in enumerate(raw_messages)]
    known = set(keys)
    # Newer exports link each message to its parent (edits and retries make branches);
    # older ones are a plain list, each message answering the one before it.
    linked = any(m.get("parent_message_uuid") for m in raw_messages)
    nodes: dict[str, RawNode] = {}
    for i, (key, msg) in enumerate(zip(keys, raw_messages, strict=True)):
        parent: str | None
        if linked:
            link = _text(msg.get("parent_message_uuid"))
            parent = link if link in known and link != _ROOT else None
        else:
            parent = keys[i - 1] if i else None
        role = _ROLES.get(_text(msg.get("sender")))
        node = RawNode(key, parent, role, "", iso_from_text(msg.get("created_at")))
        if role is not None:
            node.content, node.attachments, node.missing_files = _content(msg)
        if role == "assistant":
            node.provider, node.model = "anthropic", model
        nodes[key] = node
    leaf = _text(item.get("current_leaf_message_uuid")) or None
    messages = flatten(nodes, leaf, created)
    title = _text(item.get("name")).strip() or first_user_title(messages)
    source_id = _text(item.get("uuid")) or f"untitled-{item.get('created_at')}-{title}"
    return ImportedConversation(
        source_id=source_id,
        title=title,
        created_at=created or (messages[0].created_at if messages else None),
        updated_at=iso_from_text(item.get("updated_at")),
        messages=messages,
    )


def _content(msg: dict[str, Any]) -> tuple[str, list[ImportedAttachment], int]:
    """The message as Markdown (its blocks, or its plain text), its attachments (the text
    Claude extracted from each upload, as a text file) and how many files it names that the
    export does not hold (`files`: a name only; a placeholder in the text says each)."""
    blocks = [b for b in _items(msg.get("content")) if isinstance(b, dict)]
    pieces = [_block(b) for b in blocks]
    if not any(p.strip() for p in pieces):
        pieces = [_text(msg.get("text"))]
    found: list[ImportedAttachment] = []
    missing = 0
    for attachment in _items(msg.get("attachments")):
        if isinstance(attachment, dict):
            part = _attachment(attachment)
            if part is None:
                pieces.append(f"[attachment: {_text(attachment.get('file_name')) or 'file'}]")
                missing += 1
            else:
                found.append(part)
    names: list[str] = []
    for key in ("files", "files_v2"):
        for file in _items(msg.get(key)):
            name = _text(file.get("file_name")) if isinstance(file, dict) else ""
            if name and name not in names:
                names.append(name)
    pieces += [f"[file: {name}]" for name in names]
    return "\n\n".join(p for p in pieces if p.strip()), found, missing + len(names)


def _block(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return _text(block.get("text"))
    if kind == "thinking":
        text = _text(block.get("thinking")).strip()
        if not text:  # some exports keep only the summaries of the thinking
            summaries = _items(block.get("summaries"))
            text = "\n\n".join(_text(s.get("summary")) for s in summaries if isinstance(s, dict))
        return quoted(text, "Thinking:") if text.strip() else ""
    if kind == "tool_use":
        return _tool_use(_text(block.get("name")), block.get("input"))
    if kind == "tool_result":
        name = _text(block.get("name")) or None
        heading = (wording.tool_error_heading(name) if block.get("is_error")
                   else wording.tool_heading(name))
        body = _tool_output(block.get("content"))
        return f"**{heading}**\n\n{body}" if body.strip() else f"**{heading}**"
    return _text(block.get("text"))  # unknown block types: keep any text they have


def _tool_use(name: str, args: Any) -> str:
    """A tool call: code the tool runs as code in its language (claude.ai's analysis tool,
    `repl`, runs JavaScript; an artifact names its own), anything else as its JSON input."""
    if isinstance(args, dict):
        code = args.get("code") if isinstance(args.get("code"), str) else None
        language = _text(args.get("language")) or ("javascript" if name == "repl" else None)
        if code is None and isinstance(args.get("content"), str) and args.get("language"):
            code = args["content"]  # an artifact of code (`artifacts`, command create)
        if code is not None and code.strip():
            title = _text(args.get("title"))
            label = f"{wording.TOOL_CODE} ({title or name})" if title or name else \
                wording.TOOL_CODE
            return f"**{label}**\n\n" + fence(code, language)
    body = json.dumps(args, indent=2, ensure_ascii=False) if args is not None else "{}"
    return f"**Tool call: {name or 'tool'}**\n\n" + fence(body, "json")


def _tool_output(content: Any) -> str:
    """A tool result: its text in a fence; search results as a list of links."""
    if isinstance(content, str):
        return fence(content, "output") if content.strip() else ""
    texts: list[str] = []
    links: list[str] = []
    for item in content if isinstance(content, list) else ():
        if not isinstance(item, dict):
            continue
        url, title = _text(item.get("url")), _text(item.get("title"))
        if url:
            links.append(f"- [{title or url}]({url})")
        elif isinstance(item.get("text"), str) and item["text"].strip():
            texts.append(item["text"])
    out = [fence("\n\n".join(texts), "output")] if texts else []
    if links:
        out.append("\n".join(links))
    return "\n\n".join(out)


def _attachment(attachment: dict[str, Any]) -> ImportedAttachment | None:
    """An upload as the text Claude extracted from it (the export holds no file bytes), a
    text file of the upload's name ("report.pdf.txt" when its name is not a text file's);
    None when there is no text."""
    name = _text(attachment.get("file_name")).strip() or "attachment.txt"
    extracted = _text(attachment.get("extracted_content"))
    if not extracted.strip():
        return None
    data = extracted.encode("utf-8")

    def load() -> Attachment:
        try:
            made = attachment_from_bytes(name, data)
        except AttachmentError:
            made = None
        if made is None or made.kind is not PartKind.TEXT_FILE:
            made = attachment_from_bytes(f"{name}.txt", data, "text/plain")
        return made

    return ImportedAttachment(name, load)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
