"""What ChatGPT keeps beside plain turns: canvas documents, citation markers, and thinking."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from chatdesk.transfer.common import document, fence, sources_list
from chatdesk.transfer.shapes import as_dict, as_list, as_text

# -- canvas (the `canmore` tool) ---------------------------------------------------------

CANVAS_TOOL = "canmore."
# A canvas document's `type` → the fence its text is shown in.
_FENCE_OF_TYPE = {"document": "markdown", "code/react": "jsx", "webview": "html"}


@dataclass(frozen=True)
class CanvasDocument:
    name: str
    fence: str | None
    text: str
    version: int


@dataclass(frozen=True)
class Canvas:
    """The canvas documents as they stand at one message (each branch has its own):
    by textdoc id, and which one the model last wrote (an edit naming none is of that)."""

    documents: dict[str, CanvasDocument] = field(default_factory=dict)
    last: str | None = None

    def call(self, tool: str, payload: str, key: str, failed: bool) -> tuple[str, Canvas]:
        """A canvas call: what the transcript shows of it, and the canvas after it. A call
        the tool refused (`failed`: the model tried again) shows nothing and changes nothing."""
        args = _json_object(payload)
        if failed or args is None:
            return "", self
        if tool == "create_textdoc":
            kind = as_text(args.get("type"))
            fence_as: str | None = _FENCE_OF_TYPE.get(kind) or (
                kind.split("/", 1)[1] if "/" in kind else None)
            made = CanvasDocument(as_text(args.get("name")) or "untitled", fence_as,
                                  as_text(args.get("content")), 1)
            return self._shown(as_text(args.get("textdoc_id")) or key, made)
        doc_id = as_text(args.get("textdoc_id")) or self.last
        current = self.documents.get(doc_id or "")
        if current is None or doc_id is None:  # the export lacks the version it changes
            return fence(json.dumps(args, ensure_ascii=False, indent=2), "json"), self
        if tool == "update_textdoc":
            text = apply_updates(current.text, as_list(args.get("updates")))
            if text is None:  # ChatGPT's own check would have refused it: said as such
                return (f"**Document: {current.name}** — an edit that could not be applied:"
                        f"\n\n{fence(json.dumps(args, ensure_ascii=False, indent=2), 'json')}",
                        self)
            return self._shown(doc_id, replace(current, text=text, version=current.version + 1))
        if tool == "comment_textdoc":
            lines = [f"- *{_unescaped(as_text(c.get('pattern')))}*: {as_text(c.get('comment'))}"
                     for c in map(as_dict, as_list(args.get("comments")))]
            return f"**Comments on {current.name}**\n\n" + "\n".join(lines), self
        return "", self

    def with_id(self, key: str, doc_id: str) -> Canvas:
        """The document created by call `key` under the id the tool gave it."""
        if key not in self.documents or not doc_id or doc_id == key:
            return self
        documents = {(doc_id if k == key else k): v for k, v in self.documents.items()}
        return Canvas(documents, doc_id if self.last == key else self.last)

    def _shown(self, doc_id: str, doc: CanvasDocument) -> tuple[str, Canvas]:
        return (document(doc.name, doc.fence, doc.text, doc.version),
                Canvas({**self.documents, doc_id: doc}, doc_id))


# Python's regular expressions have no time limit: an export's edit is not run when its
# pattern repeats a group that itself repeats (`(a+)+`: exponential on a near match), or
# when pattern or document are larger than canvases are.
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")
_MAX_PATTERN = 4_000
_MAX_DOCUMENT = 2_000_000


def apply_updates(text: str, updates: list[Any]) -> str | None:
    """The text after a canvas edit's updates, in order (each a Python regular expression
    and its replacement, once or `multiple` times), or None if one cannot apply: the
    canvas tool refuses the whole edit then."""
    for update in map(as_dict, updates):
        source = as_text(update.get("pattern"))
        if len(source) > _MAX_PATTERN or len(text) > _MAX_DOCUMENT or _NESTED.search(source):
            return None  # a pattern that could take the import hours (a hostile export)
        try:
            pattern = re.compile(source, re.DOTALL if source == ".*" else 0)
        except re.error:
            return None
        replacement = as_text(update.get("replacement"))
        found = pattern.search(text)
        if found is None:
            return None

        def swap(match: re.Match[str], replacement: str = replacement) -> str:
            return _expanded(match, replacement)

        text = pattern.sub(swap, text, count=0 if update.get("multiple") else 1)
    return text


def _expanded(match: re.Match[str], replacement: str) -> str:
    """A replacement with its group references (`\\1`, `$1`) filled in; the rest literal."""
    def group(ref: re.Match[str]) -> str:
        number = int(ref.group(1) or ref.group(2))
        if number > (match.re.groups or 0):
            return ref.group(0)
        return match.group(number) or ""

    return re.sub(r"\\(\d)|\$(\d)", group, replacement)


def _unescaped(pattern: str) -> str:
    """A commented passage's pattern as the words it matches (escapes and anchors off)."""
    pattern = pattern.removeprefix("^")
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1]
    return re.sub(r"\\(.)", r"\1", pattern)


# -- citations ---------------------------------------------------------------------------

