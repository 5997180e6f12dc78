"""Which process holds a claim or runs an attempt, and whether that process is still alive.

A process is named `host/pid/start`: the start time makes a reused pid a different owner.
`is_dead` is True only when the owner is certainly gone; an owner on another machine, or one
this OS cannot tell about, is left to the claim's lease. No psutil: /proc on Linux, the
Win32 API through ctypes on Windows, `kill(pid, 0)` elsewhere (pid only)."""

from __future__ import annotations

import os
import sys
from functools import cache

# (the process exists: True/False, None if it cannot be told; its start time if known)
_Probe = tuple[bool | None, str | None]


def _probe_linux(pid: int) -> _Probe:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return False, None
    except OSError:
        return None, None
    # The name in parentheses may hold spaces; field 3 is the state, 22 the start time. A
    # zombie (killed, not yet reaped by its parent) is gone for our purposes.
    fields = stat[stat.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return False, None
    return True, fields[19].decode()


def _probe_windows(pid: int) -> _Probe:
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        # ERROR_INVALID_PARAMETER: no such process; anything else (access denied): unknown.
        return (False, None) if ctypes.get_last_error() == 87 else (None, None)  # type: ignore[attr-defined]
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return None, None
        if code.value != 259:  # STILL_ACTIVE
            return False, None
        times = [wintypes.FILETIME() for _ in range(4)]
        if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
            return True, None
        return True, str((times[0].dwHighDateTime << 32) | times[0].dwLowDateTime)
    finally:
        kernel32.CloseHandle(handle)


def _probe_posix(pid: int) -> _Probe:
    try:
        os.kill(pid, 0)  # signal 0 only checks (on Windows os.kill would end the process)
    except ProcessLookupError:
        return False, None
    except PermissionError:
        return True, None  # someone else's process
    except OSError:
        return None, None
    return True, None


def _probe(pid: int) -> _Probe:
    try:
        if sys.platform.startswith("linux"):
            return _probe_linux(pid)
        if sys.platform == "win32":
            return _probe_windows(pid)
        return _probe_posix(pid)
    except (OSError, ValueError, IndexError, AttributeError):
        return None, None


@cache
def _host() -> str:
    import socket  # here: the window starts without asyncio, and so without socket

    return socket.gethostname().replace("/", "_")


def this_process() -> str:
    """The owner name of the running process (computed per call: a fork is another one)."""
    pid = os.getpid()
    return f"{_host()}/{pid}/{_probe(pid)[1] or ''}"


def is_dead(owner: str | None) -> bool:
    """True when `owner` (a `this_process()` name) is certainly no longer running."""
    if not owner:
        return False
    host, _, rest = owner.partition("/")
    pid_text, _, start = rest.partition("/")
    if host != _host() or not pid_text.isdigit():
        return False  # another machine (a shared folder): the lease decides
    exists, start_now = _probe(int(pid_text))
    if exists is None:
        return False
    if not exists:
        return True
    # The pid is taken: by the same process unless its start time says otherwise.
    return bool(start) and start_now is not None and start_now != start
