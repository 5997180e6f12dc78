"""Loopback fake provider servers (anthropic, openai, gemini, ollama) with scripted faults."""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import itertools
import json
import logging
import re
import signal
import ssl
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..wirefiles import default_wire_dir
from .httpio import MAX_HEAD_BYTES, BadRequest, ClientGone, Connection, RawRequest, read_request
from .ports import BlackHole, closed_port, unroutable_port
from .responses import (
    Context,
    ErrorResponse,
    Garbage,
    Reset,
    Response,
    Stall,
    Stream,
    Synth,
    Text,
)
from .synth import (
    AUTH_ERROR,
    DEFAULT_MODELS,
    DEFAULT_STREAM_FILE,
    MIDSTREAM_ERROR_FILE,
    PROVIDER_TYPES,
    error_json,
    model_list,
)

# The response builders are re-exported so tests need only this module.
__all__ = ["BlackHole", "ErrorResponse", "FakeProvider", "Garbage", "RecordedRequest", "Reset",
           "Stall", "Stream", "Synth", "Text", "closed_port", "default_wire_dir",
           "unroutable_port"]

log = logging.getLogger(__name__)
_GEMINI_STREAM = re.compile(r"^/v1beta/models/([^/:]+):streamGenerateContent$")
_CHAT_ROUTE = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions",
               "ollama": "/api/chat"}
_MODELS_ROUTE = {"anthropic": "/v1/models", "openai": "/v1/models", "gemini": "/v1beta/models",
                 "ollama": "/api/tags"}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body_bytes: bytes
    json: Any


