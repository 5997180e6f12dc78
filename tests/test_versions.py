"""Versions of edited and regenerated messages, navigable in place, and branches: the core
that the transcript's "‹ 2/3 ›" and "Branch from here" use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk.store import HistoryStore
from tests.fakes.server import FakeProvider, Synth
from tests.test_chat import Rig, collect, entry, only, rig_factory, wire_conversation

Rigs = Callable[..., Rig]


@pytest.fixture
async def rig(tmp_path: Path, fake_anthropic: FakeProvider) -> AsyncIterator[Rig]:
    async with rig_factory(tmp_path) as build:
        yield build([entry("anthropic", fake_anthropic)])


async def ask(rig: Rig, fake: FakeProvider, text: str, conversation_id: int | None = None,
              answer: str = "ok", **options: object) -> int:
    fake.script(Synth([answer]))
    events = await collect(rig.service.send(text, conversation_id, **options))  # type: ignore[arg-type]
    return only(events, ev.MessageSaved)[0].conversation_id


def main_line(store: HistoryStore, conversation_id: int) -> list[str]:
    return [m.content for m in store.messages(conversation_id)]


async def test_edits_and_regenerations_are_versions_that_can_be_shown_again(
        rig: Rig, fake_anthropic: FakeProvider) -> None:
    conv = await ask(rig, fake_anthropic, "first question", answer="first answer")
    await ask(rig, fake_anthropic, "second question", conv, answer="second answer")
    second = rig.service.last_user_message(conv)
    assert second is not None
    # Edit the second question, then regenerate its answer.
    await ask(rig, fake_anthropic, "second, edited", conv, answer="edited answer",
              replacing=second.id)
    fake_anthropic.script(Synth(["regenerated answer"]))
    await collect(rig.service.regenerate(conv))
    assert main_line(rig.store, conv) == ["first question", "first answer",
                                          "second, edited", "regenerated answer"]
    versions = rig.service.versions(conv)
    shown = rig.store.messages(conv)
    [(version_of, found)] = versions.items()
    assert version_of == shown[2].id and found.label == "3/3"

    # Back to version 1: the original exchange returns, the others stay as alternates.
    assert rig.service.show_version(conv, found.ids[0])
    assert main_line(rig.store, conv) == ["first question", "first answer",
                                          "second question", "second answer"]
    assert rig.service.versions(conv)[found.ids[0]].label == "1/3"
    assert not rig.service.show_version(conv, found.ids[0])  # already shown
    # What is sent next is the version shown.
    await ask(rig, fake_anthropic, "third", conv)
    sent = wire_conversation("anthropic", fake_anthropic.requests[-1].json)[1]
    assert [t for _, t in sent] == ["first question", "first answer", "second question",
                                    "second answer", "third"]
    # Nothing was deleted.
    everything = rig.store.messages(conv, include_alternates=True)
    assert {"second, edited", "edited answer", "regenerated answer"} <= \
        {m.content for m in everything}


async def test_editing_the_first_message_makes_versions_too(
        rig: Rig, fake_anthropic: FakeProvider) -> None:
    conv = await ask(rig, fake_anthropic, "hello", answer="hi")
    first = rig.service.last_user_message(conv)
    assert first is not None
    await ask(rig, fake_anthropic, "hello again", conv, answer="hi again",
              replacing=first.id)
    [found] = rig.service.versions(conv).values()
    assert found.label == "2/2"
    assert rig.service.show_version(conv, found.ids[0])
    assert main_line(rig.store, conv) == ["hello", "hi"]


def test_a_file_without_parent_links_has_no_versions(tmp_path: Path) -> None:
    from chatdesk.versions import versions_of

    with HistoryStore.open(tmp_path / "old.db") as store:
        conv = store.create_conversation("old")
        ids = [store.add_message(conv.id, role, text).id
               for role, text in (("user", "a"), ("assistant", "b"), ("user", "c"))]
        assert versions_of(store.messages(conv.id, include_alternates=True), ids[2]) is None


async def test_branch_from_here_copies_the_main_line_up_to_a_message(
        rig: Rig, fake_anthropic: FakeProvider) -> None:
    conv = await ask(rig, fake_anthropic, "plan a trip", answer="where to?",
                     system="Be brief.")
    await ask(rig, fake_anthropic, "Lisbon", conv, answer="three days?")
    messages = rig.store.messages(conv)
    branch = rig.service.branch_from(conv, messages[1].id)
    assert main_line(rig.store, branch) == ["plan a trip", "where to?"]
    copied = rig.store.get_conversation(branch)
    assert copied is not None and copied.system_prompt == "Be brief."
    assert copied.title == "plan a trip (branch)"
    assert main_line(rig.store, conv) == ["plan a trip", "where to?", "Lisbon", "three days?"]
    await ask(rig, fake_anthropic, "Porto instead", branch)
    assert main_line(rig.store, branch)[-2:] == ["Porto instead", "ok"]
    with pytest.raises(LookupError):
        rig.service.branch_from(conv, 999_999)
