"""HTML export: one self-contained page (index, search, conversations) that loads nothing."""

from __future__ import annotations

import base64
import functools
import html
import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from markdown_it import MarkdownIt
from markdown_it.token import Token

from chatdesk import wording
from chatdesk.parts import IMAGE_TYPES, AttachmentInfo, PartKind
from chatdesk.store import ConversationSummary, HistoryStore, StoredMessage, now_iso
from chatdesk.transfer.markdown import (
    SOURCE_NAMES,
    failed_attempt_line,
    message_heading,
    when,
)
from chatdesk.transfer.native import ExportSummary, Progress, load, open_output, output_path

SAFE_LINKS = ("http://", "https://", "mailto:")
# Nothing from the network: images only from the data: URLs the page itself holds.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
# The largest file embedded in the page (as a data: URL, a third larger); a larger one is
# named with its size, and the JSON export keeps it.
EMBED_CAP = 10_000_000  # "10 MB"
_BLOB_CHUNK = 3 * 65_536  # bytes base64-encoded per write (a multiple of 3)


# -- Markdown → safe HTML ----------------------------------------------------------------

def _safe(href: str) -> bool:
    return href.strip().lower().startswith(SAFE_LINKS)


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if not _safe(str(token.attrGet("href") or "")):
        env["dropped"] = env.get("dropped", 0) + 1  # link_close drops its tag as well
        return ""
    token.attrSet("target", "_blank")
    token.attrSet("rel", "noopener noreferrer")
    return str(self.renderToken(tokens, idx, options, env))


def _link_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    if env.get("dropped"):
        env["dropped"] -= 1
        return ""
    return str(self.renderToken(tokens, idx, options, env))


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Never an <img>: the alt text, and the address as a link the reader may click."""
    token = tokens[idx]
    alt = str(self.renderInlineAsText(token.children or [], options, env)).strip()
    label = html.escape(f"[image: {alt}]" if alt else "[image]")
    src = str(token.attrGet("src") or "")
    if not _safe(src):
        return label
    return (f'{label} (<a href="{html.escape(src)}" target="_blank" rel="noopener noreferrer">'
            f"{html.escape(src)}</a>)")


@functools.cache
def _markdown() -> MarkdownIt:
    # html=False: HTML inside a message is shown as text, never interpreted.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    md.enable(["table", "strikethrough"])
    for name, rule in (("link_open", _link_open), ("link_close", _link_close),
                       ("image", _image)):
        md.add_render_rule(name, rule)
    return md


def render_markdown(text: str) -> str:
    """A message's Markdown as HTML: no raw HTML, no images, links only to http(s)/mailto."""
    return str(_markdown().render(text, {}))


# -- the page ----------------------------------------------------------------------------

def _json_for_script(data: Any) -> str:
    # "<" only occurs inside JSON strings; escaping it means no "</script>" can end the block.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _file(info: AttachmentInfo) -> dict[str, Any]:
    """An attachment as the page lists it; its bytes are in `chatdesk-files` by sha256,
    unless it is larger than EMBED_CAP (then `note` says so)."""
    entry: dict[str, Any] = {"name": info.name, "kind": str(info.kind), "sha": info.sha256,
                             "size": wording.file_size(info.size)}
    if info.size > EMBED_CAP:
        entry["note"] = wording.export_file_too_large(info.name, info.size, EMBED_CAP)
    return entry


def _message(store: HistoryStore, m: StoredMessage,
             infos: Sequence[AttachmentInfo] = ()) -> dict[str, Any]:
    notes = []
    if m.role == "assistant":
        notes = [n for n in map(failed_attempt_line, store.attempts(m.id)) if n]
    return {"role": m.role, "who": message_heading(m).removesuffix(f" [{m.status}]"),
            "status": m.status, "time": m.created_at, "notes": notes, "text": m.content,
            "html": render_markdown(m.content), "files": [_file(i) for i in infos]}


def _data_url_type(info: AttachmentInfo) -> str:
    """An image shows as itself; any other file is offered for download only."""
    return info.media_type if info.kind is PartKind.IMAGE and info.media_type in IMAGE_TYPES \
        else "application/octet-stream"


def _write_files(store: HistoryStore, infos: Iterable[AttachmentInfo], out: TextIO) -> None:
    """`{sha256: data URL, …}` in its own script block: each file once, one file's bytes
    read at a time and written in pieces (base64 holds no "<", so nothing ends the block)."""
    out.write('<script type="application/json" id="chatdesk-files">{')
    first = True
    for info in infos:
        data = store.attachment_data(info.sha256)
        if data is None:
            continue
        kind = _data_url_type(info)
        out.write(("" if first else ",") + f'\n"{info.sha256}":"data:{kind};base64,')
        for start in range(0, len(data), _BLOB_CHUNK):
            out.write(base64.b64encode(data[start:start + _BLOB_CHUNK]).decode("ascii"))
        out.write('"')
        first = False
        del data
    out.write("\n}</script>\n")


