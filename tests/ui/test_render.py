"""render_markdown: safe HTML for QTextDocument, highlighted code, copy links that match."""

from __future__ import annotations

import re
import threading
import time

import pytest
from PySide6.QtGui import QTextDocument

from chatdesk.ui import design
from chatdesk.ui.render import (
    code_blocks,
    copy_index,
    render_live_part,
    render_markdown,
    render_markdown_part,
    settled_boundary,
)
from tests.ui.conftest import qt_warning_marks, wait_for_lexer

pytestmark = qt_warning_marks()

HREF = re.compile(r'href="([^"]*)"')

ANSWER = """\
# Plan

Some **bold**, *italic*, ~~old~~ and `inline <code>` text.

1. first
2. second
   - nested

> a quote

| name | value |
|------|------:|
| a    | 1     |

```python
def add(a, b):
    return a + b  # <sum>
```

- in a list:

  ```js
  const x = 1 < 2;
  ```

> ```
> quoted block
> ```

    indented block

See [the docs](https://example.com/docs?a=1&b=2) or <mailto:me@example.com>.
"""


@pytest.mark.parametrize("raw", [
    "<script>alert(1)</script>",
    '<img src="http://evil.example/track.png">',
    "<img src=http://evil.example/x.png>",
    "<style>body { display: none }</style>",
    '<a href="javascript:alert(1)">x</a>',
    '<b onmouseover="alert(1)">hover</b>',
    "<iframe src=https://evil.example></iframe>",
])
def test_raw_html_is_shown_as_text(raw: str) -> None:
    out = render_markdown(f"before\n\n{raw}\n\nafter {raw}")
    assert "<script" not in out and "<img" not in out and "<style" not in out
    assert "<iframe" not in out and "onmouseover=\"" not in out and "<b " not in out
    assert "javascript:" not in "".join(HREF.findall(out))
    assert "&lt;" in out


def test_images_are_never_loaded() -> None:
    out = render_markdown("![a cat](http://example.com/cat.png) and ![](https://x.org/y.png)\n\n"
                          "![tiny](data:image/png;base64,iVBORw0KGgo=)")
    assert "<img" not in out
    assert "a cat" in out
    assert 'href="http://example.com/cat.png"' in out
    assert "data:image" not in "".join(HREF.findall(out))


@pytest.mark.parametrize("href", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:msgbox", "file:///etc/passwd",
    "data:text/html,<script>alert(1)</script>", "ftp://example.com/f", "copy:0",
    "relative/page.html", "#anchor",
])
def test_only_http_https_and_mailto_links_survive(href: str) -> None:
    out = render_markdown(f"[click me]({href}) and <{href}>")
    assert HREF.findall(out) == []
    assert "click me" in out


def test_safe_links_keep_their_href() -> None:
    out = render_markdown(ANSWER)
    hrefs = HREF.findall(out)
    assert "https://example.com/docs?a=1&amp;b=2" in hrefs
    assert "mailto:me@example.com" in hrefs
    assert all(h.startswith(("http://", "https://", "mailto:", "copy:")) for h in hrefs)


def test_structure_tables_lists_headings_quotes() -> None:
    out = render_markdown(ANSWER)
    bar = f'<td width="3" bgcolor="{design.LIGHT.quote_bar}">'  # a quote's bar
    for tag in ("<h1", "<strong>", "<em>", "<s>", "<ol>", "<ul>", "<li>", bar,
                "<table", "<th>", 'style="text-align:right"', "<td"):
        assert tag in out, tag
    assert "&lt;code&gt;" in out  # inline code is escaped


def test_code_is_highlighted_with_inline_styles() -> None:
    out = render_markdown(ANSWER)
    assert 'class="' not in out  # QTextDocument needs inline styles, not CSS classes
    python = out[out.index('href="copy:0"'):out.index('href="copy:1"')]
    assert '<span style="color' in python
    assert "&lt;sum&gt;" in python
    assert out.count("<pre") == 4
    assert "<div" not in out  # Pygments' own wrapper is stripped


def test_unknown_language_falls_back_to_plain_escaped_text() -> None:
    out = render_markdown("```no-such-language-x\n<b>bold?</b>\n```")
    assert "&lt;b&gt;bold?&lt;/b&gt;" in out
    assert "<span" not in out[out.index("<pre"):out.index("</pre>")]


def test_light_and_dark_use_different_colours() -> None:
    light, dark = render_markdown(ANSWER), render_markdown(ANSWER, dark=True)
    assert light != dark
    assert render_markdown(ANSWER, dark=True) == dark  # stable (and cached)


def test_copy_links_and_code_blocks_agree() -> None:
    blocks = code_blocks(ANSWER)
    assert blocks == [
        "def add(a, b):\n    return a + b  # <sum>",
        "const x = 1 < 2;",
        "quoted block",
        "indented block",
    ]
    out = render_markdown(ANSWER)
    copies = [h for h in HREF.findall(out) if h.startswith("copy:")]
    assert copies == [f"copy:{n}" for n in range(len(blocks))]
    # each copy link is in the header right above its own block
    for n, block in enumerate(blocks):
        link = out.index(f'href="copy:{n}"')
        after = out.index(f'href="copy:{n + 1}"') if n + 1 < len(blocks) else len(out)
        first_line = block.splitlines()[0].split()[0].replace("<", "&lt;")
        assert link < out.index(first_line, link) < after


