"""How much of one message the transcript renders: huge ones show a bounded first part."""

from __future__ import annotations

# Whole messages up to these sizes are rendered as markdown. Qt lays out and paints a
# table slowly (~2 ms a row of 20 cells), so table cells, counted as `|`, have a bound too.
RENDER_LIMIT = 16_000  # characters
CELL_LIMIT = 240  # `|` characters
# The first part of a bigger message, rendered as markdown with "Show all" under it.
PREVIEW_CHARS = 4_000
PREVIEW_LINES = 40
# "Show all" shows the text as plain text (no markdown parse), one part at a time: at most
# this many characters, and as many lines as keep the row below MAX_ROW_HEIGHT (the item
# views of Qt cut a row at 32,767 px).
PLAIN_PAGE = 262_144
MAX_ROW_HEIGHT = 24_000


def preview_cut(text: str) -> int | None:
    """None when the whole of `text` renders within the bounds, else where its rendered
    first part ends: a line end, within PREVIEW_CHARS, PREVIEW_LINES and CELL_LIMIT."""
    if len(text) <= RENDER_LIMIT and text.count("|") <= CELL_LIMIT:
        return None
    limit = min(len(text), PREVIEW_CHARS)
    cut = lines = bars = 0
    while lines < PREVIEW_LINES:
        end = text.find("\n", cut, limit)
        if end < 0:
            break
        bars += text.count("|", cut, end)
        if bars > CELL_LIMIT:
            break
        cut, lines = end + 1, lines + 1
    if cut == 0:  # one long first line: cut it at a space
        space = text.rfind(" ", 0, limit)
        cut = space + 1 if space > 0 else limit
    return cut


def page_end(text: str, start: int, per_line: int, max_lines: int) -> int:
    """Where the plain-text part of `text` that begins at `start` ends: after at most
    PLAIN_PAGE characters and `max_lines` lines of `per_line` characters (wrapped)."""
    limit = min(len(text), start + PLAIN_PAGE)
    pos, lines = start, 0
    while pos < limit:
        end = text.find("\n", pos, limit)
        stop = limit if end < 0 else end + 1
        wrapped = 1 + (stop - pos) // max(1, per_line)
        if lines + wrapped > max_lines:
            room = (max_lines - lines) * max(1, per_line)
            if room <= 0:
                return pos if pos > start else min(limit, start + max(1, per_line))
            space = text.rfind(" ", pos, pos + room)
            return space + 1 if space > pos else pos + room
        lines += wrapped
        pos = stop
    return limit


def shown_text(text: str, page: int) -> str:
    """Roughly what a row shows: from `page` >= 0 on as plain text, else the preview (or
    all of a message within the bounds)."""
    if page >= 0:
        return text[page:page + PLAIN_PAGE]
    cut = preview_cut(text)
    return text if cut is None else text[:cut]


def size_label(chars: int) -> str:
    """1.2 MB, 340 KB: the size of a message, as people read it."""
    if chars >= 1_000_000:
        return f"{chars / 1_000_000:.1f} MB"
    return f"{max(1, round(chars / 1000))} KB"
