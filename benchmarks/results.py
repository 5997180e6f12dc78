"""One benchmark's rows for run_all.py's table: measure, chatdesk, baseline, ratio, goal."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RESULT_ENV = "CHATDESK_BENCH_RESULT"  # run_all.py names the file each script appends to


@dataclass(frozen=True)
class Row:
    measure: str
    chatdesk: str  # the figure, with its unit ("412 ms", "88 MB")
    baseline: str  # the same-run baseline it is set against ("" when the goal is absolute)
    ratio: float | None  # chatdesk / baseline, when the goal is one
    goal: str  # as the issue words it ("<= 1.5x the skeleton", "<= 16 ms")
    passed: bool


def report(rows: list[Row]) -> bool:
    """Print the rows, and add them to run_all's file when run by it; True if all passed."""
    for row in rows:
        ratio = f" = {row.ratio:.2f}x" if row.ratio is not None else ""
        against = f" vs {row.baseline}{ratio}" if row.baseline else ""
        print(f"{row.measure}: {row.chatdesk}{against} (goal {row.goal}) "
              f"{'ok' if row.passed else 'MISSED'}")
    target = os.environ.get(RESULT_ENV)
    if target:
        with Path(target).open("a", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
    return all(row.passed for row in rows)
