"""Which process holds a claim or runs an attempt, and whether that process is still alive.

A process is named `host/pid/start`: the start time makes a reused pid a different owner.
`is_dead` is True only when the owner is certainly gone; an owner on another machine, or one
whose start time this OS cannot tell, is left to the claim's lease."""

from __future__ import annotations

import os
import socket
import sys
from functools import cache


def _start_time(pid: int) -> str | None:
    """The process's start time as the OS reports it, or None when it cannot be read."""
    try:
        if sys.platform.startswith("linux"):
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            # Field 22 (starttime); the name in parentheses may itself hold spaces. A zombie
            # (killed, not yet reaped by its parent) is gone for our purposes.
            fields = stat[stat.rindex(b")") + 2:].split()
            return None if fields[0] in (b"Z", b"X") else fields[19].decode()
        if sys.platform == "win32":
            return _windows_start_time(pid)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _windows_start_time(pid: int) -> str | None:
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return None
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value != 259:
            return None  # 259 = STILL_ACTIVE
        times = [wintypes.FILETIME() for _ in range(4)]
        if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
            return None
        created = times[0]
        return str((created.dwHighDateTime << 32) | created.dwLowDateTime)
    finally:
        kernel32.CloseHandle(handle)


def _pid_exists(pid: int) -> bool | None:
    """Whether a process with this pid exists (None: cannot tell)."""
    if sys.platform == "win32":
        return _windows_start_time(pid) is not None
    try:
        os.kill(pid, 0)  # signal 0 checks without sending; never used on Windows (it kills)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return None
    return True


@cache
def _host() -> str:
    return socket.gethostname().replace("/", "_")


def this_process() -> str:
    """The owner name of the running process (computed per call: a fork is another one)."""
    pid = os.getpid()
    return f"{_host()}/{pid}/{_start_time(pid) or ''}"


def is_dead(owner: str | None) -> bool:
    """True when `owner` (a `this_process()` name) is certainly no longer running."""
    if not owner:
        return False
    host, _, rest = owner.partition("/")
    pid_text, _, start = rest.partition("/")
    if host != _host() or not pid_text.isdigit():
        return False  # another machine (a shared folder): the lease decides
    pid = int(pid_text)
    exists = _pid_exists(pid)
    if exists and sys.platform.startswith("linux") and _start_time(pid) is None:
        return True  # a zombie, or it ended just now
    if exists is None:
        return False
    if not exists:
        return True
    if not start:
        return False  # the pid is taken; without a start time it may be ours still
    now = _start_time(pid)
    return now is not None and now != start
