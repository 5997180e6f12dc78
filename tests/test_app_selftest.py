"""`chatdesk --self-test` in a real process: the packaged app's smoke test, per SPEC."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore

ROOT = Path(__file__).resolve().parents[1]
OFFSCREEN_NOISE = ("This plugin does not support",)


def run_chatdesk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("CHATDESK_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "chatdesk", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def qt_warnings(data_dir: Path) -> list[str]:
    log = data_dir / "logs" / "chatdesk.log"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [line for line in lines if " chatdesk.qt:" in line
            and (" WARNING " in line or " ERROR " in line or " CRITICAL " in line)
            and not any(noise in line for noise in OFFSCREEN_NOISE)]


def test_self_test_starts_the_app_and_reports_the_startup_time(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with HistoryStore.open(data / "history.db") as store:
        conv = store.create_conversation("Existing history")
        store.add_message(conv.id, "user", "hello")
        store.add_message(conv.id, "assistant", "# Hi\n\n```python\nprint(1)\n```",
                          provider="anthropic", model="m")
    result = run_chatdesk("--data-dir", str(data), "--self-test")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    match = re.fullmatch(r"self-test ok startup_ms=(\d+)", lines[0])
    assert match, result.stdout
    assert 0 < int(match.group(1)) < 20000
    assert qt_warnings(data) == []


def test_self_test_on_an_empty_data_dir(tmp_path: Path) -> None:
    result = run_chatdesk("--data-dir", str(tmp_path / "fresh"), "--self-test")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("self-test ok startup_ms=")
    assert (tmp_path / "fresh" / "history.db").is_file()


def test_self_test_leaves_the_remembered_window_as_it_was(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    ini = data / "window.ini"
    ini.write_text("[window]\nzoom=1.25\nsidebar_hidden=true\n", encoding="utf-8")
    before = ini.read_bytes()
    result = run_chatdesk("--data-dir", str(data), "--self-test")
    assert result.returncode == 0, result.stderr
    assert ini.read_bytes() == before


def test_self_test_fails_with_a_reason_on_an_unreadable_history(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "history.db").write_bytes(b"this is not a database at all" * 100)
    result = run_chatdesk("--data-dir", str(data), "--self-test")
    assert result.returncode != 0
    assert "self-test ok" not in result.stdout
    assert result.stderr.startswith("chatdesk: ") and "Traceback" not in result.stderr
    assert "history.db" in result.stderr


def test_browse_self_test_opens_a_file_without_changing_it(tmp_path: Path) -> None:
    path = tmp_path / "copy.db"
    with HistoryStore.open(path) as store:
        conv = store.create_conversation("Browsed")
        store.add_message(conv.id, "user", "read me")
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    content = path.read_bytes()
    result = run_chatdesk("--data-dir", str(tmp_path / "data"), "--self-test", "browse",
                          str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("self-test ok startup_ms=")
    after = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name != "data"}
    assert after == before and path.read_bytes() == content


@pytest.mark.parametrize("missing", ["nope.db"])
def test_browse_of_a_missing_file_is_a_usage_error(tmp_path: Path, missing: str) -> None:
    result = run_chatdesk("--data-dir", str(tmp_path / "data"), "--self-test", "browse",
                          str(tmp_path / missing))
    assert result.returncode == 2
    assert missing in result.stderr and "Traceback" not in result.stderr


def test_qt_messages_go_to_the_chatdesk_qt_logger() -> None:
    import logging

    from PySide6.QtCore import qInstallMessageHandler, qWarning

    from chatdesk.app import install_qt_message_handler

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("chatdesk.qt")
    logger.addHandler(handler)
    previous = install_qt_message_handler()
    try:
        qWarning("something odd happened")
    finally:
        qInstallMessageHandler(previous)
        logger.removeHandler(handler)
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.WARNING, "something odd happened")]


def test_the_app_quits_cleanly_when_interrupted(tmp_path: Path) -> None:
    import signal
    import time

    data = tmp_path / "data"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen([sys.executable, "-m", "chatdesk", "--data-dir", str(data)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (data / "history.db").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the window is up
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert (data / "window.ini").is_file()  # the window saved its state on the way out


PAINT_PROBE = """
import sys
from chatdesk import app, cli
real = app._wait_for_first_paint
def wrapped(*args, **kwargs):
    at = real(*args, **kwargs)
    heavy = ("keyring", "httpx", "asyncio", "qasync", "chatdesk.chat", "chatdesk.local_servers")
    print("at paint:", ",".join(m for m in heavy if m in sys.modules), flush=True)
    return at
