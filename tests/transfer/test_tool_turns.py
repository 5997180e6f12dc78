"""Imported tool turns (code a tool ran, its output, pages it read): kept as what they are by
the importers, and kept by every export and by a native round trip."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore, StoredMessage
from chatdesk.transfer.chatgpt import read_chatgpt
from chatdesk.transfer.claude import read_claude
from chatdesk.transfer.common import ImportedConversation, write_conversations
from chatdesk.transfer.html import export_html
from chatdesk.transfer.markdown import conversation_markdown, message_heading
from chatdesk.transfer.native import export_native, import_native, select_conversations

FIXTURES = Path(__file__).parent / "fixtures" / "toolturns"
CHATGPT = FIXTURES / "chatgpt" / "conversations.json"
CLAUDE = FIXTURES / "claude" / "conversations.json"


def one(reader: Iterable[ImportedConversation]) -> ImportedConversation:
    [conv] = list(reader)
    return conv


def test_chatgpt_code_runs_keep_the_code_and_its_output() -> None:
    conv = one(read_chatgpt(CHATGPT))
    shape = [(m.role, m.model) for m in conv.messages]
    assert shape == [
        ("user", None),
        ("assistant", "o4-mini-high"), ("tool", "python"),  # squares
        ("assistant", "o4-mini-high"), ("tool", "python"),  # 1 / 0
        ("assistant", "o4-mini-high"), ("tool", "browser"),  # search(...)
        ("assistant", "o4-mini-high"), ("tool", "browser"),  # mclick(...) → the quote
        ("assistant", "o4-mini-high"), ("tool", "web.run"),  # web.run → results
        ("assistant", "o4-mini-high"), ("user", None),
        ("assistant", "o4-mini-high"), ("tool", "python"),  # the plot
        ("assistant", "o4-mini-high"),
    ]
    texts = [m.content for m in conv.messages]
    # the code, in a fence with its language, is the model's turn
    assert texts[1] == "```python\nsquares = [n * n for n in range(1, 6)]\nprint(squares)\n```"
    # what it printed is the tool's turn, as output
    assert texts[2] == "```output\n[1, 4, 9, 16, 25]\n```"
    assert texts[4].startswith("```output\n----") and texts[4].endswith(
        "ZeroDivisionError: division by zero\n```")
    # a plot: the placeholder of the image it showed, not ChatGPT's "<<ImageDisplayed>>"
    assert texts[-3].endswith('plt.show()\n```') and texts[-2] == "[image: file-Sq7PlotXyz]"
    assert all(m.provider is None for m in conv.messages if m.role == "tool")
    assert {m.provider for m in conv.messages if m.role == "assistant"} == {"openai"}
    # each tool turn answers the call before it
    for call, result in zip(conv.messages[1:11:2], conv.messages[2:12:2], strict=True):
        assert result.parent_source_id == call.source_id


def test_chatgpt_browsing_keeps_quotes_with_their_address() -> None:
    texts = [m.content for m in one(read_chatgpt(CHATGPT)).messages]
    assert texts[5] == '```\nsearch("Python 3.13 release notes")\n```'  # language unknown
    assert "Python 3.13.0 is the newest major release" in texts[6]  # the page as shown
    quote = texts[8]
    assert quote.startswith("> **Quote**\n>\n> Python 3.13 is the latest stable release")
    assert quote.endswith(
        "— [What's New In Python 3.13](https://docs.python.org/3/whatsnew/3.13.html)")
    # web.run keeps its results in the metadata: they become links, not an empty turn
    assert texts[10] == (
        "- [Python support for free threading]"
        "(https://docs.python.org/3/howto/free-threading-python.html)\n"
        "- [What's New In Python 3.13](https://docs.python.org/3/whatsnew/3.13.html)")


def test_claude_tool_blocks_are_code_output_and_links() -> None:
    conv = one(read_claude(CLAUDE))
    assert [m.role for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    ran = conv.messages[1].content
    # the analysis tool (`repl`) runs JavaScript: its code as code, its result as Output
    code = ("**Code (repl)**\n\n```javascript\nconst xs = [3, 5, 10];\n"
            "console.log(xs.reduce((a, b) => a + b, 0) / xs.length);\n```")
    output = '**Output**\n\n```output\n{"status":"success","logs":["6"]}\n```'
    # an artifact is a document, fenced in its language
    artifact = ("**Document: mean.py**\n\n```python\ndef mean(xs):\n    return sum(xs) / len(xs)"
                "\n```")
    assert ran.startswith("Let me calculate that.\n\n" + code + "\n\n" + output)
    assert ran.index(output) < ran.index("The mean is 6.") < ran.index(artifact)
    searched = conv.messages[3].content
    assert searched.startswith('**Tool call: web_search**\n\n```json\n{\n  "query": '
                               '"arithmetic mean definition"\n}\n```')
    assert ("**Result of web search**\n\n- [Arithmetic mean - Wikipedia]"
            "(https://en.wikipedia.org/wiki/Arithmetic_mean)") in searched
    assert searched.endswith("It is the sum of the numbers divided by how many there are.")


@pytest.fixture
def imported(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(tmp_path / "a" / "history.db") as store:
        write_conversations(store, read_chatgpt(CHATGPT), "chatgpt")
        yield store


def thread(store: HistoryStore) -> tuple[int, list[StoredMessage]]:
    [summary] = store.list_conversations()
    return summary.id, store.messages(summary.id)


def test_the_store_keeps_tool_turns_as_tool_turns(imported: HistoryStore) -> None:
    _, messages = thread(imported)
    tools = [m for m in messages if m.role == "tool"]
    assert [(m.model, m.provider, m.status) for m in tools] == [
        ("python", None, "complete"), ("python", None, "complete"),
        ("browser", None, "complete"), ("browser", None, "complete"),
        ("web.run", None, "complete"), ("python", None, "complete")]
    assert tools[0].content == "```output\n[1, 4, 9, 16, 25]\n```"


def test_markdown_and_html_exports_name_tool_turns_for_what_they_are(
        imported: HistoryStore, tmp_path: Path) -> None:
    cid, messages = thread(imported)
    conv = imported.get_conversation(cid)
    assert conv is not None
    headings = [message_heading(m) for m in messages if m.role == "tool"]
    assert headings == ["Output", "Output", "Result of web browsing", "Result of web browsing",
                        "Result of web search", "Output"]
    text = conversation_markdown(imported, conv, messages)
    assert "## Output\n\n*2024-12-04 08:13 UTC*\n\n```output\n[1, 4, 9, 16, 25]\n```" in text
    assert "## Result of web browsing" in text and "## Tool" not in text
    assert "(https://docs.python.org/3/whatsnew/3.13.html)" in text
    page = tmp_path / "export.html"
    export_html(imported, [cid], str(page))
    html = page.read_text(encoding="utf-8")
    data = json.loads(html.split('id="chatdesk-data">', 1)[1]
                      .split("</script>", 1)[0])
    shown = [(m["role"], m["who"]) for c in data["conversations"] for m in c["messages"]
             if m["role"] == "tool"]
    assert shown == [("tool", h) for h in headings]
    first = next(m for c in data["conversations"] for m in c["messages"] if m["role"] == "tool")
    assert "[1, 4, 9, 16, 25]" in first["html"] and "<pre" in first["html"]
    assert ".msg.tool{" in html  # drawn quietly, apart from the answers


def test_a_native_round_trip_keeps_tool_turns(imported: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "native.json"
    export_native(imported, select_conversations(imported, None), str(path))
    _, before = thread(imported)
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        report = import_native(target, path)
        _, after = thread(target)
    assert report.messages_added == len(before)
    keep = [(m.role, m.content, m.model, m.provider, m.status) for m in before]
    assert [(m.role, m.content, m.model, m.provider, m.status) for m in after] == keep
    assert sum(1 for m in after if m.role == "tool") == 6


def test_history_show_names_tool_turns(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from chatdesk.cli import main

    monkeypatch.setenv("CHATDESK_DATA_DIR", str(tmp_path / "data"))
    assert main(["import", "chatgpt", str(CHATGPT)]) == 0
    capsys.readouterr()
    assert main(["history", "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "── openai · o4-mini-high" in out
    assert out.count("── Output  ") == 3 and out.count("── Result of web browsing  ") == 2
    assert "── Result of web search  " in out and "── tool" not in out
    assert main(["history", "show", "1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["messages"]
    assert [m["role"] for m in shown].count("tool") == 6  # the JSON keeps the stored role
