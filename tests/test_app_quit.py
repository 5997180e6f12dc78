"""The desktop app in a real process: quitting while an answer streams keeps every word."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore
from tests.fakes.server import FakeProvider, Synth
from tests.helpers import key_env, write_settings

PIECES = [f"w{i:03d} " for i in range(200)]
PIECE_DELAY_S = 0.05


def streamed(data: Path) -> str:
    """The text saved so far of the answer being written, read without writing anything."""
    conn = sqlite3.connect(f"file:{data / 'history.db'}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT content FROM messages WHERE role = 'assistant'"
                           " ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # busy for a moment: read again
        return ""
    finally:
        conn.close()
    return row[0] if row else ""


@pytest.mark.slow
def test_ctrl_c_while_an_answer_streams_stores_it_and_exits_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with FakeProvider("anthropic") as fake:
        fakes = [("anthropic", fake)]
        write_settings(data, fakes)
        fake.script(Synth(PIECES, delay_s=PIECE_DELAY_S))
        with HistoryStore.open(data / "history.db") as store:
            conv = store.create_conversation("Waiting")
            store.add_message(conv.id, "user", "sent while everything was down",
                              status="pending")
        env = {**os.environ, **key_env(fakes), "QT_QPA_PLATFORM": "offscreen"}
        # The app sends pending messages by itself a few seconds after it starts.
        proc = subprocess.Popen([sys.executable, "-m", "chatdesk", "--data-dir", str(data)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=Path(__file__).parents[1])
        try:
            deadline = time.monotonic() + 20
            while not fake.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            assert fake.requests, "the app did not send the pending message"
            # Wait until the first pieces are saved (the app saves a streaming answer every
            # fraction of a second): Ctrl+C then lands in the middle of the answer.
            deadline = time.monotonic() + 20
            while (len(streamed(data)) < len("w000 w001 w002 ")
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)  # as Ctrl+C in a terminal: the window closes
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    with HistoryStore.open(data / "history.db") as store:
        user, answer = store.messages(conv.id)
    assert user.status == "complete"
    assert answer.status == "partial"
    assert answer.content.startswith("w000 w001 w002 ")
    assert len(answer.content) < len("".join(PIECES))
    assert "".join(PIECES).startswith(answer.content)
