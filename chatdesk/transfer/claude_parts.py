"""A Claude message's parts: its text, documents (artifacts), reasoning and attachments."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from chatdesk import wording
from chatdesk.transfer.common import (
    ImportedAttachment,
    MessageParts,
    document,
    extracted_text_file,
    fence,
    sources_list,
)
from chatdesk.transfer.shapes import as_list, as_text

# The language a document's text is fenced in, by its artifact type (code names its own).
_FENCE_OF_TYPE = {
    "text/markdown": "markdown",
    "text/html": "html",
    "application/vnd.ant.html": "html",
    "image/svg+xml": "svg",
    "application/vnd.ant.mermaid": "mermaid",
    "application/vnd.ant.react": "jsx",
}
# Files Claude writes with `create_file` (2026): the fence by the name's extension.
_FENCE_OF_EXTENSION = {
    "py": "python", "js": "javascript", "ts": "typescript", "md": "markdown",
    "htm": "html", "sh": "bash", "yml": "yaml", "txt": None,
}  # fmt: skip
# The tools whose calls write a document; their results ("OK", "File created") are not shown.
_DOCUMENT_TOOLS = {"artifacts", "create_file", "str_replace"}
# Old answers (2024) carry their thinking and artifacts as tags in the text.
_TAG = re.compile(
    r"<antThinking>(?P<thinking>.*?)(?:</antThinking>|\Z)"
    r"|<antArtifact\b(?P<attrs>[^>]*)>(?P<body>.*?)(?:</antArtifact>|\Z)",
    re.DOTALL,
)
_ATTRIBUTE = re.compile(r'([\w-]+)\s*=\s*"([^"]*)"')


@dataclass
class _Version:
    name: str
    fence: str | None
    text: str
    number: int


@dataclass
class Documents:
    """The documents of one conversation so far, by id: a repeated id is a later version."""

    latest: dict[str, _Version] = field(default_factory=dict)

    def write(self, key: str, name: str | None, fence_as: str | None, text: str | None,
              edit: tuple[str, str] | None = None) -> str:
        """The next version of document `key` as the transcript shows it: `text`, or the
        last version with `edit` (old, new) applied (shown as a diff if it cannot be)."""
        last = self.latest.get(key)
        name = name or (last.name if last else "") or key
        fence_as = fence_as or (last.fence if last else None)
        number = last.number + 1 if last else 1
        if edit is not None:
            old, new = edit
            if last is not None and old and old in last.text:
                text = last.text.replace(old, new, 1)
            else:  # an edit of a version the export does not hold: say what changed
                diff = "\n".join([*(f"- {line}" for line in old.splitlines()),
                                  *(f"+ {line}" for line in new.splitlines())])
                if last is not None:
                    self.latest[key] = _Version(name, fence_as, last.text, number)
                return document(name, "diff", diff, number)
        self.latest[key] = _Version(name, fence_as, text or "", number)
        return document(name, fence_as, text or "", number)


@dataclass
class _Seen:
    """What a message's blocks say beside their text: thinking, and the pages cited."""

    thinking: list[str] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)  # urls, in the order cited
    titles: dict[str, str] = field(default_factory=dict)  # url -> title (search results)


def message_parts(msg: dict[str, Any], assistant: bool, docs: Documents) -> MessageParts:
    """The message's blocks (or, with none that say anything, its plain `text`), its
    attachments (the text Claude extracted from each upload, as a text file) and how many
    files it names that the export does not hold (a placeholder in the text says each)."""
    seen = _Seen()
    pieces: list[str] = []
    follows_text = False
    for block in as_list(msg.get("content")):
        if not isinstance(block, dict):
            continue
        piece = _block(block, assistant, docs, seen)
        is_text = block.get("type") == "text"
        if is_text and follows_text:  # a text split where it cites a page: one text again
            pieces[-1] += piece
        else:
            pieces.append(piece)
        follows_text = is_text
    if not any(p.strip() for p in pieces) and not seen.thinking:
        text = as_text(msg.get("text"))
        pieces = [_tags(text, docs, seen.thinking) if assistant else text]
    pieces.append(sources_list([(seen.titles.get(url, ""), url) for url in seen.cited]))
    found: list[ImportedAttachment] = []
    missing = 0
    kept: set[str] = set()
    for attachment in as_list(msg.get("attachments")):
        if isinstance(attachment, dict):
            part = _attachment(attachment)
            name = as_text(attachment.get("file_name")).strip()
            if part is None:
                pieces.append(f"[attachment: {name or 'file'}]")
                missing += 1
            else:
                found.append(part)
            kept.add(name)
    names: list[str] = []
    for key in ("files", "files_v2"):
        for file in as_list(msg.get(key)):
            name = as_text(file.get("file_name")).strip() if isinstance(file, dict) else ""
            # an upload is listed in `files` too when its text is in `attachments`
            if name and name not in names and name not in kept:
                names.append(name)
    pieces += [f"[file: {name}]" for name in names]
    reasoning = "\n\n".join(t for t in seen.thinking if t.strip()) or None
    return MessageParts("\n\n".join(p.strip("\n") for p in pieces if p.strip()), reasoning, found,
                 missing + len(names))


