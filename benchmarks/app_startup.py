"""Start-up of `chatdesk --self-test` on a large history against a stock-widget skeleton.

Both are timed as whole processes (wall clock, median of N after one warm-up each, runs
interleaved) and by their own first-paint figure (`startup_ms`: the bare window counts from
its first line, chatdesk from the first line of its package, before the command line is
parsed). Then the same on a 50,000-conversation history, whose start-up must stay
flat (the sidebar reads one page), with the peak RSS of each self-test process.

Run from the repository root:  python benchmarks/app_startup.py [--rounds N]
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import Row, report  # noqa: E402

GOAL_RATIO = 1.5  # app's median wall time / the skeleton chat window's
GOAL_FLAT = 1.15  # 50,000 conversations' median wall time / the small history's
GOAL_RSS_RATIO = 2.0  # the self-test's peak RSS / the bare window's
SELF_TEST_OK = re.compile(r"self-test ok startup_ms=(\d+)")

# The baseline: what any PySide6 Widgets app pays before its first paint. It counts
# startup_ms from its first line, before importing Qt.
BARE = """
import time
_started = time.perf_counter()
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not hasattr(self, "started"):
            self.started = True
            QTimer.singleShot(0, self.done)  # after the whole first frame, as chatdesk counts
        return False

    def done(self):
        self.at = time.perf_counter()
        app.quit()