class FakeProvider:
    """One HTTP/1.1 server on 127.0.0.1 speaking one provider's protocol, on its own thread.

    Chat requests take the next scripted response (`script`), else `default_response`, else
    the type's stream_ok file. Model-list routes answer a JSON list; anything else is a 404.
    `more_keys` are accepted besides `api_key` (a pool); `script_key` queues responses for
    the requests sent with one key, which take them before the shared script.
    """

    def __init__(self, provider_type: str = "anthropic", wire_dir: str | Path | None = None, *,
                 api_key: str | None = None, require_auth: bool = True, port: int = 0,
                 host: str = "127.0.0.1", models: list[str] | None = None,
                 tls: ssl.SSLContext | None = None,
                 chat_paths: tuple[str, ...] | None = None,
                 model_info: dict[str, Any] | None = None,
                 more_keys: tuple[str, ...] = ()) -> None:
        if provider_type not in PROVIDER_TYPES:
            raise ValueError(f"provider type must be one of {', '.join(PROVIDER_TYPES)}")
        self.provider_type = provider_type
        self.wire_dir = Path(wire_dir) if wire_dir is not None else default_wire_dir()
        self.api_key = api_key if api_key is not None else f"test-key-{provider_type}"
        self.require_auth = require_auth and provider_type != "ollama"
        self.more_keys = more_keys
        self._key_scripts: dict[str, collections.deque[Response]] = {}
        self.host = host
        self.tls = tls  # a server context: serve https:// (for certificate tests)
        # The paths chat requests may use, when not the protocol's own: a service's own
        # routes (DeepSeek's /beta/chat/completions, OpenRouter's /api/v1/chat/completions).
        self.chat_paths = chat_paths
        self.models = list(models) if models is not None else list(DEFAULT_MODELS[provider_type])
        # What the server reports of a model, by model name: Ollama's POST /api/show, Gemini's
        # GET /v1beta/models/{model} (absent: those routes answer 404, as for an unknown one).
        self.model_info = model_info
        self.default_response: Response | None = None
        self._requested_port = port
        self._port: int | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._script: collections.deque[Response] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._disconnects = 0
        self._connections = 0
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._conn_tasks: set[asyncio.Task[None]] = set()
        self._context(True).resolve(DEFAULT_STREAM_FILE[provider_type])  # fail early

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeProvider:
        if self._thread is not None:
            return self
        started: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True,
                                        name=f"fake-{self.provider_type}")
        self._thread.start()
        try:
            self._port = started.result(timeout=10)
        except BaseException:
            self._thread = None
            raise
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the fake provider is not started; call start() or use `with`")
        return self._port

    @property
    def base_url(self) -> str:
        """As the official SDK spells it: openai's ends with /v1, the others are bare."""
        root = f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"
        return root + "/v1" if self.provider_type == "openai" else root

    # --- scripting and inspection ----------------------------------------------------------
    def script(self, *responses: Response) -> None:
        """Queue responses; each chat request takes the next one."""
        ctx = self._context(True)
        for response in responses:
            response.check(ctx)
        with self._lock:
            self._script.extend(responses)

    def script_key(self, key: str, *responses: Response) -> None:
        """Queue responses for the chat requests that send `key`."""
        ctx = self._context(True)
        for response in responses:
            response.check(ctx)
        with self._lock:
            self._key_scripts.setdefault(key, collections.deque()).extend(responses)

    def requests_with_key(self, key: str) -> int:
        """How many chat requests sent `key` (whatever they were answered)."""
        return sum(1 for r in self.requests
                   if self._route_kind(r.path) == "chat" and self.presented_key(r) == key)

    def presented_key(self, raw: RecordedRequest | RawRequest) -> str | None:
        """The key a request carries, where this protocol puts it."""
        headers = raw.headers
        if self.provider_type == "anthropic":
            return headers.get("x-api-key")
        if self.provider_type == "openai":
            auth = headers.get("authorization") or ""
            return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        return headers.get("x-goog-api-key") or raw.query.get("key")

    def clear(self) -> None:
        """Forget scripted responses, recorded requests and disconnects."""
        with self._lock:
            self._script.clear()
            self._key_scripts.clear()
            self._requests.clear()
            self._disconnects = 0
            self._connections = 0

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def disconnects(self) -> int:
        """Clients that closed the connection before their response was complete."""
        with self._lock:
            return self._disconnects

    @property
    def connections(self) -> int:
        """TCP connections accepted so far (keep-alive reuse shows as fewer than requests)."""
        with self._lock:
            return self._connections

    def wait_for_disconnect(self, timeout: float = 2.0, count: int = 1) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._disconnects >= count, timeout)

    def wait_for_requests(self, count: int = 1, timeout: float = 2.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self._requests) >= count, timeout)

    # --- serving (on the server thread) ----------------------------------------------------
    def _run(self, started: concurrent.futures.Future[int]) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(_quiet_exception_handler)
        try:
            self._server = loop.run_until_complete(asyncio.start_server(
                self._on_client, self.host, self._requested_port, limit=MAX_HEAD_BYTES,
                ssl=self.tls))
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            started.set_exception(exc)
            loop.close()
            return
        started.set_result(self._server.sockets[0].getsockname()[1])
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._conn_tasks):
            task.cancel()
        await asyncio.gather(*self._conn_tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        await asyncio.sleep(0.01)  # let aborted transports release their sockets

    def _context(self, keep_alive: bool) -> Context:
        n = next(self._ids)
        base = {"anthropic": {"request-id": f"req_fake{n:08d}"},
                "openai": {"x-request-id": f"req_fake{n:08d}"}}.get(self.provider_type, {})
        return Context(self.provider_type, self.wire_dir, base, keep_alive)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conn_tasks.add(task)
        with self._lock:
            self._connections += 1
        conn = Connection(writer)
        try:
            while True:
                try:
                    raw = await read_request(reader)
                except BadRequest as exc:
                    body = error_json(self.provider_type, 400, str(exc))
                    await conn.send_full(400, {"content-type": "application/json"}, body,
                                         keep_alive=False)
                    break
                if raw is None or not await self._answer(raw, reader, conn):
                    break
        except ClientGone:
            self._note_disconnect()
        except (ConnectionError, OSError, asyncio.CancelledError):
            writer.transport.abort()
        except Exception:
            log.exception("fake %s provider failed to answer", self.provider_type)
            writer.transport.abort()
        finally:
            self._conn_tasks.discard(task)
            if not writer.is_closing():
                writer.close()

    async def _answer(self, raw: RawRequest, reader: asyncio.StreamReader,
                      conn: Connection) -> bool:
        try:
            parsed = json.loads(raw.body) if raw.body else None
        except ValueError:
            parsed = None
        with self._changed:
            self._requests.append(RecordedRequest(raw.method, raw.path, raw.query,
                                                  dict(raw.headers), raw.body, parsed))
            self._changed.notify_all()
        ctx = self._context(raw.keep_alive)
        return await self._serve_watching(self._route(raw, ctx), ctx, conn, reader)

    def _route(self, raw: RawRequest, ctx: Context) -> Response:
        info = self._model_info(raw)
        if info is not None:
            return info
        kind = self._route_kind(raw.path)
        if kind is None:
            return ErrorResponse(404, error_json(self.provider_type, 404,
                                                 f"no route for {raw.method} {raw.path}"))
        wanted = "GET" if kind == "models" else "POST"
        if raw.method != wanted:
            return ErrorResponse(405, error_json(self.provider_type, 405,
                                                 f"use {wanted} for {raw.path}"))
        denied = self._auth_error(raw)
        if denied is not None:
            return denied
        if kind == "models":
            return ErrorResponse(200, model_list(self.provider_type, self.models))
        if self.provider_type == "gemini" and raw.query.get("alt") != "sse":
            return ErrorResponse(400, error_json(
                "gemini", 400, "the fake only streams with ?alt=sse (as chatdesk should ask)"))
        with self._lock:
            queued = self._key_scripts.get(self.presented_key(raw) or "")
            if queued:
                return queued.popleft()
            if self._script:
                return self._script.popleft()
        return self.default_response or Stream(DEFAULT_STREAM_FILE[self.provider_type])

    def _model_info(self, raw: RawRequest) -> Response | None:
        """The answer to a question about one model (see `model_info`), or None: not one."""
        if self.provider_type == "ollama" and raw.path == "/api/show" and raw.method == "POST":
            try:
                name = json.loads(raw.body).get("model")
            except (ValueError, AttributeError):
                name = None
        elif self.provider_type == "gemini" and raw.method == "GET" and \
                raw.path.startswith("/v1beta/models/") and ":" not in raw.path:
            name = raw.path.removeprefix("/v1beta/models/")
        else:
            return None
        found = (self.model_info or {}).get(name) if isinstance(name, str) else None
        if found is None:
            return ErrorResponse(404, error_json(self.provider_type, 404,
                                                 f"model {name!r} not found"))
        return ErrorResponse(200, found)

    def _route_kind(self, path: str) -> str | None:
        if path == _MODELS_ROUTE[self.provider_type]:
            return "models"
        if self.provider_type == "gemini":
            return "chat" if _GEMINI_STREAM.match(path) else None
        if self.chat_paths is not None:
            return "chat" if path in self.chat_paths else None
        return "chat" if path == _CHAT_ROUTE[self.provider_type] else None

    def _auth_error(self, raw: RawRequest) -> Response | None:
        if not self.require_auth:
            return None
        headers = raw.headers
        if self.provider_type == "gemini":
            ok = any(key in (headers.get("x-goog-api-key"), raw.query.get("key"))
                     for key in (self.api_key, *self.more_keys))
        else:
            ok = self.presented_key(raw) in (self.api_key, *self.more_keys)
        if not ok:
            status, file_name = AUTH_ERROR[self.provider_type]
            return ErrorResponse(status, file_name)
        if self.provider_type == "anthropic" and "anthropic-version" not in headers:
            return ErrorResponse(400, error_json("anthropic", 400,
                                                 "anthropic-version: header is required"))
        return None

    async def _serve_watching(self, response: Response, ctx: Context, conn: Connection,
                              reader: asyncio.StreamReader) -> bool:
        """Serve while watching the socket, so a client that hangs up is noticed even while
        the response is silent (stalls, delays)."""
        eof = asyncio.ensure_future(reader.read(1))
        serve = asyncio.ensure_future(response.respond(ctx, conn))
        try:
            done, _ = await asyncio.wait({eof, serve}, return_when=asyncio.FIRST_COMPLETED)
            if serve in done:
                return serve.result()
            if eof.exception() is not None or eof.result() == b"":
                self._note_disconnect()
                return False
            await serve  # the client pipelined a request: finish, then close
            return False
        finally:
            for task in (eof, serve):
                if not task.done():
                    task.cancel()
            await asyncio.gather(eof, serve, return_exceptions=True)

    def _note_disconnect(self) -> None:
        with self._changed:
            self._disconnects += 1
            self._changed.notify_all()


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if isinstance(context.get("exception"), ConnectionError | OSError):
        return  # clients vanishing mid-answer is what these fakes are for
    loop.default_exception_handler(context)


# --- command line ------------------------------------------------------------------------
def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.fakes.server",
                                description="Serve a fake provider on loopback until killed.")
    p.add_argument("--type", choices=PROVIDER_TYPES, default="anthropic")
    p.add_argument("--port", type=int, default=0, help="0 = any free port (default)")
    p.add_argument("--wire-dir", type=Path, default=None)
    p.add_argument("--api-key", default=None, help="default: test-key-TYPE")
    p.add_argument("--no-auth", action="store_true", help="accept any key")
    p.add_argument("--delay-s", type=float, default=0.0, help="pause between stream events")
    p.add_argument("--fail-first", type=int, action="append", default=[], metavar="STATUS",
                   help="answer the next chat request with this error (repeatable)")
    p.add_argument("--retry-after", default=None, help="retry-after header on --fail-* errors")
    p.add_argument("--stall-first", type=float, default=None, metavar="S",
                   help="then stay silent S seconds on one request (no headers)")
    p.add_argument("--midstream-error", action="store_true",
                   help="then fail one stream part-way with the type's error event")
    p.add_argument("--fail-all", type=int, default=None, metavar="STATUS",
                   help="answer every unscripted chat request with this error")
    return p.parse_args(argv)


def _error(status: int, retry_after: str | None) -> ErrorResponse:
    return ErrorResponse(status, None, {"retry-after": retry_after} if retry_after else {})


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    fake = FakeProvider(args.type, args.wire_dir, api_key=args.api_key,
                        require_auth=not args.no_auth, port=args.port)
    script: list[Response] = [_error(s, args.retry_after) for s in args.fail_first]
    if args.stall_first is not None:
        script.append(Stall(args.stall_first))
    if args.midstream_error:
        if args.type in MIDSTREAM_ERROR_FILE:
            script.append(Stream(MIDSTREAM_ERROR_FILE[args.type], delay_s=args.delay_s))
        else:
            script.append(Synth(["The tides are", " caused by"], delay_s=args.delay_s,
                                error="The model is overloaded. Please try again later."))
    fake.script(*script)
    if args.fail_all is not None:
        fake.default_response = _error(args.fail_all, args.retry_after)
    elif args.delay_s:
        fake.default_response = Stream(DEFAULT_STREAM_FILE[args.type], delay_s=args.delay_s)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with fake:
        print(fake.base_url, flush=True)
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

