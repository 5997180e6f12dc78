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


_gc_paused = False


def pause_gc_for_start_up() -> None:
    """Pause Python's cyclic garbage collector while a `chatdesk` process starts: importing
    ~150 modules and building the window made ~95 collection passes (~16 ms of a ~280 ms
    start) that found nothing to free. Only the command's entry points call this, and
    end_start_up() resumes it: the app once its engine is up, a command once it is parsed."""
    global _gc_paused
    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def end_start_up(*, freeze: bool = False) -> None:
    """Resume the collector if pause_gc_for_start_up() paused it. freeze: what start-up made
    lives as long as the process (modules, Qt wrappers, the window), so leave it out of the
    collector's passes for good: a full pass over it took ~55 ms, a visible stall on the GUI
    thread. (Start-up leaves a few hundred cyclic leftovers behind; frozen, ~100 KB.)"""
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.enable()
    if freeze:
        gc.freeze()
