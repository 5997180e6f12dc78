"""ChatGPT exports as they are in 2024–2026: canvas, citations, thinking, named uploads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer import jobs
from chatdesk.transfer.chatgpt import read_chatgpt
from chatdesk.transfer.chatgpt_parts import apply_updates, cited
from chatdesk.transfer.common import ImportedConversation

FAITHFUL = Path(__file__).parent / "fixtures" / "chatgpt_faithful" / "conversations.json"
CANVAS = "67bb0a00-1111-8000-9f7e-00000000ca01"
BRACKETS = "66380000-2222-8000-9f7e-00000000c1b0"
TOKENS = "68c90000-3333-8000-9f7e-00000000c2c0"
THINKING = "69060000-4444-8000-9f7e-00000000d0d0"
UPLOADS = "691a0000-5555-8000-9f7e-00000000e0e0"
INSTRUCTIONS = ("About me:\nI teach maths at a secondary school in Leeds.\n\n"
                "How to respond:\nAnswer in British English. Keep it short.")



def by_id() -> dict[str, ImportedConversation]:
    return {c.source_id: c for c in read_chatgpt(FAITHFUL)}


def outline(conv: ImportedConversation) -> list[tuple[str, str]]:
    return [(m.role, " ".join(m.content.split()[:4])) for m in conv.messages]


def test_canvas_documents_are_documents_with_their_edits_applied() -> None:
    conv = by_id()[CANVAS]
    assert outline(conv) == [
        ("user", "Write a PowerShell script"),
        ("assistant", "**Document: backup_documents** ```powershell $src"),
        ("user", "Make it skip .tmp"),
        ("assistant", "**Document: backup_documents** (version 2)"),
        ("user", "Any comments on the"),
        ("assistant", "**Comments on backup_documents** -"),
    ]
    first, edited, commented = (conv.messages[i].content for i in (1, 3, 5))
    assert first == (
        "**Document: backup_documents**\n\n```powershell\n$src = \"$HOME\\Documents\"\n"
        "$dst = \"D:\\Backup\\Documents\"\nCopy-Item $src $dst -Recurse -Force\n"
        "Write-Host \"Backed up $src\"\n```\n\n"
        "I've put the script in the canvas: it copies the whole folder and says when it is done.")
    # the edit the tool refused (the model tried again) is not shown; the one that worked is
    assert "Copy-Item $src $dst -Recurse -Force -Exclude *.tmp\n" in edited
    assert "$source" not in edited and "Failed" not in edited
    assert edited.endswith("```\n\nDone: files ending in .tmp are left out now.")
    assert commented == ("**Comments on backup_documents**\n\n- *$dst = \"D:\\Backup\\Documents\"*:"
                         " Consider making the destination a parameter.\n\n"
                         "I left one comment in the script.")
    everything = "\n".join(m.content for m in conv.messages)
    for raw in ('"updates"', '"content":', "textdoc_id", "Successfully", "\\n"):
        assert raw not in everything
    assert {m.role for m in conv.messages} == {"user", "assistant"}


def test_2024_citation_markers_become_links_and_sources() -> None:
    conv = by_id()[BRACKETS]
    answer, from_file = conv.messages[3].content, conv.messages[5].content
    assert answer == (
        "The Maine Coon is the largest domesticated breed by weight "
        "([en.wikipedia.org](https://en.wikipedia.org/wiki/Maine_Coon)), though the Savannah can "
        "stand taller ([tica.org](https://tica.org/breeds/savannah)).\n\n**Sources**\n\n"
        "1. [Maine Coon - Wikipedia](https://en.wikipedia.org/wiki/Maine_Coon)\n"
        "2. [Savannah cat - TICA](https://tica.org/breeds/savannah)")
    assert from_file == "Your notes say Miso weighed 8.2 kg at the last visit (vet-notes.pdf)."
    # the browser's own page keeps its text: only answers carry citation markers
    assert conv.messages[2].role == "tool" and "【0†Maine Coon" in conv.messages[2].content


def test_2025_citation_tokens_become_links_and_no_private_characters_stay() -> None:
    conv = by_id()[TOKENS]
    assert outline(conv) == [
        ("user", "What's on in Zürich"),
        ("assistant", "Searched the web for"),
        ("tool", "- [Zurich Film Festival](https://zff.com/en/)"),
        ("assistant", "The Zurich Film Festival"),
    ]
    assert conv.messages[1].content == "Searched the web for “Zürich events this weekend”"
    assert conv.messages[3].content == (
        "The Zurich Film Festival runs until Sunday ([zff.com](https://zff.com/en/)). In Zürich "
        "the lake promenade hosts a flea market on Saturday "
        "([zuerich.com](https://www.zuerich.com/en/visit/flea-markets), "
        "[nzz.ch](https://www.nzz.ch/zuerich/weekend)).\n\nEnjoy the weekend!\n\n**Sources**\n\n"
        "1. [Zurich Film Festival](https://zff.com/en/)\n"
        "2. [Flea markets on the lake](https://www.zuerich.com/en/visit/flea-markets)\n"
        "3. [What's on this weekend](https://www.nzz.ch/zuerich/weekend)")
    assert not any("\ue200" <= ch <= "\ue2ff" for m in conv.messages for ch in m.content)


def test_thinking_and_what_ran_while_thinking_are_the_answers_reasoning() -> None:
    """Two questions to gpt-5-thinking: thoughts, a python run, a web search and the
    "Thought for 9s" labels are not turns; two questions make four messages."""
    conv = by_id()[THINKING]
    assert [(m.role, m.content) for m in conv.messages] == [
        ("user", "How many primes are there below 1000?"),
        ("assistant", "There are **168** primes below 1000."),
        ("user", "And below 10,000? Check a source."),
        ("assistant", "There are **1,229** primes below 10,000 ([Wikipedia]"
                      "(https://en.wikipedia.org/wiki/Prime-counting_function)).\n\n**Sources**\n\n"
                      "1. [Prime-counting function - Wikipedia]"
                      "(https://en.wikipedia.org/wiki/Prime-counting_function)"),
    ]
    first, second = conv.messages[1].reasoning, conv.messages[3].reasoning
    assert first == (
        "**Counting primes below 1000**\n\nI could sieve, but running a quick count is surer.\n\n"
        "Ran `python`:\n\n```\nsum(all(n % d for d in range(2, int(n**0.5) + 1)) "
        "for n in range(2, 1000))\n```\n\n```output\n168\n```")
    assert second is not None and second.startswith("**Checking a reference**")
    assert "Searched the web for “number of primes below 10000”" in second
    assert "- [Prime-counting function - Wikipedia]" in second
    assert "Thought for" not in (first or "") + second
    assert {m.model for m in conv.messages if m.role == "assistant"} == {"gpt-5-thinking"}
    # the answer is stamped 1.2 s before its question (a clock the export "fixed"): the
    # time is kept as it is and the tree keeps the order
    question, answer = conv.messages[2], conv.messages[3]
    assert answer.parent_source_id == question.source_id
    assert question.created_at == "2025-11-01T12:27:10.000+00:00"
    assert answer.created_at == "2025-11-01T12:27:08.800+00:00"


def test_uploads_keep_their_names_and_every_one_leaves_a_trace() -> None:
    conv = by_id()[UPLOADS]
    question = conv.messages[0]
    assert question.content == (
        "[file: Q3 report.pdf]\n\n[file: notes.txt]\n\n[image: receipt.jpg]\n\n"
        "What does this receipt say? And summarise the report.")
    assert question.missing_files == 3 and question.attachments == ()


def test_custom_instructions_and_memory_become_presets() -> None:
    reader = read_chatgpt(FAITHFUL)
    follows = {c.source_id: c.preset for c in reader}
    assert follows == {CANVAS: None, BRACKETS: None, TOKENS: None,
                       THINKING: "ChatGPT custom instructions",
                       UPLOADS: "ChatGPT custom instructions"}  # the same text: one preset
    assert [(p.name, p.system_prompt) for p in reader.presets] == [
        ("ChatGPT custom instructions", INSTRUCTIONS),
        ("ChatGPT memory", "1. [2025-10-30]. Teaches maths at a secondary school in Leeds.\n"
                           "2. [2025-11-01]. Prefers short answers."),
    ]
    everything = json.dumps([m.content for c in read_chatgpt(FAITHFUL) for m in c.messages])
    assert "Leeds" not in everything and "The user provided" not in everything


def test_the_summary_twice_and_a_round_trip_through_chatdesk_json(
        tmp_path: Path, store: HistoryStore) -> None:
    first = jobs.run_import(store, "chatgpt", FAITHFUL)
    assert jobs.import_summary(first, "chatgpt", 5) == (
        "Imported 5 conversations (22 messages) from ChatGPT; 3 files were not in the export "
        "(a placeholder in the message names each); 0 empty skipped; 0 already there\n"
        "Custom instructions: 1 imported as a preset its conversations follow\n"
        "Memory: 1 imported as the preset “ChatGPT memory”")
    thinking = store.find_conversation_by_source("chatgpt", THINKING)
    assert thinking is not None and store.get_preset("ChatGPT custom instructions") is not None
    assert store.conversation_preset(thinking.id) == "ChatGPT custom instructions"
    before = outline_of(store)
    again = jobs.run_import(store, "chatgpt", FAITHFUL)
    assert jobs.import_summary(again, "chatgpt", 5) == (
        "Imported 0 conversations (0 messages) from ChatGPT; 0 empty skipped; 5 already there\n"
        "Custom instructions: 1 already there\nMemory: 1 already there")
    assert outline_of(store) == before
    out = tmp_path / "all.json"
    jobs.run_export(store, [c.id for c in store.list_conversations()], "json", str(out))
    with HistoryStore.open(tmp_path / "other.db") as other:
        jobs.run_import(other, "chatdesk", out)
        assert outline_of(other) == before


def outline_of(store: HistoryStore) -> list[tuple[str, str, str | None, str]]:
    return [(m.role, m.content, m.reasoning, m.created_at)
            for c in sorted(store.list_conversations(), key=lambda c: c.created_at)
            for m in store.messages(c.id, include_alternates=True)]


# -- the parts on their own -----------------------------------------------------------


@pytest.mark.parametrize(("updates", "expected"), [
    ([{"pattern": "two", "replacement": "2", "multiple": True}], "one 2 2"),
    ([{"pattern": "two", "replacement": "2"}], "one 2 two"),
    ([{"pattern": r"(\w+) two", "replacement": r"\1 & $1"}], "one & one two"),
    ([{"pattern": ".*", "replacement": "all\nnew"}], "all\nnew"),  # a rewrite, across lines
    ([{"pattern": "one", "replacement": "1"}, {"pattern": "three", "replacement": "3"}], None),
    ([{"pattern": "(unclosed", "replacement": "x"}], None),
    # a repeated group that repeats inside could run for hours on a near match: not run,
    # though these two would match
    ([{"pattern": "(on+)+e", "replacement": "y"}], None),
    ([{"pattern": r"(\w+ )*two$", "replacement": "y"}], None),
])
def test_canvas_updates_apply_in_order_or_not_at_all(updates: list[dict[str, object]],
                                                      expected: str | None) -> None:
    text = "one two two" if expected != "all\nnew" else "one\ntwo"
    assert apply_updates(text, updates) == expected


def test_citations_without_markers_or_references_change_nothing() -> None:
    assert cited("Plain answer with 【 a bracket", {}) == "Plain answer with 【 a bracket"
    assert cited("Code `x = 1 )`", {"content_references": []}) == "Code `x = 1 )`"
    # a marker the export names no page for is removed, not kept
    assert cited("Claim【3:0†source】.", {"citations": []}) == "Claim."
    assert cited("Claim \ue200cite\ue202turn0search9\ue201.", {}) == "Claim."


def test_a_mapping_listed_children_first_reads_the_same(tmp_path: Path) -> None:
    """Real exports list a parent before its children; one that does not (edited by a
    tool) still applies each canvas edit to the version before it."""
    items = json.loads(FAITHFUL.read_text(encoding="utf-8"))
    for item in items:
        item["mapping"] = dict(reversed(list(item["mapping"].items())))
    shuffled = tmp_path / "conversations.json"
    shuffled.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    again = {c.source_id: c for c in read_chatgpt(shuffled)}
    for source_id, conv in by_id().items():
        assert [(m.role, m.content, m.reasoning) for m in again[source_id].messages] == \
            [(m.role, m.content, m.reasoning) for m in conv.messages]


def test_a_loop_of_hidden_parents_above_an_answer_ends(tmp_path: Path) -> None:
    """A damaged tree whose hidden messages are each other's parents still imports."""
    items = json.loads(FAITHFUL.read_text(encoding="utf-8"))
    conv = next(i for i in items if i["id"] == THINKING)
    mapping = conv["mapping"]
    answer = next(k for k, n in mapping.items() if n["message"] and "168" in json.dumps(
        n["message"]["content"]))
    hidden_a, hidden_b = "loop-a", "loop-b"
    system = {"author": {"role": "system"}, "content": {"content_type": "text", "parts": [""]},
              "metadata": {"is_visually_hidden_from_conversation": True}}
    mapping[hidden_a] = {"id": hidden_a, "parent": hidden_b, "children": [answer],
                         "message": system}
    mapping[hidden_b] = {"id": hidden_b, "parent": hidden_a, "children": [], "message": system}
    mapping[answer]["parent"] = hidden_a
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conv], ensure_ascii=False), encoding="utf-8")
    (read,) = list(read_chatgpt(path))
    assert any("168" in m.content for m in read.messages)
