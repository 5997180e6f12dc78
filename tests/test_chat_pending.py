"""Several pending messages in one conversation: each answered once, in order."""

from __future__ import annotations

from collections.abc import Callable

from chatdesk import events as ev
from tests.fakes.server import ErrorResponse, Synth
from tests.test_chat import (
    Rig,
    Servers,
    collect,
    entry,
    fakes,
    only,
    rigs,
    servers,
    wire_conversation,
)

__all__ = ["fakes", "rigs", "servers"]  # fixtures used by the tests below


async def _two_pending(fakes: Servers, rigs: Callable[..., Rig]) -> tuple[Rig, int, int, int]:
    """A conversation holding pending A then pending B; the provider then recovers."""
    a = fakes.primary["anthropic"]
    a.default_response = ErrorResponse(529)
    rig = rigs([entry("anthropic", a)], cooldown_s=10)
    [first] = only(await collect(rig.service.send("Question A")), ev.AnswerPending)
    rig.clock.advance(11)
    [second] = only(await collect(rig.service.send("Question B", first.conversation_id)),
                    ev.AnswerPending)
    rig.clock.advance(21)
    a.clear()
    a.default_response = None
    a.script(Synth(["Answer", " A."]), Synth(["Answer", " B."]))
    return rig, first.conversation_id, first.message_id, second.message_id


async def test_two_pending_messages_are_answered_once_each_in_order(
    fakes: Servers, rigs: Callable[..., Rig],
) -> None:
    rig, conversation_id, a_id, b_id = await _two_pending(fakes, rigs)

    events = await collect(rig.service.retry_pending())

    provider = fakes.primary["anthropic"]
    sent = [wire_conversation("anthropic", r.json)[1] for r in provider.requests]
    assert sent == [
        [("user", "Question A")],
        [("user", "Question A"), ("assistant", "Answer A."), ("user", "Question B")],
    ]
    finished = only(events, ev.AnswerFinished)
    assert [f.content for f in finished] == ["Answer A.", "Answer B."]
    assert [e.message_id for e in only(events, ev.MessageSaved)] == [a_id, b_id]
    thread = [(m.role, m.content, m.status) for m in rig.store.messages(conversation_id)
              if m.status != "failed"]
    assert thread == [("user", "Question A", "complete"), ("assistant", "Answer A.", "complete"),
                      ("user", "Question B", "complete"), ("assistant", "Answer B.", "complete")]
    assert rig.store.pending_messages() == []
    assert await collect(rig.service.retry_pending()) == []
    assert len(provider.requests) == 2


async def test_a_later_pending_message_waits_while_an_earlier_one_cannot_be_sent(
    fakes: Servers, rigs: Callable[..., Rig],
) -> None:
    rig, conversation_id, a_id, b_id = await _two_pending(fakes, rigs)
    provider = fakes.primary["anthropic"]
    provider.clear()
    provider.script(ErrorResponse(529))

    events = await collect(rig.service.retry_pending())

    # A failed again, so B is not sent before it (it would answer both at once).
    assert len(provider.requests) == 1
    assert [e.message_id for e in only(events, ev.MessageSaved)] == [a_id]
    assert [m.id for m in rig.store.pending_messages()] == [a_id, b_id]
