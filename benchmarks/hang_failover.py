"""A provider that accepts the request and then says nothing: time to the backup's first token
with the learned deadline (hedging, and hedge = false) beside the fixed first-token timeout
measured in the same run; and the extra requests hedging costs over healthy answers.

Run from the repository root:  python benchmarks/hang_failover.py [--rounds N]
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatdesk import events as ev  # noqa: E402
from chatdesk.chat import ChatService  # noqa: E402
from chatdesk.failover.deadline import DEFAULT_RULE  # noqa: E402
from chatdesk.secrets import KeyStore  # noqa: E402
from chatdesk.settings import FailoverSettings, ProviderSettings, Settings  # noqa: E402
from chatdesk.store import HistoryStore  # noqa: E402
from tests.fakes.server import FakeProvider, Stall, Synth  # noqa: E402

GOAL_OVER_BACKUP_S = 3.0  # hedged: at most this much more than the backup's own first token
TEACH_ANSWERS = 20  # normal answers before the hang: the deadline is learned from them
HEALTHY_ANSWERS = 100
ANSWER = ["Backup", " answer", " streamed", " in", " pieces."]


@dataclass
class Timed:
    """One answer: seconds from ChatService.send to the backup's first token (consumer
    side), the backup's own request → first token, and who answered."""

    to_backup_s: float | None = None
    backup_own_s: float = 0.0
    hedged: bool = False
    provider: str | None = None


async def timed(stream: AsyncIterator[ev.ChatEvent]) -> Timed:
    start = time.perf_counter()
    result = Timed()
    async for event in stream:
        if isinstance(event, ev.FirstToken) and event.provider == "backup":
            result.to_backup_s = time.perf_counter() - start
            result.backup_own_s = event.elapsed_s
        elif isinstance(event, ev.Hedged):
            result.hedged = True
        elif isinstance(event, ev.AnswerFinished):
            result.provider = event.provider
    return result


def service_for(path: Path, primary: FakeProvider, backup: FakeProvider,
                first_token_timeout_s: float, hedge: bool) -> ChatService:
    entries = [("primary", primary), ("backup", backup)]
    providers = {
        n: ProviderSettings(n, f.provider_type, "bench-model", f.base_url, f"BENCH_KEY_{n}")
        for n, f in entries
    }
    settings = Settings(FailoverSettings(["primary", "backup"], connect_timeout_s=2,
                                         first_token_timeout_s=first_token_timeout_s,
                                         stall_timeout_s=5, cooldown_s=60, hedge=hedge),
                        providers)
    keys = KeyStore(environ={f"BENCH_KEY_{n}": f.api_key for n, f in entries})
    return ChatService(HistoryStore.open(path), settings, keys)


async def hang_rounds(service: ChatService, primary: FakeProvider, rounds: int,
                      hang_s: float) -> list[Timed]:
    """The primary hangs (reads the request, sends nothing) in each round."""
    results = []
    for index in range(rounds):
        service.health.reset("primary")  # it cooled down after the last round's hang
        primary.script(Stall(hang_s))
        result = await timed(service.send("hello"))
        if result.provider != "backup" or result.to_backup_s is None:
            raise RuntimeError(f"round {index}: the backup did not answer ({result})")
        results.append(result)
    return results


def row(label: str, values: list[float]) -> str:
    return f"  {label:<52} median {statistics.median(values):7.3f} s   max {max(values):7.3f} s"


