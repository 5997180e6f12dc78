"""`chatdesk usage`: what the answers cost, by provider, model or key, as a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from chatdesk import usage, wording
from chatdesk.context import AppContext

EXIT_OK, EXIT_USAGE = 0, 2


def run_usage(args: argparse.Namespace, ctx: AppContext,
              now: datetime | None = None) -> int:
    moment = now or datetime.now(UTC)
    try:
        since = usage.parse_since(args.since, moment)
    except usage.SinceError as exc:
        print(f"chatdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    by = usage.By(args.by)
    answers = usage.answers_since(ctx.store, ctx.settings, since)
    groups = usage.totals(answers, by)
    if args.json:
        json.dump([usage.total_json(g, by) for g in groups], sys.stdout, ensure_ascii=False,
                  indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    start = since.strftime("%Y-%m-%d %H:%M UTC")
    if not groups:
        print(f"No answers since {start}.", file=sys.stderr)
        return EXIT_OK
    print(f"Since {start}, by {by.value}:\n")
    print(table(groups, usage.grand_total(answers), by.value))
    spends = usage.Spending(ctx.store, lambda: ctx.settings, lambda: moment).budgets()
    if spends:
        print("\nThis month's budgets (UTC month):")
        for spend in spends:
            share = f" ({spend.fraction:.0%})" if spend.fraction is not None else ""
            print(f"  {spend.provider}: {wording.dollars(spend.spent_usd)} of "
                  f"{wording.dollars(spend.budget_usd)}{share}")
    return EXIT_OK


def table(groups: list[usage.UsageTotal], total: usage.UsageTotal, heading: str) -> str:
    """The readable table: one row per group, then the totals."""
    rows = [[heading, "answers", "input tokens", "output tokens", "cost"]]
    for g in [*groups, total]:
        rows.append([g.group, f"{g.answers:,}", f"{g.input_tokens:,}", f"{g.output_tokens:,}",
                     _cost(g)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        if n == len(rows) - 1:
            lines.append("  ".join("─" * w for w in widths))
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:4], widths[1:4],
                                                                          strict=True)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    return "\n".join(lines)


def _cost(total: usage.UsageTotal) -> str:
    """'$1.23', 'unknown', or '$1.23 + 2 answers with no known price'."""
    if total.unpriced and total.cost_usd is not None:
        return f"{wording.dollars(total.cost_usd)} + {total.unpriced} " \
               f"answer{'s' if total.unpriced != 1 else ''} with no known price"
    return wording.dollars(total.cost_usd)
