"""One Open WebUI message as chatdesk keeps it: its `<details>` blocks, sources and files."""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import tempfile
from collections.abc import Callable
from typing import IO, Any

from chatdesk import wording
from chatdesk.attachment_files import MAX_ATTACHMENT_BYTES, AttachmentError, attachment_from_bytes
from chatdesk.parts import Attachment
from chatdesk.transfer.common import (
    ImportedAttachment,
    MessageParts,
    extracted_text_file,
    fence,
    quoted,
    sources_list,
)
from chatdesk.transfer.shapes import as_dict, as_list, as_text

# Open WebUI writes what is not the answer's text as <details type="…" …>…</details> in
# the content (backend/open_webui/utils/middleware.py, serialize_content_blocks); the
# attributes' values are HTML-escaped.
_DETAILS = re.compile(r"<details\b([^>]*)>(.*?)</details>", re.DOTALL | re.IGNORECASE)
_ATTR = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_SUMMARY = re.compile(r"^\s*<summary>(.*?)</summary>\s*", re.DOTALL | re.IGNORECASE)
# A model's own thinking tags, left in the text when Open WebUI did not parse them.
_THINK = re.compile(r"^\s*<(think|thinking|reason|reasoning|thought)>(.*?)</\1>\s*",
                    re.DOTALL | re.IGNORECASE)
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?(;base64)?,(.*)", re.DOTALL)


