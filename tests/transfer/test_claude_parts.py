"""A Claude message's parts: artifacts as documents (and their versions), thinking as the
answer's reasoning, attachments and files by their names."""

from __future__ import annotations

from pathlib import Path

from chatdesk.transfer.claude import read_claude
from chatdesk.transfer.claude_parts import Documents, message_parts
from chatdesk.transfer.common import ImportedConversation

FAITHFUL = Path(__file__).parent / "fixtures" / "claude_faithful"
FIB = "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a"
PLAN = "# Lisbon\n\n- Day 1: Alfama\n- Day 2: Belém\n- Day 3: Sintra"
RAIN = "# Lisbon (rain)\n\n- Day 1: Oceanário\n- Day 2: Gulbenkian Museum\n- Day 3: Sintra palaces"


def conversation(source_id: str) -> ImportedConversation:
    return {c.source_id: c for c in read_claude(FAITHFUL)}[source_id]


def answers(source_id: str) -> list[tuple[str, str | None]]:
    return [(m.content, m.reasoning) for m in conversation(source_id).messages
            if m.role == "assistant" and not m.is_alternate]


def test_2024_tags_become_documents_and_reasoning() -> None:
    first, second, readme, spiral = answers("b2b2b2b2-0000-4b00-8000-00000000000b")
    assert first == (
        "Here is an iterative version:\n\n**Document: Fibonacci function**\n\n```python\n"
        f"{FIB}\n```\n\nIt runs in linear time.",
        "A small, self-contained function the user will reuse: a good artifact. Identifier: "
        "fibonacci-function.")
    # the same identifier again: the next version of that document
    assert second[0].startswith("**Document: Fibonacci function** (version 2)\n\n```python\n"
                                "from functools import cache\n")
    assert second[0].endswith("```\n\nThe cache makes it linear again.") and second[1] is None
    assert readme[0].startswith("Here is a README:\n\n**Document: README** (version 2)\n\n"
                                "```markdown\n# fib\n")
    assert spiral[0].startswith("A rough sketch:\n\n**Document: Golden spiral**\n\n```svg\n<svg")
    assert not any("antArtifact" in text or "antThinking" in text for text, _ in answers(
        "b2b2b2b2-0000-4b00-8000-00000000000b"))


def test_artifact_tool_calls_create_update_and_rewrite() -> None:
    plan, swapped, extras, rain, saved = answers("c3c3c3c3-0000-4b00-8000-00000000000c")
    assert plan == (
        f"Here is a plan:\n\n**Document: Lisbon in three days**\n\n```markdown\n{PLAN}\n```\n\n"
        "Tell me what to change.",
        "Picking the sights by neighbourhood.\n\nKeeping walking distances short.")
    # update: old_str → new_str applied to the last version; the result ("OK") is no text
    assert swapped == (
        "**Document: Lisbon in three days** (version 2)\n\n```markdown\n# Lisbon\n\n"
        "- Day 1: Alfama\n- Day 2: Sintra\n- Day 3: Belém\n```\n\nDone: Sintra is now day 2.",
        "The user wants Sintra before Belém. A small update is enough.")
    assert extras[0] == (
        "**Document: Route**\n\n```mermaid\ngraph LR\n  Alfama --> Sintra --> Belém\n```\n\n"
        "**Document: Packing list**\n\n```jsx\nexport default function Packing() {\n"
        "  return <ul><li>Sunscreen</li></ul>;\n}\n```\n\nBoth are above.")
    assert rain[0] == (f"**Document: Lisbon when it rains** (version 3)\n\n```markdown\n{RAIN}"
                       "\n```\n\nA rainy-day version.")
    # a file Claude wrote (2026: `create_file`) is a document named as the file
    assert saved[0] == f"**Document: lisbon.md**\n\n```markdown\n{RAIN}\n```\n\nSaved as lisbon.md."
    assert not any("OK" in text.split() or "File created" in text for text, _ in answers(
        "c3c3c3c3-0000-4b00-8000-00000000000c"))


def test_an_update_of_a_version_the_export_lacks_says_what_changed() -> None:
    docs = Documents()
    parts = message_parts({"content": [{"type": "tool_use", "name": "artifacts", "input": {
        "id": "essay", "command": "update", "old_str": "teh", "new_str": "the"}}]}, True, docs)
    assert parts.content == "**Document: essay**\n\n```diff\n- teh\n+ the\n```"
    parts = message_parts({"content": [{"type": "tool_use", "name": "artifacts", "input": {
        "id": "essay", "command": "create", "title": "Essay", "type": "text/markdown",
        "content": "# An essay"}}]}, True, docs)
    assert parts.content == "**Document: Essay**\n\n```markdown\n# An essay\n```"


def test_a_question_keeps_tags_as_the_person_typed_them() -> None:
    typed = 'How do I parse <antArtifact identifier="x"> tags?'
    parts = message_parts({"text": typed}, False, Documents())
    assert (parts.content, parts.reasoning) == (typed, None)


def test_attachments_and_files_keep_their_names() -> None:
    question, _ = conversation("d4d4d4d4-0000-4b00-8000-00000000000d").messages
    # kernel.py is in `attachments` (its text) and in `files`: one attachment, no placeholder
    assert [a.name for a in question.attachments] == ["kernel.py"]
    (kernel,) = [a.load() for a in question.attachments]
    assert (kernel.name, kernel.text) == ("kernel.py", "def add(a, b):\n    return a + b\n")
    assert question.content == ("Review this kernel, and look at the photo of the board.\n\n"
                                "[file: board.jpg]")
    assert question.missing_files == 1


def test_a_text_split_at_its_citations_is_one_text_and_lists_its_sources() -> None:
    (answer, _), = answers("e5e5e5e5-0000-4b00-8000-00000000000e")
    assert ("\n\nDorothea meets Casaubon and admires his learning. She begins to imagine a "
            "life of study beside him.\n\n") in answer
    # each page once, in the order cited, titled as the search result (else its address)
    assert answer.endswith(
        "**Sources**\n\n"
        "1. [Middlemarch: Chapter 3 summary](https://books.example.org/middlemarch/chapter-3)\n"
        "2. [https://en.wikipedia.org/wiki/Middlemarch](https://en.wikipedia.org/wiki/Middlemarch)")
