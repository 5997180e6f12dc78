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
