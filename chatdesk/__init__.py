"""chatdesk: a desktop chat client for many AI providers that survives their outages."""

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
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("chatdesk")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0.0.0"
    raise AttributeError(name)
