"""ChatService over loopback fakes: every primary type × every failure class ends answered by
the backup with the history intact; pending messages, concurrency and key problems.

The harness at the top (FakeClock, Rig, wire_conversation, offset_after…) is shared by the
other failover test modules."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chatdesk import events as ev
from chatdesk.chat import ChatService
from chatdesk.secrets import KeyStore
from chatdesk.settings import FailoverSettings, ProviderSettings, Settings
from chatdesk.store import HistoryStore, StoredMessage
from tests.fakes.server import (
    BlackHole,
    ErrorResponse,
    FakeProvider,
    Garbage,
    Stall,
    Synth,
    closed_port,
)
from tests.fakes.synth import synth_stream
from tests.helpers import MODELS

PTYPES = ("anthropic", "openai", "gemini", "ollama")
# Each primary's backup speaks another protocol, so the history is translated on failover;
# the anthropic (of ollama) and ollama (of gemini) backups continue partial answers, the
# others answer afresh.
BACKUP_TYPE = {"anthropic": "openai", "openai": "gemini", "gemini": "ollama",
               "ollama": "anthropic"}
PIECES = ("The tides are", " caused by", " the moon's pull. ")
BACKUP_PIECES = ("Backup", " answer", " here.")
# What a prefill-capable backup streams when continuing: its text starts where the
# (whitespace-stripped) prefill ends.
CONTINUATION = (" Also", " the sun.")
FAST = {"connect_timeout_s": 0.3, "first_token_timeout_s": 0.5, "stall_timeout_s": 0.5}
T0 = 1_800_000_000.0


class FakeClock:
    """Wall-clock time that moves only when a test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Entry = tuple[str, str, str, str | None]  # name, type, base URL, right key


def entry(name: str, fake: FakeProvider) -> Entry:
    return (name, fake.provider_type, fake.base_url, fake.api_key)


def dead_entry(name: str, ptype: str, root_url: str) -> Entry:
    """An entry pointing at a port where nothing answers (closed port, black hole)."""
    return (name, ptype, root_url + ("/v1" if ptype == "openai" else ""), f"key-{name}")


def env_var(name: str) -> str:
    return "CHATDESK_TEST_KEY_" + name.upper().replace("-", "_")


def make_settings(entries: Sequence[Entry], cooldown_s: float = 60,
                  **timeouts: float) -> Settings:
    providers = {
        name: ProviderSettings(name, ptype, MODELS[ptype], url, env_var(name))
        for name, ptype, url, _ in entries
    }
    return Settings(FailoverSettings([e[0] for e in entries], cooldown_s=cooldown_s,
                                     **{**FAST, **timeouts}), providers)


@dataclass
class Rig:
    """A ChatService on its own history file, with keys in a dict the test may change."""

    service: ChatService
    env: dict[str, str]
    clock: FakeClock
    path: Path
    extra: list[ChatService] = field(default_factory=list)

    @property
    def store(self) -> HistoryStore:
        return self.service.store

    def twin(self) -> ChatService:
        """A second service on the same file with its own connection (another process)."""
        store = HistoryStore.open(self.path)
        twin = ChatService(store, self.service.settings, KeyStore(environ=self.env),
                           clock=self.clock)
        self.extra.append(twin)
        return twin

    async def close(self) -> None:
        for service in [self.service, *self.extra]:
            await service.aclose()
            service.store.close()


def make_rig(path: Path, entries: Sequence[Entry], *, cooldown_s: float = 60,
             clock: FakeClock | None = None, **timeouts: float) -> Rig:
    env = {env_var(name): key for name, _, _, key in entries if key}
    clock = clock or FakeClock()
    store = HistoryStore.open(path)
    service = ChatService(store, make_settings(entries, cooldown_s, **timeouts),
                          KeyStore(environ=env), clock=clock, flush_interval_s=0.05)
    return Rig(service, env, clock, path)


@contextlib.asynccontextmanager
async def rig_factory(directory: Path) -> AsyncIterator[Callable[..., Rig]]:
    """Builds Rigs (each on its own file in `directory`) and closes them all at the end."""
    made: list[Rig] = []

    def build(entries: Sequence[Entry], **kw: Any) -> Rig:
        rig = make_rig(directory / f"history{len(made)}.db", entries, **kw)
        made.append(rig)
        return rig

    try:
        yield build
    finally:
        for rig in made:
            await rig.close()


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    async with rig_factory(tmp_path) as build:
        yield build