# 2023–2024: `【3:0†source】`, `【12†Wikipedia】` in the text, `metadata.citations` by place.
_BRACKET_MARK = re.compile(r" *【[^【】\n]{0,80}†[^【】\n]{0,200}】")
# 2025+: private-use tokens `\ue200cite\ue202turn0search0\ue201` matched by
# `metadata.content_references`; U+E203/U+E204 wrap a cited passage.
_TOKEN = re.compile("( *)\ue200([^\ue200\ue201]*)\ue201")
_PRIVATE = re.compile("[\ue200-\ue2ff]")


def cited(text: str, metadata: dict[str, Any]) -> str:
    """The answer with its citation markers turned into links to the pages and a
    **Sources** list after it; markers with nothing to link are removed."""
    if "【" not in text and not _PRIVATE.search(text):
        return text  # most answers: nothing cited
    links: list[tuple[str, str]] = []
    text = _bracket_citations(text, as_list(metadata.get("citations")), links)
    text = _token_citations(text, as_list(metadata.get("content_references")), links)
    listed = sources_list(links)
    return f"{text.rstrip()}\n\n{listed}" if listed else text


def _bracket_citations(text: str, citations: list[Any], links: list[tuple[str, str]]) -> str:
    if "【" not in text:
        return text
    by_place: dict[int, dict[str, Any]] = {}
    for citation in map(as_dict, citations):
        start = citation.get("start_ix")
        if isinstance(start, int):
            by_place[start] = as_dict(citation.get("metadata"))
    starts = [m.start() for m in _BRACKET_MARK.finditer(text)]
    in_order = [by_place[k] for k in sorted(by_place)]

    def link(match: re.Match[str]) -> str:
        mark = match.start() + len(match.group(0)) - len(match.group(0).lstrip(" "))
        found = by_place.get(mark)
        if found is None and len(in_order) == len(starts):
            found = in_order[starts.index(match.start())]
        url = as_text(as_dict(found).get("url"))
        if not url:  # a file it read: named, as ChatGPT shows it
            name = as_text(as_dict(found).get("name"))
            return f" ({name})" if name else ""
        links.append((as_text(as_dict(found).get("title")), url))
        return f" ([{_site(url)}]({url}))"

    return _BRACKET_MARK.sub(link, text)


def _token_citations(text: str, references: list[Any], links: list[tuple[str, str]]) -> str:
    if not _PRIVATE.search(text):
        return text
    said: dict[str, str] = {}
    for reference in map(as_dict, references):
        matched = as_text(reference.get("matched_text"))
        if not matched.startswith("\ue200") or matched in said:
            continue
        pages = [(as_text(i.get("title")), as_text(i.get("url"))) for i in map(
            as_dict, as_list(reference.get("items")))]
        pages += [("", u) for u in as_list(reference.get("safe_urls")) if isinstance(u, str)
                  and not pages]
        pages = [(title, url) for title, url in pages if url]
        links.extend(pages)
        alt = reference.get("alt")
        if isinstance(alt, str) and alt.strip():
            said[matched] = alt
        elif pages:
            said[matched] = " (" + ", ".join(f"[{_site(u)}]({u})" for _, u in pages) + ")"
        elif reference.get("type") == "entity" or matched.startswith("\ue200entity"):
            said[matched] = _entity(matched)
        else:
            said[matched] = ""

    def swap(match: re.Match[str]) -> str:
        spaces, body = match.group(1), match.group(2)
        whole = match.group(0)[len(spaces):]
        shown = said[whole] if whole in said else _entity(whole) if body.startswith(
            "entity") else ""
        if not shown:
            return ""  # the space after the marker stays, or the punctuation follows
        return (spaces and " ") + shown.lstrip(" ") if spaces else shown

    return _PRIVATE.sub("", _TOKEN.sub(swap, text))


def _entity(token: str) -> str:
    """`\\ue200entity\\ue202["city","Zürich",…]\\ue201` → Zürich (the name shown)."""
    body = token.strip("\ue200\ue201").split("\ue202", 1)
    try:
        value = json.loads(body[1]) if len(body) == 2 else None
    except ValueError:
        return ""
    return value[1] if isinstance(value, list) and len(value) > 1 and isinstance(
        value[1], str) else ""


def _site(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


# -- thinking ----------------------------------------------------------------------------


def thoughts_text(content: dict[str, Any]) -> str:
    """A reasoning model's `thoughts` as Markdown: each step's summary in bold, its text."""
    steps = []
    for thought in map(as_dict, as_list(content.get("thoughts"))):
        summary = as_text(thought.get("summary")).strip()
        body = as_text(thought.get("content")).strip()
        steps.append(f"**{summary}**\n\n{body}" if summary and body else summary or body)
    return "\n\n".join(s for s in steps if s)


def searched(metadata: dict[str, Any], call: str) -> str:
    """'Searched the web for “…”' for a web search call, or '' if `call` is no search."""
    asked = search_queries(metadata, call)
    return "Searched the web for " + "; ".join(f"“{q}”" for q in asked) if asked else ""


def search_queries(metadata: dict[str, Any], call: str) -> list[str]:
    """What a web search asked: `metadata.search_queries`, or the call's own
    `{"search_query": [{"q": …}]}` (2025 `web.run`); texts or `{q}` objects."""
    queries = as_list(metadata.get("search_queries"))
    if not queries and call.lstrip().startswith("{"):
        queries = as_list(as_dict(_json_object(call)).get("search_query"))
    asked = []
    for query in queries:
        text = query if isinstance(query, str) else as_text(as_dict(query).get("q"))
        if text.strip():
            asked.append(text.strip())
    return asked


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
