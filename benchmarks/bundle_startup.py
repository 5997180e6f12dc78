"""Start-up of the packaged app against the same run's `chatdesk --self-test` from the venv,
and the size of the bundle and of the packages.

Build the bundle first (python packaging/build.py, or --bundle-only), then from the
repository root:  python benchmarks/bundle_startup.py [--rounds N] [--bundle DIR]
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))

from build import MIB, locate_bundle, tree_size  # noqa: E402

GOAL_RATIO = 1.5  # bundle's median wall-clock time / the venv's
GOAL_LINUX_MIB = 150
SELF_TEST_OK = re.compile(r"self-test ok startup_ms=(\d+)")


def venv_command() -> list[str]:
    """The venv's `chatdesk` console script, else `python -m chatdesk`."""
    here = Path(sys.executable).parent
    for scripts in (here, here / "Scripts"):  # Windows keeps scripts beside or under python
        for name in ("chatdesk", "chatdesk.exe"):
            if (scripts / name).is_file():
                return [str(scripts / name)]
    return [sys.executable, "-m", "chatdesk"]


def timed_self_test(cmd: list[str], data_dir: Path, env: dict[str, str]) -> tuple[float, int]:
    """(wall-clock seconds of the whole process, the startup_ms it printed)."""
    start = time.perf_counter()
    out = subprocess.run([*cmd, "--data-dir", str(data_dir), "--self-test"], env=env,
                         capture_output=True, text=True, timeout=120, cwd=data_dir.parent)
    wall = time.perf_counter() - start
    match = SELF_TEST_OK.search(out.stdout)
    if out.returncode != 0 or match is None:
        raise SystemExit(f"{' '.join(cmd)} --self-test failed (exit {out.returncode}):\n"
                         f"{out.stdout}{out.stderr}")
    return wall, int(match.group(1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5, help="measured runs of each (default 5)")
    p.add_argument("--bundle", type=Path, default=ROOT / "dist" / "bundle",
                   help="the folder holding the PyInstaller output (default dist/bundle)")
    args = p.parse_args()
    top, exe = locate_bundle(args.bundle)
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    variants = {"venv": venv_command(), "bundle": [str(exe)]}
    walls: dict[str, list[float]] = {name: [] for name in variants}
    reported: dict[str, list[int]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="chatdesk-bench-") as tmp:
        for name, cmd in variants.items():  # warm-up: creates the history, fills caches
            timed_self_test(cmd, Path(tmp) / name, env)
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            for name, cmd in variants.items():
                wall, ms = timed_self_test(cmd, Path(tmp) / name, env)
                walls[name].append(wall)
                reported[name].append(ms)

    print(f"{'':8} {'median wall':>12} {'min wall':>9} {'median startup_ms':>18}"
          f"   ({args.rounds} runs each, QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']})")
    for name in variants:
        print(f"{name:8} {statistics.median(walls[name]) * 1000:>10.0f}ms "
              f"{min(walls[name]) * 1000:>7.0f}ms {statistics.median(reported[name]):>18.0f}")
    ratio = statistics.median(walls["bundle"]) / statistics.median(walls["venv"])
    ms_ratio = statistics.median(reported["bundle"]) / max(1, statistics.median(reported["venv"]))
    print(f"ratio bundle/venv: wall {ratio:.2f}, startup_ms {ms_ratio:.2f} "
          f"(goal: wall <= {GOAL_RATIO})")

    size = tree_size(top)
    print(f"bundle size: {size / MIB:.1f} MiB on disk ({top})")
    for package in sorted((ROOT / "dist").glob("chatdesk*")):
        if package.is_file():
            print(f"package: {package.name} {package.stat().st_size / MIB:.1f} MiB")
    if shutil.which("du"):
        du = subprocess.run(["du", "-sh", str(top)], capture_output=True, text=True).stdout
        print(f"du -sh: {du.split()[0] if du else '?'}")

    ok = ratio <= GOAL_RATIO
    if sys.platform.startswith("linux"):
        ok = ok and size <= GOAL_LINUX_MIB * MIB
        print(f"goal: Linux bundle <= {GOAL_LINUX_MIB} MiB")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
