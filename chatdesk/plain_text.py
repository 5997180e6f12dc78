"""Markdown as one plain line, for titles and search snippets: `**window**` reads "window"."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Nothing that markdown could mean: most titles, returned as they are without a parse.
# Only what can be markup counts: `_` at a word's edge (snake_case is text), `~~`, `<` that
# opens an autolink, `\` before punctuation, entities, and a heading, quote or list mark
# opening a line; `#`, `>` and `!` elsewhere are text to markdown too.
_MARKUP = re.compile(r"[*`\[\]|]|~~|(?<!\w)_|_(?!\w)|<[A-Za-z/]|\\[!-/:-@\[-`{-~]|&(?:#|\w+;)"
                     r"|^[ \t]*(?:[-+>#]|\d{1,9}[.)])", re.MULTILINE)
# What opens a line: a heading, quote, list item or task box, a table's or fence's marks.
_LINE_START = re.compile(
    r"^\s{0,3}(?:#{1,6}(?=\s|$)|>+|[-+*](?=\s)|\d{1,9}[.)](?=\s)|```+\w*|~~~+\w*)\s*"
    r"(?:\[[ xX]\]\s+)?")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


@lru_cache(maxsize=1)
def _inline() -> MarkdownIt:
    # Loaded at the first title with markup, not with the store: most titles have none, and
    # markdown-it costs ~30 ms to import (the command line and the first paint wait for it).
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough")


def plain_line(text: str) -> str:
    """`text` read as markdown and written as one line of what a reader sees: no `**`,
    heading marks, link targets or backticks; runs of white space made one space. Control
    characters a caller uses as markers (search's match marks) are kept where they were."""
    if not _MARKUP.search(text):
        return " ".join(text.split())
    parts: list[str] = []
    for line in text.splitlines():
        if _TABLE_RULE.match(line):
            continue
        line = _LINE_START.sub("", line, count=1)
        if "|" in line:
            line = " ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
        if line.strip():
            parts.append(_inline_text(line))
    return " ".join(" ".join(parts).split())


def _inline_text(line: str) -> str:
    words: list[str] = []
    for block in _inline().parseInline(line):
        for token in block.children or ():
            if token.type in ("text", "code_inline"):
                words.append(token.content)
            elif token.type == "image":
                words.append(token.content)  # its alt text
            elif token.type in ("softbreak", "hardbreak"):
                words.append(" ")
    return "".join(words)
