"""Early outage warning: polls providers' Statuspage pages and marks a provider down on a
reported major outage, before any message fails."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from chatdesk.failover.health import HealthBook
from chatdesk.settings import ProviderSettings

log = logging.getLogger(__name__)

STATUS_PATH = "/api/v2/status.json"
OUTAGE_INDICATORS = frozenset({"major", "critical"})
# A status.json is a few hundred bytes; anything much larger is not a status page.
MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class PageStatus:
    """The `status` object of a Statuspage status.json."""

    indicator: str  # none | minor | major | critical
    description: str  # e.g. "Partial System Outage"


class StatusPageError(Exception):
    """A status page could not be read; str() is one sentence for the user."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(message)


def is_outage(indicator: str) -> bool:
    """Whether a Statuspage indicator means an outage (a minor incident is not one)."""
    return indicator.strip().lower() in OUTAGE_INDICATORS


def status_json_url(status_url: str) -> str:
    """The status.json address of a status page base (a full status.json address is kept)."""
    base = status_url.strip().rstrip("/")
    return base if base.endswith(STATUS_PATH) else base + STATUS_PATH


async def fetch_status(client: httpx.AsyncClient, status_url: str,
                       timeout_s: float = 5) -> PageStatus:
    """GET {status_url}/api/v2/status.json; raises StatusPageError on any problem."""
    url = status_json_url(status_url)
    page = status_url.strip().rstrip("/")

    def fail(why: str) -> StatusPageError:
        return StatusPageError(url, f"Could not check the status page {page}: {why}.")

    fix = "check status_url in settings.toml (an empty status_url turns the check off)"
    try:
        # The request carries no key, so following a redirect (e.g. to https) is safe.
        async with client.stream("GET", url, timeout=httpx.Timeout(timeout_s),
                                 follow_redirects=True,
                                 headers={"accept": "application/json"}) as response:
            if response.status_code != 200:
                if response.status_code >= 500:
                    raise fail(f"it answered HTTP {response.status_code}; it will be tried "
                               "again later")
                raise fail(f"it answered HTTP {response.status_code}; {fix}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise fail(f"its answer is too large for a status page; {fix}")
    except httpx.TimeoutException:
        raise fail(f"no answer within {timeout_s:g} seconds; it will be tried again "
                   "later") from None
    except httpx.ConnectError:
        raise fail("could not connect (offline, or the host is unknown); it will be tried "
                   "again later") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise fail(f"the address is not a valid http or https address; {fix}") from None
    except httpx.HTTPError:
        raise fail("the connection failed; it will be tried again later") from None
    return _parse(bytes(body), fail, fix)


def _parse(body: bytes, fail: Callable[[str], StatusPageError], fix: str) -> PageStatus:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise fail(f"its answer is not JSON; {fix}") from None
    status = data.get("status") if isinstance(data, dict) else None
    indicator = status.get("indicator") if isinstance(status, dict) else None
    if not isinstance(indicator, str) or not indicator.strip():
        raise fail(f"its answer has no status indicator, so it is not a Statuspage page; {fix}")
    description = status.get("description") if isinstance(status, dict) else None
    if not isinstance(description, str):
        description = ""
    return PageStatus(indicator.strip().lower(), " ".join(description.split()))


class StatusWatcher:
    """Checks every provider's status page now and then; a reported major or critical outage
    marks the provider down for `down_for_s`. Failing to read a page never changes health."""

    def __init__(self, health: HealthBook, providers: list[ProviderSettings],
                 client: httpx.AsyncClient, interval_s: float = 120, down_for_s: float = 150,
                 clock: Callable[[], float] = time.monotonic, timeout_s: float = 5) -> None:
        self.health = health
        self.providers = providers  # may be replaced when settings change
        self.client = client
        self.interval_s = interval_s
        self.down_for_s = down_for_s
        self.clock = clock  # paces run(); health keeps its own (wall) clock
        self.timeout_s = timeout_s
        self.latest: dict[str, PageStatus | StatusPageError] = {}  # the last round's results

    async def check_once(self) -> dict[str, PageStatus | StatusPageError]:
        """One round: each status page fetched once, however many providers share it.
        Returns the result per provider name that has a status page."""
        pages: dict[str, list[str]] = {}  # status.json address → provider names
        for provider in self.providers:
            status_url = provider.effective_status_url()
            if status_url:
                pages.setdefault(status_json_url(status_url), []).append(provider.name)
        urls = list(pages)
        fetched = await asyncio.gather(*(self._fetch(url) for url in urls))
        results: dict[str, PageStatus | StatusPageError] = {}
        for url, result in zip(urls, fetched, strict=True):
            for name in pages[url]:
                results[name] = result
                if isinstance(result, PageStatus) and is_outage(result.indicator):
                    reported = result.description or f"a {result.indicator} outage"
                    self.health.mark_down(name, f"status page reports: {reported}",
                                          self.down_for_s)
        self.latest = results
        return results

    async def _fetch(self, url: str) -> PageStatus | StatusPageError:
        try:
            return await fetch_status(self.client, url, self.timeout_s)
        except StatusPageError as exc:
            log.info("%s", exc)
            return exc

    async def run(self) -> None:
        """check_once every interval_s until cancelled; a round that fails is logged and the
        next one runs as planned."""
        while True:
            started = self.clock()
            try:
                await self.check_once()
            except Exception:  # e.g. the history file is locked: try again next round
                log.warning("checking the status pages failed", exc_info=True)
            await asyncio.sleep(max(0.0, self.interval_s - (self.clock() - started)))
