"""Raw HTTP/1.1 over asyncio streams for the fake providers: parse requests, write every byte."""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_HEAD_BYTES = 64 * 1024


class BadRequest(Exception):
    """The bytes on the socket are not an HTTP/1.1 request we can answer."""


class ClientGone(Exception):
    """The client closed or reset the connection while we were answering."""


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


async def read_request(reader: asyncio.StreamReader) -> RawRequest | None:
    """Read one request; None when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadRequest("connection closed inside the request head") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("request head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError as exc:
        raise BadRequest(f"bad request line {lines[0]!r}") from exc
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {line!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    body = await _read_body(reader, headers)
    split = urlsplit(target)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    return RawRequest(method.upper(), target, unquote(split.path), query, headers, body)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers (rare) end with an empty line.
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    return b"".join(parts)
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
        length = int(headers.get("content-length", "0") or "0")
        return await reader.readexactly(length) if length else b""
    except (asyncio.IncompleteReadError, ValueError) as exc:
        raise BadRequest("incomplete or malformed request body") from exc


def _head(status: int, headers: dict[str, str]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = {529: "Overloaded"}.get(status, "Unknown")
    lines = [f"HTTP/1.1 {status} {reason}"]
    merged = {"date": formatdate(usegmt=True), "server": "chatdesk-fake"}
    merged.update({k.lower(): v for k, v in headers.items()})
    lines += [f"{k}: {v}" for k, v in merged.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Connection:
    """The writing side of one accepted socket, with the faults a real network can show."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def _write(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise ClientGone()
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ClientGone() from exc

    async def send_full(
        self, status: int, headers: dict[str, str], body: bytes, *, keep_alive: bool = True
    ) -> None:
        """A whole response with Content-Length."""
        all_headers = {**headers, "content-length": str(len(body))}
        if not keep_alive:
            all_headers["connection"] = "close"
        await self._write(_head(status, all_headers) + body)

    async def start_chunked(self, status: int, headers: dict[str, str]) -> None:
        await self._write(_head(status, {**headers, "transfer-encoding": "chunked"}))

    async def write_chunk(self, data: bytes) -> None:
        """One HTTP chunk = one socket write; a client sees each one as a separate piece."""
        if data:
            await self._write(b"%x\r\n" % len(data) + data + b"\r\n")

    async def end_chunked(self) -> None:
        await self._write(b"0\r\n\r\n")

    async def close(self) -> None:
        """Close cleanly (FIN) after flushing what was written."""
        try:
            self.writer.close()
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    def reset(self) -> None:
        """Abort with a TCP RST instead of a FIN (SO_LINGER 0, then close)."""
        sock = self.writer.transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.writer.transport.abort()
