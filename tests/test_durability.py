"""A killed `chatdesk ask` keeps the user's message and all but the last moment of the answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore
from tests.fakes.server import FakeProvider, Synth
from tests.helpers import key_env, write_settings

PIECE_DELAY_S = 0.1
PIECES = [f"w{i:02d} " for i in range(60)]


@pytest.mark.slow
def test_kill_9_mid_answer_loses_at_most_half_a_second(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with FakeProvider("openai") as fake:
        fakes = [("openai", fake)]
        write_settings(data, fakes)
        # One write per event, each after PIECE_DELAY_S: piece k leaves at about k * delay.
        fake.script(Synth(PIECES, delay_s=PIECE_DELAY_S))
        env = {**os.environ, **key_env(fakes), "CHATDESK_DATA_DIR": str(data)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatdesk", "ask", "the question survives"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=Path(__file__).parents[1],
        )
        try:
            # Wait until the client has printed some of the answer, then let it stream on.
            first = proc.stdout.read(4)  # type: ignore[union-attr]
            assert first.startswith(b"w00"), proc.stderr.read()  # type: ignore[union-attr]
            started = time.monotonic()
            time.sleep(2.0)
            killed_after = time.monotonic() - started
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=10)
    with HistoryStore.open(data / "history.db") as store:
        conversation = store.latest_conversation()
        assert conversation is not None
        user, answer = store.messages(conversation.id)
    assert (user.role, user.content, user.status) == ("user", "the question survives",
                                                        "complete")
    assert answer.status == "partial"
    # Pieces that reached the client more than half a second before the kill are stored.
    must_have = int((killed_after - 0.5) / PIECE_DELAY_S)
    assert answer.content.startswith("".join(PIECES[:must_have])), (must_have, answer.content)
    assert len(answer.content) < len("".join(PIECES))


def _chatdesk(data: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "chatdesk", *args],
                            env={**env, "CHATDESK_DATA_DIR": str(data)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).parents[1])


def _kill_once_streaming(proc: subprocess.Popen[bytes]) -> None:
    try:
        first = proc.stdout.read(3)  # type: ignore[union-attr]
        assert first == b"w00", proc.stderr.read()  # type: ignore[union-attr]
        time.sleep(0.6)  # some text stored (the writer is at most 0.25 s behind)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)


def _check_resent_once(data: Path, question: str) -> None:
    """The message was answered exactly once after the crash; the cut-off answer is kept as an
    alternate marked interrupted, and no attempt is left running."""
    with HistoryStore.open(data / "history.db") as store:
        conversation = store.latest_conversation()
        assert conversation is not None
        user, answer = store.messages(conversation.id)
        everything = store.messages(conversation.id, include_alternates=True)
        cut = [m for m in everything if m.is_alternate]
        attempts = [a for m in everything for a in store.attempts(m.id)]
    assert (user.content, user.status) == (question, "complete")
    assert (answer.content, answer.status) == ("fresh answer", "complete")
    assert len(cut) == 1 and cut[0].finish_reason == "interrupted"
    assert cut[0].status == "partial" and cut[0].content.startswith("w00")
    assert sorted(a.outcome for a in attempts) == ["failed", "ok"]
    interrupted = next(a for a in attempts if a.outcome == "failed")
    assert interrupted.error_class == "interrupted" and interrupted.ended_at


@pytest.mark.slow
def test_after_kill_9_of_ask_retry_sends_the_message_again_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with FakeProvider("openai") as fake:
        fakes = [("openai", fake)]
        write_settings(data, fakes)
        env = {**os.environ, **key_env(fakes)}
        fake.script(Synth(PIECES, delay_s=PIECE_DELAY_S))
        _kill_once_streaming(_chatdesk(data, env, "ask", "asked once"))

        fake.script(Synth(["fresh answer"]))
        retry = subprocess.run([sys.executable, "-m", "chatdesk", "retry"],
                               env={**env, "CHATDESK_DATA_DIR": str(data)},
                               capture_output=True, text=True, timeout=60,
                               cwd=Path(__file__).parents[1])
        assert retry.returncode == 0, retry.stderr
        assert "1 message left unanswered when chatdesk stopped" in retry.stderr
        assert "1 sent, 0 still pending" in retry.stderr
        assert retry.stdout == "fresh answer\n"
        assert len(fake.requests) == 2
    _check_resent_once(data, "asked once")


@pytest.mark.slow
def test_a_killed_retry_does_not_hide_its_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with FakeProvider("openai") as fake:
        fakes = [("openai", fake)]
        write_settings(data, fakes)
        env = {**os.environ, **key_env(fakes)}
        with HistoryStore.open(data / "history.db") as store:
            conv = store.create_conversation()
            store.add_message(conv.id, "user", "waiting", status="pending")
        fake.script(Synth(PIECES, delay_s=PIECE_DELAY_S))
        _kill_once_streaming(_chatdesk(data, env, "retry"))

        fake.script(Synth(["fresh answer"]))
        retry = subprocess.run([sys.executable, "-m", "chatdesk", "retry"],
                               env={**env, "CHATDESK_DATA_DIR": str(data)},
                               capture_output=True, text=True, timeout=60,
                               cwd=Path(__file__).parents[1])
        assert "No pending messages" not in retry.stderr
        assert retry.returncode == 0, retry.stderr
        assert "1 sent, 0 still pending" in retry.stderr
    _check_resent_once(data, "waiting")
