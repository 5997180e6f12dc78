"""The main window's idle RSS on a 1,000,000-message history, and after scrolling a
5,000-message conversation to its top and back.

Each measurement is a process of its own (offscreen): the real MainWindow with its
ChatBridge on an AppContext over the data dir, shown at 1100x720 and left idle (events
processed for a few seconds), then its RSS read from /proc/self/statm; then the
5,000-message conversation is selected in the sidebar as a click does, paged up with
PageUp to its first message and down again with PageDown to its last (as a person would;
`--jump` uses Ctrl+Home / Ctrl+End instead), left idle again and its RSS read. Baseline,
in the same run and interleaved: a bare PySide6 process showing an empty 1100x720
QMainWindow, measured the same way.

DATA_DIR: a data dir whose history.db holds at least 1,000,000 messages and a conversation
of at least 5,000 (its largest is the one scrolled); made there by make_history.py if it
has no history.db (~1 min, ~800 MB), in a temporary folder when no DATA_DIR is given.

Run from the repository root:  python benchmarks/idle_memory.py [DATA_DIR] [--rounds N]
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import Row, report  # noqa: E402

GOAL_IDLE_MB = 90.0
GOAL_AFTER = 1.10  # RSS after the scroll, at most this times the idle RSS
MIN_MESSAGES, BIG = 1_000_000, 5_000
IDLE_S = 3.0  # events processed this long before RSS is read
SAMPLE_EVERY = 20  # pages between RSS samples while scrolling (for the peak)
MAX_PAGES = 20_000
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def rollup() -> dict[str, float]:
    """Parts of the RSS (MB) from /proc/self/smaps_rollup: anonymous memory and file pages."""
    parts: dict[str, float] = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("Rss", "Anonymous", "Shared_Clean", "Private_Clean"):
                parts[name] = int(rest.split()[0]) / 1024
    return parts


def quiet_qt(mode: object, context: object, message: str) -> None:
    """Qt's messages to stderr, but not the offscreen platform's own complaints."""
    if "propagateSizeHints" not in message and "does not support raise" not in message:
        print(f"Qt: {message}", file=sys.stderr)


def pump(seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.002)


def settle_events() -> None:
    """What Qt has queued (the view's layout, the window's growth, paints) is done."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    for _ in range(3):
        QApplication.processEvents()
        QCoreApplication.sendPostedEvents()


# -- the measured processes --------------------------------------------------------------

def child_bare() -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(["idle_memory"])
    window = QMainWindow()
    window.resize(1100, 720)
    window.show()
    pump(IDLE_S)
    out = {"idle_mb": rss_mb(), **{f"idle_{k}": v for k, v in rollup().items()}}
    window.close()
    del app
    return out


