"""A fast generator of a realistic history.db: N conversations of M markdown-ish messages.

The file is created by `HistoryStore.open` (so it has the real schema, FTS triggers
included) and filled with `executemany` inside `store.transaction()`; the triggers index
every message as the app's own writes would.

    python benchmarks/make_history.py DIR --conversations 2000 --messages 20
    python benchmarks/make_history.py DIR --conversations 10 --messages 20 --extra 5000 20

writes DIR/history.db (refusing to overwrite one). `--extra` adds conversations of those
sizes, most recently updated of all; their ids are printed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatdesk.store import HistoryStore  # noqa: E402
from chatdesk.store.models import derive_title  # noqa: E402

BATCH = 20_000  # messages per executemany call
_WORDS = (
    "the a of to and in is it that for on with as this be are was can you not or by from "
    "function value list table query index cache thread memory server client request answer "
    "model token stream error retry timeout window layout render paint event signal slot "
    "python rust sqlite qt widget option setting provider failover history search result "
    "because however therefore usually often quickly carefully simple small large fast slow "
    "build test check measure compare explain example detail reason problem solution idea "
    "data file path name key number string object class method module package version"
).split()
_LANGS = ("python", "rust", "sql", "bash", "javascript", "")
_PROVIDERS = (("anthropic", "claude-sonnet-4"), ("openai", "gpt-4o"),
              ("gemini", "gemini-2.5-flash"), ("ollama", "llama3.2"))
_CONV_COLS = ("id, uid, title, system_prompt, preferred_provider, pinned, created_at, "
              "updated_at, source, source_id, deleted_at")
_MSG_COLS = ("id, uid, conversation_id, parent_id, role, content, provider, model, status, "
             "created_at, updated_at, input_tokens, output_tokens, finish_reason, source_id, "
             "is_alternate, claimed_until")


@dataclass(frozen=True)
class History:
    """What was written: sizes, the extra conversations' ids, and the time it took."""

    path: Path
    conversations: int
    messages: int
    extra_ids: list[int]
    seconds: float


def _sentence(rng: random.Random, lo: int = 6, hi: int = 18) -> str:
    words = rng.choices(_WORDS, k=rng.randint(lo, hi))
    if rng.random() < 0.3:
        i = rng.randrange(len(words))
        words[i] = f"`{words[i]}()`" if rng.random() < 0.5 else f"**{words[i]}**"
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(".....?!")


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def _code(rng: random.Random) -> str:
    lang = rng.choice(_LANGS)
    lines = []
    for i in range(rng.randint(3, 14)):
        a, b = rng.sample(_WORDS, 2)
        lines.append(f"{'    ' * (i % 3 > 0)}{a}_{i} = {b}({rng.randint(0, 99)})  # {a} {b}")
    return f"```{lang}\n" + "\n".join(lines) + "\n```"


def user_text(rng: random.Random) -> str:
    """A question: one to three sentences, now and then with a pasted snippet."""
    text = _paragraph(rng, rng.randint(1, 3))
    if rng.random() < 0.1:
        text += "\n\n" + _code(rng)
    return text


def assistant_text(rng: random.Random) -> str:
    """An answer: paragraphs, sometimes a heading, a list, a code block or a link."""
    parts: list[str] = []
    if rng.random() < 0.25:
        parts.append(f"## {_sentence(rng, 2, 5).rstrip('.?!')}")
    parts.append(_paragraph(rng, rng.randint(1, 4)))
    if rng.random() < 0.4:
        parts.append("\n".join(f"{'-' if rng.random() < 0.6 else '1.'} {_sentence(rng, 4, 12)}"
                               for _ in range(rng.randint(2, 6))))
    if rng.random() < 0.35:
        parts.append(_code(rng))
    if rng.random() < 0.15:
        parts.append(f"See [the docs](https://example.com/{rng.choice(_WORDS)}) for more.")
    if rng.random() < 0.6:
        parts.append(_paragraph(rng, rng.randint(1, 3)))
    return "\n\n".join(parts)


