"""chatdesk: a desktop chat client for many AI providers that survives their outages."""

import gc
import sys
import time

# When chatdesk's own code began to run (after the interpreter's start): --self-test counts
# startup_ms from here, so the figure covers parsing the command line, loading Qt and the
# history, and the first paint.
STARTED = time.perf_counter()

# httpx's __init__ imports its own command-line tool (click, rich, pygments when installed:
# ~20-50 ms and ~2-8 MB) that chatdesk never runs; a None entry makes that import fail,
# and httpx then defines a stub in its place. Only before httpx is first imported.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


# Start-up makes some 60,000 objects that live as long as the process (modules, classes,
# functions); the cyclic collector walked them ~90 times while they were made (~10 ms of an
# `ask`). The command line defers it: from defer_gc() until end_startup() it runs every
# 50,000 new objects instead of 700.
_STARTUP_GC_THRESHOLD = 50_000
_gc_threshold: tuple[int, ...] | None = None


def defer_gc() -> None:
    """Collect cycles seldom until end_startup() (the command line only)."""
    global _gc_threshold
    if _gc_threshold is None:
        _gc_threshold = gc.get_threshold()
        gc.set_threshold(max(_STARTUP_GC_THRESHOLD, _gc_threshold[0]), *_gc_threshold[1:])


def end_startup() -> None:
    """The collector's own thresholds again (ask and retry: once the answer has begun)."""
    global _gc_threshold
    if _gc_threshold is not None:
        gc.set_threshold(*_gc_threshold)
        _gc_threshold = None


def __getattr__(name: str) -> str:
    # Read lazily: importlib.metadata costs ~25 ms at every start of the command line.
    if name == "__version__":
        version = _installed_version()
        globals()["__version__"] = version  # asked once per process
        return version
    raise AttributeError(name)


def _installed_version() -> str:
    """The installed distribution's Version header. Read from the metadata's header block:
    `Distribution.version` parses the whole file as an e-mail, README included (~5 ms)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("chatdesk")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0"
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.replace("\r\n", "\n").partition("\n\n")[0].splitlines():
        field, colon, value = line.partition(":")
        if colon and field.strip().lower() == "version":
            return value.strip()
    return dist.version
