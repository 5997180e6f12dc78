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


_starting = False


def begin_start_up() -> None:
    """What a `chatdesk` process does first (only its entry points call this): Python's
    cyclic garbage collector is paused while it starts — importing ~150 modules and
    building the window made ~95 collection passes (~16 ms of a ~280 ms start) that found
    nothing to free — and dataclasses' methods come compiled from the last run
    (chatdesk.method_cache). end_start_up() resumes the collector."""
    global _starting
    if _starting or not gc.isenabled():
        return
    _starting = True
    gc.disable()
    from chatdesk import method_cache

    method_cache.install(method_cache.default_file(_role(sys.argv[1:])))


def command_word(argv: list[str]) -> str | None:
    """The command argv names (its first word that is no option or option's value), if any."""
    words = iter(argv)
    for word in words:
        if word == "--data-dir":  # the one top-level option that takes a value
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _role(argv: list[str]) -> str:
    """"app", or the command argv names ("other" for a word that is no command's name)."""
    word = command_word(argv)
    return "app" if word is None else word if word.isalpha() else "other"


def end_start_up(*, long_running: bool = False) -> None:
    """Start-up is over: the app's engine is up (long_running), or a command is parsed.
    What start-up made (modules, Qt wrappers, the window), which lives as long as the
    process, is left out of the collector's passes for good — in the app a full pass over
    it took ~55 ms, a visible stall on the GUI thread; start-up's few hundred cyclic
    leftovers, frozen with it, are ~100 KB — and the collector resumes. The app lets the
    compiled methods go; a command keeps using them. Either writes what it compiled."""
    global _starting
    was_starting, _starting = _starting, False
    if was_starting or long_running:
        # Frozen before the collector resumes: its first pass would otherwise walk every
        # object start-up made, all still in the youngest generation (~5 ms).
        gc.freeze()
    if not was_starting:
        return
    gc.enable()
    from chatdesk import method_cache

    method_cache.save()
    if long_running:
        method_cache.uninstall()
    else:
        import atexit

        atexit.register(method_cache.save)
