"""PySide6's scan of every imported module's source, without its copy kept in linecache."""

from __future__ import annotations

import sys
from types import ModuleType

_FEATURE = "shibokensupport.feature"  # PySide6's `__feature__` support (its own name)


def uses_pyside(module: ModuleType) -> bool:
    """Whether the module's source mentions PySide6: the answer PySide6's own check gives
    (a module that may `from __feature__ import …`), read without linecache."""
    path = getattr(module, "__file__", None)
    if isinstance(path, str) and path.endswith(".py"):
        try:
            with open(path, "rb") as f:
                return b"PySide6" in f.read()
        except OSError:
            pass
    get_source = getattr(getattr(module, "__loader__", None), "get_source", None)
    if get_source is None:
        return False
    try:
        source = get_source(module.__name__)
    except Exception:  # noqa: BLE001 - a loader without the source: PySide6 says False too
        return False
    return isinstance(source, str) and "PySide6" in source


def keep_sources_out_of_linecache() -> bool:
    """PySide6 reads the source of every module imported after it with inspect.getsource,
    which keeps each file's lines in linecache for good (~8 MB of strings once the main
    window is up, memory Python does not give back). The same check, reading the file
    once, takes its place. Call it right after PySide6 is first imported; False if this
    PySide6 has no such scan."""
    feature = sys.modules.get(_FEATURE)
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = uses_pyside  # type: ignore[attr-defined]  # noqa: SLF001
    return True
