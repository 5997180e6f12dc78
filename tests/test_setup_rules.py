"""The set-up rule: a provider that is not set up is never pending; one that is, and is down, is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatdesk import events as ev
from chatdesk.chat import ChatService, NotSetUpError
from chatdesk.secrets import KeyStore
from chatdesk.settings import ProviderSettings, default_settings
from chatdesk.store import HistoryStore, MessageStatus
from tests.fakes.ports import closed_port
from tests.fakes.server import ErrorResponse, FakeProvider


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = HistoryStore.open(tmp_path / "history.db")
    yield s
    s.close()


def collect(service: ChatService, text: str) -> list[Any]:
    import asyncio

    async def run() -> list[Any]:
        try:
            return [e async for e in service.send(text)]
        finally:
            await service.aclose()
    return asyncio.run(run())


def test_the_built_in_defaults_are_not_set_up_and_nothing_is_pending(store: Any) -> None:
    service = ChatService(store, default_settings(), KeyStore(environ={}))
    with pytest.raises(NotSetUpError, match="chatdesk setup"):
        service.prepare("hello")
    assert store.list_conversations() == []  # nothing saved, nothing pending
    assert service.candidates() == []


def test_a_never_reachable_entry_is_left_out_after_its_first_refusal(store: Any) -> None:
    settings = default_settings()
    settings.providers = {"mine": ProviderSettings("mine", "ollama", "m",
                                                   base_url=f"http://127.0.0.1:{closed_port()}")}
    settings.failover.order, settings.built_in = ["mine"], frozenset()
    service = ChatService(store, settings, KeyStore(environ={}))
    assert service.set_up(settings.providers["mine"]).ok  # written by the user: set up
    assert isinstance(collect(service, "first")[-1], ev.NotSetUp)
    assert service.set_up(settings.providers["mine"]).why_not == "never reachable"
    with pytest.raises(NotSetUpError):
        service.prepare("second")


def test_a_set_up_provider_that_is_down_makes_the_message_pending(store: Any) -> None:
    with FakeProvider("openai") as fake:
        fake.script(ErrorResponse(503, {"error": {"message": "down"}}))
        settings = default_settings()
        settings.providers = {"o": ProviderSettings("o", "openai", "gpt", base_url=fake.base_url)}
        settings.failover.order, settings.built_in = ["o"], frozenset()
        service = ChatService(store, settings, KeyStore(environ={"OPENAI_API_KEY":
                                                                 fake.api_key}))
        events = collect(service, "are you there?")
    assert isinstance(events[-1], ev.AnswerPending)
    assert store.messages(events[0].conversation_id)[0].status == MessageStatus.PENDING


def test_the_first_send_to_a_never_reachable_server_is_taken_back_not_pending(
        store: Any) -> None:
    settings = default_settings()
    settings.providers = {"mine": ProviderSettings("mine", "ollama", "m",
                                                   base_url=f"http://127.0.0.1:{closed_port()}")}
    settings.failover.order, settings.built_in = ["mine"], frozenset()
    service = ChatService(store, settings, KeyStore(environ={}))
    events = collect(service, "hello?")
    last = events[-1]
    assert isinstance(last, ev.NotSetUp)
    assert (last.text, last.conversation_removed) == ("hello?", True)
    assert "mine: never reachable" in last.reason
    assert store.pending_messages() == [] and store.list_conversations() == []
    assert store.trashed_conversations() == []


@pytest.mark.parametrize(("base_url", "message", "why_not"), [
    ("http://127.0.0.1:11434", "could not connect (refused)", "never reachable"),
    # It accepted the connection, then dropped it: a fault, not a server that is not there.
    ("http://127.0.0.1:11434", "network error (reset)", None),
    # A service elsewhere that cannot be reached: an outage, or this computer is offline.
    ("https://api.example.com/v1", "could not connect (no route)", None),
])
def test_never_reachable_means_a_local_server_no_connection_was_ever_made_to(
        base_url: str, message: str, why_not: str | None) -> None:
    from chatdesk.failover.health import ProviderHealth
    from chatdesk.setup_rules import check
    from chatdesk.store import HealthState

    health = ProviderHealth("p", HealthState.DOWN, 1, 30.0, message, "connection_failed")
    entry = ProviderSettings("p", "openai", "m", base_url=base_url)
    assert check(entry, has_key=True, health=health, built_in=False).why_not == why_not
    answered = ProviderHealth("p", HealthState.DOWN, 1, 30.0, message, "connection_failed",
                              last_success_at=1.0)
    assert check(entry, has_key=True, health=answered, built_in=False).ok
