"""Markdown read as one plain line, for titles and search snippets."""

from __future__ import annotations

import random

import pytest

from chatdesk.plain_text import plain_line
from chatdesk.store.models import derive_title


@pytest.mark.parametrize(("markdown", "plain"), [
    ("How do I **resize** a window?", "How do I resize a window?"),
    ("## File was not found", "File was not found"),
    ("- [ ] task one\n- [x] two", "task one two"),
    ("Use `ls -la` and [the docs](https://example.com/z)", "Use ls -la and the docs"),
    ("![logo](a.png) here", "logo here"),
    ("> quoted *text*", "quoted text"),
    ("1. first\n2. second", "first second"),
    ("~~old~~ new", "old new"),
    ("```python\nprint(1)\n```", "print(1)"),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "a b 1 2"),
    # Not markdown, or not what it looks like: kept.
    ("snake_case_name stays", "snake_case_name stays"),
    ("price is 5 * 3 = 15", "price is 5 * 3 = 15"),
    ("#hashtag word", "#hashtag word"),
    ("  lots   of\n\nspace ", "lots of space"),
])
def test_plain_line(markdown: str, plain: str) -> None:
    assert plain_line(markdown) == plain


def test_search_match_marks_survive() -> None:
    marked = "a \x02match\x03 in **bold \x02x\x03**"
    assert plain_line(marked) == "a \x02match\x03 in bold \x02x\x03"


def test_titles_made_from_a_first_message_are_plain() -> None:
    assert derive_title("**Why** does `git rebase` fail?\n\nDetails…") == \
        "Why does git rebase fail? Details…"
    assert derive_title("# " + "word " * 40).startswith("word word")
    assert derive_title("```\n```") is None  # nothing a reader would see: no title


def test_a_huge_first_message_is_cut_before_it_is_read() -> None:
    title = derive_title("**start** " + "x" * 50_000_000)
    assert title is not None and title.startswith("start x") and len(title) < 70


def test_text_taken_as_it_is_reads_as_markdown_would() -> None:
    """What plain_line returns without parsing (no markup found) is what parsing gives:
    random titles of the characters that look like markup but are text where they are."""
    from chatdesk import plain_text

    pieces = [*"ab1 _!#<>~&;\\-+.)(?*`é\n\t=", "of_0", "&amp;", "http", "x_y", "_z", "1.", "~~"]
    rng = random.Random(7)
    taken = 0
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        if plain_text._MARKUP.search(text):
            continue
        taken += 1
        parsed = " ".join(plain_text._inline_text(line) for line in text.splitlines())
        assert plain_line(text) == " ".join(parsed.split()), repr(text)
    assert taken > 2_000  # the check saw many texts taken as they are
    for title in ("Why does x_y fail?", "Fix #42 now!", "a > b", "snake_case_name"):
        assert not plain_text._MARKUP.search(title)  # read without markdown-it
