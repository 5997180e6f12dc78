"""Pygments off the GUI thread: lexers loaded and code highlighted on one worker thread."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

# A language's first lexer costs 3-50 ms (its module imported, its regular expressions
# compiled), the first unknown name ~100 ms (pygments scans the installed plugins).
# Loading one also pushes older patterns out of the `re` module's cache (512 of them, the
# oldest dropped first), and linkify-it looks its patterns up there on every render:
# recompiling them took ~25 ms on the next render. So the worker compiles those again
# after each load (keep_compiled names them).
MAX_NAMES = 256  # names come from the answers' code fences: at most this many kept
# While the worker runs pure Python, the GUI thread waits for the GIL until the worker is
# made to let go: 5 ms by default (sys.getswitchinterval), a visible part of a frame.
WORKING_SWITCH_S = 0.0005

T = TypeVar("T")
_loading: dict[str, Future[Lexer | None]] = {}
_relinked: Future[None] | None = None
_worker: ThreadPoolExecutor | None = None
_on_worker = threading.local()
_kept: tuple[tuple[str, int], ...] = ()


def keep_compiled(patterns: Sequence[tuple[str, int]]) -> None:
    """Patterns (with their flags) that others look up in `re`'s cache, compiled again after
    each load."""
    global _kept
    _kept = tuple(patterns)


def ready(name: str) -> bool:
    """Whether `name`'s lexer is loaded (or known to be missing), and the patterns kept
    compiled are back in `re`'s cache. If not loaded, it starts loading: False until then."""
    loading = _loading.get(name)
    if loading is None:
        _start(name)
        return False
    return loading.done() and (_relinked is None or _relinked.done())


def lexer(name: str) -> Lexer | None:
    """`name`'s lexer (None if pygments has none), waiting for the worker if need be."""
    if getattr(_on_worker, "yes", False):
        loading = _loading.get(name)
        return loading.result() if loading is not None and loading.done() else _load(name)
    loading = _loading.get(name)
    if loading is None:
        loading = _start(name)
    return loading.result()


def later(work: Callable[..., T], *args: object) -> Future[T]:
    """`work(*args)` on the worker thread, after what was asked of it before."""
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chatdesk-pygments",
                                     initializer=_mark_worker)
    return _worker.submit(_working, work, *args)


def _working(work: Callable[..., T], *args: object) -> T:
    """`work(*args)`, the GIL handed back to the GUI thread within 0.5 ms meanwhile."""
    usual = sys.getswitchinterval()
    sys.setswitchinterval(min(usual, WORKING_SWITCH_S))
    try:
        return work(*args)
    finally:
        sys.setswitchinterval(usual)


def _mark_worker() -> None:
    _on_worker.yes = True


def _start(name: str) -> Future[Lexer | None]:
    global _relinked
    if len(_loading) >= MAX_NAMES:
        for done in [n for n, f in _loading.items() if f.done()]:
            del _loading[done]
    loading = _loading[name] = later(_load, name)
    _relinked = later(_compile_kept)
    return loading


def _load(name: str) -> Lexer | None:
    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=False)
    except (ClassNotFound, ValueError):
        return None
    except Exception:  # a broken lexer plugin must not lose the answer: shown plain
        return None


def _compile_kept() -> None:
    for pattern, flags in _kept:
        re.compile(pattern, flags)  # a cache hit if it is still there
