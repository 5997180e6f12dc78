"""Scripted responses of the fake providers: replayed streams, errors, garbage, stalls, resets."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .httpio import Connection
from .synth import NDJSON_CONTENT_TYPE, error_json, stream_content_type, synth_stream

# After the last bytes before a reset, give the client a moment to read them: on loopback
# an RST can make the kernel drop data the client has not read yet.
RESET_GRACE_S = 0.05
_SSE_EVENT_END = re.compile(rb"(?<=\r\n\r\n)|(?<=\n\n)|(?<=\r\r)")
_LINE_END = re.compile(rb"(?<=\n)")


@dataclass(frozen=True)
class Context:
    """What a response needs to know about the fake serving it."""

    provider_type: str
    wire_dir: Path
    base_headers: dict[str, str]
    keep_alive: bool = True

    def resolve(self, source: str | Path) -> Path:
        """A bare name is looked up in the type's wire folder, then in the wire dir itself."""
        path = Path(source)
        if path.is_absolute():
            candidates = [path]
        else:
            candidates = [self.wire_dir / self.provider_type / path, self.wire_dir / path]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(
            f"no wire file {str(source)!r} under {self.wire_dir / self.provider_type}; "
            "set CHATDESK_WIRE_DIR to the folder holding anthropic/, openai/, gemini/, ollama/"
        )


class Response(Protocol):
    def check(self, ctx: Context) -> None:
        """Raise now (in the test's thread) if this response cannot be served."""

    async def respond(self, ctx: Context, conn: Connection) -> bool:
        """Answer one request; True if the connection may serve another request."""
        ...


@dataclass(kw_only=True)
class _Streamed:
    """A 200 (or `status`) chunked body with optional faults. Byte offsets count body bytes.

    chunk_sizes: None = one write per SSE event / NDJSON line as in the source; an int =
    fixed-size writes (1 splits every UTF-8 character); a sequence = those sizes, cycled.
    stall_after_bytes: after that many bytes go silent for stall_s, then go on (0 = right
    after the headers). cut_after_bytes: close cleanly there without the final zero-length
    chunk. reset_after_bytes: abort with a TCP RST there.
    """

    chunk_sizes: int | Sequence[int] | None = None
    delay_s: float = 0.0
    stall_after_bytes: int | None = None
    stall_s: float = 0.0
    cut_after_bytes: int | None = None
    reset_after_bytes: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    content_type: str | None = None

    def body(self, ctx: Context) -> tuple[bytes, str]:
        """The body bytes and their content type."""
        raise NotImplementedError

    def check(self, ctx: Context) -> None:
        self.body(ctx)

    def writes(self, data: bytes, content_type: str) -> list[bytes]:
        """The writes, split further at every fault offset so each fault lands exactly."""
        if self.chunk_sizes is None:
            pattern = _LINE_END if content_type.startswith(NDJSON_CONTENT_TYPE) else _SSE_EVENT_END
            chunks = [c for c in pattern.split(data) if c]
        else:
            chunks = list(_fixed_chunks(data, self.chunk_sizes))
        cuts = {o for o in (self.stall_after_bytes, self.cut_after_bytes,
                            self.reset_after_bytes) if o is not None and 0 < o < len(data)}
        out: list[bytes] = []
        offset = 0
        for chunk in chunks:
            start = 0
            for cut in sorted(c - offset for c in cuts if offset < c < offset + len(chunk)):
                out.append(chunk[start:cut])
                start = cut
            out.append(chunk[start:])
            offset += len(chunk)
        return out

    async def respond(self, ctx: Context, conn: Connection) -> bool:
        data, content_type = self.body(ctx)
        headers = {**ctx.base_headers, "content-type": content_type,
                   "cache-control": "no-cache", **self.headers}
        await conn.start_chunked(self.status, headers)
        sent = 0
        for index, piece in enumerate(self.writes(data, content_type)):
            if await self._fault_at(sent, conn):
                return False
            if index and self.delay_s:
                await asyncio.sleep(self.delay_s)
            await conn.write_chunk(piece)
            sent += len(piece)
        if await self._fault_at(sent, conn, end=True):
            return False
        await conn.end_chunked()
        return ctx.keep_alive

    async def _fault_at(self, sent: int, conn: Connection, end: bool = False) -> bool:
        """Apply the faults due at this offset; True if the connection is gone."""
        def due(offset: int | None) -> bool:
            return offset is not None and (offset == sent or (end and offset >= sent))

        if due(self.stall_after_bytes) and self.stall_s:
            await asyncio.sleep(self.stall_s)
        if due(self.cut_after_bytes):
            await conn.close()
            return True
        if due(self.reset_after_bytes):
            await asyncio.sleep(RESET_GRACE_S)
            conn.reset()
            return True
        return False


