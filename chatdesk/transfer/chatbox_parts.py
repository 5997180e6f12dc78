"""A Chatbox session as chatdesk keeps it: threads and forks as one tree, each message's parts."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from chatdesk import wording
from chatdesk.attachment_files import attachment_from_bytes
from chatdesk.parts import Attachment
from chatdesk.transfer.common import (
    FileLeftOut,
    ImportedAttachment,
    ImportedConversation,
    MessageParts,
    RawNode,
    fence,
    first_user_title,
    flatten,
    iso_from_unix,
    sources_list,
)
from chatdesk.transfer.shapes import as_list, as_text

# Chatbox's provider ids (ModelProviderEnum) that are chatdesk's provider names too, or
# the same company under chatdesk's name; the others are kept as Chatbox names them.
_PROVIDERS = {"claude": "anthropic", "openai": "openai", "openai-responses": "openai",
              "gemini": "gemini", "ollama": "ollama"}
_SEARCH_TOOLS = {"web_search", "web-search", "web_browsing"}
_ROLES = {"system": "system", "user": "user", "assistant": "assistant", "tool": "tool"}


def provider_of(value: Any) -> str | None:
    """chatdesk's name of a Chatbox provider id; None for a custom endpoint or none."""
    name = as_text(value).strip()
    if not name or name.startswith("custom-provider-") or name == "custom":
        return None
    return _PROVIDERS.get(name, name)


class _Tree:
    """A session's messages as nodes: each list a line, each fork's other lists branches
    from the message they were forked at."""

    def __init__(self, session_id: str, forks: dict[str, Any]) -> None:
        self.session_id = session_id
        self.forks = forks
        self.nodes: dict[str, RawNode] = {}
        self.rank: dict[str, int] = {}  # a branch's first message: its place among them
        self.times: list[str] = []

    def line(self, messages: list[Any], parent: str | None) -> str | None:
        """Add `messages`, each answering the one before (the first `parent`), then the
        branches forked from them (each a line from the message it was forked at, after the
        line shown, which wins a message id both hold); returns the last message's key (or
        `parent` if there are none). A loop, not recursion: forks may nest deep."""
        last = parent
        pending: list[tuple[list[Any], str | None, int]] = [(messages, parent, 0)]
        first = True
        while pending:
            items, at, rank = pending.pop()
            forked: list[tuple[list[Any], str | None, int]] = []
            for msg in items:
                if not isinstance(msg, dict):
                    continue
                key = as_text(msg.get("id")) or f"{self.session_id}#{len(self.nodes)}"
                if key in self.nodes:
                    continue  # the same message twice: the first place wins
                self.nodes[key] = self._node(key, at, msg)
                self.rank[key], rank = rank, 0
                fork = self.forks.get(key)
                if isinstance(fork, dict):  # the other answers (and what followed them)
                    lists = [b for b in as_list(fork.get("lists")) if isinstance(b, dict)]
                    shown = fork.get("position")
                    rank = shown if isinstance(shown, int) and 0 <= shown < len(lists) else 0
                    forked += [(as_list(b.get("messages")), key, i) for i, b in enumerate(lists)
                               if i != rank or b.get("messages")]
                at = key
            if first:
                last, first = at, False
            pending += reversed(forked)
        return last

    def ordered(self) -> dict[str, RawNode]:
        """The nodes with the answers forked at one message in Chatbox's order (its fork
        lists', the one shown among them at its `position`)."""
        keys = sorted(self.nodes, key=lambda k: self.rank.get(k, 0))  # stable
        return {k: self.nodes[k] for k in keys}

    def _node(self, key: str, parent: str | None, msg: dict[str, Any]) -> RawNode:
        role = _ROLES.get(as_text(msg.get("role")))
        stamp = msg.get("timestamp")
        when = iso_from_unix(stamp / 1000) if isinstance(stamp, int | float) and not \
            isinstance(stamp, bool) else None
        if when:
            self.times.append(when)
        node = RawNode(key, parent, role, "", when)
        if role is None:
            return node
        parts = message_parts(msg)
        node.content, node.reasoning = parts.content, parts.reasoning
        node.attachments, node.missing_files = parts.attachments, parts.missing_files
        if role in ("assistant", "tool"):
            model = as_text(msg.get("model")).strip()
            node.model = model if model and model != "unknown" else None
            node.provider = provider_of(msg.get("aiProvider"))
        return node


def conversation(session: dict[str, Any], copilots: dict[str, str]) -> ImportedConversation:
    session_id = as_text(session.get("id")) or f"untitled-{as_text(session.get('name'))}"
    forks = session.get("messageForksHash")
    tree = _Tree(session_id, forks if isinstance(forks, dict) else {})
    leaf: str | None = None
    thread_times: list[str] = []
    for thread in as_list(session.get("threads")):  # older topics first, as Chatbox shows
        if isinstance(thread, dict):
            leaf = tree.line(as_list(thread.get("messages")), leaf)
            created = thread.get("createdAt")
            if isinstance(created, int | float) and not isinstance(created, bool):
                thread_times.append(iso_from_unix(created / 1000) or "")
    leaf = tree.line(as_list(session.get("messages")), leaf)
    has_words = any(n.role in ("user", "assistant", "tool") for n in tree.nodes.values())
    start = min(tree.times, default=None) or min((t for t in thread_times if t), default=None)
    messages = flatten(tree.ordered(), leaf, start) if has_words else []
    if messages and not any(m.role != "system" for m in messages):
        messages = []  # only a system prompt: nothing was said
    name = as_text(session.get("name")).strip()
    # "Untitled" is the name Chatbox gives a new chat until it names it (Header.tsx)
    title = name if name and name != "Untitled" else first_user_title(messages)
    return ImportedConversation(
        source_id=session_id,
        title=title,
        created_at=start,
        updated_at=max(tree.times, default=None),
        messages=messages,
        preset=copilots.get(as_text(session.get("copilotId"))),
    )


