"""Imported tool turns reach every provider as text of the assistant's turn: no protocol is
sent a role or an alternation it rejects, and nothing the tools gave back is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from chatdesk import events as ev
from chatdesk.store import HistoryStore, MessageStatus
from chatdesk.transfer.chatgpt import read_chatgpt
from chatdesk.transfer.common import write_conversations
from tests.fakes.server import FakeProvider, Synth
from tests.test_chat import Rig, collect, entry, only, rig_factory, wire_conversation

Rigs = Callable[..., Rig]
CHATGPT = Path(__file__).parent / "transfer" / "fixtures" / "toolturns" / "chatgpt" / \
    "conversations.json"


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Rigs]:
    async with rig_factory(tmp_path) as build:
        yield build


def roles_in(body: Any) -> set[str]:
    """Every "role" anywhere in a request body."""
    if isinstance(body, dict):
        found = {body["role"]} if isinstance(body.get("role"), str) else set()
        for value in body.values():
            found |= roles_in(value)
        return found
    if isinstance(body, list):
        return set().union(*map(roles_in, body)) if body else set()
    return set()


@pytest.mark.parametrize("ptype", ["anthropic", "openai", "gemini", "ollama"])
async def test_an_imported_code_run_is_sent_as_the_assistants_own_turn(
        rigs: Rigs, fake_provider: Callable[..., FakeProvider], ptype: str) -> None:
    fake = fake_provider(ptype)
    rig = rigs([entry(ptype, fake)])
    write_conversations(rig.store, read_chatgpt(CHATGPT), "chatgpt")
    [summary] = rig.store.list_conversations()
    fake.script(Synth(["Sure."]))
    events = await collect(rig.service.send("And the cubes?", summary.id))
    assert only(events, ev.AnswerFinished)
    body = fake.requests[-1].json
    wire_roles = {"gemini": {"user", "model"}}.get(ptype, {"user", "assistant"})
    assert roles_in(body) <= wire_roles  # never "tool", which needs a tool call to answer
    _, turns = wire_conversation(ptype, body)
    assert [role for role, _ in turns] == ["user", "assistant"] * 2 + ["user"]  # alternating
    first, ran, thanks, welcome, question = (text for _, text in turns)
    assert first.startswith("Square the numbers 1 to 5")
    assert (thanks, question) == ("Thanks! Now plot them.", "And the cubes?")
    assert welcome == ("```python\nimport matplotlib.pyplot as plt\nplt.plot(range(1, 6), "
                       'squares, marker="o")\nplt.title("Squares")\nplt.show()\n```\n\n'
                       "**Output**\n\n[image: file-Sq7PlotXyz]\n\n"
                       "Here is the plot of the squares.")
    # the code, each output under its heading, the pages and the answer, in their order
    pieces = ["```python\nsquares = [n * n for n in range(1, 6)]",
              "**Output**\n\n```output\n[1, 4, 9, 16, 25]\n```",
              "```python\n1 / 0\n```", "**Output**\n\n```output\n----",
              "ZeroDivisionError: division by zero",
              "**Result of web browsing**\n\n# 【0†What's New In Python 3.13",
              "(https://docs.python.org/3/whatsnew/3.13.html)",
              "**Result of web search**\n\n- [Python support for free threading]",
              "The squares are 1, 4, 9, 16 and 25"]
    at = [ran.index(piece) for piece in pieces]
    assert at == sorted(at), at


async def test_tool_turns_join_the_turn_they_belong_to(
        rigs: Rigs, fake_openai: FakeProvider) -> None:
    rig = rigs([entry("openai", fake_openai)])
    store: HistoryStore = rig.store
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "Run it")
    store.add_message(conv.id, "tool", "```output\nhello\n```", model="python")  # no call
    store.add_message(conv.id, "tool", "```output\nlost\n```", model="python",
                      status=MessageStatus.FAILED)  # never finished: not sent
    store.add_message(conv.id, "tool", "   ", model="browser")  # nothing in it
    store.add_message(conv.id, "assistant", "It printed hello.", provider="openai")
    store.add_message(conv.id, "user", "Again")
    store.add_message(conv.id, "tool", "```output\nbye\n```", model=None)  # no name known
    store.add_message(conv.id, "assistant", "Bye.", provider="openai")
    last = store.add_message(conv.id, "user", "Thanks")
    history = rig.service.history(conv.id, last.id)
    assert [(m.role, m.content) for m in history] == [
        ("user", "Run it"),
        ("assistant", "**Output**\n\n```output\nhello\n```\n\nIt printed hello."),
        ("user", "Again"),
        ("assistant", "**Result of a tool**\n\n```output\nbye\n```\n\nBye."),
        ("user", "Thanks"),
    ]
