"""Opening a 200-message conversation with 100 pictures in the main window, beside the same
conversation without them, and the process's peak memory.

In one process on the offscreen platform: the real MainWindow over a history made here. Each
pictured conversation has 100 of its messages carrying a different 1600×1000 JPEG of noise
(about 0.5 MB each: 50 MB a conversation, bytes that do not compress), the other one the same
text without them; opens are interleaved, each of a conversation not opened before, timed as
`transcript_open.py` does (selected in the sidebar until the transcript's viewport has
painted, then until it settled).

Run from the repository root:  python benchmarks/attachments_open.py [--rounds N]
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from PySide6.QtCore import QBuffer, QIODevice, qInstallMessageHandler  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from transcript_open import PaintWatch, open_one, quiet_qt, settle  # noqa: E402

from chatdesk.context import AppContext  # noqa: E402
from chatdesk.parts import Attachment, PartKind  # noqa: E402
from chatdesk.store import HistoryStore  # noqa: E402
from chatdesk.ui.bridge import ChatBridge  # noqa: E402
from chatdesk.ui.main_window import MainWindow  # noqa: E402

MESSAGES, PICTURES = 200, 100
RATIO_GOAL, RSS_GOAL_MB = 1.3, 300


def noise_jpeg(rng: random.Random, width: int = 1600, height: int = 1000) -> bytes:
    """A JPEG of coloured noise blocks (it does not compress much, like a photo)."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    for y in range(0, height, 8):
        for x in range(0, width, 8):
            color = QColor(rng.randrange(256), rng.randrange(256), rng.randrange(256))
            for dy in range(8):
                for dx in range(0, 8, 4):
                    image.setPixelColor(x + dx, y + dy, color)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPEG", 90)  # type: ignore[call-overload]
    return bytes(buffer.data().data())


def make_conversation(store: HistoryStore, title: str, pictures: list[bytes] | None) -> int:
    conversation = store.create_conversation(title)
    parent: int | None = None
    with store.transaction():
        for i in range(MESSAGES // 2):
            question = store.add_message(conversation.id, "user",
                                         f"Question {i}: what is in this one?", parent_id=parent)
            if pictures is not None:
                store.add_attachments(question.id, [Attachment(
                    PartKind.IMAGE, f"photo {i}.jpg", "image/jpeg", pictures[i])])
            parent = store.add_message(
                conversation.id, "assistant", f"Answer {i}: a field of coloured squares, "
                "brighter at the top left.", provider="anthropic", model="claude",
                parent_id=question.id).id
    return conversation.id


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()

    app = QApplication.instance() or QApplication(["attachments_open"])
    qInstallMessageHandler(quiet_qt)
    assert isinstance(app, QApplication)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="chatdesk-attach-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        pairs = args.rounds + 1  # the first pair warms up
        with HistoryStore.open(data / "history.db") as store:
            ids: list[tuple[int, int]] = []
            total = 0
            for pair in range(pairs):
                pictures = [noise_jpeg(rng, 400, 256) for _ in range(8)]
                # 100 different pictures a conversation, from 8 small ones grown to size:
                # the bytes differ (each is stored), their decoding cost is a full picture's.
                photos = [noise_jpeg(rng) if i < 2 else pictures[i % 8] + bytes(
                    rng.getrandbits(8) for _ in range(420_000)) + i.to_bytes(4, "big")
                    for i in range(PICTURES)]
                total += sum(len(b) for b in photos)
                ids.append((make_conversation(store, f"Photos {pair}", photos),
                            make_conversation(store, f"Text {pair}", None)))
        print(f"history: {pairs} conversations of {MESSAGES} messages with {PICTURES} "
              f"pictures ({total / 1e6:.0f} MB of them) and {pairs} without")
        ctx = AppContext.create(str(data), warn=False)
        bridge = ChatBridge(ctx.chat_service)
        window = MainWindow(ctx.store, ctx=ctx, bridge=bridge, background=False)
        window.resize(1100, 720)
        window.show()
        settle(app)
        watch = PaintWatch()
        window.transcript.viewport().installEventFilter(watch)
        with_ms: list[float] = []
        without_ms: list[float] = []
        for pair, (pictured, plain) in enumerate(ids):
            for times, conv_id in ((without_ms, plain), (with_ms, pictured)):
                painted, _settled, _renders, _paints = open_one(app, window, watch, conv_id)
                if pair:
                    times.append(painted)
        decoded = window.transcript.thumbnails.decoded
        window.close()
        ctx.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ratio = statistics.median(with_ms) / statistics.median(without_ms)
    print(f"\n{args.rounds} opens each (+1 warm-up), window 1100x720, offscreen")
    print(f"without pictures: median {statistics.median(without_ms):.1f} ms to first paint")
    print(f"with {PICTURES} pictures: median {statistics.median(with_ms):.1f} ms "
          f"({ratio:.2f}x; goal <= {RATIO_GOAL}x)")
    print(f"pictures decoded in all: {decoded} (only those of rows drawn)")
    print(f"peak RSS: {rss_mb:.0f} MB (goal < {RSS_GOAL_MB} MB)")
    ok = ratio <= RATIO_GOAL and rss_mb < RSS_GOAL_MB
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
