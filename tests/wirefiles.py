"""Where the tests find the provider wire examples: the copy in tests/wire, or CHATDESK_WIRE_DIR."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The test data the suite replays, committed with the repository.
WIRE_COPY = REPO_ROOT / "tests" / "wire"
# The project's reference set, beside the repository when it is checked out with shared/.
SHARED_WIRE = REPO_ROOT.parent / "shared" / "wire"
# Files of the copy that are not in the reference: SOURCE.md says where the copy comes from;
# a name ending in "/" is a folder of the copy's own (sdk/: streams checked against the
# official SDKs, issue 14, each with its source in sdk/README.md).
COPY_ONLY = frozenset({"SOURCE.md", "sdk/"})


def default_wire_dir() -> Path:
    """`CHATDESK_WIRE_DIR` if set, else the in-repository copy `tests/wire`."""
    env = os.environ.get("CHATDESK_WIRE_DIR")
    return Path(env) if env else WIRE_COPY


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def wire_drift(reference: Path, copy: Path, copy_only: frozenset[str] = COPY_ONLY) -> list[str]:
    """How `copy` differs from `reference`, one line per file; empty when they are the same.

    Files are compared byte for byte; `copy_only` names (relative, '/'-separated; one
    ending in '/' names a folder) may be in the copy alone.
    """
    ref, ours = _files(reference), _files(copy)
    folders = tuple(name for name in copy_only if name.endswith("/"))
    problems = [f"missing from {copy.name}/: {name}" for name in sorted(ref.keys() - ours.keys())]
    problems += [f"not in the reference: {name}"
                 for name in sorted(ours.keys() - ref.keys() - copy_only)
                 if not name.startswith(folders)]
    problems += [f"differs from the reference: {name}" for name in sorted(ref.keys() & ours.keys())
                 if ref[name].read_bytes() != ours[name].read_bytes()]
    return problems
