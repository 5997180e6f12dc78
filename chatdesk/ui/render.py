"""Markdown → safe HTML for QTextDocument: no raw HTML, no images, highlighted code, copy links."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.styles import get_style_by_name
from pygments.token import Token as PygToken

from chatdesk.ui import design, lexers

SAFE_SCHEMES = ("http://", "https://", "mailto:")
COPY_SCHEME = "copy"


@dataclass(frozen=True)
class _Palette:
    """Colours of one look (light or dark) that QTextDocument needs inline."""

    pygments_style: str
    code_bg: str
    code_fg: str
    inline_code_bg: str
    border: str
    muted: str
    link: str
    code_header: str
    quote_bar: str


_LIGHT_STYLE = "default"
_DARK_STYLE = "github-dark"


def _palette(dark: bool) -> _Palette:
    name = _DARK_STYLE if dark else _LIGHT_STYLE
    style = get_style_by_name(name)
    fg = style.style_for_token(PygToken.Text).get("color") or ("e6edf3" if dark else "1f2328")
    tokens = design.DARK if dark else design.LIGHT
    if dark:
        return _Palette(name, style.background_color or "#161b22", f"#{fg}", "#343942",
                        "#4b5260", tokens.muted, tokens.link, tokens.code_header,
                        tokens.quote_bar)
    return _Palette(name, tokens.code_bg, f"#{fg}", "#eceff2", "#c9d1d9", tokens.muted,
                    tokens.link, tokens.code_header, tokens.quote_bar)


_PALETTES = {False: _palette(False), True: _palette(True)}
# Qt's default heading sizes (h1 = xx-large) are too loud inside a chat message.
_HEADING_SIZES = {"h1": "x-large", "h2": "large", "h3": "medium", "h4": "medium",
                  "h5": "small", "h6": "small"}


@functools.cache
def _formatter(dark: bool) -> HtmlFormatter:
    return HtmlFormatter(style=_PALETTES[dark].pygments_style, noclasses=True, nowrap=True)


_LANG_CLEAN = re.compile(r"^(?:language-)?\{?\.?([A-Za-z0-9_+#.-]+)")


def _language(info: str) -> str:
    """'python title="x"' → 'python'; '{.rust}' → 'rust'; '' → ''."""
    m = _LANG_CLEAN.match(info.strip())
    return m.group(1).lower() if m else ""


# The HTML caches hold about as many messages as the transcript keeps documents for
# (delegate.CACHE_SIZE): paging a long conversation filled larger ones with pages gone by.
@functools.lru_cache(maxsize=64)
def _highlight(code: str, language: str, dark: bool) -> str:
    """The code as HTML spans (already escaped); plain escaped text when no lexer fits."""
    lexer = lexers.lexer(language) if language else None
    if lexer is not None:
        try:
            return highlight(code, lexer, _formatter(dark))
        except Exception:  # a lexer bug must never lose the answer: show it plain
            pass
    return html.escape(code, quote=False)


_highlighting: dict[tuple[str, str, bool], Future[str]] = {}


def _highlighted(code: str, language: str, dark: bool, wait: bool = True) -> str | None:
    """_highlight's HTML. With wait=False (an answer being written) it is made on the worker
    thread, and None until it is there: highlighting a long block took ~5-20 ms."""
    key = (code, language, dark)
    job = _highlighting.get(key)
    if job is None:
        if wait:
            return _highlight(code, language, dark)
        if len(_highlighting) >= 64:  # the blocks of the answer being written
            for done in [k for k, f in _highlighting.items() if f.done()]:
                del _highlighting[done]
        job = _highlighting[key] = lexers.later(_highlight, code, language, dark)
    if not job.done():
        if not wait:
            return None
        job.result()
    return _highlight(code, language, dark)  # the worker's, from the cache


def _is_safe_href(href: str) -> bool:
    return href.strip().lower().startswith(SAFE_SCHEMES)


def _code_source(token: Token) -> str:
    return token.content[:-1] if token.content.endswith("\n") else token.content


# --- render rules (markdown-it calls them as methods of its renderer) -----------------------

def _render_code(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                 env: EnvType) -> str:
    token = tokens[idx]
    dark = bool(env.get("dark"))
    pal = _PALETTES[dark]
    n = env.setdefault("code_index", 0)
    env["code_index"] = n + 1
    language = _language(token.info) if token.type == "fence" else ""
    code = _code_source(token)
    shown: str | None = None
    if not language:
        shown = _highlight(code, language, dark)  # escaped, nothing to highlight
    elif not env.get("live"):
        shown = _highlighted(code, language, dark)
    elif _closed(token, env, language):
        shown = _highlighted(code, language, dark, wait=False)
    if shown is None:
        # Still being written, or its lexer or its highlighting still being made on the
        # worker thread: plain for now (highlighting it anew on each refresh took
        # ~10-20 ms), and the part it is in is not final yet.
        env["provisional"] = True
        shown = html.escape(code, quote=False)
    body = shown.rstrip("\n")
    label = html.escape(language) if language else "code"
    # A header row (language, Copy) over the code, as the web apps draw it.
    return (
        f'<table width="100%" cellspacing="0" cellpadding="6" '
        f'style="margin-top:6px; margin-bottom:10px; border-collapse:collapse">'
        f'<tr><td bgcolor="{pal.code_header}" style="font-size:small; color:{pal.muted}">'
        f'{label}</td>'
        f'<td bgcolor="{pal.code_header}" align="right" style="font-size:small">'
        f'<a href="{COPY_SCHEME}:{n}" style="color:{pal.link}; text-decoration:none">'
        f"Copy</a></td></tr>"
        f'<tr><td colspan="2" bgcolor="{pal.code_bg}" style="padding:8px">'
        f'<pre style="margin:0px; white-space:pre-wrap; color:{pal.code_fg}">{body}</pre>'
        f"</td></tr></table>\n"
    )


def _closed(token: Token, env: EnvType, language: str) -> bool:
    """Whether a fenced block of a live part is closed and its lexer loaded (the lexer of a
    block whose first line is complete starts loading on the worker thread)."""
    lines: list[str] = env["lines"]
    start, end = token.map or (0, 0)
    if end - start < 2:
        return False  # its first line may be a part of its language's name
    if not lexers.ready(language):
        return False
    last = lines[end - 1].lstrip(" ")
    run = len(last) - len(last.lstrip(token.markup[0]))
    return run >= len(token.markup) and not last[run:].strip()


def _render_code_inline(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                        env: EnvType) -> str:
    pal = _PALETTES[bool(env.get("dark"))]
    text = html.escape(tokens[idx].content, quote=False)
    return f'<code style="background-color:{pal.inline_code_bg}">{text}</code>'


def _render_link_open(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                      env: EnvType) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    if not _is_safe_href(href):
        env["dropped_link"] = True  # link_close must drop its tag too; links never nest
        return ""
    env["dropped_link"] = False
    # Inline colour: QTextDocument takes the link colour of the palette at parse time.
    token.attrSet("style", f"color:{_PALETTES[bool(env.get('dark'))].link}")
    return self.renderToken(tokens, idx, options, env)


def _render_link_close(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                       env: EnvType) -> str:
    if env.pop("dropped_link", False):
        return ""
    return self.renderToken(tokens, idx, options, env)


def _render_image(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                  env: EnvType) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env).strip()
    src = str(token.attrGet("src") or "")
    shown_alt = html.escape(f"[image: {alt}]" if alt else "[image]", quote=False)
    if not src:
        return shown_alt
    if _is_safe_href(src):
        color = _PALETTES[bool(env.get("dark"))].link
        shown = html.escape(src, quote=False)
        link = f'<a href="{html.escape(src)}" style="color:{color}">{shown}</a>'
    else:  # e.g. a data: URL, possibly huge
        link = html.escape(src if len(src) <= 80 else src[:77] + "...", quote=False)
    return f"{shown_alt} ({link})"


def _render_heading_open(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                         env: EnvType) -> str:
    token = tokens[idx]
    size = _HEADING_SIZES.get(token.tag, "medium")
    return f'<{token.tag} style="font-size:{size}; margin-top:10px; margin-bottom:4px">'


def _render_table_open(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                       env: EnvType) -> str:
    pal = _PALETTES[bool(env.get("dark"))]
    # Cells overlapping by their 1 px border look like border-collapse, which Qt paints ~4x
    # slower (a 10 x 20 table: ~35 ms a repaint, against ~9 ms).
    return ('<table border="1" cellspacing="-1" cellpadding="4" style="border-style:solid;'
            f' border-color:{pal.border}; margin-top:6px; margin-bottom:6px">\n')


def _render_blockquote_open(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                            env: EnvType) -> str:
    # QTextDocument draws no border-left: a 3 px cell in the bar's colour is the bar.
    pal = _PALETTES[bool(env.get("dark"))]
    return (f'<table cellspacing="0" cellpadding="0" style="margin-top:4px; margin-bottom:8px">'
            f'<tr><td width="3" bgcolor="{pal.quote_bar}"></td>'
            f'<td style="padding-left:12px; color:{pal.muted}">\n')


def _render_blockquote_close(self: Any, tokens: Sequence[Token], idx: int,
                             options: OptionsDict, env: EnvType) -> str:
    return "</td></tr></table>\n"


_TASK = re.compile(r"\[([ xX])\] ")


def _tasks(state: Any) -> None:
    """`- [ ] item` / `- [x] item`: the box drawn as ☐ / ☑ at the start of the item."""
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "list_item_open" or i + 2 >= len(tokens):
            continue
        inline = tokens[i + 2]
        if inline.type != "inline" or not inline.children:
            continue
        first = inline.children[0]
        match = _TASK.match(first.content) if first.type == "text" else None
        if match:
            first.content = ("☑ " if match.group(1) in "xX" else "☐ ") + first.content[4:]


@functools.cache
def _markdown() -> MarkdownIt:
    # html=False: raw HTML from a model shows as text. linkify (linkify-it-py) makes bare
    # URLs links; they go through link_open's scheme check like any other link.
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False,
                                   "breaks": True})
    md.enable(["table", "strikethrough", "linkify"])
    md.core.ruler.push("tasks", _tasks)
    rules = {
        "fence": _render_code, "code_block": _render_code, "code_inline": _render_code_inline,
        "link_open": _render_link_open, "link_close": _render_link_close,
        "image": _render_image, "heading_open": _render_heading_open,
        "table_open": _render_table_open, "blockquote_open": _render_blockquote_open,
        "blockquote_close": _render_blockquote_close,
    }
    for name, rule in rules.items():
        md.add_render_rule(name, rule)
    lexers.keep_compiled(_linkify_patterns(md))
    return md


# The patterns linkify-it passes to re.search / re.finditer (with IGNORECASE) as strings.
_LINKIFY_KEYS = ("pretest", "schema_test", "schema_search", "schema_at_start",
                 "host_fuzzy_test", "link_fuzzy", "link_no_ip_fuzzy", "email_fuzzy")


def _linkify_patterns(md: MarkdownIt) -> list[tuple[str, int]]:
    found = getattr(md.linkify, "re", None)
    if not isinstance(found, dict):
        return []
    return [(found[key], re.IGNORECASE) for key in _LINKIFY_KEYS
            if isinstance(found.get(key), str)]


@functools.lru_cache(maxsize=32)
def render_markdown(text: str, dark: bool = False) -> str:
    """HTML for QTextDocument. Code block N is followed by a link to `copy:N`."""
    return render_markdown_part(text, dark)[0]


def render_markdown_part(text: str, dark: bool = False, first_code: int = 0) -> tuple[str, int]:
    """HTML for one part of a longer text whose code blocks before it number first_code, and
    the number of the next code block. Parts cut at settled_boundary render as the whole."""
    env: dict[str, Any] = {"dark": dark, "code_index": first_code}
    return _markdown().render(text, env), int(env["code_index"])


def render_live_part(text: str, dark: bool = False, first_code: int = 0
                     ) -> tuple[str, int, bool]:
    """render_markdown_part for a part of an answer being written, which must not wait:
    a fenced code block not closed yet, or whose highlighting is not made yet, shows as
    plain text in its box; the last value says whether nothing did (the HTML is final)."""
    env: dict[str, Any] = {"dark": dark, "code_index": first_code, "live": True,
                           "lines": text.split("\n")}
    out = _markdown().render(text, env)
    return out, int(env["code_index"]), not env.get("provisional")


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_LIST_START = "-*+0123456789"  # how a line that may be a list item begins


def settled_boundary(text: str, start: int = 0) -> int:
    """The last place at or after `start` where `text` can be cut so that both sides render as
    they would together: the start of a line at the left margin after a blank line, outside
    any fenced code block and not where a list may go on (its items would no longer be
    one list), or the line after a fenced block that opened at the margin. The last line may
    still be being written: only its first character counts. `start` must itself be such a
    place (or 0). A growing answer is rendered in parts this way, so each refresh renders
    only what came since the last cut."""
    best = start
    fence: str | None = None  # the opening run of ` or ~ while inside a fenced block
    at_margin = False  # ... and whether that block opened at the left margin
    blank_before = False
    in_list = False  # the last line at the margin was a list item's
    pos = start
    while pos < len(text):
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        if fence is None and blank_before and line[:1] not in ("", " ", "\t") \
                and not (in_list and line[0] in _LIST_START):
            best = pos
        if end < 0:
            break  # the last line is still being written
        match = _FENCE.match(line)
        if fence is None and match:
            if match.group(1)[0] != "`" or "`" not in line[match.end():]:
                fence, at_margin = match.group(1), match.start(1) == 0
                in_list = in_list and not at_margin  # a fence at the margin ends a list
        elif fence is not None and match and match.group(1)[0] == fence[0] \
                and len(match.group(1)) >= len(fence) and not line[match.end():].strip():
            fence = None
            if at_margin:
                best = end + 1  # nothing is left open after it
        elif fence is None and line[:1] not in ("", " ", "\t"):
            # A list goes on through lines that continue its last item's paragraph; only
            # a line at the margin after a blank one surely ends it.
            if _LIST_ITEM.match(line):
                in_list = True
            elif blank_before:
                in_list = False
        blank_before = not line.strip()
        pos = end + 1
    return best


def code_blocks(text: str) -> list[str]:
    """The raw source of every fenced or indented code block, indexed like the copy links."""
    return [_code_source(t) for t in _markdown().parse(text)
            if t.type in ("fence", "code_block")]


def copy_index(href: str) -> int | None:
    """N for a `copy:N` link, else None (the transcript sends other links to the browser)."""
    scheme, _, rest = href.partition(":")
    if scheme == COPY_SCHEME and rest.isdigit():
        return int(rest)
    return None


def warm_up() -> None:
    """Build the Markdown parser (and its link finder's patterns) and the code formatters
    ahead of the first message shown, and start the thread that loads lexers."""
    _markdown()
    for dark in (False, True):
        _formatter(dark)
    lexers.later(int)  # nothing to do yet: the thread is there for the first code block
