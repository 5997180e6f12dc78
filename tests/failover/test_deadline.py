"""The adaptive first-token deadline: learned from the history file, clamped, per model."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatdesk.failover.deadline import DeadlineBook, DeadlineRule, learn, p95
from chatdesk.failover.hedge import Plan, plan
from chatdesk.store import HistoryStore


def teach(store: HistoryStore, provider: str, model: str, times: list[float],
          outcome: str = "ok") -> None:
    """Attempts of `provider` that got their first token after each of `times`."""
    conversation = store.create_conversation()
    message = store.add_message(conversation.id, "assistant", "x")
    for seconds in times:
        attempt = store.start_attempt(message.id, provider, model)
        store.finish_attempt(attempt, outcome=outcome, first_token_s=seconds)


def test_p95_is_the_nearest_rank() -> None:
    assert p95([0.1] * 19 + [9.0]) == 0.1  # of 20: the second largest
    assert p95([float(i) for i in range(1, 21)]) == 19.0
    assert p95([0.3, 0.1, 0.2, 0.5, 0.4]) == 0.5  # of 5: the largest


def test_too_few_samples_keep_the_configured_timeout() -> None:
    deadline = learn([0.2, 0.2, 0.2, 0.2], 60.0)
    assert (deadline.seconds, deadline.learned, deadline.p95_s, deadline.samples) == (
        60.0, False, None, 4)
    assert learn([], 60.0).seconds == 60.0


def test_the_deadline_is_a_multiple_of_the_p95_clamped() -> None:
    rule = DeadlineRule(multiple=4.0, floor_s=2.5, min_samples=5)
    # 4 x 1.5 s = 6 s: between the floor and the configured timeout.
    deadline = learn([1.0, 1.2, 1.5, 0.9, 1.1], 60.0, rule)
    assert (deadline.seconds, deadline.p95_s, deadline.learned) == (6.0, 1.5, True)
    # A loopback provider answering in milliseconds still gets the floor.
    assert learn([0.004] * 20, 60.0, rule).seconds == 2.5
    # A slow model's deadline never passes the configured timeout, and then is not learned.
    slow = learn([20.0] * 20, 60.0, rule)
    assert (slow.seconds, slow.learned) == (60.0, False)
    # A configured timeout below the floor wins.
    assert learn([0.004] * 20, 1.0, rule).seconds == 1.0
    assert not learn([0.004] * 20, 1.0, rule).learned


def test_only_the_plan_of_a_learned_deadline_with_a_backup_left_is_early() -> None:
    learned = learn([0.1] * 20, 60.0)
    unlearned = learn([0.1] * 2, 60.0)
    assert plan(learned, hedge=True, backup_left=True) is Plan.HEDGE
    assert plan(learned, hedge=False, backup_left=True) is Plan.FAIL_OVER_EARLY
    assert plan(learned, hedge=True, backup_left=False) is Plan.WAIT  # the last one waits
    assert plan(unlearned, hedge=True, backup_left=True) is Plan.WAIT


def test_the_book_reads_the_latest_answers_of_that_model_from_any_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.db"
    writer, reader = HistoryStore.open(path), HistoryStore.open(path)  # two processes
    try:
        book = DeadlineBook(reader, lambda: 60.0, DeadlineRule(window=20, floor_s=0.0))
        assert not book.get("anthropic", "fast").learned
        teach(writer, "anthropic", "fast", [30.0] * 10)  # old and slow: out of the window
        teach(writer, "anthropic", "fast", [0.5] * 20)
        teach(writer, "anthropic", "slow", [10.0] * 5)  # another model of the same provider
        teach(writer, "openai", "fast", [0.01] * 5)
        teach(writer, "anthropic", "fast", [0.01] * 5, outcome="cancelled")  # not answers
        fast = book.get("anthropic", "fast")
        assert (fast.samples, fast.p95_s, fast.seconds) == (20, 0.5, 2.0)
        assert book.get("anthropic", "slow").seconds == 40.0
        assert book.get("openai", "fast").seconds == pytest.approx(0.04)
    finally:
        writer.close()
        reader.close()


def test_the_configured_timeout_is_read_at_each_attempt(tmp_path: Path) -> None:
    store = HistoryStore.open(tmp_path / "history.db")
    try:
        configured = [60.0]
        book = DeadlineBook(store, lambda: configured[0])
        teach(store, "p", "m", [5.0] * 5)
        assert book.get("p", "m").seconds == 20.0
        configured[0] = 10.0  # the user lowered first_token_timeout_s
        assert book.get("p", "m").seconds == 10.0
    finally:
        store.close()
