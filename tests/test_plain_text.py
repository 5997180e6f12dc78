"""Markdown read as one plain line, for titles and search snippets."""

from __future__ import annotations

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
