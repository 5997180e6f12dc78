"""Telling exports apart: a file of another product names the command that imports it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer import jobs
from chatdesk.transfer.common import (
    ImportedConversation,
    ImportedMessage,
    ImportFormatError,
    SideOutcome,
    write_conversations,
)
from chatdesk.transfer.formats import kind_of_conversation, kind_of_document

# One conversation of DeepSeek's export (chat.deepseek.com, 2025): ChatGPT's tree shape,
# with `fragments` in its nodes and ISO times.
DEEPSEEK = {
    "id": "7f3c", "title": "Tides", "inserted_at": "2025-02-03T10:00:00.000+08:00",
    "updated_at": "2025-02-03T10:01:00.000+08:00",
    "mapping": {
        "root": {"id": "root", "parent": None, "children": ["1"], "message": None},
        "1": {"id": "1", "parent": "root", "children": [], "message": {
            "files": [], "model": "deepseek-chat", "inserted_at": "2025-02-03T10:00:00+08:00",
            "fragments": [{"type": "REQUEST", "content": "Why are there two tides?"}]}},
    },
}



def test_shapes_are_told_apart() -> None:
    assert kind_of_conversation(DEEPSEEK) == "deepseek"
    assert kind_of_conversation({"mapping": {}, "create_time": 1.0}) == "chatgpt"
    assert kind_of_conversation({"chat_messages": []}) == "claude"
    assert kind_of_conversation({"chat": {"history": {"messages": {}}}}) == "openwebui"
    assert kind_of_conversation({"messages": []}) is None
    assert kind_of_document({"format", "version", "conversations"}) == "chatdesk"
    assert kind_of_document({"uuid", "name", "chat_messages"}) == "claude"


def test_a_deepseek_export_given_to_the_chatgpt_import_names_its_command(
        store: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([DEEPSEEK]), encoding="utf-8")
    for asked in ("chatgpt", "claude"):
        with pytest.raises(ImportFormatError) as caught:
            jobs.run_import(store, asked, path)
        assert "this is a DeepSeek export" in str(caught.value)
        assert "use `chatdesk import deepseek`" in str(caught.value)
    assert store.db.conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0


class _Reader(list[ImportedConversation]):
    side = [SideOutcome("projects", imported=2, skipped=1, why="it is Anthropic's example",
                        became="presets"),
            SideOutcome("memories", skipped=3, why="chatdesk keeps no memory")]


def test_the_summary_says_what_became_of_each_kind(store: HistoryStore) -> None:
    reader = _Reader([ImportedConversation("c1", "One", None, None, [ImportedMessage(
        "m1", "user", "hello", "2025-01-01T00:00:00.000+00:00", None, None, False, None)])])
    report = write_conversations(store, reader, "claude")
    text = jobs.import_summary(report, "claude", 1)
    assert text.splitlines()[1:] == [
        "Projects: 2 imported as presets; 1 not imported — it is Anthropic's example",
        "Memories: 3 not imported — chatdesk keeps no memory"]


def test_an_answers_reasoning_survives_chatdesks_json(store: HistoryStore,
                                                      tmp_path: Path) -> None:
    messages = [
        ImportedMessage("q", "user", "What is 7×8?", "2025-01-01T00:00:01.000+00:00", None,
                        None, False, None),
        # stamped before its question, as skewed export clocks do: the time is kept
        ImportedMessage("a", "assistant", "56", "2025-01-01T00:00:00.500+00:00", "o3", "q",
                        False, "openai", reasoning="7×8 is 56."),
    ]
    write_conversations(store, [ImportedConversation("c", "Sums", None, None, messages)],
                        "chatgpt")
    cid = store.list_conversations()[0].id
    out = tmp_path / "all.json"
    jobs.run_export(store, [cid], "json", str(out))
    with HistoryStore.open(tmp_path / "other.db") as other:
        jobs.run_import(other, "chatdesk", out)
        again = other.messages(other.list_conversations()[0].id)
    assert [(m.role, m.content, m.reasoning, m.created_at[17:23]) for m in again] == [
        ("user", "What is 7×8?", None, "01.000"), ("assistant", "56", "7×8 is 56.", "00.500")]