app = QApplication(["bare"])
watcher = FirstPaint()
app.installEventFilter(watcher)
window = QMainWindow()
window.setWindowTitle("bare")
window.resize(1100, 720)
window.show()
app.exec()
print(f"self-test ok startup_ms={round((watcher.at - _started) * 1000)}", flush=True)
"""


# For information: the same window showing one line of text. The first text drawn loads
# the font database (~30 ms), which the empty window above never does and any real app does.
BARE_TEXT = BARE.replace('window.resize(1100, 720)', 'window.resize(1100, 720)\n'
                         'from PySide6.QtWidgets import QLabel\n'
                         'window.setCentralWidget(QLabel("one line of text"))')

# The baseline: the least a chat window can be with stock widgets — 60 titles read from
# the same history.db in a list, an empty transcript list, a text box and a button; no
# settings, no asyncio, no custom painting, ending the process the way chatdesk does. It
# shows what Qt's widget classes alone cost (PySide6 builds a Python enum for every enum of
# every Qt class a program touches).
MINIMAL_CHAT = BARE.replace('window.resize(1100, 720)', '''window.resize(1100, 720)
import sqlite3, sys
from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import (QListView, QPlainTextEdit, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)
db = sqlite3.connect(sys.argv[1])
titles = [r[0] or "" for r in db.execute(
    "SELECT title FROM conversations ORDER BY pinned DESC, updated_at DESC LIMIT 60")]
split = QSplitter(Qt.Orientation.Horizontal)
side = QListView()
side.setModel(QStringListModel(titles))
center = QWidget()
column = QVBoxLayout(center)
column.addWidget(QListView(), 1)
column.addWidget(QPlainTextEdit())
column.addWidget(QPushButton("Send"))
split.addWidget(side)
split.addWidget(center)
window.setCentralWidget(split)''') + """
import os  # ends as chatdesk does: QApplication destroyed, then no interpreter teardown
app.shutdown()
os._exit(0)
"""


@dataclass
class Runs:
    """The measured runs of one command."""

    label: str
    cmd: list[str]
    wall_s: list[float] = field(default_factory=list)
    startup_ms: list[int] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)

    def median_wall_ms(self) -> float:
        return statistics.median(self.wall_s) * 1000

    def median_startup_ms(self) -> float:
        return statistics.median(self.startup_ms)


def run_once(cmd: list[str], env: dict[str, str], out_dir: Path) -> tuple[float, int, float]:
    """(wall seconds, startup_ms printed, peak RSS in MB) of one whole process."""
    out_path, err_path = out_dir / "stdout.txt", out_dir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=out_dir)
        # wait4 gives this child's own rusage (ru_maxrss), not the max over all children.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(errors="replace")
    match = SELF_TEST_OK.search(text)
    if proc.returncode != 0 or match is None:
        raise SystemExit(f"{' '.join(cmd[:5])} failed (exit {proc.returncode}):\n{text}"
                         f"{err_path.read_text(errors='replace')}")
    return wall, int(match.group(1)), usage.ru_maxrss / 1024  # Linux: kilobytes


def make(data_dir: Path, conversations: int, messages: int) -> str:
    """Generate a history in a child process: the high-water mark of this process's memory
    would otherwise be inherited by every child it starts (Linux keeps ru_maxrss across
    fork and exec), and the generator's is larger than the app's."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_history.py"),
                           str(data_dir), "--conversations", str(conversations),
                           "--messages", str(messages)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"make_history.py failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def measure(all_runs: list[Runs], rounds: int, env: dict[str, str], out_dir: Path) -> None:
    for round_no in range(rounds + 1):  # round 0 is the warm-up
        for runs in all_runs:
            wall, startup, rss = run_once(runs.cmd, env, out_dir)
            if round_no:
                runs.wall_s.append(wall)
                runs.startup_ms.append(startup)
                runs.rss_mb.append(rss)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5, help="measured runs of each (default 5)")
    p.add_argument("--conversations", type=int, default=2000)
    p.add_argument("--messages", type=int, default=20, help="per conversation")
    p.add_argument("--big-conversations", type=int, default=50_000)
    p.add_argument("--big-messages", type=int, default=20, help="per conversation")
    args = p.parse_args()

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               # no desktop keyring here; a real one could block on D-Bus
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    # PYTHONDONTWRITEBYTECODE would make every run compile chatdesk from source again.
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "CHATDESK_DATA_DIR",
                "PYTHONDONTWRITEBYTECODE"):
        env.pop(var, None)
    with tempfile.TemporaryDirectory(prefix="chatdesk-startup-") as tmp:
        base = Path(tmp)
        print(make(base / "small", args.conversations, args.messages))
        print(make(base / "big", args.big_conversations, args.big_messages))
        small_n = args.conversations * args.messages
        app = [sys.executable, "-m", "chatdesk", "--data-dir"]
        bare = Runs("bare PySide6 window", [sys.executable, "-c", BARE])
        bare_text = Runs("bare window + a QLabel", [sys.executable, "-c", BARE_TEXT])
        minimal = Runs("minimal chat window", [sys.executable, "-c", MINIMAL_CHAT,
                                               str(base / "small" / "history.db")])
        app_small = Runs(f"chatdesk, {small_n:,} messages",
                         [*app, str(base / "small"), "--self-test"])
        app_big = Runs(f"chatdesk, {args.big_conversations:,} convs",
                       [*app, str(base / "big"), "--self-test"])
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        measure([bare, bare_text, minimal, app_small, app_big], args.rounds, env, base)

    print(f"\n{args.rounds} runs each after 1 warm-up, interleaved; offscreen Qt")
    print(f"{'':28} {'wall median':>12} {'min':>7} {'max':>7} {'startup_ms':>11} "
          f"{'peak RSS':>9}")
    for r in (bare, bare_text, minimal, app_small, app_big):
        print(f"{r.label:28} {r.median_wall_ms():>9.0f} ms {min(r.wall_s) * 1000:>7.0f} "
              f"{max(r.wall_s) * 1000:>7.0f} {r.median_startup_ms():>8.0f} ms "
              f"{max(r.rss_mb):>6.0f} MB")
    ratio = app_small.median_wall_ms() / minimal.median_wall_ms()
    ratio_bare = app_small.median_wall_ms() / bare.median_wall_ms()
    ratio_big = app_big.median_wall_ms() / minimal.median_wall_ms()
    flat = app_big.median_wall_ms() / app_small.median_wall_ms()
    rss, bare_rss = max(app_small.rss_mb), max(bare.rss_mb)
    print(f"\nfor information: {ratio_bare:.2f}x the bare window, "
          f"{app_small.median_wall_ms() / bare_text.median_wall_ms():.2f}x the QLabel window")
    rows = [
        Row(f"--self-test, {small_n:,}-message history", f"{app_small.median_wall_ms():.0f} ms",
            f"skeleton {minimal.median_wall_ms():.0f} ms", ratio, f"<= {GOAL_RATIO}x",
            ratio <= GOAL_RATIO),
        Row("--self-test peak RSS", f"{rss:.0f} MB", f"bare window {bare_rss:.0f} MB",
            rss / bare_rss, f"<= {GOAL_RSS_RATIO}x", rss / bare_rss <= GOAL_RSS_RATIO),
        Row(f"--self-test, {args.big_conversations:,} conversations",
            f"{app_big.median_wall_ms():.0f} ms", f"skeleton {minimal.median_wall_ms():.0f} ms",
            ratio_big, f"<= {GOAL_RATIO}x", ratio_big <= GOAL_RATIO),
        Row(f"start-up, {args.big_conversations:,} vs {args.conversations:,} conversations",
            f"{app_big.median_wall_ms():.0f} ms", f"{app_small.median_wall_ms():.0f} ms", flat,
            f"<= {GOAL_FLAT}x (flat)", flat <= GOAL_FLAT),
    ]
    ok = report(rows)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
