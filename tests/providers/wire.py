"""Test helpers: the wire examples of tests/wire, served byte for byte by httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from chatdesk.providers import errors
from chatdesk.providers.base import (
    ChatRequest,
    Endpoint,
    Finished,
    ProviderEvent,
    TextDelta,
    Timeouts,
    Usage,
)
from tests.wirefiles import default_wire_dir


def wire_dir() -> Path:
    """`CHATDESK_WIRE_DIR`, else the repository's copy in `tests/wire`."""
    path = default_wire_dir()
    if not path.is_dir():
        raise FileNotFoundError(
            f"wire examples not found at {path}: set CHATDESK_WIRE_DIR to a folder holding "
            "anthropic/, openai/, gemini/, ollama/ (or unset it to use tests/wire)"
        )
    return path


def wire_bytes(protocol: str, name: str) -> bytes:
    return (wire_dir() / protocol / name).read_bytes()


def wire_json(protocol: str, name: str) -> Any:
    return json.loads(wire_bytes(protocol, name))


def error_files(protocol: str) -> list[str]:
    return sorted(p.name for p in (wire_dir() / protocol).glob("error_*.json"))


def status_of(filename: str) -> int:
    match = re.match(r"error_(\d{3})_", filename)
    assert match, filename
    return int(match.group(1))


class ChunkedStream(httpx.AsyncByteStream):
    """A response body sent as the given chunks, each after an optional delay."""

    def __init__(self, chunks: Iterable[tuple[float, bytes]]) -> None:
        self.chunks = list(chunks)
        self.closed = False
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for delay, chunk in self.chunks:
            if delay:
                await asyncio.sleep(delay)
            self.sent += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def split(data: bytes, size: int | None) -> list[tuple[float, bytes]]:
    if not size:
        return [(0.0, data)]
    return [(0.0, data[i:i + size]) for i in range(0, len(data), size)]


@dataclass
class Server:
    """A MockTransport that answers every request with one prepared response."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)
    chunk_size: int | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    streams: list[ChunkedStream] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        stream = ChunkedStream(split(self.body, self.chunk_size))
        self.streams.append(stream)
        headers = {"content-type": self.content_type, **self.headers}
        return httpx.Response(self.status, headers=headers, stream=stream)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    @property
    def last_json(self) -> Any:
        return json.loads(self.requests[-1].content)


@dataclass
class Outcome:
    events: list[ProviderEvent]
    error: errors.ProviderError | None

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def usage(self) -> Usage | None:
        usages = [e for e in self.events if isinstance(e, Usage)]
        return usages[-1] if usages else None

    @property
    def finished(self) -> Finished | None:
        done = [e for e in self.events if isinstance(e, Finished)]
        assert len(done) <= 1, "more than one Finished event"
        return done[0] if done else None


ProviderFactory = Callable[[Endpoint, httpx.AsyncClient, Timeouts], Any]


async def run(
    factory: ProviderFactory,
    server: Server,
    request: ChatRequest,
    key: str | None = "test-key",
    base_url: str = "https://provider.test",
) -> Outcome:
    """Stream `request` from a provider built by `factory` against `server`."""
    events: list[ProviderEvent] = []
    async with server.client() as client:
        provider = factory(Endpoint("prov", base_url, key), client, Timeouts(1, 5, 5))
        try:
            async for event in provider.stream(request):
                events.append(event)
        except errors.ProviderError as exc:
            return Outcome(events, exc)
    return Outcome(events, None)


async def check_every_cut(
    factory: ProviderFactory,
    body: bytes,
    request: ChatRequest,
    full_text: str,
    complete_from: int,
    content_type: str = "text/event-stream",
    step: int = 1,
) -> None:
    """Cut `body` at every offset: before `complete_from` the stream must be reported as
    truncated (never malformed, never a success), from there on it must succeed whole."""
    for cut in [*range(0, len(body), step), complete_from - 1, complete_from, len(body)]:
        if cut < 0 or cut > len(body):
            continue
        server = Server(body=body[:cut], content_type=content_type)
        outcome = await run(factory, server, request)
        if cut < complete_from:
            assert isinstance(outcome.error, errors.TruncatedStream), (cut, outcome)
            assert outcome.finished is None
            assert full_text.startswith(outcome.text)
        else:
            assert outcome.error is None, (cut, outcome)
            assert outcome.finished is not None
            assert outcome.text == full_text
