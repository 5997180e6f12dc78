"""`chatdesk import` and `chatdesk export`: summaries, one-line errors, exit codes, nothing
half-done after a failure or Ctrl+C."""

from __future__ import annotations

import errno
import io
import json
import zipfile
from pathlib import Path

import pytest

from chatdesk.cli import main
from chatdesk.store import HistoryStore
from chatdesk.transfer import native
from chatdesk.transfer.progress import ProgressBar
from tests.transfer.test_native import seed_history

CHATGPT = [
    {"title": "Hello there", "create_time": 1700000000.0, "update_time": 1700000100.0,
     "conversation_id": "cg-abc", "current_node": "n2", "mapping": {
         "root": {"id": "root", "message": None, "parent": None, "children": ["n1"]},
         "n1": {"id": "n1", "parent": "root", "children": ["n2"], "message": {
             "id": "n1", "author": {"role": "user"}, "create_time": 1700000000.0,
             "content": {"content_type": "text", "parts": ["Hi, how are tides made?"]}}},
         "n2": {"id": "n2", "parent": "n1", "children": [], "message": {
             "id": "n2", "author": {"role": "assistant"}, "create_time": 1700000050.0,
             "content": {"content_type": "text", "parts": ["By the Moon."]},
             "metadata": {"model_slug": "gpt-4o"}}}}},
    {"title": "Nothing said", "create_time": 1700000200.0, "conversation_id": "cg-empty",
     "mapping": {}},
]
CLAUDE = [{"uuid": "cl-1", "name": "Bread", "created_at": "2024-05-01T10:00:00Z",
           "updated_at": "2024-05-01T10:01:00Z", "chat_messages": [
               {"uuid": "m1", "sender": "human", "text": "banana bread?",
                "created_at": "2024-05-01T10:00:00Z"},
               {"uuid": "m2", "sender": "assistant", "text": "Mash three bananas.",
                "created_at": "2024-05-01T10:00:30Z"}]}]


def run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def counts(data: Path) -> tuple[int, int]:
    with HistoryStore.open(data / "history.db") as store:
        db = store.db
        return (db.execute("SELECT count(*) FROM conversations").fetchone()[0],
                db.execute("SELECT count(*) FROM messages").fetchone()[0])


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    data = tmp_path / "seeded"
    with HistoryStore.open(data / "history.db") as store:
        seed_history(store)
    return data


def test_import_chatgpt_then_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "chatgpt.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.writestr("conversations.json", json.dumps(CHATGPT))
    data = tmp_path / "data"
    code, out, err = run(capsys, data, "import", "chatgpt", str(export))
    assert code == 0 and out == ""
    assert one_line(err) == ("Imported 1 conversation (2 messages) from ChatGPT; "
                             "1 empty skipped; 0 already there")
    code, _, err = run(capsys, data, "import", "chatgpt", str(export))
    assert code == 0
    assert one_line(err) == ("Imported 0 conversations (0 messages) from ChatGPT; "
                             "1 empty skipped; 1 already there")
    assert counts(data) == (1, 2)
    code, out, _ = run(capsys, data, "history", "show", "1", "--json")
    assert [m["content"] for m in json.loads(out)["messages"]] == [
        "Hi, how are tides made?", "By the Moon."]


def test_import_claude(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps(CLAUDE), encoding="utf-8")
    code, _, err = run(capsys, tmp_path / "data", "import", "claude", str(export))
    assert code == 0
    assert one_line(err).startswith("Imported 1 conversation (2 messages) from Claude;")