async def main_async(rounds: int, baseline_timeout_s: float) -> bool:
    ok = True
    hang_s = baseline_timeout_s + 10
    with FakeProvider("anthropic") as primary, FakeProvider("openai") as backup, \
            tempfile.TemporaryDirectory(prefix="chatdesk-bench-") as tmp:
        path = Path(tmp) / "history.db"
        backup.default_response = Synth(ANSWER)
        print(f"hang failover on loopback: anthropic-type primary that accepts and says "
              f"nothing → openai-type backup; {rounds} rounds each, Python "
              f"{sys.version.split()[0]}")
        print(f"deadline rule: {DEFAULT_RULE.multiple:g} × p95 of the last "
              f"{DEFAULT_RULE.window} first tokens (at least {DEFAULT_RULE.min_samples}), "
              f"floor {DEFAULT_RULE.floor_s:g} s, at most first_token_timeout_s")

        # Default settings (first_token_timeout_s = 60, hedge = true), after normal answers.
        service = service_for(path, primary, backup, 60.0, hedge=True)
        try:
            for _ in range(TEACH_ANSWERS):
                await timed(service.send("hello"))
            deadline = service.deadlines.get("primary", "bench-model")
            print(f"\nlearned from {deadline.samples} answers: p95 "
                  f"{(deadline.p95_s or 0) * 1000:.1f} ms → deadline {deadline.seconds:g} s")
            hedged = await hang_rounds(service, primary, rounds, hang_s)
            service.settings.failover.hedge = False
            switched = await hang_rounds(service, primary, rounds, hang_s)
            service.settings.failover.hedge = True

            # Healthy answers: how many reach the backup (a hedge's extra requests)?
            service.health.reset("primary")
            before = len(backup.requests)
            for _ in range(HEALTHY_ANSWERS):
                answer = await timed(service.send("hello"))
                if answer.provider != "primary":
                    raise RuntimeError(f"a healthy answer came from {answer.provider}")
            extra = len(backup.requests) - before
        finally:
            await service.aclose()
            service.store.close()

        # Baseline, same run: the fixed deadline (the learned one turned off), with the
        # configured timeout shortened to keep the run short.
        fixed = service_for(Path(tmp) / "fixed.db", primary, backup, baseline_timeout_s,
                            hedge=True)
        fixed.router.deadlines = None
        try:
            baseline = await hang_rounds(fixed, primary, 1, hang_s)
        finally:
            await fixed.aclose()
            fixed.store.close()

    base = [r.to_backup_s or 0.0 for r in baseline]
    print("\nprimary hangs, send() → backup's first token:")
    print(row(f"baseline: fixed deadline (first_token_timeout_s = {baseline_timeout_s:g})",
              base))
    for label, results in (("learned deadline, hedge = true (default)", hedged),
                           ("learned deadline, hedge = false", switched)):
        values = [r.to_backup_s or 0.0 for r in results]
        own = [r.backup_own_s for r in results]
        over = [v - o for v, o in zip(values, own, strict=True)]
        passed = max(over) <= GOAL_OVER_BACKUP_S
        ok &= passed
        print(row(label, values))
        print(row("  of it, beyond the backup's own first token", over))
        print(f"  ratio to the baseline: {statistics.median(values) / base[0]:.3f} "
              f"({base[0] / statistics.median(values):.1f}× sooner; against the default 60 s: "
              f"{60.0 / statistics.median(values):.0f}× sooner)")
        print(f"  goal: ≤ {GOAL_OVER_BACKUP_S:g} s beyond the backup's own first token → "
              f"{'PASS' if passed else 'FAIL'}")
    hedges = sum(r.hedged for r in hedged)
    print(f"\nhedges started: {hedges} of {len(hedged)} hung rounds (hedge = true)")
    ok &= extra == 0
    print(f"extra requests over {HEALTHY_ANSWERS} healthy answers: {extra} "
          f"(goal 0 → {'PASS' if extra == 0 else 'FAIL'})")
    print(f"\n{'PASS' if ok else 'FAIL'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="hung rounds per mode (3)")
    parser.add_argument("--baseline-timeout", type=float, default=20.0,
                        help="first_token_timeout_s of the fixed-deadline baseline (20)")
    args = parser.parse_args(argv)
    return 0 if asyncio.run(main_async(max(1, args.rounds), args.baseline_timeout)) else 1


if __name__ == "__main__":
    sys.exit(main())
