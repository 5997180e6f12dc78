"""A Cherry Studio message's text, thinking, sources and files (from blocks, or v0.x fields)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatdesk.transfer.common import ImportedAttachment, MessageParts, fence, quoted, sources_list
from chatdesk.transfer.shapes import as_dict, as_list, as_text

# Opens a file of the backup's Data/Files folder as an attachment named `name`, or None
# when the backup does not hold it (backed up with "skip files", or deleted since).
FileOpener = Callable[[dict[str, Any], str], ImportedAttachment | None]
# Makes an attachment of bytes the backup holds inline (a generated image as base64).
InlineFile = Callable[[str, bytes], ImportedAttachment]


@dataclass
class _Collect:
    pieces: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (title, url)
    attachments: list[ImportedAttachment] = field(default_factory=list)
    missing: int = 0

    def add(self, text: str) -> None:
        if text.strip():
            self.pieces.append(text.strip("\n"))

    def parts(self) -> MessageParts:
        text = "\n\n".join(p for p in [*self.pieces, sources_list(self.links)] if p)
        reasoning = "\n\n".join(t.strip() for t in self.thinking if t.strip()) or None
        return MessageParts(text, reasoning, self.attachments, self.missing)


def message_parts(msg: dict[str, Any], blocks: dict[str, dict[str, Any]],
                  open_file: FileOpener, inline: InlineFile) -> MessageParts:
    """The message as chatdesk keeps it. Messages since the app's database version 7 list
    the ids of their blocks (the `message_blocks` table); older ones hold `content`,
    `reasoning_content`, `files` and `metadata` themselves (what `upgradeToV7` converts)."""
    out = _Collect()
    ids = as_list(msg.get("blocks"))
    if ids:
        for ref in ids:
            block = blocks.get(ref) if isinstance(ref, str) else ref
            if isinstance(block, dict):
                _block(block, out, open_file, inline)
    else:
        _legacy(msg, out, open_file, inline)
    return out.parts()


def _block(block: dict[str, Any], out: _Collect, open_file: FileOpener,
           inline: InlineFile) -> None:
    kind = as_text(block.get("type"))
    content = block.get("content")
    if kind in ("main_text", "compact"):
        out.add(as_text(content))
    elif kind == "thinking":
        out.thinking.append(as_text(content))
    elif kind == "translation":
        target = as_text(block.get("targetLanguage"))
        heading = f"Translation ({target})" if target and target != "unknown" else "Translation"
        if as_text(content).strip():
            out.add(quoted(as_text(content), heading))
    elif kind == "code":
        if as_text(content).strip():
            out.add(fence(as_text(content), as_text(block.get("language")) or None))
    elif kind == "image":
        _image(block, out, open_file, inline)
    elif kind == "file":
        _file(block.get("file"), out, open_file, "file")
    elif kind == "video":
        url = as_text(block.get("url"))
        if url.startswith(("http://", "https://")):
            out.add(f"[Video]({url})")
        elif url or block.get("filePath"):
            out.add(f"[file: {_base(as_text(block.get('filePath')) or url) or 'video'}]")
            out.missing += 1
    elif kind == "citation":
        _citations(block.get("response"), out)
    elif kind == "tool":
        _tool(block, out)
    elif kind == "error":
        error = block.get("error")
        message = as_text(error.get("message")) if isinstance(error, dict) else ""
        out.add(quoted(message or "The answer ended with an error.", "Error"))


def _legacy(msg: dict[str, Any], out: _Collect, open_file: FileOpener,
            inline: InlineFile) -> None:
    """A message of the v0.x shape: the fields `upgradeToV7` turns into blocks, in its order."""
    out.thinking.append(as_text(msg.get("reasoning_content")))
    meta = as_dict(msg.get("metadata"))
    for tool in as_list(meta.get("mcpTools")):
        if isinstance(tool, dict):
            _tool({"toolName": (tool.get("tool") or {}).get("name")
                   if isinstance(tool.get("tool"), dict) else tool.get("id"),
                   "arguments": tool.get("arguments"), "content": tool.get("response")}, out)
    content = as_text(msg.get("content"))
    out.add(content)
    if as_text(msg.get("translatedContent")).strip():
        out.add(quoted(as_text(msg.get("translatedContent")), "Translation"))
    for item in as_list(msg.get("files")):
        _file(item, out, open_file, "image" if _is_image(item) else "file")
    if isinstance(meta.get("generateImage"), dict):
        _generated(meta["generateImage"], out, inline)
    for key in ("groundingMetadata", "annotations", "citations", "webSearch", "webSearchInfo"):
        if meta.get(key):
            _citations({"results": meta[key]}, out)
    error = msg.get("error")
    if isinstance(error, dict) and error and not content.strip():
        out.add(quoted(as_text(error.get("message")) or "The answer ended with an error.",
                       "Error"))


def _image(block: dict[str, Any], out: _Collect, open_file: FileOpener,
           inline: InlineFile) -> None:
    if isinstance(block.get("file"), dict):
        _file(block["file"], out, open_file, "image")
    url = as_text(block.get("url"))
    if url.startswith("data:"):
        data = _data_url(url)
        if data is not None:
            out.attachments.append(inline(f"image-{as_text(block.get('id'))[:8] or 1}.png", data))
    elif url.startswith(("http://", "https://")):
        out.add(f"![image]({url})")
    meta = block.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("generateImageResponse"), dict):
        _generated(meta["generateImageResponse"], out, inline)


def _generated(response: dict[str, Any], out: _Collect, inline: InlineFile) -> None:
    """A generated image response: {type: "url" | "base64", images: [...]}."""
    for i, image in enumerate(as_list(response.get("images")), 1):
        if not isinstance(image, str):
            continue
        if image.startswith(("http://", "https://")):
            out.add(f"![generated image {i}]({image})")
        else:
            data = _data_url(image) if image.startswith("data:") else _b64(image)
            if data is not None:
                out.attachments.append(inline(f"generated-{i}.png", data))


def _file(meta: Any, out: _Collect, open_file: FileOpener, what: str) -> None:
    """A FileMetadata: the file from Data/Files, or a placeholder the summary counts."""
    if not isinstance(meta, dict):
        return
    name = (as_text(meta.get("origin_name")).strip() or as_text(meta.get("name")).strip()
            or "file")
    found = open_file(meta, name)
    if found is not None:
        out.attachments.append(found)
    else:
        out.add(f"[{what}: {name}]")
        out.missing += 1


def _citations(response: Any, out: _Collect) -> None:
    """The pages a citation block's `response.results` names, in whichever provider's
    shape: a web search ({query, results: [{title, url}]}), OpenAI's annotations
    ({url_citation: {url, title}}), Gemini's grounding ({groundingChunks: [{web}]}),
    or a plain list of urls (Perplexity, OpenRouter)."""
    if not isinstance(response, dict):
        return
    results = response.get("results")
    if isinstance(results, dict):
        chunks = results.get("groundingChunks")
        results = results.get("results") if chunks is None else chunks
    for item in as_list(results):
        if isinstance(item, str):
            out.links.append(("", item))
        elif isinstance(item, dict):
            inner = item.get("url_citation") or item.get("web") or item
            if isinstance(inner, dict):
                url = as_text(inner.get("url")) or as_text(inner.get("uri")) or as_text(
                    inner.get("link"))
                if url.startswith(("http://", "https://")):
                    out.links.append((as_text(inner.get("title")), url))


def _tool(block: dict[str, Any], out: _Collect) -> None:
    name = as_text(block.get("toolName")) or "tool"
    args = block.get("arguments")
    if args:
        out.add(f"**Tool call: {name}**\n\n" + fence(
            json.dumps(args, ensure_ascii=False, indent=2), "json"))
    content = block.get("content")
    if content:
        text = content if isinstance(content, str) else json.dumps(
            content, ensure_ascii=False, indent=2)
        out.add(f"**Result of {name}**\n\n" + fence(text, None if isinstance(
            content, str) else "json"))


def _is_image(meta: Any) -> bool:
    return isinstance(meta, dict) and meta.get("type") == "image"


def _data_url(url: str) -> bytes | None:
    head, _, payload = url.partition(",")
    return _b64(payload) if head.endswith(";base64") else None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True) or None
    except (binascii.Error, ValueError):
        return None


def _base(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
