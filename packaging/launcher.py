"""Entry point of the packaged chatdesk: the command line, portable by default beside a marker.

PyInstaller freezes this file (not chatdesk/__main__.py, whose folder would shadow stdlib
modules such as `secrets` on the analysis path). The portable zip ships a `portable.txt`
beside the executable; while it is there, the bundle runs as if given --portable unless
--data-dir or CHATDESK_DATA_DIR says where the data goes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

PORTABLE_MARKER = "portable.txt"


def bundle_dir(executable: str | None = None) -> Path:
    """The folder that holds the frozen executable (the MacOS folder inside an .app)."""
    return Path(executable or sys.executable).resolve().parent


def with_portable_default(
    argv: Sequence[str], exe_dir: Path, environ: Mapping[str, str] = os.environ
) -> list[str]:
    """argv, with --portable in front when the portable marker sits in exe_dir and nothing
    else chose the data folder."""
    args = list(argv)
    if not (exe_dir / PORTABLE_MARKER).is_file():
        return args
    if environ.get("CHATDESK_DATA_DIR", "").strip():
        return args
    chosen = ("--portable", "--data-dir")
    if any(a in chosen or a.startswith("--data-dir=") for a in args):
        return args
    return ["--portable", *args]


def _quiet_missing_streams() -> None:
    # A windowed Windows executable has no console: sys.stdout/stderr are None there.
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def run() -> int:
    _quiet_missing_streams()
    from chatdesk import begin_start_up

    begin_start_up()
    from chatdesk.cli import main

    argv = with_portable_default(sys.argv[1:], bundle_dir())
    return main(argv, end_after_app=True)


if __name__ == "__main__":
    raise SystemExit(run())
