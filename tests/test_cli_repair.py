"""The issue's cases at the command line: a stray -wal, a damaged file, `chatdesk repair`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatdesk.cli import main
from tests.fakes.server import FakeProvider
from tests.helpers import key_env, write_settings
from tests.store.test_safety import damage, fill, live_wal_of


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_stray_wal_does_not_destroy_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, other = tmp_path / "data", tmp_path / "other" / "history.db"
    other.parent.mkdir()
    fill(data / "history.db")
    fill(other, conversations=1, tag="b")
    (data / "history.db-wal").write_bytes(live_wal_of(other, 5))
    before = (data / "history.db").read_bytes()
    code, out, err = run(capsys, "--data-dir", str(data), "history", "list")
    assert code == 1 and out == ""
    assert err.startswith("chatdesk: history.db-wal beside history.db is not history.db's own")
    assert err.count("\n") == 1
    assert (data / "history.db").read_bytes() == before
    (data / "history.db-wal").rename(tmp_path / "stray-wal")
    (data / "history.db-shm").unlink(missing_ok=True)
    code, out, _ = run(capsys, "--data-dir", str(data), "history", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 30


def test_a_damaged_history_takes_no_writes_and_repair_saves_what_it_can(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    fill(data / "history.db", conversations=200, words=40)
    damage(data / "history.db")
    damaged = (data / "history.db").read_bytes()
    with FakeProvider("openai") as fake:
        fakes = [("openai", fake)]
        write_settings(data, fakes)
        for var, value in key_env(fakes).items():
            monkeypatch.setenv(var, value)
        code, _, err = run(capsys, "--data-dir", str(data), "ask", "-c", "1", "hello")
        assert code == 1
        assert "history.db is damaged (" in err and "`chatdesk repair`" in err
        assert not fake.requests  # nothing is sent that could not be kept
        assert (data / "history.db").read_bytes() == damaged

        code, _, err = run(capsys, "--data-dir", str(data), "repair")
        assert code == 0
        assert err.startswith("Repaired history.db: recovered 200 conversation(s) and ")
        kept = [p for p in data.iterdir() if p.name.startswith("history.db.damaged-")]
        assert [p.read_bytes() for p in kept if not p.name.endswith(("-wal", "-shm"))] == [
            damaged]

        code, out, err = run(capsys, "--data-dir", str(data), "ask", "-c", "1", "hello")
        assert code == 0, err
    code, out, _ = run(capsys, "--data-dir", str(data), "history", "list", "--json",
                       "--limit", "500")
    assert code == 0 and len(json.loads(out)) == 200
