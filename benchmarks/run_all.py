"""Runs every benchmark of the performance goals and prints one table of all their rows.

Each script runs as its own process with CHATDESK_BENCH_RESULT naming a file it appends
its rows to (benchmarks/results.py); this script then prints one table — measure,
chatdesk, baseline, ratio, goal, PASS/FAIL — as Markdown, with the machine and the date,
and writes the same as JSON. The 1,000,000-message history the import benchmark leaves is
the one the typing benchmark uses; the memory benchmark makes (or reuses) its own in
DIR/memory, which also holds one 5,000-message conversation.

Run from the repository root:
    python benchmarks/run_all.py [--work DIR] [--json FILE] [--only NAME ...]
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import RESULT_ENV, Row  # noqa: E402


@dataclass(frozen=True)
class Bench:
    name: str  # the script, without .py
    args: tuple[str, ...]  # "{data}" stands for the 1M-message data dir
    needs_data: bool = False


# In this order: the import makes the big history the later ones read.
BENCHES = (
    Bench("app_startup", ("--rounds", "7")),
    Bench("window_mapped", ()),
    Bench("import_and_search", ("--keep", "{work}")),
    Bench("typing_search", ("{data}",), needs_data=True),
    Bench("idle_memory", ("{work}/memory",)),  # its own history: 1M with a 5,000 conversation
    Bench("streaming_stall", ()),
    Bench("ask_ttfb", ()),
)


def machine() -> str:
    """'2 cores, Intel(R) Xeon(R) …, Linux 6.1, Python 3.11.7'."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def run(bench: Bench, work: Path, results: Path) -> tuple[list[Row], str]:
    """The rows one script reported, and a line of what happened when it reported none."""
    script = ROOT / "benchmarks" / f"{bench.name}.py"
    if not script.is_file():
        return [], "not in this checkout"
    data = work / "data"
    if bench.needs_data and not (data / "history.db").is_file():
        return [], "needs the 1,000,000-message history import_and_search.py leaves"
    args = [a.replace("{work}", str(work)).replace("{data}", str(data)) for a in bench.args]
    results.write_text("")
    env = {**os.environ, RESULT_ENV: str(results)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # timings with compiled bytecode, as installed
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    took = time.monotonic() - started
    print(f"== {bench.name} ({took:.0f} s, exit {done.returncode})", file=sys.stderr)
    sys.stderr.write(done.stdout[-4000:])
    rows = [Row(**json.loads(line)) for line in results.read_text().splitlines() if line]
    if not rows:
        return [], (f"reported nothing (exit {done.returncode}): "
                    + (done.stderr.strip().splitlines() or ["no output"])[-1])
    return rows, ""


def table(rows: list[tuple[str, Row]], missing: list[tuple[str, str]]) -> str:
    lines = ["| measure | chatdesk | baseline | ratio | goal | result |",
             "|---|---|---|---|---|---|"]
    for _, row in rows:
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else ""
        lines.append(f"| {row.measure} | {row.chatdesk} | {row.baseline} | {ratio} | "
                     f"{row.goal} | {'PASS' if row.passed else 'FAIL'} |")
    for name, why in missing:
        lines.append(f"| {name}.py | — | — | | | FAIL ({why}) |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, help="keep the 1M-message export and history here "
                   "(default: a temporary folder)")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts")
    args = p.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    with tempfile.TemporaryDirectory(prefix="chatdesk-bench-") as scratch:
        work = args.work or Path(scratch) / "work"
        work.mkdir(parents=True, exist_ok=True)
        results = Path(scratch) / "rows.jsonl"
        rows: list[tuple[str, Row]] = []
        missing: list[tuple[str, str]] = []
        for bench in chosen:
            got, why = run(bench, work, results)
            rows += [(bench.name, row) for row in got]
            if why:
                missing.append((bench.name, why))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    passed = not missing and all(row.passed for _, row in rows)
    print(f"Run on {when}: {machine()}\n")
    print(table(rows, missing))
    print(f"\n{'PASS' if passed else 'FAIL'}: "
          f"{sum(r.passed for _, r in rows)} of {len(rows) + len(missing)} goals met")
    record = {"date": when, "machine": machine(), "passed": passed,
              "rows": [{"script": name, **asdict(row)} for name, row in rows],
              "not_run": [{"script": name, "why": why} for name, why in missing]}
    if args.json:
        args.json.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    print("\n" + json.dumps(record, ensure_ascii=False))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
