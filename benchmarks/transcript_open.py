"""Opening a 5,000-message conversation in the main window, beside a 20-message one.

In one process on the offscreen platform: the real MainWindow (with its ChatBridge, which
sends nothing here) over a generated history. A conversation is selected in the sidebar
as a click would, and the time runs until the transcript's viewport has been painted
(the model populated, the rows at the bottom measured and laid out and drawn); "settled"
is the end of the viewport's last paint in the 0.4 s after that (rows re-measured after
their first paint, and laid out again, included).
Each measured open is of a conversation not opened before (no cached documents), after
one warm-up pair; big and small opens are interleaved.

Run from the repository root:  python benchmarks/transcript_open.py [--rounds N]
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_history import make_history  # noqa: E402
from PySide6.QtCore import (  # noqa: E402
    QCoreApplication,
    QEvent,
    QEventLoop,
    QObject,
    QPoint,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication  # noqa: E402

from chatdesk.context import AppContext  # noqa: E402
from chatdesk.ui.bridge import ChatBridge  # noqa: E402
from chatdesk.ui.main_window import MainWindow  # noqa: E402

GOAL_MS = 300.0
OFFSCREEN_NOISE = ("propagateSizeHints", "does not support raise")
BIG, SMALL = 5000, 20
TIMEOUT_S = 30.0
QUIET_S = 0.4  # events are processed this long after the first paint, for "settled"


def quiet_qt(mode: object, context: object, message: str) -> None:
    """Qt's messages to stderr, but not the offscreen platform's own complaints."""
    if not any(noise in message for noise in OFFSCREEN_NOISE):
        print(f"Qt: {message}", file=sys.stderr)


class PaintWatch(QObject):
    """Counts paint events of one widget (the transcript's viewport)."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


@dataclass
class Opens:
    label: str
    painted_ms: list[float] = field(default_factory=list)
    settled_ms: list[float] = field(default_factory=list)
    renders: list[int] = field(default_factory=list)
    paints: list[int] = field(default_factory=list)


def settle(app: QApplication, watch: PaintWatch | None = None) -> float:
    """Process events for QUIET_S; returns when the last paint of the viewport ended."""
    last = time.perf_counter()
    end = last + QUIET_S
    while time.perf_counter() < end:
        before = watch.paints if watch is not None else 0
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        QCoreApplication.sendPostedEvents()
        if watch is not None and watch.paints != before:
            last = time.perf_counter()
    return last


def open_one(app: QApplication, window: MainWindow, watch: PaintWatch,
             conversation_id: int) -> tuple[float, float, int, int]:
    """(ms to the first paint, ms to settled, documents rendered, paints) of one open."""
    sidebar = window.sidebar
    row = sidebar.model.row_of(conversation_id, fetch=True)
    index = sidebar.model.index(row)
    delegate = window.transcript.delegate
    renders0, paints0 = delegate.renders, watch.paints
    start = time.perf_counter()
    sidebar.list.setCurrentIndex(index)  # what a click does: conversationSelected → open
    while watch.paints == paints0:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        if time.perf_counter() - start > TIMEOUT_S:
            raise SystemExit(f"conversation {conversation_id} was not painted in {TIMEOUT_S} s")
    painted = time.perf_counter()
    settled = max(painted, settle(app, watch))
    if window.controller.conversation_id != conversation_id:
        raise SystemExit(f"selecting conversation {conversation_id} did not open it")
    return ((painted - start) * 1000, (settled - start) * 1000,
            delegate.renders - renders0, watch.paints - paints0)


def check_shows_the_end(window: MainWindow, expected_last_id: int) -> None:
    view = window.transcript
    bottom = view.indexAt(QPoint(view.viewport().width() // 2, view.viewport().height() - 8))
    model = view.tmodel
    if not bottom.isValid() or model.row(bottom.row()).id != expected_last_id:
        raise SystemExit("the transcript does not show the conversation's last message")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--conversations", type=int, default=1000, help="background history")
    args = p.parse_args()

    app = QApplication.instance() or QApplication(["transcript_open"])
    qInstallMessageHandler(quiet_qt)
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory(prefix="chatdesk-open-") as tmp:
        data = Path(tmp) / "data"
        pairs = args.rounds + 1  # the first pair warms up
        h = make_history(data, args.conversations, 20, [BIG, SMALL] * pairs)
        print(f"history: {h.conversations:,} conversations, {h.messages:,} messages, "
              f"{pairs} of {BIG:,} messages and {pairs} of {SMALL} (made in {h.seconds:.1f} s)")
        ctx = AppContext.create(str(data), warn=False)
        bridge = ChatBridge(ctx.chat_service)
        window = MainWindow(ctx.store, ctx=ctx, bridge=bridge, background=False)
        window.resize(1100, 720)
        window.show()
        settle(app)
        watch = PaintWatch()
        window.transcript.viewport().installEventFilter(watch)
        big, small = Opens(f"{BIG:,} messages"), Opens(f"{SMALL} messages")
        for pair in range(pairs):
            big_id, small_id = h.extra_ids[2 * pair], h.extra_ids[2 * pair + 1]
            for opens, conv_id in ((small, small_id), (big, big_id)):
                painted, settled, renders, paints = open_one(app, window, watch, conv_id)
                last = ctx.store.messages(conv_id)[-1].id
                check_shows_the_end(window, last)
                if pair:
                    opens.painted_ms.append(painted)
                    opens.settled_ms.append(settled)
                    opens.renders.append(renders)
                    opens.paints.append(paints)
        shown = window.transcript.tmodel.rowCount()
        window.close()
        ctx.close()

    print(f"\n{args.rounds} opens each (+1 warm-up), each of a conversation not opened before; "
          f"window 1100x720, offscreen")
    print(f"{'':16} {'to first paint':>15} {'min':>7} {'max':>7} {'settled':>9} "
          f"{'documents':>10} {'paints':>7}")
    for o in (small, big):
        print(f"{o.label:16} {statistics.median(o.painted_ms):>12.1f} ms "
              f"{min(o.painted_ms):>7.1f} {max(o.painted_ms):>7.1f} "
              f"{statistics.median(o.settled_ms):>6.1f} ms {statistics.median(o.renders):>10.0f} "
              f"{statistics.median(o.paints):>7.0f}")
    big_ms = statistics.median(big.painted_ms)
    ratio = big_ms / statistics.median(small.painted_ms)
    print(f"\nrows the view sees of the {BIG:,}: {shown} (the rest stay out of the view's "
          f"layout)")
    print(f"{BIG:,}-message open, median to first paint: {big_ms:.1f} ms (goal <= "
          f"{GOAL_MS:.0f} ms); {ratio:.2f}x the {SMALL}-message open")
    ok = big_ms <= GOAL_MS
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
