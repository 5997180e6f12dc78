"""`chatdesk ask`'s time to the answer's first byte on stdout, beside `llm`'s on one server.

Both are whole processes spawned by this script, asking one openai-type fake provider
(tests/fakes/, in a child process of its own) the same question with a key from the
environment; each is timed from just before the spawn to the first byte read from its
stdout pipe (unbuffered). Runs are interleaved, after warm-ups; medians are compared.
chatdesk runs with keyring's fail backend, as the other benchmarks do (the goal's row),
and, for information, with keyring left to find its own backend (llm uses no keyring).
`llm` must be installed in the same Python:  python -m pip install llm==0.36

Run from the repository root:  python benchmarks/ask_ttfb.py [--rounds N]
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import Row, report  # noqa: E402

GOAL_RATIO = 0.3  # chatdesk's median time to first byte / llm's
KEY = "sk-bench-0123456789abcdef"
MODEL = "gpt-4o"
QUESTION = "How do tides work?"
ANSWER_START = b"Hello"
FAIL_BACKEND = "keyring.backends.fail.Keyring"  # the openai fake's stream_ok.sse answer begins so

# The fake runs until its stdin closes, in a process of its own, so that serving takes
# nothing from the processes timed beyond what any local server would.
FAKE_SERVER = """
import sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.server import FakeProvider
with FakeProvider("openai", api_key=sys.argv[2]) as fake:
    print(fake.base_url, flush=True)
    sys.stdin.read()
"""


def first_byte(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, bytes]:
    """Seconds from spawn to the first byte on stdout, and all of stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=cwd, bufsize=0)
    assert proc.stdout is not None
    head = os.read(proc.stdout.fileno(), 65536)
    elapsed = time.perf_counter() - start
    rest, err = proc.communicate(timeout=60)
    out = head + rest
    if proc.returncode != 0 or not out.startswith(ANSWER_START):
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n"
                         f"{out.decode(errors='replace')}{err.decode(errors='replace')}")
    return elapsed, out


def configure(base: Path, base_url: str, env: dict[str, str]) -> tuple[dict[str, str],
                                                                      dict[str, str]]:
    """A chatdesk data dir and an llm user dir pointing at the fake; their environments."""
    data = base / "chatdesk"
    data.mkdir()
    (data / "settings.toml").write_text(
        '[failover]\norder = ["local"]\n\n[providers.local]\ntype = "openai"\n'
        f'model = "{MODEL}"\nbase_url = "{base_url}"\napi_key_env = "BENCH_API_KEY"\n',
        encoding="utf-8")
    llm_dir = base / "llm"
    llm_dir.mkdir()
    # llm's documented way to reach an OpenAI-compatible server; its key from the
    # environment (with api_key_name set, llm reads OPENAI_API_KEY), as chatdesk's.
    (llm_dir / "extra-openai-models.yaml").write_text(
        f'- model_id: local\n  model_name: {MODEL}\n  api_base: "{base_url}"\n'
        '  api_key_name: local\n', encoding="utf-8")
    return (dict(env, CHATDESK_DATA_DIR=str(data), BENCH_API_KEY=KEY),
            dict(env, LLM_USER_PATH=str(llm_dir), OPENAI_API_KEY=KEY))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=21, help="measured runs of each (default 21)")
    p.add_argument("--warmup", type=int, default=3, help="unmeasured runs of each first")
    args = p.parse_args()
    if importlib.util.find_spec("llm") is None:
        raise SystemExit(f"llm is not installed: {sys.executable} -m pip install llm==0.36")

    env = dict(os.environ)
    # PYTHONDONTWRITEBYTECODE would make every run compile from source again.
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                "CHATDESK_DATA_DIR", "LLM_USER_PATH", "PYTHONDONTWRITEBYTECODE",
                "PYTHON_KEYRING_BACKEND"):
        env.pop(var, None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    server = subprocess.Popen([sys.executable, "-c", FAKE_SERVER, str(ROOT), KEY],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdin is not None and server.stdout is not None
    try:
        base_url = server.stdout.readline().strip()
        if not base_url:
            raise SystemExit("the fake provider did not start")
        with tempfile.TemporaryDirectory(prefix="chatdesk-ttfb-") as tmp:
            base = Path(tmp)
            chatdesk_env, llm_env = configure(base, base_url, env)
            # No desktop keyring here: a real one could block on D-Bus.
            no_keyring_env = dict(chatdesk_env, PYTHON_KEYRING_BACKEND=FAIL_BACKEND)
            chatdesk = [sys.executable, "-m", "chatdesk", "ask", QUESTION]
            llm = [sys.executable, "-m", "llm", "prompt", "-m", "local", QUESTION]
            times: dict[str, list[float]] = {"chatdesk": [], "llm": [], "(own keyring)": []}
            for round_no in range(args.warmup + args.rounds):
                # Alternate which goes first, so none always follows another.
                runs = [("chatdesk", chatdesk, no_keyring_env), ("llm", llm, llm_env),
                        ("(own keyring)", chatdesk, chatdesk_env)]
                for name, cmd, cmd_env in runs if round_no % 2 else runs[::-1]:
                    elapsed, _ = first_byte(cmd, cmd_env, base)
                    if round_no >= args.warmup:
                        times[name].append(elapsed)
    finally:
        server.stdin.close()
        server.wait(timeout=10)

    print(f"{args.rounds} runs each after {args.warmup} warm-ups, interleaved; fake at "
          f"{base_url}")
    print(f"{'':14} {'median':>9} {'min':>7} {'max':>7}")
    for name, runs in times.items():
        print(f"{name:14} {statistics.median(runs) * 1000:>6.0f} ms "
              f"{min(runs) * 1000:>7.0f} {max(runs) * 1000:>7.0f}")
    ours, theirs = statistics.median(times["chatdesk"]), statistics.median(times["llm"])
    ratio = ours / theirs
    own = statistics.median(times["(own keyring)"])
    print(f"for information: with keyring finding its own backend, chatdesk "
          f"{own * 1000:.0f} ms = {own / theirs:.2f}x llm")
    rows = [Row("ask: spawn to the answer's first byte on stdout", f"{ours * 1000:.0f} ms",
                f"llm {theirs * 1000:.0f} ms", ratio, f"<= {GOAL_RATIO}x",
                ratio <= GOAL_RATIO)]
    ok = report(rows)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
