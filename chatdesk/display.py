"""Whether this machine can open a window, checked before Qt would abort without a word."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

# Qt's xcb platform plugin aborts the process when these libraries are missing.
_XCB_LIBRARIES = {"xcb-cursor": "libxcb-cursor0", "xkbcommon-x11": "libxkbcommon-x11-0"}


def find_library(name: str) -> str | None:
    """Whether lib<name> can be loaded: first by its soname (~0.1 ms, and Qt loads it next
    anyway), then as ctypes.util.find_library does, which runs `ldconfig -p` (~2 ms)."""
    import ctypes.util  # only on X11: offscreen, Wayland, macOS and Windows never need it

    soname = f"lib{name}.so.0"
    try:
        ctypes.CDLL(soname)
    except OSError:
        return ctypes.util.find_library(name)
    return soname


def display_problem(
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
    find_library: Callable[[str], str | None] = find_library,
) -> str | None:
    """A sentence saying why no window can open here and what to do, or None if it can."""
    if platform != "linux" or environ.get("QT_QPA_PLATFORM"):
        return None  # macOS and Windows always have their platform; an explicit choice wins
    if not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return ("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset): "
                "run chatdesk in a desktop session; the command line works anywhere "
                "(chatdesk --help)")
    if environ.get("WAYLAND_DISPLAY") and not environ.get("DISPLAY"):
        return None  # Qt's wayland plugin does not need the xcb libraries
    missing = [package for name, package in _XCB_LIBRARIES.items() if not find_library(name)]
    if missing:
        return (f"Qt needs the system libraries {', '.join(missing)} to open a window: "
                f"install them (e.g. sudo apt install {' '.join(missing)}) and start again")
    return None