def _block(block: dict[str, Any], assistant: bool, docs: Documents, seen: _Seen) -> str:
    kind = block.get("type")
    if kind == "text":
        text = as_text(block.get("text"))
        if not assistant:
            return text
        for citation in as_list(block.get("citations")):
            _cite(citation, seen)
        return _tags(text, docs, seen.thinking)
    if kind == "thinking":
        text = as_text(block.get("thinking")).strip()
        if not text:  # some exports keep only the summaries of the thinking
            summaries = as_list(block.get("summaries"))
            text = "\n\n".join(as_text(s.get("summary")) for s in summaries if isinstance(s, dict))
        seen.thinking.append(text)
        return ""
    if kind == "tool_use":
        name, args = as_text(block.get("name")), block.get("input")
        if isinstance(args, dict) and name in _DOCUMENT_TOOLS:
            written = _document_call(name, args, docs)
            if written is not None:
                return written
        return _tool_use(name, args)
    if kind == "tool_result":
        tool = as_text(block.get("name")) or None
        if tool in _DOCUMENT_TOOLS:
            return ""  # "OK" / "File created": the document above says it all
        heading = (wording.tool_error_heading(tool) if block.get("is_error")
                   else wording.tool_heading(tool))
        for item in as_list(block.get("content")):
            if isinstance(item, dict) and as_text(item.get("url")):
                seen.titles.setdefault(item["url"], as_text(item.get("title")))
        body = _tool_output(block.get("content"))
        return f"**{heading}**\n\n{body}" if body.strip() else f"**{heading}**"
    return as_text(block.get("text"))  # unknown block types: keep any text they have


def _cite(citation: Any, seen: _Seen) -> None:
    """Note the page a citation of a text block names (`details.url` in exports, `url` and
    `title` in the API's shape)."""
    if not isinstance(citation, dict):
        return
    details = citation.get("details")
    url = as_text(citation.get("url")) or (
        as_text(details.get("url")) if isinstance(details, dict) else "")
    if url:
        seen.cited.append(url)
        if title := as_text(citation.get("title")).strip():
            seen.titles.setdefault(url, title)


def _tags(text: str, docs: Documents, thinking: list[str]) -> str:
    """An answer's text with its `<antThinking>` taken out (into `thinking`) and each
    `<antArtifact>` written as the document it is."""
    if "<ant" not in text:
        return text
    out: list[str] = []
    start = 0
    for match in _TAG.finditer(text):
        out.append(text[start:match.start()])
        start = match.end()
        if match.group("thinking") is not None:
            thinking.append(match.group("thinking").strip())
            continue
        attrs = dict(_ATTRIBUTE.findall(match.group("attrs")))
        key = attrs.get("identifier") or attrs.get("id") or attrs.get("title") or "artifact"
        out.append(docs.write(key, attrs.get("title"),
                              _fence_of(attrs.get("type"), attrs.get("language")),
                              match.group("body").strip("\n")))
    out.append(text[start:])
    return "\n\n".join(p.strip("\n") for p in out if p.strip())


def _document_call(name: str, args: dict[str, Any], docs: Documents) -> str | None:
    """The document a call of `artifacts` (create / update / rewrite) or of `create_file` /
    `str_replace` (files, 2026) writes; None when the call writes none."""
    if name == "artifacts":
        key = as_text(args.get("id")) or as_text(args.get("title"))
        if not key:
            return None
        if as_text(args.get("command")) == "update":
            edit = (as_text(args.get("old_str")), as_text(args.get("new_str")))
            return docs.write(key, as_text(args.get("title")) or None,
                              _fence_of(args.get("type"), args.get("language")), None, edit)
        content = args.get("content")
        if not isinstance(content, str):
            return None
        return docs.write(key, as_text(args.get("title")) or None,
                          _fence_of(args.get("type"), args.get("language")), content)
    path = as_text(args.get("path"))
    if not path:
        return None
    base = path.rstrip("/").rsplit("/", 1)[-1]
    extension = base.rsplit(".", 1)[-1].lower() if "." in base else ""
    fence_as = _FENCE_OF_EXTENSION.get(extension, extension or None)
    if name == "create_file" and isinstance(args.get("file_text"), str):
        return docs.write(path, base, fence_as, args["file_text"])
    if name == "str_replace" and path in docs.latest:
        edit = (as_text(args.get("old_str")), as_text(args.get("new_str")))
        return docs.write(path, base, fence_as, None, edit)
    return None


def _fence_of(kind: Any, language: Any) -> str | None:
    """The fence of an artifact of type `kind`: code in its language, the others by type."""
    if isinstance(kind, str) and kind in _FENCE_OF_TYPE:
        return _FENCE_OF_TYPE[kind]
    return (language.strip() or None) if isinstance(language, str) else None


def _tool_use(name: str, args: Any) -> str:
    """A tool call: code the tool runs as code in its language (claude.ai's analysis tool,
    `repl`, runs JavaScript), anything else as its JSON input."""
    if isinstance(args, dict):
        code = args.get("code") if isinstance(args.get("code"), str) else None
        language = as_text(args.get("language")) or ("javascript" if name == "repl" else None)
        if code is not None and code.strip():
            title = as_text(args.get("title"))
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
        url, title = as_text(item.get("url")), as_text(item.get("title"))
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
    name = as_text(attachment.get("file_name")).strip() or "attachment.txt"
    extracted = as_text(attachment.get("extracted_content"))
    if not extracted.strip():
        return None
    return extracted_text_file(name, extracted)