class Spool:
    """The bytes of the images an export holds inline (data URLs), kept in a temporary
    file until their messages are stored, so an import never holds them all in memory."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._end = 0

    def keep(self, data: bytes) -> Callable[[], bytes]:
        """Keep `data` (what is past the attachment limit only to say it is too large);
        returns how to read it back."""
        if self._file is None:
            self._file = tempfile.TemporaryFile()
        data = data[: MAX_ATTACHMENT_BYTES + 1]
        start, file = self._end, self._file
        file.seek(start)
        file.write(data)
        self._end += len(data)

        def read() -> bytes:
            file.seek(start)
            return file.read(len(data))

        return read

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def message_parts(message: dict[str, Any], spool: Spool) -> MessageParts:
    """The text (reasoning taken out, tool calls and code readable, sources listed at the
    end), the reasoning, and the files of one message of `history.messages`."""
    parts = MessageParts()
    text, thoughts = _split(as_text(message.get("content")))
    placeholders: list[str] = []
    for item in as_list(message.get("files")):
        if isinstance(item, dict):
            attachment, name = _file(item, spool)
            if attachment is not None:
                parts.attachments.append(attachment)
            elif name:
                placeholders.append(f"[file: {name}]")
                parts.missing_files += 1
    error = message.get("error")
    if not text.strip() and isinstance(error, dict) and as_text(error.get("content")).strip():
        text = quoted(as_text(error.get("content")), "Error")
    pieces = [p for p in (text.strip(), "\n".join(placeholders),
                          sources_list(_links(message))) if p]
    parts.content = "\n\n".join(pieces)
    parts.reasoning = "\n\n".join(thoughts) or None
    return parts


def _split(content: str) -> tuple[str, list[str]]:
    """The content without its <details> blocks (tool calls and code put back as Markdown)
    and the thoughts of its reasoning blocks, in order."""
    thoughts: list[str] = []
    think = _THINK.match(content)
    if think:
        thoughts.append(think.group(2).strip())
        content = content[think.end():]
    out: list[str] = []
    at = 0
    for match in _DETAILS.finditer(content):
        out.append(_trim(content[at:match.start()]))
        at = match.end()
        attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(match.group(1))}
        inner = match.group(2)
        summary = _SUMMARY.match(inner)
        body = inner[summary.end():] if summary else inner
        kind = attrs.get("type", "")
        if kind == "reasoning":
            if thought := _unquote(body):
                thoughts.append(thought)
        elif kind == "tool_calls":
            out.append(_tool_call(attrs))
        elif kind == "code_interpreter":
            out.append(_code(body, attrs))
        elif body.strip():  # another kind (a filter's status…): kept as a quote
            title = html.unescape(summary.group(1)).strip() if summary else ""
            out.append(quoted(html.unescape(body), title or "Details"))
    out.append(_trim(content[at:]))
    return "\n\n".join(p for p in out if p), thoughts


def _trim(text: str) -> str:
    """A piece of the text without its blank lines at the start and space at the end (the
    first line's indent is kept: it can make a code block)."""
    return re.sub(r"^(?:[ \t]*\n)+", "", text).rstrip()


def _unquote(body: str) -> str:
    """Thoughts as Open WebUI shows them (each line quoted with `> `, HTML-escaped in newer
    versions) as plain text."""
    lines = []
    for line in html.unescape(body).strip("\n").splitlines():
        stripped = line.lstrip()
        if stripped.startswith(">"):
            stripped = stripped[1:]
            stripped = stripped[1:] if stripped.startswith(" ") else stripped
        lines.append(stripped.rstrip())
    return "\n".join(lines).strip()


def _json_value(text: str) -> Any:
    """A JSON-encoded attribute's value (Open WebUI json.dumps it); the text if it is not."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _tool_call(attrs: dict[str, str]) -> str:
    name = attrs.get("name", "").strip() or "tool"
    args = _json_value(attrs.get("arguments", ""))
    if isinstance(args, str):  # the model's arguments: a JSON text of their own
        args = _json_value(args) if args.strip() else {}
    body = args if isinstance(args, str) else json.dumps(args, indent=2, ensure_ascii=False)
    out = f"**Tool call: {name}**\n\n" + fence(body, "json")
    if "result" in attrs:
        result = _json_value(attrs["result"])
        if not isinstance(result, str):
            result = json.dumps(result, indent=2, ensure_ascii=False)
        if result.strip():
            out += f"\n\n**Result of {name}**\n\n" + fence(result, "output")
    return out


def _code(body: str, attrs: dict[str, str]) -> str:
    """The code interpreter's code (already fenced in the block) and its output."""
    out = "**Code interpreter**\n\n" + html.unescape(body).strip()
    output = _json_value(attrs.get("output", ""))
    if isinstance(output, dict):
        said = [as_text(output.get(k)).strip() for k in ("stdout", "result", "stderr")]
        output = "\n".join(s for s in said if s)
    if isinstance(output, str) and output.strip():
        out += "\n\n**Output**\n\n" + fence(output, "output")
    return out


def _links(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, url) of every web page the answer cites (`sources`, `citations` before)."""
    links: list[tuple[str, str]] = []
    for key in ("sources", "citations"):
        for source in as_list(message.get(key)):
            if not isinstance(source, dict):
                continue
            about = as_dict(source.get("source"))
            metas = [m for m in as_list(source.get("metadata")) if isinstance(m, dict)] or [{}]
            for meta in metas:
                url = next((u for u in (meta.get("source_url"), meta.get("url"),
                                        meta.get("source"), about.get("url"), about.get("id"))
                            if _is_http(u)), "")
                title = (as_text(meta.get("title")) or as_text(meta.get("name"))
                         or as_text(about.get("name")))
                if url:
                    links.append((title if title != url else "", url))
    return links


def _is_http(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _file(item: dict[str, Any], spool: Spool) -> tuple[ImportedAttachment | None, str]:
    """A file of the message: an image whose bytes the export holds (a data URL), or an
    upload's extracted text; else (None, its name) for a placeholder."""
    inner = as_dict(item.get("file"))
    meta = as_dict(inner.get("meta"))
    url = as_text(item.get("url"))
    name = (as_text(item.get("name")) or as_text(meta.get("name")) or as_text(inner.get("filename"))
            or ("image" if item.get("type") == "image" else "")).strip()
    if (found := _data_url(url)) is not None:
        media_type, data = found
        if not name or name == "image":
            name = f"image.{media_type.rsplit('/', 1)[-1].split('+')[0]}"
        return _bytes_attachment(name, spool.keep(data)), name
    data_part = as_dict(inner.get("data"))
    extracted = as_text(data_part.get("content"))
    if extracted.strip():
        return extracted_text_file(name or "file.txt", extracted), name
    return None, name or "file"


def _data_url(url: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of a base64 data URL; None for any other URL (a server path)."""
    match = _DATA_URL.fullmatch(url.strip()) if url.startswith("data:") else None
    if match is None or not match.group(2):
        return None
    try:
        return match.group(1) or "image/png", base64.b64decode(match.group(3))
    except (binascii.Error, ValueError):
        return None


def _bytes_attachment(name: str, read: Callable[[], bytes]) -> ImportedAttachment:
    def load() -> Attachment:
        try:
            data = read()
        except (OSError, ValueError):  # the temporary file is gone (the import ended)
            raise AttachmentError(wording.attachment_unreadable(
                name, "it could not be read back")) from None
        return attachment_from_bytes(name, data)

    return ImportedAttachment(name, load)


