"""Status page early warning: fetching status.json, and the watcher marking providers down."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from chatdesk.failover.health import HealthBook
from chatdesk.failover.status_page import (
    PageStatus,
    StatusPageError,
    StatusWatcher,
    fetch_status,
    is_outage,
)
from chatdesk.settings import ProviderSettings
from chatdesk.store import HistoryStore
from tests.fakes.ports import closed_port
from tests.fakes.server import default_wire_dir

WIRE = default_wire_dir() / "statuspage"
MAJOR = (WIRE / "status_major.json").read_bytes()
OK = (WIRE / "status_ok.json").read_bytes()
MAJOR_DESCRIPTION = json.loads(MAJOR)["status"]["description"]


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class StatusServer:
    """A tiny Statuspage on 127.0.0.1 answering every GET with `status` and `body`."""

    def __init__(self) -> None:
        self.status = 200
        self.body = OK
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.paths.append(self.path)
                self.send_response(outer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def page() -> Iterator[StatusServer]:
    server = StatusServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def health(tmp_path: Path, clock: FakeClock) -> Iterator[HealthBook]:
    store = HistoryStore.open(tmp_path / "h.db")
    yield HealthBook(store, cooldown_s=60, clock=clock)
    store.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


def provider(name: str, status_url: str | None, type_: str = "anthropic") -> ProviderSettings:
    return ProviderSettings(name, type_, "m", base_url="http://127.0.0.1:9", status_url=status_url)


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def assert_sentence(error: StatusPageError) -> None:
    text = str(error)
    assert text.endswith(".") and "\n" not in text
    for noise in ("Traceback", "Error", "Exception", "httpx"):
        assert noise not in text


# --- is_outage ---------------------------------------------------------------------------

@pytest.mark.parametrize(("indicator", "outage"), [
    ("none", False), ("minor", False), ("major", True), ("critical", True),
    ("MAJOR", True), (" critical ", True), ("maintenance", False), ("", False),
])
def test_is_outage(indicator: str, outage: bool) -> None:
    assert is_outage(indicator) is outage


# --- fetch_status ------------------------------------------------------------------------

async def test_fetch_reads_the_wire_example_from_status_json() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, content=MAJOR)

    async with mock_client(handler) as c:
        status = await fetch_status(c, "https://status.example.com/")
        await fetch_status(c, "https://status.example.com/api/v2/status.json")  # full address
    assert status == PageStatus("major", MAJOR_DESCRIPTION)
    assert [str(u) for u in seen] == ["https://status.example.com/api/v2/status.json"] * 2


async def test_fetch_follows_a_redirect() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"location": str(request.url.copy_with(
                scheme="https"))})
        return httpx.Response(200, content=OK)

    async with mock_client(handler) as c:
        assert (await fetch_status(c, "http://status.example.com")).indicator == "none"


@pytest.mark.parametrize(("response", "hint"), [
    (httpx.Response(500, text="oops"), "HTTP 500"),
    (httpx.Response(404, text="not here"), "status_url"),
    (httpx.Response(200, content=b"<html>maintenance</html>"), "not JSON"),
    (httpx.Response(200, content=b"[1, 2]"), "indicator"),
    (httpx.Response(200, json={"status": {"description": "x"}}), "indicator"),
    (httpx.Response(200, json={"status": {"indicator": 3}}), "indicator"),
    (httpx.Response(200, content=b"x" * 300_000), "too large"),
])
async def test_fetch_turns_bad_answers_into_a_sentence(response: httpx.Response,
                                                       hint: str) -> None:
    async with mock_client(lambda request: response) as c:
        with pytest.raises(StatusPageError) as caught:
            await fetch_status(c, "https://status.example.com")
    assert hint in str(caught.value)
    assert "https://status.example.com" in str(caught.value)
    assert_sentence(caught.value)


@pytest.mark.parametrize(("raised", "hint"), [
    (httpx.ReadTimeout("slow"), "within 2 seconds"),
    (httpx.ConnectError("refused"), "could not connect"),
    (httpx.RemoteProtocolError("bad"), "connection failed"),
])
async def test_fetch_turns_network_errors_into_a_sentence(raised: Exception, hint: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    async with mock_client(handler) as c:
        with pytest.raises(StatusPageError) as caught:
            await fetch_status(c, "https://status.example.com", timeout_s=2)
    assert hint in str(caught.value)
    assert_sentence(caught.value)


async def test_fetch_rejects_an_address_that_is_not_http(client: httpx.AsyncClient) -> None:
    with pytest.raises(StatusPageError) as caught:
        await fetch_status(client, "ftp://status.example.com")
    assert "http or https" in str(caught.value)


async def test_fetch_connection_refused_on_loopback(client: httpx.AsyncClient) -> None:
    with pytest.raises(StatusPageError) as caught:
        await fetch_status(client, f"http://127.0.0.1:{closed_port()}")
    assert "could not connect" in str(caught.value)
    assert_sentence(caught.value)


# --- StatusWatcher against a real loopback page --------------------------------------------

async def test_major_outage_marks_the_provider_down(page: StatusServer, health: HealthBook,
                                                    clock: FakeClock,
                                                    client: httpx.AsyncClient) -> None:
    page.body = MAJOR
    watcher = StatusWatcher(health, [provider("claude", page.url)], client, down_for_s=90)
    assert health.get("claude").state == "unknown"

    results = await watcher.check_once()

    assert results == {"claude": PageStatus("major", MAJOR_DESCRIPTION)}
    assert page.paths == ["/api/v2/status.json"]
    state = health.get("claude")
    assert state.state == "down"
    assert state.seconds_left == pytest.approx(90)
    assert state.last_error == f"status page reports: {MAJOR_DESCRIPTION}"
    assert state.last_error_class == "status_page"
    assert not health.available("claude")

    # Still reported a round later: the warning is renewed from now, not from the first round.
    clock.now += 60
    assert health.get("claude").seconds_left == pytest.approx(30)
    await watcher.check_once()
    assert health.get("claude").seconds_left == pytest.approx(90)
    clock.now += 91
    assert health.get("claude").state == "half-open"  # failures decide from here on


async def test_critical_outage_marks_down_and_minor_does_not(
        page: StatusServer, health: HealthBook, client: httpx.AsyncClient) -> None:
    watcher = StatusWatcher(health, [provider("claude", page.url)], client)
    page.body = json.dumps({"status": {"indicator": "minor",
                                       "description": "Minor Service Outage"}}).encode()
    assert (await watcher.check_once())["claude"].indicator == "minor"
    assert health.get("claude").state == "unknown"
    page.body = json.dumps({"status": {"indicator": "critical", "description": ""}}).encode()
    await watcher.check_once()
    assert health.get("claude").state == "down"
    assert health.get("claude").last_error == "status page reports: a critical outage"


async def test_all_operational_leaves_health_alone(page: StatusServer, health: HealthBook,
                                                   clock: FakeClock,
                                                   client: httpx.AsyncClient) -> None:
    page.body = OK
    health.mark_down("openai", "an earlier failure", 30)  # neither cleared nor extended
    before = {name: health.get(name) for name in ("claude", "openai")}
    watcher = StatusWatcher(
        health, [provider("claude", page.url), provider("openai", page.url + "/x")], client)

    results = await watcher.check_once()

    assert results["claude"] == PageStatus("none", "All Systems Operational")
    assert {name: health.get(name) for name in ("claude", "openai")} == before
    assert health.get("claude").state == "unknown"
    assert health.get("openai").state == "down"


@pytest.mark.parametrize("fault", ["500", "garbage", "refused"])
async def test_an_unreadable_page_is_reported_and_changes_nothing(
        fault: str, page: StatusServer, health: HealthBook, client: httpx.AsyncClient) -> None:
    url = page.url
    if fault == "500":
        page.status, page.body = 500, b'{"status": {"indicator": "major"}}'
    elif fault == "garbage":
        page.body = MAJOR[: len(MAJOR) // 2]  # cut short: no longer JSON
    else:
        url = f"http://127.0.0.1:{closed_port()}"
    health.mark_down("other", "an earlier failure", 30)
    watcher = StatusWatcher(health, [provider("claude", url), provider("other", url)], client)

    results = await watcher.check_once()

    assert set(results) == {"claude", "other"}
    assert all(isinstance(r, StatusPageError) for r in results.values())
    assert_sentence(results["claude"])
    assert health.get("claude").state == "unknown"
    assert health.get("claude").last_error is None
    assert health.get("other").last_error == "an earlier failure"


async def test_a_shared_page_is_fetched_once_per_round(page: StatusServer, health: HealthBook,
                                                       client: httpx.AsyncClient) -> None:
    page.body = MAJOR
    providers = [provider("claude", page.url), provider("claude-backup", page.url + "/"),
                 provider("local", None, "ollama"), provider("muted", "", "anthropic")]
    watcher = StatusWatcher(health, providers, client, down_for_s=45)

    results = await watcher.check_once()

    assert page.paths == ["/api/v2/status.json"]
    assert set(results) == {"claude", "claude-backup"}
    for name in ("claude", "claude-backup"):
        assert health.get(name).state == "down"
        assert health.get(name).seconds_left == pytest.approx(45)
    assert health.get("local").state == "unknown"
    assert health.get("muted").state == "unknown"
    await watcher.check_once()
    assert len(page.paths) == 2
    assert watcher.latest == results


async def test_default_status_page_of_an_official_provider(health: HealthBook) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=MAJOR)

    official = [ProviderSettings("anthropic", "anthropic", "m"),
                ProviderSettings("openai", "openai", "m"),
                ProviderSettings("gemini", "gemini", "m")]
    async with mock_client(handler) as c:
        await StatusWatcher(health, official, c).check_once()
    assert sorted(seen) == ["https://status.anthropic.com/api/v2/status.json",
                            "https://status.openai.com/api/v2/status.json"]
    assert [health.get(p.name).state for p in official] == ["down", "down", "unknown"]


# --- run ---------------------------------------------------------------------------------

async def test_run_checks_every_interval_until_cancelled(health: HealthBook) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, content=OK)

    async with mock_client(handler) as c:
        watcher = StatusWatcher(health, [provider("claude", "https://s.example.com")], c,
                                interval_s=0.01)
        task = asyncio.create_task(watcher.run())
        async with asyncio.timeout(5):
            while calls < 3:
                await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert task.cancelled()


async def test_run_keeps_going_when_a_round_fails(tmp_path: Path) -> None:
    store = HistoryStore.open(tmp_path / "h.db")
    store.close()  # writing health now fails every round
    broken = HealthBook(store, cooldown_s=60)
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, content=MAJOR)

    async with mock_client(handler) as c:
        watcher = StatusWatcher(broken, [provider("claude", "https://s.example.com")], c,
                                interval_s=0.01)
        with pytest.raises(Exception):  # noqa: B017 (whatever the closed store raises)
            await watcher.check_once()
        task = asyncio.create_task(watcher.run())
        async with asyncio.timeout(5):
            while calls < 4:
                await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_run_waits_the_interval_minus_the_time_a_round_took(
        health: HealthBook, monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([100.0, 130.0])
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        raise asyncio.CancelledError

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    async with mock_client(lambda request: httpx.Response(200, content=OK)) as c:
        watcher = StatusWatcher(health, [provider("claude", "https://s.example.com")], c,
                                interval_s=120, clock=lambda: next(ticks))
        with pytest.raises(asyncio.CancelledError):
            await watcher.run()
    assert slept == [pytest.approx(90)]


def test_cli_check_status_marks_the_provider_down(
    page: StatusServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from chatdesk.cli import main

    page.body = MAJOR
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.toml").write_text(
        '[failover]\norder = ["anthropic"]\n\n[providers.anthropic]\ntype = "anthropic"\n'
        f'model = "m"\nstatus_url = "{page.url}"\n', encoding="utf-8")
    code = main(["--data-dir", str(data), "providers", "--json", "--check-status"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "status page says Partial System Outage (major)" in err
    [row] = json.loads(out)
    assert row["state"] == "no-key"  # no key wins over down: the user must act on it first
    assert "Partial System Outage" in row["last_error"]
