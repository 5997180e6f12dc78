"""HTML export: one file that loads nothing from anywhere, with an index, search data and
conversations whose Markdown is rendered safely."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer.html import CSP, export_html, render_markdown
from chatdesk.transfer.native import select_conversations
from tests.transfer.test_native import seed_history

REMOTE = re.compile(r"^\s*(https?:|//|ftp:|file:)", re.IGNORECASE)


class Page(HTMLParser):
    """Every tag with its attributes, and the text of each <script>/<style> by id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open, self._text = (tag, dict(attrs)), []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag == self._open[0]:
            if tag == "script":
                self.scripts.append((self._open[1], "".join(self._text)))
            else:
                self.styles.append("".join(self._text))
            self._open = None


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def embedded(page: Page) -> dict[str, Any]:
    [data] = [text for attrs, text in page.scripts if attrs.get("id") == "chatdesk-data"]
    return json.loads(data)


@pytest.fixture
def exported(tmp_path: Path) -> tuple[HistoryStore, str]:
    with HistoryStore.open(tmp_path / "data" / "history.db") as store:
        seed_history(store)
        out = tmp_path / "export.html"
        export_html(store, select_conversations(store, None), str(out))
        yield store, out.read_text(encoding="utf-8")


def test_the_page_loads_nothing_from_anywhere(exported: tuple[HistoryStore, str]) -> None:
    _, text = exported
    page = parse(text)
    names = {tag for tag, _ in page.tags}
    assert not names & {"link", "img", "iframe", "object", "embed", "video", "audio", "source",
                        "base", "form"}
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = attrs.get(name)
            assert value is None or not REMOTE.match(value), (tag, name, value)
    for attrs, _ in page.scripts:
        assert "src" not in attrs
    assert all("url(" not in css and "@import" not in css for css in page.styles)
    [csp] = [a["content"] for t, a in page.tags
             if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"]
    assert csp == ("default-src 'none'; style-src 'unsafe-inline'; "
                   "script-src 'unsafe-inline'; img-src data:") == CSP
    assert any(t == "meta" and a.get("name") == "referrer" for t, a in page.tags)


def test_the_index_lists_every_conversation(exported: tuple[HistoryStore, str]) -> None:
    store, text = exported
    page = parse(text)
    ids = [int(a["data-id"]) for t, a in page.tags if t == "li" and "data-id" in a]
    links = [a["href"] for t, a in page.tags if t == "a" and a.get("href", "").startswith("#c-")]
    assert ids[0] == 1  # pinned first, then latest first
    assert sorted(ids) == [1, 3, 4, 5] and links == [f"#c-{i}" for i in ids]
    assert "Tides &amp; &lt;b&gt;moons&lt;/b&gt;" in text  # titles are escaped
    assert f"{store.get_conversation(4).updated_at[:10]} · 2 messages" in text


def test_the_embedded_data_holds_every_message(exported: tuple[HistoryStore, str]) -> None:
    store, text = exported
    page = parse(text)
    data = embedded(page)
    convs = {c["id"]: c for c in data["conversations"]}
    # The page's script pairs list items and data by position.
    assert list(convs) == [int(a["data-id"]) for t, a in page.tags if t == "li"]
    for cid, conv in convs.items():
        assert [m["text"] for m in conv["messages"]] == [m.content for m in store.messages(cid)]
    tides = convs[1]
    assert tides["system"] == "Be brief."
    question, answer = tides["messages"]
    assert question["who"] == "You" and answer["who"] == "Assistant · openai · gpt-x"
    assert answer["notes"] == ["anthropic failed after 2 words: overloaded (529)"]
    assert convs[3]["messages"][1]["status"] == "failed"
    # "</script>" inside a message did not end the data block early: it is all there.
    assert "print('</script>')" in answer["text"]
    assert "</script>" not in text.split('id="chatdesk-data">', 1)[1].split("</script>", 1)[0]


def test_message_html_is_safe_and_keeps_the_users_links(
        exported: tuple[HistoryStore, str]) -> None:
    _, text = exported
    data = embedded(parse(text))
    question, answer = data["conversations"][0]["messages"]
    assert "<script>" not in question["html"] and "&lt;script&gt;x&lt;/script&gt;" in question[
        "html"]
    assert "<strong>tides</strong>" in question["html"]
    body = parse(answer["html"])
    hrefs = [a.get("href") for t, a in body.tags if t == "a"]
    assert hrefs == ["https://oceanservice.noaa.gov/"]
    assert all(a.get("rel") == "noopener noreferrer" for t, a in body.tags if t == "a")
    assert ("code", {"class": "language-python"}) in body.tags


@pytest.mark.parametrize("markdown, absent, present", [
    ("[x](javascript:alert(1))", "<a", "x"),
    ("[x](data:text/html,hi)", "<a", "x"),
    ("[x](//evil.example/a)", "<a", "x"),
    ("![cat](https://example.com/cat.png)", "<img",
     '[image: cat] (<a href="https://example.com/cat.png"'),
    ("![cat](data:image/png;base64,AAAA)", "<img", "[image: cat]"),
    ('<img src="https://example.com/t.gif">', "<img", "&lt;img"),
    ('<a href="https://x.example">raw</a>', "<a ", "&lt;a href"),
    ("<style>body{}</style>", "<style", "&lt;style&gt;"),
])
def test_render_markdown(markdown: str, absent: str, present: str) -> None:
    out = render_markdown(markdown)
    assert absent not in out and present in out


def test_an_empty_export_is_still_a_page(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "history.db") as store:
        summary = export_html(store, [], str(tmp_path / "e.html"))
    page = parse((tmp_path / "e.html").read_text(encoding="utf-8"))
    assert summary.conversations == 0 and embedded(page) == {"conversations": []}


def test_a_folder_as_output_gets_a_file_named_for_it(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "data" / "history.db") as store:
        seed_history(store)
        summary = export_html(store, [1], str(tmp_path))
    assert summary.path == tmp_path / "chatdesk-export.html" and summary.path.is_file()
