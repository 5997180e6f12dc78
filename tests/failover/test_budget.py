"""Monthly budgets in the router (issue 16): a spent entry is skipped like a cooling one, with
0 requests to it; what a stream reports of cached and thinking tokens is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk.settings import ModelPrice
from chatdesk.store import to_iso
from tests.fakes.server import FakeProvider, Stream
from tests.helpers import MODELS, reset_fakes
from tests.test_chat import T0, Rig, collect, entry, only, rig_factory
from tests.wirefiles import WIRE_COPY


@pytest.fixture(scope="module")
def pool() -> Iterator[dict[str, FakeProvider]]:
    with FakeProvider("anthropic") as a, FakeProvider("openai") as o, \
            FakeProvider("gemini") as g:
        yield {"anthropic": a, "openai": o, "gemini": g}


@pytest.fixture
def fakes(pool: dict[str, FakeProvider]) -> Iterator[dict[str, FakeProvider]]:
    yield reset_fakes(pool)
    reset_fakes(pool)


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    async with rig_factory(tmp_path) as build:
        yield build


def spent_before(rig: Rig, provider: str, output_tokens: int) -> None:
    """An earlier answer this month (the rig's clock) by `provider`."""
    store = rig.store
    conv = store.create_conversation("earlier").id
    message = store.add_message(conv, "assistant", "", created_at=to_iso(T0 - 60))
    store.finish_message(message.id, content="earlier", status="complete", provider=provider,
                         model=MODELS["openai"], input_tokens=0, output_tokens=output_tokens)


async def test_a_spent_budget_skips_the_entry_with_its_reason_and_no_request(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    o, a = fakes["openai"], fakes["anthropic"]
    rig = rigs([entry("openai", o), entry("anthropic", a)])
    settings = rig.service.settings
    settings.prices[MODELS["openai"]] = ModelPrice(1.0, 10.0)
    settings.providers["openai"].monthly_budget_usd = 20
    spent_before(rig, "openai", 1_999_000)  # $19.99: one answer left

    first = await collect(rig.service.send("first"))
    assert only(first, ev.AnswerFinished)[0].provider == "openai"
    assert not only(first, ev.Skipped)
    assert len(o.requests) == 1

    spent_before(rig, "openai", 1000)  # now $20.00
    events = await collect(rig.service.send("second"))
    [skipped] = only(events, ev.Skipped)
    assert skipped.notice == "Skipped OpenAI: this month's budget of $20.00 is spent"
    assert only(events, ev.AnswerFinished)[0].provider == "anthropic"
    assert len(o.requests) == 1  # not asked again
    assert [n.text for n in rig.service.budget_notices()] == [
        "OpenAI has spent this month's budget of $20.00; chatdesk skips it until 1 February "
        "(raise monthly_budget_usd in settings.toml to go on)."]

    rig.clock.advance(31 * 86_400)  # February: the budget starts again
    events = await collect(rig.service.send("third"))
    assert only(events, ev.AnswerFinished)[0].provider == "openai"
    assert not only(events, ev.Skipped)


async def test_with_every_entry_spent_the_message_waits_saying_why(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    o = fakes["openai"]
    rig = rigs([entry("openai", o)])
    rig.service.settings.providers["openai"].price_input = 1.0
    rig.service.settings.providers["openai"].price_output = 10.0
    rig.service.settings.providers["openai"].monthly_budget_usd = 5
    spent_before(rig, "openai", 600_000)
    [pending] = only(await collect(rig.service.send("anyone?")), ev.AnswerPending)
    assert "openai: this month's budget of $5.00 is spent" in pending.reason
    assert o.requests == []


async def test_gemini_thinking_is_stored_as_output_and_as_reasoning_tokens(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    g = fakes["gemini"]
    g.script(Stream((WIRE_COPY / "sdk" / "gemini" / "thought_parts.sse").read_bytes()))
    rig = rigs([entry("gemini", g)])
    events = await collect(rig.service.send("Which is larger, 9.11 or 9.8?"))
    done = only(events, ev.AnswerFinished)[0]
    [answer] = [m for m in rig.store.messages(done.conversation_id) if m.role == "assistant"]
    row = rig.store.db.execute(
        "SELECT input_tokens, output_tokens, cached_input_tokens, reasoning_tokens"
        " FROM messages WHERE id = ?", (answer.id,)).fetchone()
    assert tuple(row) == (9, 9 + 31, None, 31)