def _fixed_chunks(data: bytes, sizes: int | Sequence[int]) -> Iterator[bytes]:
    size_iter = itertools.repeat(sizes) if isinstance(sizes, int) else itertools.cycle(sizes)
    offset = 0
    for size in size_iter:
        if offset >= len(data):
            return
        if size < 1:
            raise ValueError("chunk sizes must be at least 1 byte")
        yield data[offset:offset + size]
        offset += size


@dataclass
class Stream(_Streamed):
    """Replay a wire file (a bare name is looked up in the type's folder) or bytes, verbatim."""

    source: bytes | str | Path

    def body(self, ctx: Context) -> tuple[bytes, str]:
        if isinstance(self.source, bytes):
            return self.source, self.content_type or stream_content_type(ctx.provider_type)
        path = ctx.resolve(self.source)
        content_type = self.content_type or stream_content_type(ctx.provider_type, path.name)
        return path.read_bytes(), content_type


@dataclass
class Synth(_Streamed):
    """A valid stream in the fake's own format whose text deltas are exactly `pieces`.

    finish=False omits the terminal event (and what only precedes it); pings=True adds
    `event: ping` (anthropic) or `: keep-alive` comments (openai); error="msg" ends with the
    type's mid-stream error event instead of finishing.
    """

    pieces: Sequence[str]
    _: KW_ONLY
    finish: bool = True
    pings: bool = False
    error: str | None = None
    model: str | None = None

    def body(self, ctx: Context) -> tuple[bytes, str]:
        data = synth_stream(ctx.provider_type, self.pieces, finish=self.finish,
                            pings=self.pings, error=self.error, model=self.model)
        return data, self.content_type or stream_content_type(ctx.provider_type)


Text = Synth


@dataclass
class Garbage(_Streamed):
    """A 200 with the right content type whose body is nonsense (default: a malformed event)."""

    data: bytes | None = None

    def body(self, ctx: Context) -> tuple[bytes, str]:
        content_type = self.content_type or stream_content_type(ctx.provider_type)
        if self.data is not None:
            return self.data, content_type
        if content_type.startswith(NDJSON_CONTENT_TYPE):
            return b'{"model": "llama3.2", "message": {"content": "Hel\n\x00\xff not json\n', \
                content_type
        return b'data: {"choices": [{"delta": {"content": "Hel\n\n\x00\xff not json\n\n', \
            content_type


@dataclass
class ErrorResponse:
    """A whole JSON response: `body` is a wire file name, bytes, a JSON-able object, or None
    (the type's `error_{status}_*.json` if there is one, else a generic error body)."""

    status: int
    body: bytes | str | Path | dict[str, Any] | list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self, ctx: Context) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode("utf-8")
        if self.body is None:
            matches = sorted((ctx.wire_dir / ctx.provider_type).glob(f"error_{self.status}_*.json"))
            if matches:
                return matches[0].read_bytes()
            return error_json(ctx.provider_type, self.status, f"fake error {self.status}")
        return ctx.resolve(self.body).read_bytes()

    def check(self, ctx: Context) -> None:
        self.payload(ctx)

    async def respond(self, ctx: Context, conn: Connection) -> bool:
        headers = {**ctx.base_headers, "content-type": "application/json", **self.headers}
        await conn.send_full(self.status, headers, self.payload(ctx), keep_alive=ctx.keep_alive)
        return ctx.keep_alive


@dataclass
class Stall:
    """Read the request, then send nothing at all (not even headers) for `seconds`, then close."""

    seconds: float

    def check(self, ctx: Context) -> None:
        pass

    async def respond(self, ctx: Context, conn: Connection) -> bool:
        await asyncio.sleep(self.seconds)
        await conn.close()
        return False


@dataclass
class Reset:
    """Read the request, then abort the connection with a TCP RST before any response byte."""

    def check(self, ctx: Context) -> None:
        pass

    async def respond(self, ctx: Context, conn: Connection) -> bool:
        conn.reset()
        return False