def _bodies(rng: random.Random, n: int) -> tuple[list[str], list[str]]:
    """Pools of texts, mixed per message: generating each message afresh is the slow part."""
    return [user_text(rng) for _ in range(n)], [assistant_text(rng) for _ in range(n)]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def make_history(data_dir: Path | str, conversations: int, messages: int,
                 extra: Sequence[int] = (), *, seed: int = 1, pool: int = 4000) -> History:
    """Write data_dir/history.db; `extra` adds conversations of those sizes, newest of all."""
    started = time.perf_counter()
    data_dir = Path(data_dir)
    path = data_dir / "history.db"
    if path.exists():
        raise SystemExit(f"{path} exists already; choose an empty folder.")
    data_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    users, answers = _bodies(rng, pool)
    sizes = [messages] * conversations + list(extra)
    now = time.time()
    span = 2 * 365 * 86400.0  # two years of history, oldest conversation first
    step = span / max(1, len(sizes))
    conv_rows: list[tuple[object, ...]] = []

    def message_rows() -> Iterator[tuple[object, ...]]:
        msg_id = 0
        for conv_id, size in enumerate(sizes, start=1):
            t = now - span + conv_id * step - 3600.0
            first_user: str | None = None
            parent: int | None = None
            provider, model = _PROVIDERS[conv_id % len(_PROVIDERS)]
            for k in range(size):
                msg_id += 1
                t += rng.uniform(5.0, 3600.0 / max(1, size))
                stamp = _iso(t)
                if k % 2 == 0:
                    content = rng.choice(users)
                    first_user = first_user or content
                    yield (msg_id, uuid.uuid4().hex, conv_id, parent, "user", content, None,
                           None, "complete", stamp, stamp, None, None, None, None, 0, None)
                else:
                    content = rng.choice(answers)
                    yield (msg_id, uuid.uuid4().hex, conv_id, parent, "assistant", content,
                           provider, model, "complete", stamp, stamp, 20 + len(content) // 40,
                           len(content) // 4, "stop", None, 0, None)
                parent = msg_id
            created = _iso(now - span + conv_id * step - 3600.0)
            conv_rows.append((conv_id, uuid.uuid4().hex, derive_title(first_user or ""), None,
                              None, 0, created, _iso(t) if size else created, None, None, None))

    total = 0
    with HistoryStore.open(path) as store:
        conn = store._connection()  # the store's own connection
        # A new file that nobody else has open: no journal while filling it, WAL again after.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        with store.transaction():
            rows = message_rows()
            # Conversations first (foreign keys): they are only known once their messages
            # are, so the messages go to a temp list per batch and conversations after.
            conn.execute("PRAGMA defer_foreign_keys = ON")
            while True:
                batch = [r for _, r in zip(range(BATCH), rows, strict=False)]
                if not batch:
                    break
                conn.executemany(f"INSERT INTO messages ({_MSG_COLS}) VALUES "
                                 f"({', '.join('?' * 17)})", batch)
                total += len(batch)
            conn.executemany(f"INSERT INTO conversations ({_CONV_COLS}) VALUES "
                             f"({', '.join('?' * 11)})", conv_rows)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    first_extra = conversations + 1
    return History(path, len(sizes), total, list(range(first_extra, first_extra + len(extra))),
                   time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path, help="folder to create history.db in")
    p.add_argument("--conversations", type=int, default=2000)
    p.add_argument("--messages", type=int, default=20, help="messages per conversation")
    p.add_argument("--extra", type=int, nargs="*", default=[],
                   help="sizes of extra conversations, the most recent of all")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    h = make_history(args.data_dir, args.conversations, args.messages, args.extra,
                     seed=args.seed)
    size_mb = h.path.stat().st_size / 1e6
    print(f"{h.path}: {h.conversations:,} conversations, {h.messages:,} messages, "
          f"{size_mb:.1f} MB in {h.seconds:.1f} s")
    if h.extra_ids:
        print("extra conversation ids:", " ".join(map(str, h.extra_ids)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
