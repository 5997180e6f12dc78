"""The longest event-loop stall while a person types searches into the main window of a
large history (1,000,000 messages: see import_and_search.py --keep).

The window (offscreen, real sidebar and search thread) gets one keystroke every 60 ms
typed into its search field, words that match many messages and words that match few,
while a 5 ms precise QTimer records the gaps between its ticks; the stall is the longest
gap minus 5 ms. Baseline: the same timer in the same window with nothing typed.

Run from the repository root:  python benchmarks/typing_search.py DATA_DIR
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from PySide6.QtCore import Qt, qInstallMessageHandler  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from results import Row, report  # noqa: E402
from streaming_stall import TICK_MS, Ticker, quiet_qt  # noqa: E402

from chatdesk.app import keep_start_up_objects  # noqa: E402
from chatdesk.context import AppContext  # noqa: E402
from chatdesk.ui.main_window import MainWindow  # noqa: E402

GOAL_STALL_MS = 16.0
KEY_MS = 60  # a quick typist
# Common words of the generated history (thousands of matches each) and its rare one.
TYPED = ("the answer ", "zymurgy ", "python code ", "message ")


def pump(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.0005)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path, help="a data dir with a large history.db")
    args = p.parse_args()
    app = QApplication.instance() or QApplication(["typing_search"])
    qInstallMessageHandler(quiet_qt)
    ctx = AppContext.create(str(args.data_dir), warn=False)
    messages = ctx.store.db.execute("SELECT count(*) FROM messages").fetchone()[0]
    window = MainWindow(ctx.store, ctx=ctx, background=False)
    window.resize(1100, 720)
    window.show()
    pump(500)
    keep_start_up_objects()  # as the app does once its window is up
    field = window.sidebar.search
    ticker = Ticker()
    ticker.start()
    pump(3000)
    idle = list(ticker.gaps_ms)
    ticker.start()
    answered = 0
    for word in TYPED:
        field.setFocus()
        field.clear()
        for char in word:
            QTest.keyClick(field, char if char != " " else Qt.Key.Key_Space)
            pump(KEY_MS)
        pump(1500)  # the last search of the word comes back
        answered += window.sidebar.results_model.rowCount() > 0
    typing = list(ticker.gaps_ms)
    ticker.stop()
    window.close()
    ctx.close()
    del app
    if answered < 2:
        raise SystemExit("searches found nothing: is this the generated history?")
    stall, idle_stall = max(typing) - TICK_MS, max(idle) - TICK_MS
    print(f"{messages:,} messages; {sum(len(w) for w in TYPED)} keystrokes {KEY_MS} ms apart; "
          f"{len(typing):,} ticks")
    ok = report([Row(f"typing searches, {messages:,} messages: longest event-loop stall",
                     f"{stall:.1f} ms", f"idle {idle_stall:.1f} ms", None,
                     f"<= {GOAL_STALL_MS:.0f} ms", stall <= GOAL_STALL_MS)])
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
