"""Dataclasses' generated methods, compiled once and kept between runs as .pyc files are.

On Python 3.11 `@dataclass` writes the source of each class's __init__, __repr__, __eq__
(and, frozen, __hash__, __setattr__, __delattr__) and compiles it when the class is made:
the ~60 classes a window's start-up makes compiled ~95 KB of source, ~9 % of the start's
instructions, every time. The text depends only on the class's fields and options, so its
compiled code can be kept: this module gives `dataclasses` an `exec` that looks the text
up first, in a file beside chatdesk's own .pyc files (where Python itself caches compiled
code, with the same rights; when it cannot be written there, nothing is kept and the
classes are made as before). The key is the whole text, so a class that changes is
compiled afresh, and the file names the Python version whose code it holds.
"""

from __future__ import annotations

import builtins
import contextlib
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

MAX_ENTRIES = 2000  # beyond: start again with this run's (a run makes ~20-300)
_HEADER = b"chatdesk-dataclass-methods\n"

_real_exec = builtins.exec
_cache: dict[str, CodeType] = {}
_used: set[str] = set()
_added = False
_file: Path | None = None


def default_file(role: str = "app") -> Path:
    """The cache beside chatdesk's compiled modules, one per role ("app", or a command's
    name: each reads only the classes it makes): chatdesk/__pycache__/…"""
    return Path(__file__).resolve().parent / "__pycache__" / (
        f"dataclass-methods.{role}.{sys.implementation.cache_tag}.bin")


def _magic() -> bytes:
    from importlib.util import MAGIC_NUMBER

    return _HEADER + MAGIC_NUMBER


def install(file: Path | None = None) -> bool:
    """Read the kept methods and have dataclasses use them; False (and nothing changed) in
    a PyInstaller bundle, or a Python without a cache tag."""
    global _file
    import dataclasses

    if not sys.implementation.cache_tag or getattr(sys, "frozen", False) \
            or getattr(dataclasses, "exec", builtins.exec) is not builtins.exec:
        return False  # (a bundle's files are not to be written to: a signed app breaks)
    _file = file or default_file()
    _cache.clear()
    _cache.update(_read(_file))
    setattr(dataclasses, "exec", _cached_exec)  # noqa: B010 - a name it looks up
    return True


def _read(file: Path) -> dict[str, CodeType]:
    try:
        data = file.read_bytes()
    except OSError:
        return {}
    magic = _magic()
    if not data.startswith(magic):
        return {}
    try:
        kept = marshal.loads(data[len(magic):])
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(kept, dict):
        return {}
    return {k: v for k, v in kept.items() if isinstance(k, str) and isinstance(v, CodeType)}


def _cached_exec(source: Any, globals: Any = None, locals: Any = None) -> None:  # noqa: A002
    global _added
    if isinstance(source, str):
        code = _cache.get(source)
        if code is None:
            code = compile(source, "<string>", "exec")
            _cache[source] = code
            _added = True
        _used.add(source)
        source = code
    _real_exec(source, globals, locals)


def save() -> None:
    """Write the cache if this run compiled anything new (atomically; a failure only means
    the next run compiles again)."""
    global _added
    if not _added or _file is None:
        return
    _added = False
    kept = _cache if len(_cache) <= MAX_ENTRIES else {k: _cache[k] for k in _used}
    temporary = _file.with_name(f"{_file.name}.{os.getpid()}.tmp")
    try:
        _file.parent.mkdir(exist_ok=True)
        temporary.write_bytes(_magic() + marshal.dumps(kept))
        os.replace(temporary, _file)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def uninstall() -> None:
    """Back to dataclasses' own compiling; the cache's memory is let go."""
    dataclasses = sys.modules.get("dataclasses")
    if dataclasses is not None and getattr(dataclasses, "exec", None) is _cached_exec:
        delattr(dataclasses, "exec")
    _cache.clear()
    _used.clear()