def test_unclosed_fence_while_streaming() -> None:
    partial = "Here:\n\n```python\nprint('hi')\n"
    assert code_blocks(partial) == ["print('hi')"]
    assert 'href="copy:0"' in render_markdown(partial)


def test_copy_index() -> None:
    assert copy_index("copy:3") == 3
    assert copy_index("copy:x") is None
    assert copy_index("https://example.com") is None


def test_renders_in_qtextdocument_without_warnings_or_images(qtbot, qtlog) -> None:
    doc = QTextDocument()
    doc.setHtml(render_markdown(ANSWER + "\n\n![pic](http://example.com/p.png)\n"))
    text = doc.toPlainText()
    assert "def add(a, b):" in text and "quoted block" in text and "second" in text
    assert "<script" not in text
    anchors, images = [], 0
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            images += fmt.isImageFormat()
            if fmt.isAnchor():
                anchors.append(fmt.anchorHref())
            it += 1
        block = block.next()
    assert images == 0
    assert "copy:0" in anchors and "copy:3" in anchors
    assert "http://example.com/p.png" in anchors
    warnings = [r.message for r in qtlog.records]
    assert warnings == []


def test_a_typical_answer_renders_fast() -> None:
    prose = ("Here is **why** this works, with `code` and a [link](https://example.com).\n\n"
             "- one point\n- another point\n\n```python\nfor i in range(3):\n    print(i)\n```\n\n")
    text = (prose * 12)[:2048]
    render_markdown(text + "warm-up")
    runs = 30
    started = time.perf_counter()
    for i in range(runs):
        render_markdown(f"{text}{i}")  # distinct texts: no whole-answer cache hits
    per_answer_ms = (time.perf_counter() - started) / runs * 1000
    assert per_answer_ms < 25, per_answer_ms  # ~1-2 ms here; generous for slow CI


STREAMED = """\
First paragraph, with `code`.

## A heading

```python
x = 1

y = 2
```

- one
- two

    indented code

  continued

Last words"""


def test_settled_boundary_cuts_only_between_blocks_at_the_margin() -> None:
    cut = settled_boundary(STREAMED)
    # Before "Last words" although it is still being written: whatever the line becomes
    # (even a fence), what comes before it renders the same.
    assert STREAMED[cut:] == "Last words"
    inside_fence = STREAMED[:STREAMED.index("y = 2")]
    assert inside_fence[settled_boundary(inside_fence):].startswith("```python")
    assert settled_boundary("one line, no end") == 0
    assert settled_boundary("a\n\nb") == 3
    assert settled_boundary("a\n\n") == 0  # nothing after the blank line yet
    # From a cut onwards only the rest is scanned, and the cut never moves back.
    first = settled_boundary(STREAMED[:45])  # "## A heading\n" is complete
    assert first > 0 and settled_boundary(STREAMED, first) == cut
    assert settled_boundary("x\n\n  indented\n") == 0  # an indented line may continue a list
    assert settled_boundary("~~~\n\nstill code\n\n~~~\n\nafter\n") == \
        len("~~~\n\nstill code\n\n~~~\n\n")


def test_settled_boundary_after_a_fence_at_the_margin_and_not_inside_a_list() -> None:
    # A fenced block that opened at the margin leaves nothing open once closed.
    assert settled_boundary("Intro\n```py\nx = 1\n```\nMore") == len("Intro\n```py\nx = 1\n```\n")
    assert settled_boundary("Intro\n```py\nx = 1\n```") == 0  # the closing line may go on
    # Indented, it may belong to a list item; a backtick run followed by a backtick is
    # inline code, not a fence.
    assert settled_boundary("- a\n  ```\n  x\n  ```\nb") == 0
    assert settled_boundary("p\n\n```x`y\n\nq\n```\nz") == len("p\n\n```x`y\n\n")
    # A blank line between items makes one loose list: no cut between them, nor before a
    # line that may start an item, until a line at the margin after a blank one ends it.
    assert settled_boundary("- a\n\n- b\n\n1. c\n") == 0
    assert settled_boundary("- a\n\n-") == 0
    assert settled_boundary("- a\nlazy\n\n- b\n") == 0
    assert settled_boundary("- a\n\nafter") == len("- a\n\n")
    assert settled_boundary("- a\n\nafter\n\n- b\n", 5) == len("- a\n\nafter\n\n")
    assert settled_boundary("- a\n```\nx\n```\n\n- b") == len("- a\n```\nx\n```\n\n")