def _index_item(s: ConversationSummary) -> str:
    title = html.escape(" ".join((s.title or "").split()) or "(untitled)")
    count = f"{s.message_count:,} message{'' if s.message_count == 1 else 's'}"
    pin = '<span class="pin" title="pinned">★</span> ' if s.pinned else ""
    return (f'<li data-id="{s.id}"><a href="#c-{s.id}"><span class="t">{pin}{title}</span>'
            f'<span class="d">{when(s.updated_at)[:10]} · {count}</span></a></li>\n')


def _ordered(store: HistoryStore, ids: Sequence[int]) -> list[ConversationSummary]:
    """The chosen conversations as the app lists them: pinned first, then latest first."""
    wanted = set(ids)
    total = store.count_conversations()
    return [s for s in store.list_conversations(limit=max(total, 1)) if s.id in wanted]


def write_html(store: HistoryStore, ids: Sequence[int], out: TextIO,
               progress: Progress | None = None) -> tuple[int, int]:
    """Write the page; conversation bodies are embedded as JSON and drawn when opened."""
    summaries = _ordered(store, ids)
    n = len(summaries)
    stamp = when(now_iso())
    out.write(_HEAD.replace("{csp}", CSP).replace("{css}", _CSS))
    out.write(f'<nav id="side"><header><h1>chatdesk export</h1><div class="sub">{n:,} '
              f'conversation{"" if n == 1 else "s"} · exported {stamp}</div>'
              f'<input id="q" type="search" placeholder="Search all conversations (/)" '
              f'autocomplete="off" aria-label="Search"><div id="count"></div></header>\n'
              f'<ol id="list">\n')
    for s in summaries:
        out.write(_index_item(s))
    out.write('</ol></nav>\n<main id="main"><article id="conversation"><noscript><p>This '
              "page shows the list of conversations without JavaScript; allow scripts for "
              "this file to read and search them.</p></noscript></article></main>\n"
              '<script type="application/json" id="chatdesk-data">{"conversations":[')
    messages = 0
    embedded: dict[str, AttachmentInfo] = {}  # the files to embed, each once
    for i, s in enumerate(summaries):
        conv, rows = load(store, s.id)
        shown = [m for m in rows if not m.is_alternate]
        messages += len(shown)
        infos = store.attachment_infos(m.id for m in shown)
        for info in (i for found in infos.values() for i in found):
            if info.size <= EMBED_CAP:
                embedded.setdefault(info.sha256, info)
        entry = {"id": conv.id, "title": conv.title, "created": conv.created_at,
                 "updated": conv.updated_at, "system": conv.system_prompt,
                 "source": SOURCE_NAMES.get(conv.source or "", conv.source),
                 "messages": [_message(store, m, infos.get(m.id, ())) for m in shown]}
        out.write(("," if i else "") + "\n" + _json_for_script(entry))
        if progress:
            progress(i + 1, n)
    out.write("\n]}</script>\n")
    _write_files(store, embedded.values(), out)
    out.write("<script>" + _JS + "</script>\n</body>\n</html>\n")
    return n, messages


def export_html(store: HistoryStore, ids: Sequence[int], output: str,
                progress: Progress | None = None) -> ExportSummary:
    path = output_path(output, "chatdesk-export.html")
    with open_output(path) as out:
        conversations, messages = write_html(store, ids, out, progress)
    return ExportSummary(conversations, messages, path)


