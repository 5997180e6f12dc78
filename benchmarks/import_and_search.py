"""Import a one-million-message ChatGPT export, then time `chatdesk search` against bare SQLite.

1. Writes a realistic ChatGPT export zip (benchmarks/gen_chatgpt_export.py), 50,000
   conversations x 20 messages by default.
2. Imports it with `read_chatgpt` + `write_conversations` into a fresh history.db, in a
   child process of its own, which reports the wall time and its peak memory (ru_maxrss).
   Goals: <= 45 s and <= 300 MB (scaled to the size asked for).
3. Times `python -m chatdesk --data-dir D search WORD --limit 20` as a whole process
   against a bare `python -c` process asking the FTS5 index alone for its best 20 with
   snippets, with sqlite3 on the same file; median of 5 runs each (after one warm-up each).
   Goals: <= 1.5x, and the same hits in the same order in every run.

Prints the figures and PASS or FAIL (exit status 0 / 1).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gen_chatgpt_export import SEARCH_WORD, make_chatgpt_export  # noqa: E402
from results import Row, report  # noqa: E402

IMPORT_GOAL_S = 45.0
MEMORY_GOAL_MB = 300.0
SEARCH_GOAL_RATIO = 1.5


def child_import(export: Path, db: Path) -> None:
    """Runs in its own process, so ru_maxrss is the import's alone."""
    from chatdesk.store import HistoryStore
    from chatdesk.transfer.chatgpt import read_chatgpt
    from chatdesk.transfer.common import write_conversations

    start = time.perf_counter()
    with HistoryStore.open(db) as store:
        report = write_conversations(store, read_chatgpt(export), "chatgpt")
        imported = time.perf_counter() - start
    closed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"import_s": imported, "with_close_s": closed, "peak_mb": peak_mb,
                      "conversations": report.conversations_added,
                      "messages": report.messages_added}))  # fmt: skip


# The floor: the index's own best 20 with their snippets, nothing joined, nothing filtered.
BARE_SQL = ("SELECT rowid, rank, snippet(messages_fts, 0, :start, :end, :ellipsis, :tokens)"
            " FROM messages_fts WHERE messages_fts MATCH :query ORDER BY rank LIMIT :limit")


def _bare_code(db: Path) -> str:
    from chatdesk.store.search import SNIPPET_TOKENS, build_fts_query

    params = {"query": build_fts_query(SEARCH_WORD), "limit": 20, "start": "[", "end": "]",
              "ellipsis": "…", "tokens": SNIPPET_TOKENS}  # fmt: skip
    return (
        "import sqlite3\n"
        f"conn = sqlite3.connect({str(db)!r})\n"
        f"rows = conn.execute({BARE_SQL!r}, {params!r}).fetchall()\n"
        "for row in rows:\n"
        "    print(row[0], row[1], row[2])\n"
    )


def _time(cmd: list[str]) -> tuple[float, str]:
    """(wall seconds, what it printed) of one whole process."""
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"{cmd[:4]} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=20, help="per conversation")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep its files")
    parser.add_argument("--child-import", nargs=2, type=Path, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.child_import:
        child_import(*ns.child_import)
        return 0

    work = ns.keep or Path(tempfile.mkdtemp(prefix="chatdesk-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    export, data_dir = work / "chatgpt-export.zip", work / "data"
    data_dir.mkdir(exist_ok=True)
    db = data_dir / "history.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)

    total = ns.conversations * ns.messages
    start = time.perf_counter()
    make_chatgpt_export(export, ns.conversations, ns.messages)
    print(f"export: {ns.conversations:,} conversations x {ns.messages} = {total:,} messages, "
          f"{export.stat().st_size / 2**20:,.0f} MiB zip, written in "
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip

    child = subprocess.run(
        [sys.executable, __file__, "--child-import", str(export), str(db)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if child.returncode != 0:
        print(child.stderr, file=sys.stderr)
        return 1
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    rate = figures["messages"] / figures["import_s"]
    print(f"import: {figures['messages']:,} messages in {figures['conversations']:,} "
          f"conversations: {figures['import_s']:.1f} s ({rate:,.0f} messages/s; "
          f"{figures['with_close_s']:.1f} s with closing the file), "
          f"peak memory {figures['peak_mb']:,.0f} MB")  # fmt: skip
    print(f"history.db: {db.stat().st_size / 2**20:,.0f} MiB")

    env_python = [sys.executable]
    cli = env_python + ["-m", "chatdesk", "--data-dir", str(data_dir), "search", SEARCH_WORD,
                        "--limit", "20", "--json"]  # fmt: skip
    bare = env_python + ["-c", _bare_code(db)]
    _time(cli), _time(bare)  # warm-up: page cache, and the first close's PRAGMA optimize
    cli_times, bare_times, orders = [], [], set()
    for _ in range(ns.runs):
        took, printed = _time(cli)
        cli_times.append(took)
        orders.add(tuple(hit["message_id"] for hit in json.loads(printed)))
        bare_times.append(_time(bare)[0])
    cli_ms, bare_ms = statistics.median(cli_times) * 1000, statistics.median(bare_times) * 1000
    ratio = cli_ms / bare_ms
    print(f"search {SEARCH_WORD!r}: chatdesk search {cli_ms:.0f} ms, bare sqlite3 "
          f"{bare_ms:.0f} ms (median of {ns.runs}), ratio {ratio:.2f}x")  # fmt: skip

    scale = total / 1_000_000
    allowed_s, allowed_mb = max(IMPORT_GOAL_S * scale, 2.0), MEMORY_GOAL_MB
    rows = [
        Row(f"import of a {total:,}-message ChatGPT export", f"{figures['import_s']:.1f} s",
            "", None, f"<= {allowed_s:.1f} s", figures["import_s"] <= allowed_s),
        Row("import peak memory", f"{figures['peak_mb']:.0f} MB", "", None,
            f"<= {allowed_mb:.0f} MB", figures["peak_mb"] <= allowed_mb),
        Row(f"`chatdesk search` on {total:,} messages", f"{cli_ms:.0f} ms",
            f"bare FTS5 {bare_ms:.0f} ms", ratio, f"<= {SEARCH_GOAL_RATIO}x",
            ratio <= SEARCH_GOAL_RATIO),
        Row("search result order over the runs", f"{len(orders)} order(s)", "", None,
            "1 (the same every run)", len(orders) == 1),
    ]
    passed = report(rows)
    if not ns.keep:
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), export):
            path.unlink(missing_ok=True)
        for leftover in sorted(work.rglob("*"), reverse=True):
            leftover.rmdir() if leftover.is_dir() else leftover.unlink()
        work.rmdir()
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
