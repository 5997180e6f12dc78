"""`chatdesk ask` while another process holds the history's write lock: the user's text is
never silently lost, an answer streaming keeps its text, and nothing prints a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from chatdesk.store import HistoryStore
from tests.fakes.responses import Synth
from tests.fakes.server import FakeProvider
from tests.helpers import key_env, write_settings

ROOT = Path(__file__).parents[1]
# The CLI with a 200 ms busy timeout (the store waits that long, twice, before giving up).
_ASK = ("import sys; import chatdesk.store.schema as s; s.BUSY_TIMEOUT_MS = 200; "
        "from chatdesk.cli import main; sys.exit(main(sys.argv[1:]))")


def _ask(data_dir: Path, fake: FakeProvider, *argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CHATDESK_DATA_DIR": str(data_dir), **key_env([("main", fake)])}
    return subprocess.Popen([sys.executable, "-c", _ASK, "ask", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _locker(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def _setup(tmp_path: Path, fake: FakeProvider) -> tuple[Path, Path]:
    data_dir = tmp_path / "data"
    write_settings(data_dir, [("main", fake)])
    db = data_dir / "history.db"
    HistoryStore.open(db).close()  # created, in WAL mode
    return data_dir, db


def test_ask_on_a_history_locked_too_long_says_the_text_was_not_sent(tmp_path: Path) -> None:
    with FakeProvider("openai") as fake:
        data_dir, db = _setup(tmp_path, fake)
        locker = _locker(db)
        try:
            done = _ask(data_dir, fake, "keep this question")
            out, err = done.communicate(timeout=60)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert done.returncode == 1  # SPEC: the request failed
        assert "Traceback" not in err and err.count("\n") == 1, err
        assert "history.db is busy" in err and "NOT sent" in err
        assert fake.requests == []  # nothing was sent that the history does not hold
    with HistoryStore.open(db) as store:
        assert store.count_conversations() == 0


def test_an_answer_streaming_through_a_long_lock_keeps_its_text(tmp_path: Path) -> None:
    pieces = [f"part {n}. " for n in range(30)]
    with FakeProvider("openai") as fake:
        data_dir, db = _setup(tmp_path, fake)
        fake.script(Synth(pieces, delay_s=0.1))  # 3 s of streaming
        done = _ask(data_dir, fake, "stream through a lock")
        deadline = time.monotonic() + 30
        with sqlite3.connect(str(db), isolation_level=None) as probe:
            while not probe.execute("SELECT 1 FROM messages WHERE role = 'assistant'"
                                    " AND content != ''").fetchone():
                assert time.monotonic() < deadline and done.poll() is None
                time.sleep(0.02)
        locker = _locker(db)  # held for 1 s: several flushes of the answer run out of time
        time.sleep(1.0)
        locker.execute("COMMIT")
        locker.close()
        out, err = done.communicate(timeout=60)
        assert done.returncode == 0, err
        assert "Traceback" not in err, err
        assert out.strip() == "".join(pieces).strip()
    with HistoryStore.open(db) as store:
        [summary] = store.list_conversations()
        answer = store.messages(summary.id)[-1]
        assert answer.content == "".join(pieces) and answer.status == "complete"
