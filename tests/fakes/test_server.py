"""Tests of the loopback fake providers themselves, with plain httpx as the client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes import fixtures
from tests.fakes.server import (
    BlackHole,
    ErrorResponse,
    FakeProvider,
    Garbage,
    Reset,
    Stall,
    Stream,
    Synth,
    closed_port,
    default_wire_dir,
)

# The shared fixtures, registered here without a conftest (tests/conftest.py is not ours).
fake_provider = fixtures.fake_provider
fake_anthropic = fixtures.fake_anthropic
fake_openai = fixtures.fake_openai
fake_ollama = fixtures.fake_ollama

WIRE = default_wire_dir()
TYPES = ["anthropic", "openai", "gemini", "ollama"]
OK_FILE = {"anthropic": "stream_ok.sse", "openai": "stream_ok.sse", "gemini": "stream_ok.sse",
           "ollama": "chat_stream_ok.ndjson"}
CHAT_PATH = {"anthropic": "/v1/messages", "openai": "/chat/completions",
             "gemini": "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
             "ollama": "/api/chat"}
MODELS_PATH = {"anthropic": "/v1/models", "openai": "/models", "gemini": "/v1beta/models",
               "ollama": "/api/tags"}
BODY = {"model": "m", "messages": [{"role": "user", "content": "Hi ✓"}], "stream": True}
REPO_ROOT = Path(__file__).resolve().parents[2]


def auth(fake: FakeProvider) -> dict[str, str]:
    return {"anthropic": {"x-api-key": fake.api_key, "anthropic-version": "2023-06-01"},
            "openai": {"authorization": f"Bearer {fake.api_key}"},
            "gemini": {"x-goog-api-key": fake.api_key},
            "ollama": {}}[fake.provider_type]


def post(fake: FakeProvider, **kwargs: object) -> tuple[httpx.Response, list[bytes]]:
    """POST to the chat route; return the response and the raw pieces as they arrived."""
    headers = {**auth(fake), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    timeout = kwargs.pop("timeout", 5.0)
    with httpx.Client(base_url=fake.base_url, timeout=timeout) as client:  # type: ignore[arg-type]
        with client.stream("POST", CHAT_PATH[fake.provider_type], json=BODY,
                           headers=headers) as resp:
            pieces = list(resp.iter_raw())
    return resp, pieces


@pytest.fixture(params=TYPES)
def fake(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    with FakeProvider(request.param) as server:
        yield server


# --- replay ------------------------------------------------------------------------------
def test_ok_stream_arrives_byte_identical_one_write_per_event(fake: FakeProvider) -> None:
    expected = (WIRE / fake.provider_type / OK_FILE[fake.provider_type]).read_bytes()
    resp, pieces = post(fake)
    assert resp.status_code == 200
    assert resp.headers["transfer-encoding"] == "chunked"
    media = "application/x-ndjson" if fake.provider_type == "ollama" else "text/event-stream"
    assert resp.headers["content-type"].split(";")[0] == media
    assert b"".join(pieces) == expected
    separator = b"\n" if fake.provider_type == "ollama" else b"\n\n"
    events = expected.replace(b"\r\n", b"\n").count(separator)
    assert len(pieces) == events and all(p.replace(b"\r\n", b"\n").endswith(separator)
                                         for p in pieces)


def test_openai_base_url_ends_with_v1_others_are_bare() -> None:
    with FakeProvider("openai") as oa, FakeProvider("anthropic") as an:
        assert oa.base_url == f"http://127.0.0.1:{oa.port}/v1"
        assert an.base_url == f"http://127.0.0.1:{an.port}"
        assert oa.port != an.port


def test_one_byte_chunks_split_utf8_characters_but_keep_the_bytes(fake: FakeProvider) -> None:
    fake.script(Stream(OK_FILE[fake.provider_type], chunk_sizes=1),
                Synth(["Hel", "lo ✓"], chunk_sizes=1))
    expected = (WIRE / fake.provider_type / OK_FILE[fake.provider_type]).read_bytes()
    _, pieces = post(fake)
    assert b"".join(pieces) == expected
    assert len(pieces) == len(expected)
    _, pieces = post(fake)
    check = "✓".encode()
    at = b"".join(pieces).index(check)
    assert [len(p) for p in pieces[at:at + 3]] == [1, 1, 1]
    with pytest.raises(UnicodeDecodeError):
        pieces[at].decode("utf-8")


def test_chunk_size_sequence_is_cycled(fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Stream("stream_ok.sse", chunk_sizes=[3, 5]))
    _, pieces = post(fake_anthropic)
    assert [len(p) for p in pieces[:4]] == [3, 5, 3, 5]
    assert b"".join(pieces) == (WIRE / "anthropic" / "stream_ok.sse").read_bytes()


def test_script_is_consumed_in_order_then_default(fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(ErrorResponse(500), Synth(["one"]))
    assert fake_anthropic.pending == 2
    assert post(fake_anthropic)[0].status_code == 500
    assert b"one" in b"".join(post(fake_anthropic)[1])
    assert b"How can I help" in b"".join(post(fake_anthropic)[1])
    fake_anthropic.default_response = ErrorResponse(503)
    assert post(fake_anthropic)[0].status_code == 503


def test_unknown_wire_file_fails_when_scripted(fake_anthropic: FakeProvider) -> None:
    with pytest.raises(FileNotFoundError, match="CHATDESK_WIRE_DIR"):
        fake_anthropic.script(Stream("no_such_file.sse"))


def test_wire_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    (tmp_path / "ollama").mkdir()
    (tmp_path / "ollama" / "chat_stream_ok.ndjson").write_bytes(b'{"done":true}\n')
    monkeypatch.setenv("CHATDESK_WIRE_DIR", str(tmp_path))
    with FakeProvider("ollama") as fake:
        assert fake.wire_dir == tmp_path
        assert b"".join(post(fake)[1]) == b'{"done":true}\n'


# --- errors and auth ---------------------------------------------------------------------
def test_error_response_status_body_and_headers(fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(ErrorResponse(529, "error_529_overloaded.json", {"retry-after": "7"}),
                          ErrorResponse(429, {"error": "custom"}))
    resp, pieces = post(fake_anthropic)
    assert resp.status_code == 529
    assert resp.headers["retry-after"] == "7"
    assert resp.headers["request-id"].startswith("req_")
    assert b"".join(pieces) == (WIRE / "anthropic" / "error_529_overloaded.json").read_bytes()
    resp, pieces = post(fake_anthropic)
    assert resp.status_code == 429 and json.loads(b"".join(pieces)) == {"error": "custom"}


def test_error_response_without_body_uses_the_wire_file_for_that_status() -> None:
    with FakeProvider("gemini") as fake:
        fake.script(ErrorResponse(503))
        resp, pieces = post(fake)
    assert resp.status_code == 503
    assert b"".join(pieces) == (WIRE / "gemini" / "error_503_unavailable.json").read_bytes()


@pytest.mark.parametrize(("provider_type", "status", "file_name"), [
    ("anthropic", 401, "error_401_authentication.json"),
    ("openai", 401, "error_401_invalid_key.json"),
    ("gemini", 400, "error_400_invalid_key.json"),
])
def test_missing_or_wrong_key_gets_the_real_rejection(provider_type: str, status: int,
                                                      file_name: str) -> None:
    expected = (WIRE / provider_type / file_name).read_bytes()
    with FakeProvider(provider_type) as fake:
        fake.script(Synth(["scripted"]))
        good = auth(fake)
        wrong = {k: ("Bearer nope" if k == "authorization" else "nope") if k != "anthropic-version"
                 else v for k, v in good.items()}
        with httpx.Client(base_url=fake.base_url) as client:
            for headers in ({k: v for k, v in good.items() if k == "anthropic-version"}, wrong):
                resp = client.post(CHAT_PATH[provider_type], json=BODY, headers=headers)
                assert (resp.status_code, resp.content) == (status, expected)
            models = client.get(MODELS_PATH[provider_type])
            assert (models.status_code, models.content) == (status, expected)
        assert fake.pending == 1  # a rejected request does not eat the script
        assert b"scripted" in b"".join(post(fake)[1])


def test_anthropic_requires_the_version_header(fake_anthropic: FakeProvider) -> None:
    resp, pieces = post(fake_anthropic, headers={"anthropic-version": ""})
    assert resp.status_code == 200  # present, even if empty
    with httpx.Client(base_url=fake_anthropic.base_url) as client:
        resp = client.post("/v1/messages", json=BODY, headers={"x-api-key": "test-key-anthropic"})
    assert resp.status_code == 400 and "anthropic-version" in resp.json()["error"]["message"]


def test_require_auth_false_and_ollama_accept_anything() -> None:
    with FakeProvider("openai", require_auth=False) as oa, FakeProvider("ollama") as ol:
        for fake in (oa, ol):
            with httpx.Client(base_url=fake.base_url) as client:
                assert client.post(CHAT_PATH[fake.provider_type], json=BODY).status_code == 200


def test_model_lists_unknown_routes_and_wrong_methods(fake: FakeProvider) -> None:
    models_path = MODELS_PATH[fake.provider_type]
    with httpx.Client(base_url=fake.base_url, headers=auth(fake)) as client:
        listing = client.get(models_path)
        missing = client.post("/nowhere", json={})
        wrong_method = client.get(CHAT_PATH[fake.provider_type])
    assert listing.status_code == 200
    ids = json.dumps(listing.json())
    assert all(m in ids for m in fake.models)
    assert missing.status_code == 404 and "/nowhere" in json.dumps(missing.json())
    assert wrong_method.status_code == 405
    assert [r.method for r in fake.requests] == ["GET", "POST", "GET"]


def test_gemini_insists_on_alt_sse() -> None:
    with FakeProvider("gemini") as fake, httpx.Client(base_url=fake.base_url) as client:
        resp = client.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent", json=BODY,
                           headers=auth(fake))
        assert resp.status_code == 400 and "alt=sse" in resp.text
        resp = client.post(CHAT_PATH["gemini"] + f"&key={fake.api_key}", json=BODY)
        assert resp.status_code == 200  # ?key= works like the header


# --- recording and connections -----------------------------------------------------------
def test_requests_are_recorded_with_headers_query_and_json() -> None:
    with FakeProvider("gemini") as fake:
        post(fake, headers={"X-Custom-Thing": "Yes"})
        [req] = fake.requests
    assert req.method == "POST"
    assert req.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert req.query == {"alt": "sse"}
    assert req.headers["x-custom-thing"] == "Yes"
    assert req.headers["x-goog-api-key"] == "test-key-gemini"
    assert req.headers["content-length"] == str(len(req.body_bytes))
    assert req.json == BODY and json.loads(req.body_bytes) == BODY


def test_keep_alive_serves_several_requests_on_one_connection(fake: FakeProvider) -> None:
    with httpx.Client(base_url=fake.base_url, headers=auth(fake)) as client:
        for _ in range(3):
            assert client.post(CHAT_PATH[fake.provider_type], json=BODY).status_code == 200
    assert fake.connections == 1 and len(fake.requests) == 3 and fake.disconnects == 0


# --- faults ------------------------------------------------------------------------------
def test_stall_sends_nothing_then_closes(fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Stall(0.3), Stall(0.3))
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        post(fake_anthropic)
    assert 0.25 < time.monotonic() - started < 2
    with pytest.raises(httpx.ReadTimeout):
        post(fake_anthropic, timeout=httpx.Timeout(5.0, read=0.1))


def test_stall_mid_stream_goes_silent_then_continues(fake_openai: FakeProvider) -> None:
    fake_openai.script(Stream("stream_ok.sse", stall_after_bytes=100, stall_s=0.3))
    times: list[tuple[float, bytes]] = []
    with httpx.Client(base_url=fake_openai.base_url, headers=auth(fake_openai)) as client:
        with client.stream("POST", "/chat/completions", json=BODY) as resp:
            times += [(time.monotonic(), p) for p in resp.iter_raw()]
    assert b"".join(p for _, p in times) == (WIRE / "openai" / "stream_ok.sse").read_bytes()
    assert len(times[0][1]) == 100
    gaps = [b[0] - a[0] for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] > 0.25 and max(gaps[1:]) < 0.2


def test_delay_between_writes(fake_ollama: FakeProvider) -> None:
    fake_ollama.script(Synth(["a", "b", "c"], delay_s=0.05))
    started = time.monotonic()
    _, pieces = post(fake_ollama)
    assert len(pieces) == 4 and time.monotonic() - started >= 0.15


def test_cut_gives_an_incomplete_chunked_read(fake: FakeProvider) -> None:
    expected = (WIRE / fake.provider_type / OK_FILE[fake.provider_type]).read_bytes()
    fake.script(Stream(OK_FILE[fake.provider_type], cut_after_bytes=150),
                Stream(OK_FILE[fake.provider_type], cut_after_bytes=len(expected)))
    for _ in range(2):
        received = bytearray()
        with httpx.Client(base_url=fake.base_url, headers=auth(fake)) as client:
            with client.stream("POST", CHAT_PATH[fake.provider_type], json=BODY) as resp:
                with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked"):
                    for piece in resp.iter_raw():
                        received += piece
        assert expected.startswith(received) and len(received) in (150, len(expected))


def test_reset_mid_stream_and_before_any_response(fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Stream("stream_ok.sse", reset_after_bytes=200), Reset())
    received = bytearray()
    with httpx.Client(base_url=fake_anthropic.base_url, headers=auth(fake_anthropic)) as client:
        with client.stream("POST", "/v1/messages", json=BODY) as resp:
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
                for piece in resp.iter_raw():
                    received += piece
    assert bytes(received) == (WIRE / "anthropic" / "stream_ok.sse").read_bytes()[:200]
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        post(fake_anthropic)


def test_garbage_is_a_200_with_a_malformed_body(fake: FakeProvider) -> None:
    fake.script(Garbage(), Garbage(b"data: nonsense\n\n"))
    resp, pieces = post(fake)
    assert resp.status_code == 200
    body = b"".join(pieces)
    first = body.split(b"\n")[0].removeprefix(b"data: ")
    with pytest.raises(ValueError):
        json.loads(first)
    assert b"".join(post(fake)[1]) == b"data: nonsense\n\n"


def test_closed_port_refuses() -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{closed_port()}/", timeout=2)


def test_black_hole_gives_a_connect_timeout() -> None:
    with BlackHole() as hole:
        started = time.monotonic()
        with pytest.raises(httpx.ConnectTimeout):
            httpx.get(hole.base_url + "/", timeout=httpx.Timeout(5.0, connect=0.3))
        assert time.monotonic() - started < 2


# --- disconnects -------------------------------------------------------------------------
async def test_client_closing_mid_stream_is_counted(fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth(["a"] * 50, delay_s=0.1))
    async with httpx.AsyncClient(base_url=fake_anthropic.base_url,
                                 headers=auth(fake_anthropic)) as client:
        async with client.stream("POST", "/v1/messages", json=BODY) as resp:
            async for _ in resp.aiter_raw():
                break
    assert await asyncio.to_thread(fake_anthropic.wait_for_disconnect, 2.0)
    assert fake_anthropic.disconnects == 1


async def test_cancelled_task_during_a_stall_is_counted(fake_openai: FakeProvider) -> None:
    fake_openai.script(Stall(5.0))

    async def ask() -> None:
        async with httpx.AsyncClient(base_url=fake_openai.base_url, headers=auth(fake_openai),
                                     timeout=10) as client:
            await client.post("/chat/completions", json=BODY)

    task = asyncio.create_task(ask())
    assert await asyncio.to_thread(fake_openai.wait_for_requests, 1, 2.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    started = time.monotonic()
    assert await asyncio.to_thread(fake_openai.wait_for_disconnect, 2.0)
    assert time.monotonic() - started < 1  # noticed at once, not when the stall ends


def test_complete_streams_are_not_disconnects(fake: FakeProvider) -> None:
    post(fake)
    post(fake)
    assert not fake.wait_for_disconnect(0.1) and fake.disconnects == 0


# --- synthesized streams -----------------------------------------------------------------
def parse(provider_type: str, body: bytes) -> list[dict | str]:
    """Split a stream into its events, the way a client would: SSE data (or event name for
    anthropic pings) / NDJSON lines. Comments are kept as ':' markers."""
    if provider_type == "ollama":
        return [json.loads(line) for line in body.decode().splitlines()]
    events: list[dict | str] = []
    for block in body.decode().replace("\r\n", "\n").split("\n\n"):
        if not block:
            continue
        data = [ln[6:] for ln in block.split("\n") if ln.startswith("data: ")]
        if block.startswith(":"):
            events.append(":")
        else:
            events.append("[DONE]" if data == ["[DONE]"] else json.loads("".join(data)))
    return events


def texts(provider_type: str, events: list[dict | str]) -> str:
    out = []
    for e in events:
        if not isinstance(e, dict):
            continue
        if provider_type == "anthropic" and e["type"] == "content_block_delta":
            out.append(e["delta"]["text"])
        elif provider_type == "openai" and "choices" in e:
            out.append(e["choices"][0]["delta"].get("content") or "")
        elif provider_type == "gemini" and "candidates" in e:
            out.append(e["candidates"][0]["content"]["parts"][0]["text"])
        elif provider_type == "ollama" and "message" in e:
            out.append(e["message"]["content"])
    return "".join(out)


def terminal(provider_type: str, events: list[dict | str]) -> bool:
    last = events[-1]
    return {"anthropic": lambda: last == {"type": "message_stop"},
            "openai": lambda: last == "[DONE]",
            "gemini": lambda: last["candidates"][0].get("finishReason") == "STOP",
            "ollama": lambda: last["done"] is True}[provider_type]()


@pytest.mark.parametrize("finish", [True, False])
def test_synth_makes_parseable_streams(fake: FakeProvider, finish: bool) -> None:
    kind = fake.provider_type
    fake.script(Synth(["Hel", "lo ✓"], finish=finish, pings=True), Synth([], finish=finish))
    events = parse(kind, b"".join(post(fake)[1]))
    assert texts(kind, events) == "Hello ✓"
    assert terminal(kind, events) is finish
    pings = sum(1 for e in events if e == ":" or (isinstance(e, dict) and e.get("type") == "ping"))
    assert pings == {"anthropic": 3, "openai": 3}.get(kind, 0)
    empty = b"".join(post(fake)[1])
    if finish:
        assert terminal(kind, parse(kind, empty))
    assert texts(kind, parse(kind, empty)) == ""


def test_synth_error_event_ends_the_stream(fake: FakeProvider) -> None:
    fake.script(Synth(["part"], error="Overloaded now"))
    events = parse(fake.provider_type, b"".join(post(fake)[1]))
    assert texts(fake.provider_type, events) == "part"
    assert "Overloaded now" in json.dumps(events[-1])
    assert "STOP" not in json.dumps(events) and "[DONE]" not in events
    assert not any(isinstance(e, dict) and e.get("done") for e in events)


# --- fixtures and command line -----------------------------------------------------------
def test_factory_fixture_starts_fakes(fake_provider) -> None:  # type: ignore[no-untyped-def]
    first = fake_provider("ollama")
    second = fake_provider("openai", api_key="sk-other")
    assert first.port != second.port and second.api_key == "sk-other"
    assert post(first)[0].status_code == 200


def test_command_line_serves_scripted_faults() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.server", "--type", "openai", "--port", "0",
         "--fail-first", "529", "--retry-after", "7", "--midstream-error"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with httpx.Client(base_url=base_url,
                          headers={"authorization": "Bearer test-key-openai"}) as client:
            first = client.post("/chat/completions", json=BODY)
            second = client.post("/chat/completions", json=BODY)
            third = client.post("/chat/completions", json=BODY)
        assert first.status_code == 529 and first.headers["retry-after"] == "7"
        assert second.content == (WIRE / "openai" / "stream_error_midstream.sse").read_bytes()
        assert third.content == (WIRE / "openai" / "stream_ok.sse").read_bytes()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=5)
    assert proc.returncode == 0 and "Traceback" not in err