def test_export_import_export_through_the_cli(seeded: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    code, _, err = run(capsys, seeded, "export", "--all", "--format", "json", "--output",
                       str(first))
    assert code == 0 and one_line(err) == f"Exported 4 conversations (8 messages) to {first}"
    fresh = tmp_path / "fresh"
    code, _, err = run(capsys, fresh, "import", "chatdesk", str(first))
    assert code == 0 and one_line(err) == ("Imported 4 conversations (8 messages) from a "
                                           "chatdesk export; 0 empty skipped; 0 already there")
    code, _, err = run(capsys, fresh, "import", "chatdesk", str(first))
    assert one_line(err).endswith("0 empty skipped; 4 already there")
    run(capsys, fresh, "export", "--all", "--format", "json", "-o", str(second))
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    del a["exported_at"], b["exported_at"]
    assert a == b


def test_a_broken_export_changes_nothing(seeded: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    whole = tmp_path / "whole.json"
    run(capsys, seeded, "export", "--all", "--format", "json", "--output", str(whole))
    cut = tmp_path / "cut.json"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    before = counts(seeded)
    code, out, err = run(capsys, seeded, "import", "chatdesk", str(cut))
    assert code == 1 and out == ""
    assert one_line(err).startswith("chatdesk: cut.json is not a whole chatdesk export")
    not_zip = tmp_path / "export.zip"
    not_zip.write_bytes(b"PK\x03\x04 broken")
    code, _, err = run(capsys, seeded, "import", "chatgpt", str(not_zip))
    assert code == 1 and "export.zip" in one_line(err)
    code, _, err = run(capsys, seeded, "import", "claude", str(tmp_path / "missing.json"))
    assert code == 1 and one_line(err)
    assert counts(seeded) == before


def test_ctrl_c_during_an_import_changes_nothing(seeded: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    export = tmp_path / "x.json"
    run(capsys, seeded, "export", "--all", "--format", "json", "--output", str(export))

    def interrupted(self: ProgressBar, done: int, total: int | None = None) -> None:
        if done >= 3:  # two conversations are already written inside the transaction
            raise KeyboardInterrupt

    monkeypatch.setattr(ProgressBar, "__call__", interrupted)
    code, _, err = run(capsys, tmp_path / "fresh", "import", "chatdesk", str(export))
    assert code == 130 and "nothing was imported" in one_line(err)
    assert counts(tmp_path / "fresh") == (0, 0)


@pytest.mark.parametrize("argv, code, message", [
    (["export", "--format", "json", "--output", "x.json"], 2, "--all"),
    (["export", "1", "--all", "--format", "json", "--output", "x.json"], 2, "--all"),
    (["export", "1", "--format", "pdf", "--output", "x.pdf"], 2, "invalid choice"),
    (["export", "1", "--format", "json"], 2, "--output"),
    (["export", "1", "--output", "x.json"], 2, "--format"),
    (["export", "1", "3", "--format", "md", "--output", "x.md"], 2, "folder"),
    (["export", "1", "42", "--format", "json", "--output", "x.json"], 1, "no conversation"),
    (["export", "2", "--format", "html", "--output", "x.html"], 1, "no conversation with id 2"),
    (["import", "gemini", "x.json"], 2, "invalid choice"),
    (["import", "chatdesk"], 2, "PATH"),
])
def test_export_and_import_usage(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str], argv: list[str], code: int,
                                 message: str) -> None:
    monkeypatch.chdir(tmp_path)
    got, out, err = run(capsys, seeded, *argv)
    assert got == code and out == ""
    assert message in one_line(err) and one_line(err).startswith("chatdesk: ")
    assert not any(tmp_path.glob("x.*"))


def test_export_to_a_place_that_cannot_be_written(seeded: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    for fmt, output in (("json", tmp_path / "no" / "such" / "x.json"),
                        ("html", blocker / "x.html"), ("md", blocker / "folder")):
        code, _, err = run(capsys, seeded, "export", "--all", "--format", fmt,
                           "--output", str(output))
        assert code == 1 and one_line(err).startswith(f"chatdesk: could not write {output}: ")


def test_a_full_disk_leaves_no_half_file(seeded: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = native.conversation_json
    calls: list[int] = []

    def filling_up(*args: object) -> dict:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(native, "conversation_json", filling_up)
    out = tmp_path / "x.json"
    code, _, err = run(capsys, seeded, "export", "--all", "--format", "json", "-o", str(out))
    assert code == 1 and "the disk is full" in one_line(err)
    assert list(tmp_path.glob("*.json*")) == [] and list(tmp_path.glob(".x.json*")) == []


def test_export_to_stdout_and_as_html(seeded: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, seeded, "export", "3", "--format", "json", "--output", "-")
    assert code == 0 and "\r" not in err  # no progress bar when stderr is not a terminal
    [conv] = json.loads(out)["conversations"]
    assert conv["id"] == 3 and len(conv["messages"]) == 3
    page = tmp_path / "all.html"
    code, _, err = run(capsys, seeded, "export", "--all", "--format", "html", "-o", str(page))
    assert code == 0 and one_line(err) == f"Exported 4 conversations (7 messages) to {page}"
    assert "Привет, мир! café ☕" in page.read_text(encoding="utf-8")
    folder = tmp_path / "md"
    code, _, _ = run(capsys, seeded, "export", "1", "4", "--format", "md", "-o", str(folder))
    assert code == 0 and len(list(folder.glob("*.md"))) == 2


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_bar_draws_only_on_a_terminal() -> None:
    pipe, terminal = FakeTerminal(False), FakeTerminal(True)
    for stream in (pipe, terminal):
        with ProgressBar("Importing", stream=stream, interval_s=0) as bar:
            bar(5, None)
            bar(50, 100)
        assert bar.done == 50
    assert pipe.getvalue() == ""
    drawn = terminal.getvalue()
    assert "Importing" in drawn and "5 conversations" in drawn and "50/100" in drawn
    assert "50%" in drawn and drawn.endswith("\r")  # erased at the end


def test_a_source_without_its_reader_yet_says_so_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from chatdesk.transfer import jobs

    export = tmp_path / "export.json"
    export.write_text("[]", encoding="utf-8")
    # every kind has its reader in this version; one taken away stands for a later kind
    assert all(jobs.available(kind) for kind in jobs.SOURCES)
    monkeypatch.setattr(jobs, "_READERS", {**jobs._READERS, "deepseek": "no_such_reader:read"})
    for kind in ("deepseek",):
        assert main(["--data-dir", str(tmp_path / "d"), "import", kind, str(export)]) == 1
        err = capsys.readouterr().err.strip()
        assert err == (f"chatdesk: importing from {jobs.SOURCES[kind]} is not in this version "
                       "of chatdesk yet; nothing was imported")
