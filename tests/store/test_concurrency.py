"""Two processes on one history file: concurrent writes and pending claims never collide."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chatdesk.store import BusyError, HistoryStore

REPO = Path(__file__).resolve().parents[2]

WORKER = r"""
import json, sys, time
from pathlib import Path
import pytest

from chatdesk.store import BusyError, HistoryStore

mode, db, tag, sync, arg = sys.argv[1:6]
sync = Path(sync)
(sync / f"ready-{tag}").touch()
deadline = time.monotonic() + 30
while not (sync / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.002)

with HistoryStore.open(Path(db)) as store:
    if mode == "write":
        conv_id = int(arg) if arg != "new" else store.create_conversation(tag).id
        for i in range(200):
            store.add_message(conv_id, "user", f"{tag} message {i}")
        print(json.dumps({"conversation": conv_id}))
    else:
        claimed = [m.id for m in store.pending_messages() if store.claim_pending(m.id)]
        rest = [i for i in json.loads(arg) if store.claim_pending(i)]
        print(json.dumps(claimed + rest), flush=True)
        # A claim names its process: stay alive until both have claimed, or the other one
        # would rightly find these claims dead and take the messages again.
        (sync / f"done-{tag}").touch()
        while not all((sync / f"done-{t}").exists() for t in ("alpha", "beta")):
            if time.monotonic() > deadline:
                sys.exit("the other worker did not finish")
            time.sleep(0.002)
"""


def run_pair(db: Path, sync: Path, mode: str, args: tuple[str, str]) -> list[str]:
    """Start two workers, release them together, return their stdout."""
    sync.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, mode, str(db), tag, str(sync), arg],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for tag, arg in zip(("alpha", "beta"), args, strict=True)
    ]
    deadline = time.monotonic() + 60
    while not all((sync / f"ready-{t}").exists() for t in ("alpha", "beta")):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.005)
    (sync / "go").touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        outputs.append(out)
    return outputs


def test_two_processes_write_the_same_conversation(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    with HistoryStore.open(db) as store:
        conv_id = store.create_conversation("shared").id
    run_pair(db, tmp_path / "sync", "write", (str(conv_id), str(conv_id)))

    with HistoryStore.open(db) as store:
        contents = [m.content for m in store.messages(conv_id)]
        assert len(contents) == 400
        for tag in ("alpha", "beta"):
            assert {f"{tag} message {i}" for i in range(200)} <= set(contents)
        assert len(store.search("alpha", limit=1000)) == 200
        assert store.list_conversations()[0].message_count == 400


def test_two_processes_create_a_new_file_together(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "history.db"
    outputs = run_pair(db, tmp_path / "sync", "write", ("new", "new"))
    conv_ids = [json.loads(out)["conversation"] for out in outputs]
    with HistoryStore.open(db) as store:
        assert sorted(s.message_count for s in store.list_conversations()) == [200, 200]
        assert {len(store.messages(c)) for c in conv_ids} == {200}
    assert [p.name for p in db.parent.iterdir() if ".bak-" in p.name] == []


def test_two_processes_claim_each_pending_message_once(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    with HistoryStore.open(db) as store:
        conv = store.create_conversation()
        ids = [store.add_message(conv.id, "user", f"p{i}", status="pending").id for i in range(100)]
    outputs = run_pair(db, tmp_path / "sync", "claim", (json.dumps(ids), json.dumps(ids[::-1])))
    alpha, beta = (json.loads(out) for out in outputs)
    assert not set(alpha) & set(beta)
    assert sorted(alpha + beta) == sorted(ids)
    with HistoryStore.open(db) as store:
        # Both claimers exited without answering: their claims died with them, so every
        # message is free to send again at once (not after the 900 s lease).
        assert [m.id for m in store.pending_messages()] == ids
        assert store.claim_pending(ids[0])


def _hold_lock(db_path: Path, seconds: float) -> threading.Thread:
    """Another connection holding the write lock for `seconds`, from a thread."""
    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(str(db_path), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(10)
    return thread


def test_a_write_waits_out_a_lock_longer_than_one_busy_timeout(store: HistoryStore,
                                                               db_path: Path) -> None:
    store._connection().execute("PRAGMA busy_timeout = 200")
    conv = store.create_conversation("t")
    thread = _hold_lock(db_path, 0.3)  # more than 200 ms, less than the retries' 400 ms
    store.add_message(conv.id, "user", "kept")
    thread.join()
    assert [m.content for m in store.messages(conv.id)] == ["kept"]


def test_a_write_kept_waiting_too_long_is_a_busy_error(store: HistoryStore,
                                                       db_path: Path) -> None:
    store._connection().execute("PRAGMA busy_timeout = 100")
    conv = store.create_conversation("t")
    thread = _hold_lock(db_path, 0.6)
    with pytest.raises(BusyError, match="busy"):
        store.add_message(conv.id, "user", "not saved")
    thread.join()
    assert store.messages(conv.id) == []
