"""A pending message's next try on a fake clock, and the "Not answered" rows a late answer
folds in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk import wording
from chatdesk.failover.health import HealthBook
from chatdesk.pending import NextTry, fold_unanswered, next_try
from chatdesk.providers import errors
from chatdesk.store import HistoryStore, MessageStatus
from tests.test_chat import FakeClock


@pytest.fixture
def book(tmp_path: Path) -> Iterator[tuple[HealthBook, FakeClock]]:
    clock = FakeClock()
    with HistoryStore.open(tmp_path / "history.db") as store:
        yield HealthBook(store, 60, clock), clock


def fail(book: HealthBook, name: str, error: errors.ProviderError) -> None:
    book.record_failure(name, error)


def test_the_next_try_is_the_earliest_cooldown_end_and_counts_down(
        book: tuple[HealthBook, FakeClock]) -> None:
    health, clock = book
    health.mark_down("anthropic", "status page: major outage", 42)
    health.mark_down("gemini", "status page: major outage", 300)
    found = next_try(health, ["anthropic", "gemini"])
    assert found is not None and found.provider == "anthropic"
    assert wording.next_try(found.provider, found.seconds_left(clock())) == \
        "Next try in 0:42 — when Anthropic's cooldown ends"
    clock.advance(30.5)
    assert wording.next_try(found.provider, found.seconds_left(clock())) == \
        "Next try in 0:12 — when Anthropic's cooldown ends"
    clock.advance(20)
    assert found.seconds_left(clock()) == 0
    assert wording.next_try(found.provider, 0).startswith("Next try: now")
    # Once its cooldown ended, Anthropic may be tried at once.
    again = next_try(health, ["anthropic", "gemini"])
    assert again == NextTry("anthropic", clock(), None)


def test_a_longer_wait_reads_in_minutes_and_the_error_is_kept(
        book: tuple[HealthBook, FakeClock]) -> None:
    health, clock = book
    fail(health, "openai", errors.Overloaded("Overloaded", provider="openai", status=529,
                                             retry_after=125))
    found = next_try(health, ["openai"])
    assert found is not None and found.error_class == "overloaded"
    assert wording.next_try("openai", found.seconds_left(clock())) == \
        "Next try in 2:05 — when OpenAI's cooldown ends"


def test_a_provider_up_means_now_and_rejected_keys_never_come_back_by_themselves(
        book: tuple[HealthBook, FakeClock]) -> None:
    health, clock = book
    fail(health, "anthropic", errors.AuthError("bad key", provider="anthropic", status=401))
    assert next_try(health, ["anthropic"]) is None
    assert next_try(health, []) is None
    assert "Send now" in wording.next_try(None, None)
    health.mark_down("gemini", "status page: major outage", 60)
    assert next_try(health, ["anthropic", "gemini", "openai"]) == NextTry("openai", clock())


def test_a_late_answer_folds_in_the_not_answered_rows_before_it(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store:
        conv = store.create_conversation()
        first = store.add_message(conv.id, "user", "first")
        failed = store.add_message(conv.id, "assistant", "", status=MessageStatus.FAILED)
        answer = store.add_message(conv.id, "assistant", "late", provider="openai",
                                   model="gpt-4o")
        second = store.add_message(conv.id, "user", "second")
        waiting = store.add_message(conv.id, "assistant", "", status=MessageStatus.FAILED)
        shown, folded = fold_unanswered(store.messages(conv.id))
    assert [m.id for m in shown] == [first.id, answer.id, second.id, waiting.id]
    assert folded == {answer.id: [failed.id]}


def test_the_provenance_and_skipped_sentences() -> None:
    assert wording.answered_after("openai", "gpt-4o", ["anthropic", "gemini"], 185) == \
        "Answered by OpenAI (gpt-4o) after Anthropic and Gemini were down — 3 min later"
    assert wording.answered_after("openai", None, ["anthropic"], 12) == \
        "Answered by OpenAI after Anthropic was down — 12 s later"
    assert wording.skipped("anthropic", "down", 115, "overloaded") == \
        "Skipped Anthropic: down for 2 more minutes (overloaded)"
    assert wording.skipped("anthropic", "down", 1, None) == \
        "Skipped Anthropic: down for 1 more second"
    assert wording.skipped("openai", "no-key", 200, "auth") == "Skipped OpenAI: key rejected"
    assert wording.skipped("groq", "up", 0, None) == "Skipped Groq: no API key"
