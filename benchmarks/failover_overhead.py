"""Failover overhead on loopback: primary failure → backup's first token, beside a same-run
baseline of the backup asked directly; and no calls to a provider that is cooling down.

Run from the repository root:  python benchmarks/failover_overhead.py [--rounds N]
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
from chatdesk.secrets import KeyStore  # noqa: E402
from chatdesk.settings import FailoverSettings, ProviderSettings, Settings  # noqa: E402
from chatdesk.store import HistoryStore  # noqa: E402
from tests.fakes.server import ErrorResponse, FakeProvider, Synth  # noqa: E402

GOAL_MEDIAN_OVERHEAD_S = 0.050
WARMUP_ROUNDS = 3
COOLING_MESSAGES = 10
ANSWER = ["Backup", " answer", " streamed", " in", " pieces."]


@dataclass
class Timed:
    """Consumer-side arrival times (perf_counter) of the events of one answer."""

    start: float
    failed: float | None = None
    first_token: float | None = None  # the backup's
    backup_own_s: float = 0.0  # the backup's request sent → first token (FirstToken.elapsed_s)
    provider: str | None = None


async def timed(stream: AsyncIterator[ev.ChatEvent]) -> Timed:
    result = Timed(time.perf_counter())
    async for event in stream:
        now = time.perf_counter()
        if isinstance(event, ev.AttemptFailed) and result.failed is None:
            result.failed = now
        elif isinstance(event, ev.FirstToken) and event.provider == "backup":
            result.first_token = now
            result.backup_own_s = event.elapsed_s
        elif isinstance(event, ev.AnswerFinished):
            result.provider = event.provider
    return result


def service_for(directory: Path, primary: FakeProvider, backup: FakeProvider,
                name: str) -> ChatService:
    entries = [("primary", primary), ("backup", backup)]
    providers = {
        n: ProviderSettings(n, f.provider_type, "bench-model", f.base_url, f"BENCH_KEY_{n}")
        for n, f in entries
    }
    settings = Settings(FailoverSettings(["primary", "backup"], connect_timeout_s=2,
                                         first_token_timeout_s=5, stall_timeout_s=5,
                                         cooldown_s=60), providers)
    keys = KeyStore(environ={f"BENCH_KEY_{n}": f.api_key for n, f in entries})
    return ChatService(HistoryStore.open(directory / f"{name}.db"), settings, keys)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def row(label: str, values: list[float]) -> str:
    return (f"  {label:<48} median {statistics.median(values) * 1000:7.2f} ms   "
            f"p90 {percentile(values, 0.9) * 1000:7.2f} ms")


async def measure(primary: FakeProvider, backup: FakeProvider, directory: Path, rounds: int,
                  failure: str) -> tuple[list[float], list[float], list[float]]:
    """(baseline, failover, router's own part of failover) seconds per round; the rounds
    interleave so drift hits both alike."""
    service = service_for(directory, primary, backup, f"overhead-{failure}")
    backup.default_response = Synth(ANSWER)
    baseline: list[float] = []
    failover: list[float] = []
    switching: list[float] = []
    try:
        for index in range(WARMUP_ROUNDS + rounds):
            # The backup asked directly: send() called → its first token.
            direct = await timed(service.send("hello", providers=["backup"]))
            # Failing over: the primary's failure reaches the router → backup's first token.
            service.health.reset("primary")  # so the primary is tried every round
            if failure == "http_529":
                primary.script(ErrorResponse(529))
            else:
                primary.script(Synth(["Partial", " text"], error="Overloaded"))
            over = await timed(service.send("hello"))
            if direct.provider != "backup" or over.provider != "backup" or over.failed is None:
                raise RuntimeError(f"round {index}: unexpected answer ({direct}, {over})")
            assert direct.first_token is not None and over.first_token is not None
            if index >= WARMUP_ROUNDS:
                baseline.append(direct.first_token - direct.start)
                failover.append(over.first_token - over.failed)
                switching.append(over.first_token - over.failed - over.backup_own_s)
    finally:
        await service.aclose()
        service.store.close()
        backup.default_response = None
    return baseline, failover, switching


async def cooling_calls(primary: FakeProvider, backup: FakeProvider, directory: Path) -> int:
    """Requests reaching the primary while it cools down, over COOLING_MESSAGES messages."""
    service = service_for(directory, primary, backup, "cooling")
    primary.clear()
    primary.default_response = ErrorResponse(529)
    try:
        first = await timed(service.send("hello"))  # fails over, primary starts cooling
        if first.provider != "backup" or len(primary.requests) != 1:
            raise RuntimeError("the primary's failure was not seen")
        before = len(primary.requests)
        for _ in range(COOLING_MESSAGES):
            answer = await timed(service.send("again"))
            if answer.provider != "backup":
                raise RuntimeError("a message was not answered while the primary cooled down")
        return len(primary.requests) - before
    finally:
        primary.default_response = None
        await service.aclose()
        service.store.close()


async def main_async(rounds: int) -> bool:
    ok = True
    with FakeProvider("anthropic") as primary, FakeProvider("openai") as backup, \
            tempfile.TemporaryDirectory(prefix="chatdesk-bench-") as tmp:
        directory = Path(tmp)
        print(f"failover overhead on loopback: {rounds} rounds (+{WARMUP_ROUNDS} warm-up), "
              f"anthropic-type primary → openai-type backup, Python "
              f"{sys.version.split()[0]}")
        for failure, title in (("http_529", "primary answers HTTP 529"),
                               ("midstream", "primary fails mid-stream (error event)")):
            baseline, failover, switching = await measure(primary, backup, directory, rounds,
                                                          failure)
            overhead = [f - b for f, b in zip(failover, baseline, strict=True)]
            median = statistics.median(overhead)
            passed = median <= GOAL_MEDIAN_OVERHEAD_S
            ok &= passed
            print(f"\n{title}:")
            print(row("baseline: backup asked directly, to 1st token", baseline))
            print(row("failover: primary failure → backup 1st token", failover))
            print(row("overhead (failover − baseline, per round)", overhead))
            print(row("of failover, the router's own (not the HTTP)", switching))
            print(f"  goal: median overhead ≤ {GOAL_MEDIAN_OVERHEAD_S * 1000:.0f} ms → "
                  f"{'PASS' if passed else 'FAIL'}")
        calls = await cooling_calls(primary, backup, directory)
        ok &= calls == 0
        print(f"\ncalls to cooling-down provider: {calls} "
              f"(over {COOLING_MESSAGES} messages; goal 0 → {'PASS' if calls == 0 else 'FAIL'})")
    print(f"\n{'PASS' if ok else 'FAIL'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="measured rounds (default 30)")
    args = parser.parse_args(argv)
    return 0 if asyncio.run(main_async(max(1, args.rounds))) else 1


if __name__ == "__main__":
    sys.exit(main())