def message_parts(msg: dict[str, Any]) -> MessageParts:
    """The text, thinking and files of a Chatbox message of any version: `contentParts`
    (1.10 on) or `content` + `pictures` (before; also when the parts hold only the "..."
    placeholder Chatbox writes while an answer starts), `webBrowsing` (1.9) and
    `reasoningContent` (before thinking became a part)."""
    out = MessageParts()
    pieces: list[str] = []
    thinking: list[str] = []
    links: list[tuple[str, str]] = []
    pictures = 0
    parts = [p for p in as_list(msg.get("contentParts")) if isinstance(p, dict)]
    texts = "".join(as_text(p.get("text")) for p in parts if p.get("type") == "text").strip()
    if (not parts or not texts or texts == "...") and isinstance(msg.get("content"), str):
        parts = [p for p in parts if p.get("type") not in ("text", "image")]
        parts.insert(0, {"type": "text", "text": msg["content"]})
        parts += [{"type": "image", **p} for p in as_list(msg.get("pictures"))
                  if isinstance(p, dict) and (p.get("storageKey") or p.get("url"))]
    web = msg.get("webBrowsing")
    if isinstance(web, dict):  # 1.9's web search, before it became a tool call
        query = ", ".join(q for q in as_list(web.get("query")) if isinstance(q, str))
        if query:
            pieces.append(f"**Web search:** {query}")
        links += _links(web.get("links"), "url")
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            pieces.append(as_text(part.get("text")))
        elif kind == "reasoning":
            thinking.append(as_text(part.get("text")).strip())
        elif kind == "image":
            pictures += 1
            attachment = _data_image(part, pictures)
            if attachment is not None:
                out.attachments.append(attachment)
            else:
                pieces.append(f"[image: picture {pictures}]")
                out.missing_files += 1
        elif kind == "info":
            text = as_text(part.get("text")).strip()
            if text:
                pieces.append(f"*{text}*")
        elif kind == "tool-call":
            pieces.append(_tool_call(part, links))
    for file in as_list(msg.get("files")):
        if isinstance(file, dict):  # the text Chatbox read from it is not in the backup
            pieces.append(f"[file: {as_text(file.get('name')).strip() or 'file'}]")
            out.missing_files += 1
    given = _links(msg.get("links"), "url")
    if given:  # pages the user gave the message to read (their text is not in the backup)
        pieces.append("**Links**\n\n" + "\n".join(
            f"{i}. [{title.strip() or url}]({url})" for i, (title, url) in enumerate(given, 1)))
    error = as_text(msg.get("error")).strip()
    if error:
        pieces.append(f"**Error:** {error}")
    if links:
        pieces.append(sources_list(links))
    out.content = "\n\n".join(p for p in (p.strip("\n") for p in pieces) if p.strip())
    reasoning = ("\n\n".join(t for t in thinking if t)
                 or as_text(msg.get("reasoningContent")).strip())
    out.reasoning = reasoning or None
    return out


def _tool_call(part: dict[str, Any], links: list[tuple[str, str]]) -> str:
    """A tool call and what it gave back; a web search's pages go to the Sources."""
    name = as_text(part.get("toolName")) or "tool"
    args, result = part.get("args"), part.get("result")
    if name in _SEARCH_TOOLS:
        query = args.get("query") if isinstance(args, dict) else None
        if isinstance(result, dict):
            links += _links(result.get("searchResults"), "link")
            query = query or result.get("query")
        return f"**Web search:** {query}" if isinstance(query, str) and query else ""
    body = json.dumps(args, indent=2, ensure_ascii=False) if args is not None else "{}"
    text = f"**Tool call: {name}**\n\n" + fence(body, "json")
    if result is not None:
        shown = result if isinstance(result, str) else json.dumps(
            result, indent=2, ensure_ascii=False)
        heading = (wording.tool_error_heading(name) if part.get("state") == "error"
                   else wording.tool_heading(name))
        text += f"\n\n**{heading}**\n\n" + fence(shown, "output" if isinstance(
            result, str) else "json")
    return text


def _links(value: Any, url_key: str) -> list[tuple[str, str]]:
    return [(as_text(item.get("title")), as_text(item.get(url_key))) for item in as_list(value)
            if isinstance(item, dict) and as_text(item.get(url_key))]


def _data_image(part: dict[str, Any], number: int) -> ImportedAttachment | None:
    """A picture whose bytes are in the message itself (a `data:` URL), or None: Chatbox
    keeps pictures by `storageKey` in its own storage, which its backup leaves out."""
    url = as_text(part.get("url"))
    head, _, payload = url.partition(",")
    if not (head.startswith("data:image/") and head.endswith(";base64") and payload):
        return None
    media = head[len("data:"):-len(";base64")]
    name = f"picture-{number}.{media.split('/', 1)[1].split('+', 1)[0] or 'png'}"

    def load() -> Attachment:
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise FileLeftOut(f"{name} was left out of the import: its bytes in the backup "
                              "are damaged.") from None
        return attachment_from_bytes(name, data)

    return ImportedAttachment(name, load)