def child_app(data: Path, conversation_id: int, jump: bool) -> dict[str, Any]:
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-not-a-key")  # a provider set up
    # First, as `chatdesk` does: it loads Qt, and what the app does first with it.
    import chatdesk.app as desktop  # noqa: I001
    from PySide6.QtCore import QPoint, Qt, qInstallMessageHandler
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from chatdesk.ui.bridge import ChatBridge

    app = QApplication(["idle_memory"])
    qInstallMessageHandler(quiet_qt)
    # window.ini would have the last run's conversation opened at start: idle shows none.
    (data / "window.ini").unlink(missing_ok=True)
    # The app's own start: theme, window.ini, background timers; then its ChatBridge.
    opened, window = desktop._show_window(app, argparse.Namespace(
        data_dir=str(data), portable=False, command=None), self_test=False)
    assert opened.ctx is not None
    window.attach_bridge(ChatBridge(opened.ctx.chat_service))
    window.resize(1100, 720)
    pump(IDLE_S)
    out: dict[str, Any] = {"idle_mb": rss_mb(), **{f"idle_{k}": v for k, v in rollup().items()}}

    sidebar, view = window.sidebar, window.transcript
    sidebar.list.setCurrentIndex(sidebar.model.index(
        sidebar.model.row_of(conversation_id, fetch=True)))
    pump(0.5)
    if window.controller.conversation_id != conversation_id:
        raise SystemExit(f"selecting conversation {conversation_id} did not open it")
    out["opened_mb"] = rss_mb()
    view.setFocus()
    m, bar = view.tmodel, view.verticalScrollBar()
    peak, pages, started = out["opened_mb"], 0, time.perf_counter()

    def key(k: Qt.Key, mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        nonlocal peak, pages
        QTest.keyClick(view, k, mods)
        settle_events()
        pages += 1
        if pages % SAMPLE_EVERY == 0:
            peak = max(peak, rss_mb())
        if pages > MAX_PAGES:
            raise SystemExit("paging never reached the end of the conversation")

    if jump:
        key(Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    while not (m.lo == 0 and bar.value() == 0):
        key(Qt.Key.Key_PageUp)
    first = view.indexAt(QPoint(view.viewport().width() // 2, 1))
    top_id = m.row(first.row()).id if first.isValid() else None
    if top_id != m.all_rows[0].id:
        raise SystemExit("the transcript does not show the conversation's first message")
    out["pages_up"] = pages
    peak = max(peak, rss_mb())
    out["top_mb"] = rss_mb()
    if jump:
        key(Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    while not (m.at_end and bar.value() >= bar.maximum()):
        key(Qt.Key.Key_PageDown)
    out["pages"] = pages
    out["scroll_s"] = time.perf_counter() - started
    out["peak_mb"] = max(peak, rss_mb())
    pump(IDLE_S)
    out["after_mb"] = rss_mb()
    out.update({f"after_{k}": v for k, v in rollup().items()})
    out["documents"] = view.delegate.cached_count()
    out["messages"] = len(m.all_rows)
    desktop._close(opened, window)
    del app
    return out


def run_child(args: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run([sys.executable, __file__, "--child", *args], env=env, text=True,
                          capture_output=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- the history --------------------------------------------------------------------------

def ensure_history(data: Path) -> tuple[int, int, int]:
    """(messages, the largest conversation's id, its messages); made if data has none."""
    db = data / "history.db"
    if not db.exists():
        print(f"writing a history of {MIN_MESSAGES:,} messages in {data} ...", flush=True)
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_history.py"), str(data),
                        "--conversations", str((MIN_MESSAGES - BIG) // 20), "--messages", "20",
                        "--extra", str(BIG)], check=True, cwd=ROOT)
    with sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True) as conn:
        total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        conv, size = conn.execute(
            "SELECT conversation_id, count(*) AS n FROM messages WHERE role != 'system' "
            "GROUP BY conversation_id ORDER BY n DESC LIMIT 1").fetchone()
    if total < MIN_MESSAGES or size < BIG:
        raise SystemExit(f"{db} holds {total:,} messages and its largest conversation "
                         f"{size:,}: at least {MIN_MESSAGES:,} and {BIG:,} are needed "
                         f"(give an empty folder to have one made)")
    return int(total), int(conv), int(size)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path, nargs="?", help="a data dir (made if empty)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--jump", action="store_true", help="Ctrl+Home / Ctrl+End, not pages")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind = args.child[0]
        result = child_bare() if kind == "bare" else \
            child_app(Path(args.child[1]), int(args.child[2]), args.child[3] == "jump")
        print(json.dumps(result))
        os._exit(0)  # the interpreter's teardown of the Qt wrappers is not measured
    with tempfile.TemporaryDirectory(prefix="chatdesk-idle-") as tmp:
        data = args.data_dir or Path(tmp) / "data"
        total, conv, size = ensure_history(data)
        how = "jump" if args.jump else "pages"
        app_args = ["app", str(data), str(conv), how]
        run_child(app_args)  # warm-up: the day's backup and check, the page cache
        bare: list[dict[str, Any]] = []
        runs: list[dict[str, Any]] = []
        for _ in range(args.rounds):
            bare.append(run_child(["bare"]))
            runs.append(run_child(app_args))
            r = runs[-1]
            print(f"  bare {bare[-1]['idle_mb']:.1f} MB | chatdesk idle {r['idle_mb']:.1f}, "
                  f"opened {r['opened_mb']:.1f}, top {r['top_mb']:.1f}, peak {r['peak_mb']:.1f}, "
                  f"after {r['after_mb']:.1f} MB ({r['pages']} keys, {r['scroll_s']:.1f} s, "
                  f"{r['documents']} documents kept)", flush=True)

    def med(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(float(r[key]) for r in rows)

    idle, base = med(runs, "idle_mb"), med(bare, "idle_mb")
    after, peak = med(runs, "after_mb"), med(runs, "peak_mb")
    print(f"{total:,} messages; conversation {conv} of {size:,} messages; {args.rounds} "
          f"rounds, medians; window 1100x720, offscreen")
    print(f"idle: anonymous {med(runs, 'idle_Anonymous'):.1f} MB, file-backed "
          f"{med(runs, 'idle_Rss') - med(runs, 'idle_Anonymous'):.1f} MB (bare window: "
          f"{med(bare, 'idle_Anonymous'):.1f} + "
          f"{med(bare, 'idle_Rss') - med(bare, 'idle_Anonymous'):.1f} MB)")
    print(f"scrolling ({'Ctrl+Home / Ctrl+End' if args.jump else 'PageUp / PageDown'}): "
          f"peak {peak:.1f} MB, {med(runs, 'pages'):.0f} keys")
    rows = [
        Row(f"idle RSS, {total:,} messages", f"{idle:.1f} MB",
            f"bare QMainWindow {base:.1f} MB", None, f"<= {GOAL_IDLE_MB:.0f} MB",
            idle <= GOAL_IDLE_MB),
        Row(f"RSS after scrolling {size:,} messages to the top and back",
            f"{after:.1f} MB", f"idle {idle:.1f} MB", after / idle,
            f"<= {GOAL_AFTER:.2f}x idle", after <= GOAL_AFTER * idle),
    ]
    ok = report(rows)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