def test_parts_cut_at_settled_boundaries_render_as_the_whole() -> None:
    text = ("Intro with a [link](https://example.com).\n\n```python\nprint(1)\n```\n\n"
            "Middle *text*.\n\n```js\nlet a = 2;\n```\n\nEnd.\n")
    whole = render_markdown(text)
    html, cut, code = "", 0, 0
    for upto in range(1, len(text) + 1):  # as if it streamed one character at a time
        new_cut = settled_boundary(text[:upto], cut)
        if new_cut > cut:
            part, code = render_markdown_part(text[cut:new_cut], False, code)
            html, cut = html + part, new_cut
    html += render_markdown_part(text[cut:], False, code)[0]
    assert html == whole
    assert HREF.findall(html).count("copy:1") == 1  # code blocks keep counting across parts
    # A loose list (blank lines between its items) stays one list; text right after a
    # fence, a heading glued to a paragraph, an item's lazy line, a numbered list.
    text = ("- one\n\n- two\nlazy\n\n- three\n\nAfter.\n```sh\nls\n```\nRight after.\n"
            "## Heading\nText.\n\n1. a\n\n2. b\n\n---\n\nEnd")
    html, cut, code = "", 0, 0
    for upto in range(1, len(text) + 1):
        new_cut = settled_boundary(text[:upto], cut)
        if new_cut > cut:
            part, code = render_markdown_part(text[cut:new_cut], False, code)
            html, cut = html + part, new_cut
    assert cut == text.index("End")
    assert html + render_markdown_part(text[cut:], False, code)[0] == render_markdown(text)


def test_bare_urls_become_links_and_unsafe_ones_do_not() -> None:
    out = render_markdown("See https://example.com/a?b=1, or www.example.org. Not javascript:x")
    hrefs = HREF.findall(out)
    assert "https://example.com/a?b=1" in hrefs and "http://www.example.org" in hrefs
    assert not any(h.startswith("javascript") for h in hrefs)


def test_task_lists_show_their_boxes() -> None:
    out = render_markdown("- [ ] buy milk\n- [x] call mum\n- plain [ ] item")
    assert "☐ buy milk" in out and "☑ call mum" in out
    assert "plain [ ] item" in out and "[x]" not in out


def test_a_code_block_has_a_header_with_its_language_and_copy() -> None:
    out = render_markdown("```python\nprint(1)\n```")
    header = out[:out.index("<pre")]
    assert ">python</td>" in header and 'href="copy:0"' in header and ">Copy</a>" in header
    plain = render_markdown("```\nx\n```")
    assert ">code</td>" in plain[:plain.index("<pre")]


def _spans(html_text: str) -> int:
    return html_text.count("<span")


def live(text: str) -> tuple[str, bool]:
    """A live part's HTML once the worker has made what it asked for (a lexer, then the
    highlighting), and whether it is final."""
    from chatdesk.ui import lexers

    for _ in range(3):
        render_live_part(text)
        lexers.later(lambda: None).result()  # the worker does one thing after another
    out, _code, final = render_live_part(text)
    return out, final


def test_a_code_block_still_being_written_shows_plain_and_highlighted_once_closed() -> None:
    wait_for_lexer("python")
    growing = "Look:\n\n```python\ndef f(x):\n    return x + 1\n"
    html_text, final = live(growing)
    assert not final and _spans(html_text) == 0 and "def f(x):\n    return x + 1" in html_text
    assert "python" in html_text and 'href="copy:0"' in html_text  # its box, label, Copy link
    assert _spans(render_markdown_part(growing)[0]) > 0  # not live: highlighted as always
    closed, final = live(growing + "```\n")
    assert final and _spans(closed) > 0
    assert closed == render_markdown_part(growing + "```\n")[0]
    # Not a closing fence: a longer opening run is needed, and no text may follow it.
    assert _spans(live(growing + "``")[0]) == 0
    assert _spans(live(growing + "```x")[0]) == 0
    tilde = "~~~~python\nx = 1\n~~~"
    assert _spans(live(tilde)[0]) == 0
    assert _spans(live(tilde + "~\n")[0]) > 0
    assert live("no code at all")[1] and live("```\nno language\n")[1]


def test_a_live_block_is_plain_until_its_lexer_and_highlighting_are_made(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from chatdesk.ui import lexers, render

    monkeypatch.setattr(lexers, "ready", lambda name: False)
    text = "```rust\nfn main() {}\n```\n"
    out, _code, final = render_live_part(text)
    assert _spans(out) == 0 and not final
    assert _spans(render_markdown_part(text)[0]) > 0  # a settled part waits for its lexer
    monkeypatch.undo()
    wait_for_lexer("rust")
    made: list[tuple[str, str]] = []
    real = render._highlight

    def spy(code: str, language: str, dark: bool) -> str:
        made.append((code, threading.current_thread().name))
        return real(code, language, dark)

    monkeypatch.setattr(render, "_highlight", spy)
    text = "```rust\nfn other() {}\n```\n"
    first = render_live_part(text)
    assert not first[2] and _spans(first[0]) == 0  # being highlighted on the worker
    out, final = live(text)
    assert final and _spans(out) > 0
    assert made[0] == ("fn other() {}", made[0][1]) and made[0][1] != \
        threading.current_thread().name
