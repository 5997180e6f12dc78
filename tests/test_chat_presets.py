"""Presets in ChatService: a pending message of a preset's conversation is retried as the
preset says, "Ask …" still puts the asked provider first, and a deleted preset leaves the
failover order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk.store.prompts import Route
from tests.fakes.server import ErrorResponse, FakeProvider
from tests.helpers import MODELS
from tests.test_chat import Rig, collect, entry, only, rig_factory


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    async with rig_factory(tmp_path) as build:
        yield build


async def test_a_preset_conversation_keeps_its_order_through_retry_and_regenerate(
        rigs: Callable[..., Rig], fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    a, o = fake_anthropic, fake_openai
    rig = rigs([entry("anthropic", a), entry("openai", o)])
    rig.store.add_preset("gpt", "Be brief.", (Route("openai", "gpt-x"),), 0.7, 55)
    o.script(ErrorResponse(503))
    events = await collect(rig.service.send("hello", preset="gpt"))
    [pending] = only(events, ev.AnswerPending)  # the preset names openai alone
    assert not a.requests
    conversation = rig.store.get_conversation(pending.conversation_id)
    assert conversation is not None and conversation.preset == "gpt"
    assert conversation.system_prompt == "Be brief."

    rig.clock.advance(61)
    events = await collect(rig.service.retry_pending())
    [done] = only(events, ev.AnswerFinished)
    assert (done.provider, done.model) == ("openai", "gpt-x")
    body = o.requests[-1].json
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-x", 0.7, 55)

    # "Ask anthropic": that provider first, with the preset's temperature and max tokens.
    events = await collect(rig.service.regenerate(conversation.id, preferred="anthropic"))
    [again] = only(events, ev.AnswerFinished)
    assert (again.provider, again.model) == ("anthropic", MODELS["anthropic"])
    asked = a.requests[-1].json
    assert (asked["temperature"], asked["max_tokens"], asked["system"]) == (0.7, 55,
                                                                             "Be brief.")

    # Deleted: the conversation goes on with the failover order and the entries' own values.
    rig.store.delete_preset("gpt")
    events = await collect(rig.service.send("more", conversation.id))
    [last] = only(events, ev.AnswerFinished)
    assert last.provider == "anthropic"
    plain = a.requests[-1].json
    assert "temperature" not in plain and plain["max_tokens"] == 4096
