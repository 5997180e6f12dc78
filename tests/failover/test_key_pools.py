"""Key pools in failover: a rate limit, an exhausted quota or a rejected key moves to the
provider's next key (never calling a cooling key) before the next provider; a server error
is the provider's, not the key's; key health is shared through the history file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk.provider_status import provider_statuses
from chatdesk.secrets import fingerprint
from chatdesk.store import HealthState
from tests.fakes.server import ErrorResponse, FakeProvider
from tests.test_chat import Rig, collect, entry, only, rig_factory

KEY_A = "sk-test-pool-aaaaaaaaaaaa1111"
KEY_B = "sk-test-pool-bbbbbbbbbbbb2222"
KEY_C = "sk-test-pool-cccccccccccc3333"
WRONG = "sk-test-pool-wrongwrongwr9999"


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    async with rig_factory(tmp_path) as build:
        yield build


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeProvider]]:
    """`main` takes keys A, B and C; `backup` is another provider; `oai` an OpenAI one."""
    made = {"main": FakeProvider("anthropic", api_key=KEY_A, more_keys=(KEY_B, KEY_C)),
            "backup": FakeProvider("anthropic"),
            "oai": FakeProvider("openai", api_key=KEY_A, more_keys=(KEY_B,))}
    for fake in made.values():
        fake.start()
    yield made
    for fake in made.values():
        fake.stop()


def pooled(rigs: Callable[..., Rig], fakes: dict[str, FakeProvider], keys: list[str],
           main: str = "main") -> Rig:
    """A rig whose first provider reads a pool of keys from a list of variables."""
    rig = rigs([entry("main", fakes[main]), entry("backup", fakes["backup"])])
    names = [f"POOL_KEY_{i}" for i in range(len(keys))]
    rig.env.update(zip(names, keys, strict=True))
    rig.service.settings.providers["main"].api_key_env = names
    return rig


def key_prints(rig: Rig, message_id: int) -> list[str | None]:
    return [a.key_fingerprint for a in rig.store.attempts(message_id)]


async def test_a_429_moves_to_the_next_key_and_the_cooling_key_is_not_called_again(
        rigs: Callable[..., Rig], fakes: dict[str, FakeProvider]) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = pooled(rigs, fakes, [KEY_A, KEY_B, KEY_C])
    main.script_key(KEY_A, ErrorResponse(429))

    events = await collect(rig.service.send("hello"))
    [done] = only(events, ev.AnswerFinished)
    assert done.provider == "main" and done.content
    assert (main.requests_with_key(KEY_A), main.requests_with_key(KEY_B)) == (1, 1)
    assert main.requests_with_key(KEY_C) == 0 and not backup.requests
    [switched] = only(events, ev.Switched)
    assert (switched.from_key, switched.to_key) == (fingerprint(KEY_A), fingerprint(KEY_B))
    assert switched.why == f"main key {fingerprint(KEY_A)} rate-limited (429)"
    assert key_prints(rig, done.message_id) == [fingerprint(KEY_A), fingerprint(KEY_B)]
    assert rig.service.health.get("main").state.usable  # the provider is not to blame

    # The next message goes straight to key B: 0 calls to the cooling key A.
    again = only(await collect(rig.service.send("and again")), ev.AnswerFinished)
    assert again and again[0].provider == "main"
    assert (main.requests_with_key(KEY_A), main.requests_with_key(KEY_B)) == (1, 2)
    assert not only(await collect(rig.service.send("once more")), ev.Switched)
    assert main.requests_with_key(KEY_A) == 1

    # Its cooldown over, key A is first again.
    rig.clock.advance(3600)
    await collect(rig.service.send("later"))
    assert main.requests_with_key(KEY_A) == 2


async def test_an_exhausted_quota_moves_to_the_next_key(
        rigs: Callable[..., Rig], fakes: dict[str, FakeProvider]) -> None:
    oai = fakes["oai"]
    rig = pooled(rigs, fakes, [KEY_A, KEY_B], main="oai")
    oai.script_key(KEY_A, ErrorResponse(429, "error_429_insufficient_quota.json"))

    [done] = only(await collect(rig.service.send("hello")), ev.AnswerFinished)
    assert done.provider == "main"
    [failed, answered] = rig.store.attempts(done.message_id)
    assert failed.error_class == "quota_exceeded" and answered.outcome == "ok"
    assert answered.key_fingerprint == fingerprint(KEY_B)
    await collect(rig.service.send("again"))
    assert (oai.requests_with_key(KEY_A), oai.requests_with_key(KEY_B)) == (1, 2)


async def test_a_rejected_key_moves_to_the_next_key_and_is_not_tried_again(
        rigs: Callable[..., Rig], fakes: dict[str, FakeProvider]) -> None:
    main = fakes["main"]
    rig = pooled(rigs, fakes, [WRONG, KEY_B])

    events = await collect(rig.service.send("hello"))
    [done] = only(events, ev.AnswerFinished)
    assert done.provider == "main"
    assert only(events, ev.AttemptFailed)[0].error_class == "auth"
    assert rig.service.health.get("main").state not in (HealthState.KEY_REJECTED,
                                                         HealthState.NO_KEY)
    await collect(rig.service.send("again"))
    assert (main.requests_with_key(WRONG), main.requests_with_key(KEY_B)) == (1, 2)


async def test_the_next_provider_only_after_every_key_is_unusable(
        rigs: Callable[..., Rig], fakes: dict[str, FakeProvider]) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = pooled(rigs, fakes, [KEY_A, KEY_B])
    main.script_key(KEY_A, ErrorResponse(429))
    main.script_key(KEY_B, ErrorResponse(429))

    events = await collect(rig.service.send("hello"))
    [done] = only(events, ev.AnswerFinished)
    assert done.provider == "backup" and len(backup.requests) == 1
    assert (main.requests_with_key(KEY_A), main.requests_with_key(KEY_B)) == (1, 1)
    key_switch, provider_switch = only(events, ev.Switched)
    assert key_switch.to_key == fingerprint(KEY_B)
    assert provider_switch.to_provider == "backup" and provider_switch.to_key is None
    assert rig.service.health.get("main").state == HealthState.DOWN

    # Every key cooling: the provider is left out, its keys get no call.
    events = await collect(rig.service.send("again"))
    assert only(events, ev.AnswerFinished)[0].provider == "backup"
    assert len(main.requests) == 2


async def test_a_server_error_is_the_providers_and_does_not_rotate_keys(
        rigs: Callable[..., Rig], fakes: dict[str, FakeProvider]) -> None:
    main, backup = fakes["main"], fakes["backup"]
    rig = pooled(rigs, fakes, [KEY_A, KEY_B])
    main.script_key(KEY_A, ErrorResponse(529))

    events = await collect(rig.service.send("hello"))
    assert only(events, ev.AnswerFinished)[0].provider == "backup"
    assert main.requests_with_key(KEY_B) == 0 and len(backup.requests) == 1
    assert all(s.to_key is None for s in only(events, ev.Switched))
    assert rig.service.health.get("main").state == HealthState.DOWN
    assert rig.store.key_health("main") == {}  # the key itself is fine


async def test_key_health_is_shared_by_two_stores_on_the_same_file(
        rigs: Callable[..., Rig], fakes: dict[str, FakeProvider]) -> None:
    main = fakes["main"]
    rig = pooled(rigs, fakes, [KEY_A, KEY_B])
    main.script_key(KEY_A, ErrorResponse(429))
    await collect(rig.service.send("hello"))
    assert main.requests_with_key(KEY_A) == 1

    other = rig.twin()  # another process on the same history file
    events = await collect(other.send("from the other process"))
    assert only(events, ev.AnswerFinished)[0].provider == "main"
    assert (main.requests_with_key(KEY_A), main.requests_with_key(KEY_B)) == (1, 2)


async def test_only_fingerprints_reach_the_history_file_and_the_status(
        rigs: Callable[..., Rig], fakes: dict[str, FakeProvider]) -> None:
    main = fakes["main"]
    rig = pooled(rigs, fakes, [KEY_A, KEY_B, KEY_C])
    main.script_key(KEY_A, ErrorResponse(429))
    await collect(rig.service.send("hello"))

    statuses = provider_statuses(rig.service.settings, rig.service.health, frozenset(),
                                 rig.service.key_book)
    by_name = {s.name: s for s in statuses}
    assert by_name["main"].keys_words == "2 of 3 keys usable"
    assert by_name["backup"].keys_words is None  # one key: nothing to count

    dump = "\n".join(rig.store.db.conn.iterdump())
    for key in (KEY_A, KEY_B, KEY_C):
        assert key not in dump and key[-12:] not in dump
    assert fingerprint(KEY_A) in dump and fingerprint(KEY_B) in dump


def test_fingerprints_show_the_kind_and_the_last_four() -> None:
    assert fingerprint("sk-ant-api03-abcdefghijklmnop3f9a") == "sk-…3f9a"
    assert fingerprint("  sk-proj-0123456789abcdef91c2\n") == "sk-…91c2"
    assert fingerprint("AIzaSyD0123456789abcdefghijklmn") == "…klmn"
    assert fingerprint("gsk_0123456789abcdef") == "gsk_…cdef"
    assert fingerprint("short") == "…rt"