async def collect(stream: AsyncIterator[ev.ChatEvent]) -> list[ev.ChatEvent]:
    return [event async for event in stream]


def only(events: list[ev.ChatEvent], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def snapshot(messages: Sequence[StoredMessage]) -> list[tuple[Any, ...]]:
    return [(m.id, m.role, m.content, m.status, m.provider, m.model) for m in messages]


# -- wire helpers -------------------------------------------------------------------------

def wire_conversation(ptype: str, body: dict[str, Any]) -> tuple[str | None, list[tuple[str, str]]]:
    """(system prompt, [(role, text)]) from a recorded request body of any protocol, with
    roles spelled user/assistant; raises if the body is not in the protocol's own shape."""
    if ptype == "anthropic":
        turns = [(m["role"], m["content"]) for m in body["messages"]]
        return body.get("system"), turns
    if ptype == "gemini":
        instruction = body.get("systemInstruction")
        system = "".join(p["text"] for p in instruction["parts"]) if instruction else None
        roles = {"user": "user", "model": "assistant"}
        return system, [(roles[c["role"]], "".join(p["text"] for p in c["parts"]))
                        for c in body["contents"]]
    messages = body["messages"]
    system = None
    if messages and messages[0]["role"] == "system":
        system = messages[0]["content"]
        messages = messages[1:]
    assert all(m["role"] in ("user", "assistant") for m in messages), messages
    return system, [(m["role"], m["content"]) for m in messages]


def offset_after(ptype: str, pieces: Sequence[str], k: int, **synth: Any) -> int:
    """Byte offset in Synth(pieces)'s body just after the event carrying pieces[k]."""
    data = synth_stream(ptype, pieces, **synth)
    start = 0
    for piece in pieces[:k + 1]:
        start = data.index(json.dumps(piece, ensure_ascii=False)[1:-1].encode(), start)
    end = {"ollama": b"\n", "gemini": b"\r\n\r\n"}.get(ptype, b"\n\n")
    return data.index(end, start) + len(end)


# -- the conversation every failover test continues --------------------------------------

SYSTEM = "Answer in one sentence."
EARLIER = (  # role, text, provider that wrote it
    ("user", "What makes tides?", None),
    ("assistant", "Mostly the moon.", "anthropic-old"),
    ("user", "And waves?", None),
    ("assistant", "Mostly the wind.", "gemini-old"),
)
QUESTION = "And ocean currents?"


def seed_conversation(store: HistoryStore) -> int:
    """A conversation whose earlier answers came from different providers."""
    conversation = store.create_conversation(system_prompt=SYSTEM)
    for role, text, provider in EARLIER:
        store.add_message(conversation.id, role, text, provider=provider,
                          model="old-model" if provider else None)
    return conversation.id


def expected_turns(continuation: str | None = None) -> list[tuple[str, str]]:
    turns = [(role, text) for role, text, _ in EARLIER] + [("user", QUESTION)]
    if continuation is not None:
        turns.append(("assistant", continuation))
    return turns


# -- module-wide fakes --------------------------------------------------------------------

@dataclass
class Servers:
    primary: dict[str, FakeProvider]
    backup: dict[str, FakeProvider]
    hole: BlackHole
    refused_url: str

    def all(self) -> Iterator[FakeProvider]:
        yield from self.primary.values()
        yield from self.backup.values()


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    fakes = {(role, t): FakeProvider(t).start() for role in ("p", "b") for t in PTYPES}
    hole = BlackHole().start()
    try:
        yield Servers({t: fakes["p", t] for t in PTYPES}, {t: fakes["b", t] for t in PTYPES},
                      hole, f"http://127.0.0.1:{closed_port()}")
    finally:
        hole.stop()
        for fake in fakes.values():
            fake.stop()


@pytest.fixture
def fakes(servers: Servers) -> Iterator[Servers]:
    for fake in servers.all():
        fake.clear()
        fake.default_response = None
    yield servers
    for fake in servers.all():
        fake.clear()
        fake.default_response = None


# -- the failover matrix ------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """One failure class: what the primary does, and what the router must record."""

    error_class: str
    streamed: int = 0  # how many of PIECES reach the client before the failure
    respond: Callable[[str], Any] | None = None  # ptype -> scripted response
    where: str | None = None  # "refused" / "hole": the primary's URL goes nowhere


def _http(status: int, files: dict[str, str] | None = None) -> Callable[[str], Any]:
    """The type's wire file for this status when there is one, else a generic error body."""
    return lambda t: ErrorResponse(status, (files or {}).get(t))


RATE_FILES = {"anthropic": "error_429_rate_limit.json", "openai": "error_429_rate_limit.json"}

FAILURES: dict[str, Failure] = {
    "http_429": Failure("rate_limited", respond=_http(429, RATE_FILES)),
    "http_500": Failure("server_error", respond=_http(500)),
    "http_502": Failure("server_error", respond=_http(502)),
    "http_503": Failure("overloaded", respond=_http(503)),
    "http_504": Failure("server_error", respond=_http(504)),
    "http_529": Failure("overloaded", respond=_http(529)),
    "refused": Failure("connection_failed", where="refused"),
    "connect_timeout": Failure("connect_timeout", where="hole"),
    "no_headers": Failure("first_token_timeout", respond=lambda t: Stall(3.0)),
    "silent_after_headers": Failure(
        "first_token_timeout",
        respond=lambda t: Synth(PIECES, stall_after_bytes=0, stall_s=3.0)),
    "stall_midstream": Failure(
        "stall_timeout", 1,
        lambda t: Synth(PIECES, stall_after_bytes=offset_after(t, PIECES, 0), stall_s=3.0)),
    "reset_midstream": Failure(
        "connection_failed", 2,
        lambda t: Synth(PIECES, reset_after_bytes=offset_after(t, PIECES, 1))),
    "error_event": Failure(
        "overloaded", 3, lambda t: Synth(PIECES, error="The server is overloaded.")),
    "no_terminal_event": Failure(
        "truncated_stream", 3, lambda t: Synth(PIECES, finish=False)),
    "cut_midstream": Failure(
        "truncated_stream", 2,
        lambda t: Synth(PIECES, cut_after_bytes=offset_after(t, PIECES, 1))),
    "garbage": Failure("malformed_stream", respond=lambda t: Garbage()),
}


@pytest.mark.parametrize("failure_id", list(FAILURES))
@pytest.mark.parametrize("ptype", PTYPES)
async def test_failover_matrix(ptype: str, failure_id: str, fakes: Servers,
                               rigs: Callable[..., Rig]) -> None:
    failure = FAILURES[failure_id]
    btype = BACKUP_TYPE[ptype]
    primary, backup = fakes.primary[ptype], fakes.backup[btype]
    if failure.where == "refused":
        first = dead_entry(ptype, ptype, fakes.refused_url)
    elif failure.where == "hole":
        first = dead_entry(ptype, ptype, fakes.hole.base_url)
    else:
        first = entry(ptype, primary)
        primary.script(failure.respond(ptype))
    partial = "".join(PIECES[:failure.streamed])
    continuing = bool(partial) and btype in ("anthropic", "ollama")
    backup_text = "".join(CONTINUATION if continuing else BACKUP_PIECES)
    backup.script(Synth(CONTINUATION if continuing else BACKUP_PIECES))
    rig = rigs([first, entry("backup", backup)])
    conversation_id = seed_conversation(rig.store)
    before = snapshot(rig.store.messages(conversation_id))

    events = await collect(rig.service.send(QUESTION, conversation_id))

    finished = only(events, ev.AnswerFinished)
    assert len(finished) == 1, events
    answer = finished[0]
    expected = partial.rstrip() + backup_text if continuing else backup_text
    assert (answer.provider, answer.model, answer.content) == ("backup", MODELS[btype], expected)
    # What the user saw: each piece of text once, then (after a restart) only the backup's.
    shown = "".join(e.text for e in only(events, ev.TextChunk))
    assert shown == (expected if continuing else partial + backup_text)
    assert bool(only(events, ev.Restarted)) == (bool(partial) and not continuing)

    # The history: earlier messages untouched, the question complete, one whole answer.
    messages = rig.store.messages(conversation_id)
    assert snapshot(messages[:len(before)]) == before
    question, stored = messages[len(before):]
    assert (question.role, question.content, question.status) == ("user", QUESTION, "complete")
    assert (stored.role, stored.content, stored.status, stored.provider, stored.model) == (
        "assistant", expected, "complete", "backup", MODELS[btype])

    # The failed attempt stays recorded, with what it had streamed.
    failed, ok = rig.store.attempts(stored.id)
    assert (failed.provider, failed.outcome, failed.error_class, failed.streamed_text) == (
        ptype, "failed", failure.error_class, partial)
    assert (ok.provider, ok.outcome, ok.streamed_text) == (
        "backup", "ok", expected[len(partial.rstrip()):] if continuing else backup_text)
    assert ok.continued_from == (failed.id if continuing else None)
    status = int(failure_id.removeprefix("http_")) if failure_id.startswith("http_") else None
    assert failed.http_status == status
    assert rig.service.health.get(ptype).state == "down"  # an outage: skipped for a while
    assert rig.service.health.get("backup").state == "up"  # it answered
    [failed_event] = only(events, ev.AttemptFailed)
    assert (failed_event.error_class, failed_event.streamed_text) == (failure.error_class, partial)

    # The backup got the whole conversation, in its own format.
    [request] = backup.requests
    system, turns = wire_conversation(btype, request.json)
    assert system == SYSTEM
    assert turns == expected_turns(partial.rstrip() if continuing else None)
    if failure.where is None:
        assert wire_conversation(ptype, primary.requests[0].json) == (SYSTEM, expected_turns())


# -- pending messages ---------------------------------------------------------------------

async def test_all_down_keeps_the_message_pending_then_retry_delivers_once(
    fakes: Servers, rigs: Callable[..., Rig],
) -> None:
    a, o = fakes.primary["anthropic"], fakes.primary["openai"]
    a.script(ErrorResponse(529))
    o.script(ErrorResponse(503))
    rig = rigs([entry("anthropic", a), entry("openai", o)])
    conversation_id = seed_conversation(rig.store)

    events = await collect(rig.service.send(QUESTION, conversation_id))

    [pending] = only(events, ev.AnswerPending)
    assert not only(events, ev.AnswerFinished)
    assert "anthropic" in pending.reason and "openai" in pending.reason
    question = rig.store.get_message(pending.message_id)
    assert (question.content, question.status) == (QUESTION, "pending")
    assert [m.id for m in rig.store.pending_messages()] == [question.id]
    # The failed answer is kept as failed and not sent as history later.
    answers = [m for m in rig.store.messages(conversation_id) if m.id > question.id]
    assert [(m.role, m.status) for m in answers] == [("assistant", "failed")]

    # While both cool down, a retry sends nothing and keeps the message pending.
    events = await collect(rig.service.retry_pending())
    assert only(events, ev.AnswerPending) and len(a.requests) == len(o.requests) == 1
    assert rig.store.get_message(question.id).status == "pending"

    rig.clock.advance(61)  # both recover
    events = await collect(rig.service.retry_pending())
    [done] = only(events, ev.AnswerFinished)
    assert done.provider == "anthropic" and len(a.requests) == 2
    assert rig.store.pending_messages() == []
    assert rig.store.get_message(question.id).status == "complete"
    assert wire_conversation("anthropic", a.requests[-1].json) == (SYSTEM, expected_turns())
    # Exactly one answer is complete; a second retry has nothing to send.
    after = [m for m in rig.store.messages(conversation_id) if m.id > question.id]
    assert [(m.role, m.status) for m in after] == [("assistant", "failed"),
                                                    ("assistant", "complete")]
    assert await collect(rig.service.retry_pending()) == []
    assert len(a.requests) + len(o.requests) == 3


async def test_a_retry_stopped_mid_answer_keeps_the_text_and_is_not_sent_again(
    fakes: Servers, rigs: Callable[..., Rig],
) -> None:
    a = fakes.primary["anthropic"]
    a.script(ErrorResponse(529))
    rig = rigs([entry("anthropic", a)], cooldown_s=10)
    [pending] = only(await collect(rig.service.send("are you there?")), ev.AnswerPending)
    rig.clock.advance(11)
    a.default_response = Synth([f"w{i} " for i in range(100)], delay_s=0.02)

    async def consume() -> None:
        async for _event in rig.service.retry_pending():
            pass

    task = asyncio.ensure_future(consume())
    while len(a.requests) < 2:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    task.cancel()  # the Stop button, or the window closing
    with contextlib.suppress(asyncio.CancelledError):
        await task

    question = rig.store.get_message(pending.message_id)
    assert question.status == "complete" and rig.store.pending_messages() == []
    answer = rig.store.messages(question.conversation_id)[-1]
    assert answer.status == "partial" and answer.content.startswith("w0 w1 ")
    assert await collect(rig.service.retry_pending()) == []  # nothing left to send
    assert len(a.requests) == 2


async def test_two_concurrent_retries_deliver_a_pending_message_once(
    fakes: Servers, rigs: Callable[..., Rig],
) -> None:
    a = fakes.primary["anthropic"]
    a.script(ErrorResponse(529))
    rig = rigs([entry("anthropic", a)], cooldown_s=10)
    events = await collect(rig.service.send("are you there?"))
    [pending] = only(events, ev.AnswerPending)
    rig.clock.advance(11)
    a.default_response = Synth(["Yes", ", I am", " here."], delay_s=0.05)
    other = rig.twin()

    first, second = await asyncio.gather(collect(rig.service.retry_pending()),
                                         collect(other.retry_pending()))

    finished = only(first + second, ev.AnswerFinished)
    assert len(finished) == 1 and finished[0].content == "Yes, I am here."
    assert len(a.requests) == 2  # the failed send and one delivery
    messages = rig.store.messages(pending.conversation_id)
    assert [(m.role, m.status) for m in messages] == [
        ("user", "complete"), ("assistant", "failed"), ("assistant", "complete")]


# -- concurrency --------------------------------------------------------------------------

async def test_two_conversations_failing_together_both_end_on_the_backup(
    fakes: Servers, rigs: Callable[..., Rig],
) -> None:
    a, o = fakes.primary["anthropic"], fakes.backup["openai"]
    a.script(Synth(["First", " try"], error="Overloaded", delay_s=0.1),
             Synth(["Second", " try"], error="Overloaded", delay_s=0.1))
    o.default_response = Synth(["From", " the backup."], delay_s=0.02)
    rig = rigs([entry("anthropic", a), entry("backup", o)])
    one = rig.store.create_conversation()
    two = rig.store.create_conversation()

    results = await asyncio.gather(collect(rig.service.send("question one", one.id)),
                                   collect(rig.service.send("question two", two.id)))

    assert len(a.requests) == 2 and len(o.requests) == 2
    for conversation, events, text in ((one, results[0], "question one"),
                                       (two, results[1], "question two")):
        [done] = only(events, ev.AnswerFinished)
        assert (done.provider, done.content) == ("backup", "From the backup.")
        messages = rig.store.messages(conversation.id)
        assert [(m.role, m.content, m.status, m.provider) for m in messages] == [
            ("user", text, "complete", None),
            ("assistant", "From the backup.", "complete", "backup")]
        [failed, _] = rig.store.attempts(messages[1].id)
        assert failed.outcome == "failed" and failed.streamed_text in ("First try", "Second try")
    sent = sorted(wire_conversation("openai", r.json)[1][-1][1] for r in o.requests)
    assert sent == ["question one", "question two"]
    # One outage seen by two answers in flight is one failure, not two in a row.
    health = rig.service.health.get("anthropic")
    assert (health.state, health.failures) == ("down", 1)
    assert health.seconds_left == pytest.approx(60)


# -- keys ---------------------------------------------------------------------------------

async def test_rejected_key_marks_no_key_and_a_good_key_brings_it_back(
    fakes: Servers, rigs: Callable[..., Rig],
) -> None:
    a, o = fakes.primary["anthropic"], fakes.backup["openai"]
    rig = rigs([entry("anthropic", a), entry("backup", o)])
    rig.env[env_var("anthropic")] = "wrong-key"

    events = await collect(rig.service.send("hello"))

    [failed] = only(events, ev.AttemptFailed)
    assert (failed.provider, failed.error_class, failed.status) == ("anthropic", "auth", 401)
    assert only(events, ev.AnswerFinished)[0].provider == "backup"
    assert rig.service.health.get("anthropic").state == "key-rejected"
    # A rejected key is not tried again on the next message.
    events = await collect(rig.service.send("again"))
    assert only(events, ev.AnswerFinished)[0].provider == "backup"
    assert len(a.requests) == 1

    rig.env[env_var("anthropic")] = a.api_key  # as `chatdesk keys set anthropic` does
    rig.service.health.reset("anthropic")
    events = await collect(rig.service.send("and now?"))
    assert only(events, ev.AnswerFinished)[0].provider == "anthropic"
    assert not only(events, ev.AttemptFailed)
    assert len(a.requests) == 2 and rig.service.health.get("anthropic").state == "up"


async def test_missing_key_skips_the_provider_without_a_request(
    fakes: Servers, rigs: Callable[..., Rig],
) -> None:
    a, o = fakes.primary["anthropic"], fakes.backup["openai"]
    rig = rigs([("anthropic", "anthropic", a.base_url, None), entry("backup", o)])
    events = await collect(rig.service.send("hello"))
    assert only(events, ev.AnswerFinished)[0].provider == "backup"
    assert a.requests == []