app._wait_for_first_paint = wrapped
sys.exit(cli.main(["--data-dir", sys.argv[1], "--self-test"]))
"""


@pytest.mark.parametrize("set_up", [False, True])
def test_nothing_the_first_paint_does_not_need_is_loaded_before_it(
        tmp_path: Path, set_up: bool) -> None:
    """The keyring's backends, httpx, asyncio and the engine load after the window shows."""
    data = tmp_path / "data"
    data.mkdir()
    if set_up:
        (data / "settings.toml").write_text(
            '[failover]\norder = ["main"]\n\n[providers.main]\ntype = "anthropic"\n'
            'model = "m"\n', encoding="utf-8")
        with HistoryStore.open(data / "history.db") as store:
            store.add_message(store.create_conversation("Old").id, "user", "hello")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = subprocess.run([sys.executable, "-c", PAINT_PROBE, str(data)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "at paint: "
    assert done.stdout.splitlines()[1].startswith("self-test ok")


FREEZE_PROBE = """
import gc, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
real = gc.freeze
def report():
    print("frozen", gc.get_freeze_count() > 10_000, "collecting", gc.isenabled(), flush=True)
    QApplication.closeAllWindows()
def freeze():
    real()
    QTimer.singleShot(0, report)  # once start-up has ended
gc.freeze = freeze
sys.argv = ["chatdesk", "--data-dir", sys.argv[1]]
import runpy
runpy.run_module("chatdesk", run_name="__main__")
"""


def test_what_start_up_made_is_left_out_of_full_garbage_collections(tmp_path: Path) -> None:
    """Once the window and its engine are up, the garbage collector, paused while the app
    started, runs again, and a full collection does not walk the start-up objects (it
    stalled the GUI thread ~55 ms while answers streamed)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = subprocess.run([sys.executable, "-c", FREEZE_PROBE, str(tmp_path)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "frozen True collecting True", result.stdout


GC_PROBE = """
import gc, sys
sys.argv = ["chatdesk", "--data-dir", sys.argv[1], "history", "list"]
import atexit
atexit.register(lambda: print("collecting", gc.isenabled(), flush=True))
import runpy
runpy.run_module("chatdesk", run_name="__main__")
"""


def test_a_command_runs_with_the_garbage_collector_on(tmp_path: Path) -> None:
    """The collector is paused only while the command line starts: a command (an import of
    a large export, say) runs with it."""
    result = subprocess.run([sys.executable, "-c", GC_PROBE, str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "collecting True", result.stdout


def test_the_self_test_says_when_the_engine_is_missing(tmp_path: Path) -> None:
    code = ("import sys, importlib.util\n"
            "real = importlib.util.find_spec\n"
            "importlib.util.find_spec = lambda name, *a: None if name == 'qasync' "
            "else real(name, *a)\n"
            "from chatdesk import cli\n"
            f"sys.exit(cli.main(['--data-dir', {str(tmp_path)!r}, '--self-test']))\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "self-test ok" not in result.stdout
    assert "the chat engine is incomplete: qasync cannot be found" in result.stderr


BEFORE_AND_AFTER_PAINT = """
import sys
from PySide6.QtCore import QTimer
from chatdesk import app as app_module
real = app_module._wait_for_first_paint
def wrapped(app, window, timeout_s):
    at = real(app, window, timeout_s)
    print({what}, flush=True)
    def later():
        print({what}, flush=True)
        window.close()
    QTimer.singleShot({later_ms}, later)
    return at
app_module._wait_for_first_paint = wrapped
from chatdesk import cli
sys.exit(cli.main(["--data-dir", sys.argv[1]]))
"""


def before_and_after_first_paint(data: Path, what: str, later_ms: int) -> tuple[str, str]:
    """What the Python expression `what` is in the app (not a self-test) at its first
    paint, and later_ms after it."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    code = BEFORE_AND_AFTER_PAINT.format(what=what, later_ms=later_ms)
    done = subprocess.run([sys.executable, "-c", code, str(data)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    at_paint, later = done.stdout.splitlines()[:2]
    return at_paint, later


def test_the_window_gets_its_icon_just_after_its_first_frame(tmp_path: Path) -> None:
    assert before_and_after_first_paint(tmp_path, "not window.windowIcon().isNull()",
                                        300) == ("False", "True")


def test_the_renderer_loads_once_the_window_is_idle(tmp_path: Path) -> None:
    """Not before the first frame; soon after it, so the first conversation opened does not
    wait for markdown-it and pygments to load."""
    assert before_and_after_first_paint(tmp_path, "'markdown_it' in sys.modules",
                                        2500) == ("False", "True")
