"""ChatService beyond one answer: the preferred provider, edit and regenerate as core
operations, and the settings dialog's probes (list models, Test) through the service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from chatdesk import events as ev
from chatdesk.chat import ChatService, EditError, UnknownProviderError
from chatdesk.providers import errors
from chatdesk.settings import ProviderSettings
from tests.fakes.server import FakeProvider, Synth
from tests.test_chat import Rig, collect, entry, only, rig_factory, wire_conversation

Rigs = Callable[..., Rig]


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Rigs]:
    async with rig_factory(tmp_path) as build:
        yield build


def user_turns(fake: FakeProvider) -> list[tuple[str, str]]:
    return wire_conversation(fake.provider_type, fake.requests[-1].json)[1]


@pytest.fixture
async def pair(rigs: Rigs, fake_anthropic: FakeProvider, fake_openai: FakeProvider
               ) -> AsyncIterator[tuple[Rig, FakeProvider, FakeProvider]]:
    yield rigs([entry("anthropic", fake_anthropic), entry("openai", fake_openai)]), \
        fake_anthropic, fake_openai


async def test_the_preferred_provider_is_asked_first_and_remembered(pair: Any) -> None:
    rig, anthropic, openai = pair
    openai.script(Synth(["From openai."]))
    events = await collect(rig.service.send("hi", preferred="openai"))
    assert only(events, ev.AnswerFinished)[0].provider == "openai"
    assert anthropic.requests == []
    conversation_id = only(events, ev.MessageSaved)[0].conversation_id
    conversation = rig.store.get_conversation(conversation_id)
    assert conversation is not None and conversation.preferred_provider == "openai"

    openai.script(Synth(["Again openai."]))
    again = await collect(rig.service.send("more", conversation_id))  # no preferred= now
    assert only(again, ev.AnswerFinished)[0].provider == "openai"


async def test_a_preferred_model_applies_to_the_preferred_provider(pair: Any) -> None:
    rig, _anthropic, openai = pair
    openai.script(Synth(["ok"]))
    await collect(rig.service.send("hi", preferred="openai", model="gpt-other"))
    assert openai.requests[-1].json["model"] == "gpt-other"


async def test_an_unknown_provider_saves_nothing(pair: Any) -> None:
    rig, *_ = pair
    with pytest.raises(UnknownProviderError):
        rig.service.prepare("hi", providers=["nope"])
    assert rig.store.count_conversations() == 0


async def test_edit_sets_the_old_exchange_aside_and_sends_the_new_text(pair: Any) -> None:
    rig, anthropic, _ = pair
    anthropic.script(Synth(["First answer."]), Synth(["Second answer."]), Synth(["Edited."]))
    first = await collect(rig.service.send("one"))
    conversation_id = only(first, ev.MessageSaved)[0].conversation_id
    await collect(rig.service.send("two", conversation_id))
    mine = rig.service.last_user_message(conversation_id)
    assert mine is not None and mine.content == "two"

    prepared = rig.service.prepare("two, better", conversation_id, replacing=mine.id)
    assert len(prepared.set_aside) == 2 and prepared.set_aside[0] == mine.id
    await collect(rig.service.answer(prepared))
    shown = [(m.role, m.content) for m in rig.store.messages(conversation_id)]
    assert shown == [("user", "one"), ("assistant", "First answer."),
                     ("user", "two, better"), ("assistant", "Edited.")]
    # The provider saw the conversation without the replaced exchange.
    assert user_turns(anthropic) == [("user", "one"), ("assistant", "First answer."),
                                     ("user", "two, better")]
    everything = rig.store.messages(conversation_id, include_alternates=True)
    assert [m.content for m in everything if m.is_alternate] == ["two", "Second answer."]


async def test_regenerate_asks_again_and_keeps_the_earlier_answer(pair: Any) -> None:
    rig, anthropic, openai = pair
    anthropic.script(Synth(["Take one."]))
    first = await collect(rig.service.send("a question"))
    conversation_id = only(first, ev.MessageSaved)[0].conversation_id
    openai.script(Synth(["Take two."]))
    events = await collect(rig.service.regenerate(conversation_id, preferred="openai"))
    assert only(events, ev.AnswerFinished)[0].content == "Take two."
    assert [(m.role, m.content) for m in rig.store.messages(conversation_id)] == [
        ("user", "a question"), ("assistant", "Take two.")]
    kept = rig.store.messages(conversation_id, include_alternates=True)
    assert [m.content for m in kept if m.is_alternate] == ["a question", "Take one."]
    assert user_turns(openai) == [("user", "a question")]


async def test_edits_of_what_is_not_the_users_message_are_refused(pair: Any) -> None:
    rig, anthropic, _ = pair
    anthropic.script(Synth(["An answer."]))
    events = await collect(rig.service.send("hello"))
    conversation_id = only(events, ev.MessageSaved)[0].conversation_id
    answer_id = only(events, ev.AnswerFinished)[0].message_id
    before = rig.store.messages(conversation_id, include_alternates=True)
    with pytest.raises(EditError):  # nothing of it is kept, the provider choice neither
        rig.service.prepare("x", conversation_id, replacing=answer_id, preferred="openai",
                            system="new system prompt")
    conversation = rig.store.get_conversation(conversation_id)
    assert conversation is not None and conversation.preferred_provider is None
    assert conversation.system_prompt is None
    other = rig.store.create_conversation("other")
    with pytest.raises(EditError):
        rig.service.prepare("x", other.id, replacing=before[0].id)
    with pytest.raises(EditError):
        rig.service.prepare("x", None, replacing=before[0].id)
    with pytest.raises(EditError):
        rig.service.prepare_regenerate(other.id)
    assert rig.store.messages(conversation_id, include_alternates=True) == before


async def test_probes_use_the_settings_as_edited_not_as_saved(rigs: Rigs,
                                                            fake_anthropic: FakeProvider) -> None:
    rig = rigs([entry("anthropic", fake_anthropic)])
    edited = ProviderSettings("anthropic", "anthropic", "claude-edited", fake_anthropic.base_url)
    assert await rig.service.probe_models(edited, fake_anthropic.api_key) == \
        fake_anthropic.models
    fake_anthropic.script(Synth(["OK"]))
    sentence = await rig.service.test_provider(edited, fake_anthropic.api_key)
    assert sentence.startswith("OK — answered in")
    sent = fake_anthropic.requests[-1]
    assert sent.json["model"] == "claude-edited" and sent.json["max_tokens"] == 5
    with pytest.raises(errors.AuthError):  # the fake rejects keys other than its own
        await rig.service.test_provider(edited, "sk-wrong")
    fake_anthropic.script(Synth([""]))
    assert "answer was empty" in await rig.service.test_provider(edited, fake_anthropic.api_key)


async def test_list_models_of_a_configured_provider(rigs: Rigs,
                                                    fake_openai: FakeProvider) -> None:
    rig = rigs([entry("openai", fake_openai)])
    assert await rig.service.list_models("openai") == fake_openai.models
    with pytest.raises(UnknownProviderError):
        await rig.service.list_models("nope")


def test_a_service_needs_no_network_to_be_made(tmp_path: Path) -> None:
    from chatdesk.secrets import KeyStore
    from chatdesk.settings import default_settings
    from chatdesk.store import HistoryStore

    with HistoryStore.open(tmp_path / "h.db") as store:
        service = ChatService(store, default_settings(), KeyStore(environ={}))
        assert service.last_user_message(store.create_conversation().id) is None