_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="chatdesk">
<title>chatdesk export</title>
<style>{css}</style>
</head>
<body>
"""

_CSS = """
:root{--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--side:#f6f8fa;--hover:#e8ecf0;
--user:#eef4ff;--accent:#0969da;--active:#0969da;--on-accent:#fff;--mark:#ffe58a;--code:#f1f3f5;--warn:#9a6700;
--bad:#cf222e}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;
--line:#30363d;--side:#151b23;--hover:#212830;--user:#172338;--accent:#4493f8;--active:#1f6feb;
--on-accent:#fff;
--mark:#735c0f;--code:#1c222b;--warn:#d29922;--bad:#f85149}}
*{box-sizing:border-box}
html,body{margin:0;height:100%}
body{font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
background:var(--bg);color:var(--fg);display:flex;overflow:hidden}
#side{width:340px;flex:none;display:flex;flex-direction:column;background:var(--side);
border-right:1px solid var(--line)}
#side header{padding:16px 14px 6px}
#side h1{font-size:16px;margin:0}
.sub,#count{font-size:12px;color:var(--muted)}
#count{min-height:1.5em;padding:4px 2px 0}
#q{width:100%;margin-top:12px;padding:7px 10px;font:inherit;color:var(--fg);background:var(--bg);
border:1px solid var(--line);border-radius:6px}
#q:focus{outline:2px solid var(--accent);outline-offset:-1px}
#list{list-style:none;margin:0;padding:0 8px 16px;overflow-y:auto;flex:1}
#list a{display:block;padding:7px 10px;border-radius:6px;color:inherit;text-decoration:none}
#list a:hover{background:var(--hover)}
#list li.active a{background:var(--active);color:var(--on-accent)}
li.active mark{background:#ffe58a;color:#1f2328}
.t{display:block;font-weight:500;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.d,.snip{display:block;font-size:12px;color:var(--muted)}
.snip{overflow:hidden;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}
li.active .d,li.active .snip{color:inherit;opacity:.85}
.pin{color:var(--warn)}
li.active .pin{color:inherit}
main{flex:1;overflow-y:auto}
#conversation{max-width:880px;margin:0 auto;padding:28px 32px 96px}
#conversation>header h1{font-size:22px;line-height:1.3;margin:0 0 4px}
.meta{color:var(--muted);font-size:13px;margin:0 0 18px}
.empty{color:var(--muted);margin-top:30vh;text-align:center}
details.system{margin:0 0 16px;font-size:14px;color:var(--muted)}
details.system pre{white-space:pre-wrap;background:var(--code);padding:10px 12px;border-radius:6px}
.msg{margin:14px 0;padding:12px 16px;border:1px solid var(--line);border-radius:10px}
.msg.user{background:var(--user);border-color:transparent}
.msg.tool{border-style:dashed;font-size:.92em}.msg.tool .who strong{color:var(--muted)}
.who{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:baseline;font-size:13px;
color:var(--muted)}
.who strong{color:var(--fg)}
.status{font-weight:600;color:var(--warn)}
.failed .status{color:var(--bad)}
.note{margin:6px 0 0;font-size:13px;color:var(--warn)}
.body{overflow-wrap:anywhere}
.body>:first-child{margin-top:6px}.body>:last-child{margin-bottom:0}
.body h1,.body h2{font-size:1.2em}.body h3,.body h4,.body h5,.body h6{font-size:1.05em}
.body pre{background:var(--code);padding:10px 12px;border-radius:6px;overflow-x:auto}
.body code{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
background:var(--code);padding:1px 4px;border-radius:4px}
.body pre code{background:none;padding:0}
.body table{border-collapse:collapse;display:block;overflow-x:auto}
.body th,.body td{border:1px solid var(--line);padding:4px 10px}
.body blockquote{margin:8px 0;padding:0 12px;border-left:3px solid var(--line);color:var(--muted)}
a{color:var(--accent)}
.files{display:flex;flex-wrap:wrap;gap:8px;margin-top:10px;align-items:flex-start}
.files img{display:block;max-width:100%;max-height:320px;border-radius:6px;
border:1px solid var(--line)}
.files a.file{padding:6px 10px;border:1px solid var(--line);border-radius:6px;font-size:13px}
mark{background:var(--mark);color:inherit;border-radius:2px}
@media (max-width:760px){body{display:block;overflow:auto}#side{width:auto;border-right:0;
border-bottom:1px solid var(--line)}#list{max-height:45vh}main{overflow:visible}
#conversation{padding:18px 14px 60px}}
@media print{#side{display:none}body{display:block;overflow:visible}main{overflow:visible}}
"""

_JS = r"""
(function () {
"use strict";
const data = JSON.parse(document.getElementById("chatdesk-data").textContent);
const blobs = JSON.parse(document.getElementById("chatdesk-files").textContent);
const convs = data.conversations, byId = new Map(convs.map((c, i) => [c.id, i]));
const items = document.getElementById("list").children;
const pane = document.getElementById("conversation"), main = document.getElementById("main");
const q = document.getElementById("q"), count = document.getElementById("count");
let terms = [], current = null, lower = null, timer = 0;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
function local(iso) {
  const d = new Date(iso);
  return isNaN(d) ? (iso || "") : d.toLocaleString([], {dateStyle: "medium", timeStyle: "short"});
}
function pattern() {
  return new RegExp(terms.map(t => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "gi");
}
function highlight(root) {
  if (!terms.length) return;
  const re = pattern(), walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.nodeValue;
    re.lastIndex = 0;
    if (!re.test(text)) continue;
    re.lastIndex = 0;
    const frag = document.createDocumentFragment();
    let last = 0, m;
    while ((m = re.exec(text))) {
      frag.append(text.slice(last, m.index), el("mark", null, m[0]));
      last = m.index + m[0].length;
    }
    frag.append(text.slice(last));
    node.replaceWith(frag);
  }
}
function filesOf(files) {
  const box = el("div", "files");
  for (const f of files) {
    const url = blobs[f.sha];
    if (!url) {
      box.append(el("p", "note", f.note || (f.name + " (" + f.size + ") is not in this page.")));
      continue;
    }
    const a = el("a", f.kind === "image" ? "image" : "file");
    a.href = url;
    a.download = f.name;
    a.title = f.name + " · " + f.size;
    if (f.kind === "image") {
      const img = el("img");
      img.src = url;
      img.alt = f.name;
      a.append(img);
    } else {
      a.textContent = (f.kind === "document" ? "PDF: " : "File: ") + f.name + " (" + f.size + ")";
    }
    box.append(a);
  }
  return box;
}
function show(id) {
  const i = byId.get(id);
  if (i === undefined) return;
  const c = convs[i];
  if (current !== null && items[byId.get(current)]) items[byId.get(current)].className = "";
  current = id;
  items[i].className = "active";
  pane.textContent = "";
  const head = el("header");
  head.append(el("h1", null, c.title || "(untitled)"));
  let meta = "Started " + local(c.created) + " · last message " + local(c.updated) +
    " · conversation " + c.id;
  if (c.source) meta += " · imported from " + c.source;
  head.append(el("p", "meta", meta));
  pane.append(head);
  if (c.system) {
    const s = el("details", "system");
    s.append(el("summary", null, "System prompt"), el("pre", null, c.system));
    pane.append(s);
  }
  for (const m of c.messages) {
    const box = el("section", "msg " + m.role + (m.status === "complete" ? "" : " " + m.status));
    const who = el("div", "who");
    who.append(el("strong", null, m.who));
    if (m.status !== "complete") who.append(el("span", "status", m.status));
    who.append(el("time", null, local(m.time)));
    box.append(who);
    for (const n of m.notes) box.append(el("p", "note", n));
    const body = el("div", "body");
    body.innerHTML = m.html;  // rendered by chatdesk with raw HTML escaped
    box.append(body);
    if (m.files.length) box.append(filesOf(m.files));
    pane.append(box);
  }
  document.title = (c.title || "(untitled)") + " — chatdesk export";
  highlight(pane);
  const first = pane.querySelector(".msg mark");
  if (first) first.scrollIntoView({block: "center"}); else main.scrollTop = 0;
  if (!items[i].hidden) items[i].scrollIntoView({block: "nearest"});
}
function snippet(c, li, wanted) {
  let s = li.querySelector(".snip");
  if (s) s.remove();
  if (!wanted) return;
  for (const m of c.messages) {
    const at = m.text.toLowerCase().indexOf(terms[0]);
    if (at < 0) continue;
    const start = Math.max(0, at - 40);
    s = el("span", "snip", (start ? "…" : "") + m.text.slice(start, at + 100).replace(/\s+/g, " "));
    highlight(s);
    li.firstChild.append(s);
    return;
  }
}
function search() {
  terms = q.value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  if (terms.length && !lower) {
    lower = convs.map(c => ((c.title || "") + "\n" + c.messages.map(m => m.text).join("\n"))
      .toLowerCase());
  }
  convs.forEach((c, i) => {
    const hit = terms.every(t => lower[i].includes(t));
    items[i].hidden = !hit;
    if (hit) shown++;
    snippet(c, items[i], hit && terms.length > 0 && shown <= 300);
  });
  count.textContent = terms.length ? shown.toLocaleString() + " of " +
    convs.length.toLocaleString() + " conversations match" : "";
  if (current !== null) show(current);
}
function fromHash() {
  const m = /^#c-(\d+)$/.exec(location.hash);
  if (!m) return;
  show(Number(m[1]));
  if (matchMedia("(max-width:760px)").matches) pane.scrollIntoView();
}
q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 150); });
q.addEventListener("keydown", e => {
  if (e.key === "Enter") {
    clearTimeout(timer); search();
    const first = Array.from(items).find(li => !li.hidden);
    if (first) location.hash = "#c-" + first.dataset.id;
  } else if (e.key === "Escape") { q.value = ""; search(); }
});
document.addEventListener("keydown", e => {
  if (e.key === "/" && document.activeElement !== q) { e.preventDefault(); q.focus(); }
});
window.addEventListener("hashchange", fromHash);
if (/^#c-\d+$/.test(location.hash)) fromHash(); else if (convs.length) show(convs[0].id);
else pane.append(el("p", "empty", "This export holds no conversations."));
})();
"""
