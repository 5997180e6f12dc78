"""Import one very long message, of N and of 4N characters: the time must grow linearly.

For each kind of import (chatgpt, claude, chatdesk) it writes an export holding one
conversation whose one message is N characters long (default 4,000,000), and another of
4N, and imports each into a fresh history.db with `run_import` (best of 3). It prints the
times and their ratio beside the same-run baseline `json.loads` of the same two files
(linear, so about 4). Goal: every import ratio < 8 (quadratic would be 16).

For information it also parses the two ChatGPT files with ijson's compiled backend as
chatdesk did before (plain 64 KB reads), which grows with the square of the length.

Prints the figures and PASS or FAIL (exit status 0 / 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_RATIO = 8.0
_WORDS = "Long answer with some words, über café 東京 \"quoted\" and a \\ backslash.\n"


def export(kind: str, length: int) -> dict | list:  # type: ignore[type-arg]
    text = (_WORDS * (length // len(_WORDS) + 1))[:length]
    if kind == "chatgpt":
        return [{"id": "c1", "title": "long", "create_time": 1.7e9, "current_node": "m1",
                 "mapping": {"m1": {"id": "m1", "parent": None, "children": [], "message": {
                     "id": "m1", "author": {"role": "user"}, "create_time": 1.7e9,
                     "content": {"content_type": "text", "parts": [text]}}}}}]
    if kind == "claude":
        return [{"uuid": "c1", "name": "long", "created_at": "2024-01-01T00:00:00Z",
                 "chat_messages": [{"uuid": "m1", "sender": "human", "text": text,
                                    "created_at": "2024-01-01T00:00:00Z"}]}]
    when = "2024-01-01T00:00:00.000+00:00"
    return {"format": "chatdesk", "version": 1, "conversations": [{
        "uid": "c1", "created_at": when, "messages": [{
            "uid": "m1", "role": "user", "status": "complete", "content": text,
            "created_at": when}]}]}


def best(fn: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def import_once(kind: str, path: Path, work: Path) -> None:
    from chatdesk.store import HistoryStore
    from chatdesk.transfer.jobs import run_import

    db = work / "history.db"
    for leftover in work.glob("history.db*"):
        leftover.unlink()
    with HistoryStore.open(db) as store:
        report = run_import(store, kind, path)
    assert report.messages_added == 1, report


def unguarded_parse(path: Path) -> None:
    import ijson

    with path.open("rb") as f:
        for _ in ijson.get_backend("yajl2_c").items(f, "item"):
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=4_000_000, help="N, in characters")
    args = parser.parse_args()
    n = args.length
    passed = True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files: dict[tuple[str, int], Path] = {}
        for kind in ("chatgpt", "claude", "chatdesk"):
            for length in (n, 4 * n):
                path = work / f"{kind}-{length}.json"
                path.write_text(json.dumps(export(kind, length), ensure_ascii=False), "utf-8")
                files[kind, length] = path
        print(f"one message of N = {n:,} and 4N = {4 * n:,} characters; best of 3")
        print(f"{'':34} {'N':>9} {'4N':>9} {'ratio':>7}")

        def row(label: str, fn: Callable[[Path], object], kind: str) -> float:
            small = best(lambda: fn(files[kind, n]))
            large = best(lambda: fn(files[kind, 4 * n]))
            ratio = large / small
            print(f"{label:34} {small:8.3f}s {large:8.3f}s {ratio:7.2f}")
            return ratio

        for kind in ("chatgpt", "claude", "chatdesk"):
            row(f"baseline json.loads ({kind})", lambda p: json.loads(p.read_bytes()), kind)
            ratio = row(f"chatdesk import {kind}", lambda p, k=kind: import_once(k, p, work),
                        kind)  # fmt: skip
            passed = passed and ratio < GOAL_RATIO
        row("(before: yajl2_c, 64 KB reads)", unguarded_parse, "chatgpt")
    print(f"goal: every import ratio < {GOAL_RATIO:g} (linear is 4, quadratic 16)")
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
