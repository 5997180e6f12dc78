"""A reader between an export file and ijson: refuses deep nesting, reads long strings whole."""

from __future__ import annotations

import operator
import re
from itertools import accumulate
from typing import IO

# Real exports nest about 10 levels (ChatGPT: list, conversation, mapping, node, message,
# content, parts, part, metadata, dalle; Claude 9, chatdesk's own 6); a tool call's input
# in a Claude export adds whatever the tool took. 256 leaves a wide margin and keeps
# ijson's per-level bookkeeping (which grows with the square of the depth) tiny.
MAX_DEPTH = 256

_BASE = 64 * 1024
_MAX_READ = 256 * 1024 * 1024
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_KEEP = b'"[]{}'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
# An opening mark becomes 2 and a closing one 0: the running sum of those less the marks
# counted is the depth, computed in C (a generator per mark was most of the guard's time).
_STEPS = bytes.maketrans(b"[]{}", b"\x02\x00\x02\x00")
# Below this much room under MAX_DEPTH, the marks are followed one by one, _NEAR_RUN at a time.
_ROOMY = 64
_NEAR_RUN = 4096


class TooDeep(Exception):
    """The JSON nests deeper than MAX_DEPTH; `pos` is about where (a byte offset)."""

    def __init__(self, pos: int) -> None:
        super().__init__(f"nested more than {MAX_DEPTH} levels deep near byte {pos:,}")
        self.pos = pos


class JsonGuard:
    """Hands a file's bytes to ijson unchanged, while following the JSON's nesting.

    It raises `TooDeep` before ijson sees a byte nested deeper than MAX_DEPTH, so a
    hostile file is refused before the parser's memory grows. And while the bytes are
    inside one string, each read is twice the last: the compiled ijson backend rescans
    an unfinished string from its start at every read, which would make one long string
    cost the square of its length; doubling keeps it linear.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.depth = 0
        self.pos = 0
        self.reads = 0  # how many reads reached the file (the tests count them)
        self._in_string = False
        self._escape = False  # the last read ended with the first half of an escape
        self._next = 0

    def read(self, size: int = -1) -> bytes:
        want = size if size <= 0 else max(size, self._next)  # ijson first reads 0 bytes
        data = self.raw.read(want)
        self.reads += 1
        whole_string = self._scan(data)
        self._next = min(max(want, _BASE) * 2, _MAX_READ) if whole_string and data else 0
        self.pos += len(data)
        return data

    def _scan(self, data: bytes) -> bool:
        """Follow the nesting through `data`; True if all of it is inside one string."""
        if self._escape and data:
            data, self._escape = data[1:], False
        started_inside = self._in_string
        unescaped = _ESCAPE.sub(b"", data)
        if unescaped.endswith(b"\\"):  # pairs are gone: a backslash left ends the read
            self._escape, unescaped = True, unescaped[:-1]
        marks = unescaped.translate(None, _DROP)
        if self._in_string:
            end = marks.find(b'"')
            if end < 0:
                return started_inside
            marks, self._in_string = marks[end + 1 :], False
        # Most strings hold no bracket: their quotes are side by side. When taking the
        # pairs out leaves no quote (or one, last: a string left open), every pair was a
        # string's: this is what the pieces below would give, without a list of them.
        paired = marks.replace(b'""', b"")
        quotes = paired.count(b'"')
        if quotes == 0 or (quotes == 1 and paired.endswith(b'"')):
            marks, self._in_string = paired.rstrip(b'"'), quotes == 1
        else:
            # Between quotes is a string's inside: every other piece. An odd number of
            # quotes leaves the last string open (its piece has an odd index: left out).
            pieces = marks.split(b'"')
            marks, self._in_string = b"".join(pieces[::2]), len(pieces) % 2 == 0
        opens = marks.count(b"[") + marks.count(b"{")
        if self.depth + opens > MAX_DEPTH:
            self._check_peak(marks)
        self.depth += 2 * opens - len(marks)
        return False

    def _check_peak(self, marks: bytes) -> None:
        """Raise TooDeep if the depth passes MAX_DEPTH somewhere in `marks` (brackets
        outside strings). A run of no more marks than the room left cannot pass it, so
        only runs near the limit are followed mark by mark (in C)."""
        depth, start = self.depth, 0
        while start < len(marks):
            room = MAX_DEPTH - depth
            if room >= _ROOMY:
                part = marks[start : start + room]
            else:
                part = marks[start : start + _NEAR_RUN]
                steps = part.translate(_STEPS)
                rises = map(operator.sub, accumulate(steps), range(1, len(steps) + 1))
                if depth + max(rises) > MAX_DEPTH:
                    raise TooDeep(self.pos)
            depth += 2 * (part.count(b"[") + part.count(b"{")) - len(part)
            start += len(part)
