"""A one-line progress bar on stderr for long imports and exports, drawn only on a terminal."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

_SPINNER = "|/-\\"


class ProgressBar:
    """`bar(done, total)` redraws at most ~10 times a second; `close()` erases the line.

    On anything but a terminal (a pipe, a log file, a test) it draws nothing at all, so
    scripts see only the summary line.
    """

    def __init__(self, label: str, unit: str = "conversations", stream: TextIO | None = None,
                 interval_s: float = 0.1) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream)
        self.interval_s = interval_s
        self.done = 0
        self.total: int | None = None
        self._last = 0.0
        self._ticks = 0
        self._drawn = False

    def __call__(self, done: int, total: int | None = None) -> None:
        self.done, self.total = done, total
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.interval_s and (total is None or done < total):
            return
        self._last = now
        self._ticks += 1
        self._draw()

    def line(self, width: int) -> str:
        """The text drawn for the current state, at most `width` characters."""
        count = f"{self.done:,}"
        if self.total:
            share = min(self.done / self.total, 1.0)
            text = f"{self.label} {count}/{self.total:,} {self.unit} {share:4.0%}"
            room = min(40, width - len(text) - 3)
            if room >= 10:
                filled = round(room * share)
                return f"{self.label} [{'#' * filled}{'.' * (room - filled)}] " + text[
                    len(self.label) + 1:]
            return text[:width]
        return f"{self.label} {_SPINNER[self._ticks % 4]} {count} {self.unit}"[:width]

    def _draw(self) -> None:
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        try:
            self.stream.write("\r" + self.line(width).ljust(width) + "\r")
            self.stream.flush()
            self._drawn = True
        except (OSError, ValueError):
            self.enabled = False

    def close(self) -> None:
        """Erase the bar so the summary line that follows starts on a clean line."""
        if self._drawn:
            width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
            try:
                self.stream.write("\r" + " " * width + "\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
