"""Search time against the number of matches in one message: N and 8N, in the same run.

A history.db in a temp dir holds a few ordinary messages and two big ones whose every
other word is the search word (N and 8N matches, ~11 characters a match). Each round
searches the word once per file through `HistoryStore.search` (the app's and the CLI's
path, snippets included); median of the rounds, after one warm-up. Linear work makes the
ratio ~8; FTS5's snippet() over the whole row made it ~64 (N = 64,000: 7 s, 8N: never).
Goal: ratio <= 12 and 8N searched in <= 1 s. Prints the figures and PASS or FAIL.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatdesk.store import HistoryStore  # noqa: E402

RATIO_GOAL = 12.0
BIG_GOAL_S = 1.0


def make_db(path: Path, matches: int) -> None:
    with HistoryStore.open(path) as store:
        conv = store.create_conversation("Many matches")
        for i in range(20):
            store.add_message(conv.id, "user", f"an ordinary question {i} about needles")
        store.add_message(conv.id, "assistant", "needle hay " * matches)


def time_search(path: Path) -> float:
    with HistoryStore.open(path) as store:
        start = time.perf_counter()
        hits = store.search("needle")
        elapsed = time.perf_counter() - start
    assert hits and all(len(h.snippet) < 300 for h in hits), "snippets are not bounded"
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=64_000, help="N")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp) / "n.db", Path(tmp) / "8n.db"
        make_db(small, args.matches)
        make_db(big, 8 * args.matches)
        time_search(small), time_search(big)  # warm-up
        times: dict[Path, list[float]] = {small: [], big: []}
        for _ in range(args.rounds):
            for path in (small, big):
                times[path].append(time_search(path))
    n_s, big_s = statistics.median(times[small]), statistics.median(times[big])
    ratio = big_s / n_s if n_s > 0 else float("inf")
    print(f"N  = {args.matches:>9,} matches: median {n_s * 1000:8.1f} ms")
    print(f"8N = {8 * args.matches:>9,} matches: median {big_s * 1000:8.1f} ms")
    print(f"ratio 8N / N: {ratio:.1f} (goal <= {RATIO_GOAL:g}; linear ~8, quadratic ~64); "
          f"8N goal <= {BIG_GOAL_S:g} s")
    ok = ratio <= RATIO_GOAL and big_s <= BIG_GOAL_S
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
