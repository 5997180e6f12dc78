"""Chaos: many messages from concurrent chatdesk processes over three flaky loopback providers,
then every provider down, then concurrent `chatdesk retry`s; counts what was lost, duplicated
or misattributed (each fake signs its answers with its own name). Exit 0 when all are 0.

    python benchmarks/chaos.py                  # 600 messages, 4 workers, 3 retries
    python benchmarks/chaos.py --messages 200 --seed 7
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from chatdesk.store import HistoryStore  # noqa: E402
from tests.fakes.server import ErrorResponse, FakeProvider, Reset, Synth  # noqa: E402
from tests.helpers import MODELS, key_env, write_settings  # noqa: E402

NAMES = ("anthropic", "openai", "gemini")

# One worker process: its own AppContext and ChatService on the shared history file, sending
# its messages one after another, each in a new conversation.
WORKER = r"""
import asyncio, sys
from chatdesk.context import AppContext
data, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = AppContext.create(data, warn=False)
service = ctx.chat_service()
async def main():
    for i in range(count):
        async for _ in service.send(f"{prefix}-{i}"):
            pass
    await service.aclose()
asyncio.run(main())
ctx.close()
"""


def good(name: str) -> Synth:
    return Synth(["served ", "by ", name, "."])


def faults() -> list[object]:
    return [ErrorResponse(503), ErrorResponse(500), Reset(),
            Synth(["partial "], error="overloaded"), Synth(["partial "], finish=False)]


@dataclass
class Counts:
    sent: int = 0
    stored: int = 0
    lost: int = 0
    duplicated_input: int = 0
    answered: int = 0
    unanswered: int = 0
    duplicated: int = 0
    misattributed: int = 0
    still_pending: int = 0
    running_attempts: int = 0
    pending_before_retry: int = 0
    by_provider: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated_input or self.unanswered or self.duplicated
                    or self.misattributed or self.still_pending or self.running_attempts)


class Weather(threading.Thread):
    """Changes which providers fail, every `tick_s`, keeping at least one of them up."""

    def __init__(self, fakes: dict[str, FakeProvider], rng: random.Random,
                 tick_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.fakes, self.rng, self.tick_s = fakes, rng, tick_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            up = set(self.rng.sample(NAMES, self.rng.randint(1, len(NAMES))))
            for name, fake in self.fakes.items():
                fake.default_response = good(name) if name in up \
                    else self.rng.choice(faults())  # type: ignore[assignment]
            self.stopped.wait(self.tick_s)


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(args, env=env, cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_all(procs: list[subprocess.Popen[str]], deadline: float) -> None:
    for proc in procs:
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise TimeoutError("a chaos process did not finish in time") from None


def run_chaos(messages: int = 600, workers: int = 4, retries: int = 3, asks: int = 3,
              seed: int = 11, time_limit_s: float = 600.0, root: Path | None = None) -> Counts:
    """Send `messages` in all: ~85 % while providers flap, the rest while all are down."""
    rng = random.Random(seed)
    started = time.monotonic()
    deadline = started + time_limit_s
    with tempfile.TemporaryDirectory() as tmp:
        data = (root or Path(tmp)) / "data"
        fakes = {name: FakeProvider(name).start() for name in NAMES}
        try:
            pairs = list(fakes.items())
            write_settings(data, pairs, cooldown_s=0)
            env = {**os.environ, **key_env(pairs), "CHATDESK_DATA_DIR": str(data),
                   "PYTHONPATH": str(REPO)}
            down_count = max(asks, messages * 15 // 100)
            flapping = messages - down_count - asks
            texts: list[str] = []
            procs = []
            weather = Weather(fakes, rng)
            weather.start()
            share = [flapping // workers + (i < flapping % workers) for i in range(workers)]
            for w, n in enumerate(share):
                texts += [f"w{w}-{i}" for i in range(n)]
                procs.append(_spawn([sys.executable, "-c", WORKER, str(data), f"w{w}", str(n)],
                                    env))
            for a in range(asks):  # and real `chatdesk ask` processes among them
                texts.append(f"ask-{a}")
                procs.append(_spawn([sys.executable, "-m", "chatdesk", "ask", texts[-1]], env))
            _wait_all(procs, deadline)
            weather.stopped.set()
            weather.join()

            for fake in fakes.values():  # everything down
                fake.default_response = ErrorResponse(503)
            per = [down_count // 2, down_count - down_count // 2]
            procs = []
            for w, n in enumerate(per):
                texts += [f"down{w}-{i}" for i in range(n)]
                procs.append(_spawn([sys.executable, "-c", WORKER, str(data), f"down{w}",
                                     str(n)], env))
            _wait_all(procs, deadline)
            with HistoryStore.open(data / "history.db") as store:
                pending_before = len(store.pending_messages())

            for name, fake in fakes.items():  # back up; several retries at once
                fake.default_response = good(name)
            procs = [_spawn([sys.executable, "-m", "chatdesk", "retry"], env)
                     for _ in range(retries)]
            _wait_all(procs, deadline)
            counts = count(data / "history.db", texts)
            counts.pending_before_retry = pending_before
        finally:
            for fake in fakes.values():
                fake.stop()
    counts.seconds = time.monotonic() - started
    return counts


def count(db: Path, texts: list[str]) -> Counts:
    """What the history holds against what was sent."""
    counts = Counts(sent=len(texts))
    models = {name: MODELS[name] for name in NAMES}
    with HistoryStore.open(db) as store:
        asked: dict[str, int] = {}
        for summary in store.list_conversations(limit=100_000):
            messages = store.messages(summary.id)
            users = [m for m in messages if m.role == "user"]
            for m in users:
                asked[m.content] = asked.get(m.content, 0) + 1
            answers = [m for m in messages if m.role == "assistant" and m.status == "complete"]
            if not answers:
                counts.unanswered += 1
            counts.duplicated += max(0, len(answers) - 1)
            for answer in answers:
                counts.answered += 1
                provider = answer.provider or "?"
                counts.by_provider[provider] = counts.by_provider.get(provider, 0) + 1
                if not answer.content.endswith(f"by {provider}.") \
                        or answer.model != models.get(provider):
                    counts.misattributed += 1
            for m in store.messages(summary.id, include_alternates=True):
                counts.running_attempts += sum(a.outcome == "running"
                                               for a in store.attempts(m.id))
        counts.still_pending = len(store.pending_messages())
    counts.stored = sum(asked.values())
    counts.lost = sum(1 for t in texts if t not in asked)
    counts.duplicated_input = sum(n - 1 for n in asked.values() if n > 1)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--time-limit", type=float, default=900.0)
    args = parser.parse_args()
    counts = run_chaos(args.messages, args.workers, args.retries, seed=args.seed,
                       time_limit_s=args.time_limit)
    for name, value in vars(counts).items():
        print(f"{name:>22}: {value if not isinstance(value, float) else round(value, 1)}")
    print("PASS" if counts.ok else "FAIL")
    return 0 if counts.ok else 1


if __name__ == "__main__":
    sys.exit(main())
