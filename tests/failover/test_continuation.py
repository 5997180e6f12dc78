"""Continuing a partial answer on the next provider, per wire protocol and service: the exact
request each backup is sent (trailing assistant message, `prefix: true`, DeepSeek's /beta
endpoint), the stitched answer (nothing lost or repeated, the white-space rule kept), and
the backups that answer afresh (OpenAI itself, Gemini, `continue_partial = "never"`).

Services are told apart by the host of their base URL, so their entries use the real
https:// base URLs; a transport maps each host onto a loopback fake speaking the same wire
format, which records the path and body exactly as sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from chatdesk import events as ev
from chatdesk.chat import ChatService
from chatdesk.secrets import KeyStore
from chatdesk.settings import FailoverSettings, ProviderSettings, Settings
from chatdesk.store import HistoryStore
from tests.fakes.server import FakeProvider, Synth
from tests.helpers import MODELS, reset_fakes, serve
from tests.test_chat import FAST, FakeClock, collect, env_var, only

QUESTION = "What causes tides?"
PARTIAL = ("The tides are", " caused by ")  # what the failing primary streamed
SENT = "The tides are caused by"  # the prefill as sent: trailing white space cut
ANSWER = "The tides are caused by the moon's gravity."
FRESH = ("Tides come", " from the moon.")
OPENAI_PATHS = ("/v1/chat/completions", "/chat/completions", "/beta/chat/completions",
                "/api/v1/chat/completions")

# Real services by host, each served by the fake of that name (see `_ToFakes`).
SERVICES = {"api.deepseek.com": "deepseek", "api.mistral.ai": "mistral",
            "openrouter.ai": "openrouter", "api.openai.com": "openai"}


class _ToFakes(httpx.AsyncBaseTransport):
    """Sends a request for a known service's host to its loopback fake, path and body as
    they are; any other URL (a fake's own) goes out unchanged."""

    def __init__(self, fakes: dict[str, FakeProvider]) -> None:
        self.fakes = fakes
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = SERVICES.get(request.url.host)
        if name is not None:
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1",
                                                 port=self.fakes[name].port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(scope="module")
def pool() -> Iterator[dict[str, FakeProvider]]:
    fakes = {
        "main": FakeProvider("anthropic"),
        "anthropic": FakeProvider("anthropic", api_key="key-anthropic-2"),
        "gemini": FakeProvider("gemini"),
        "ollama": FakeProvider("ollama"),
        **{name: FakeProvider("openai", api_key=f"key-{name}", chat_paths=OPENAI_PATHS)
           for name in SERVICES.values()},
    }
    yield from serve(fakes)


@pytest.fixture
def fakes(pool: dict[str, FakeProvider]) -> Iterator[dict[str, FakeProvider]]:
    yield reset_fakes(pool)
    reset_fakes(pool)


@pytest.fixture
async def services() -> AsyncIterator[list[ChatService]]:
    made: list[ChatService] = []
    yield made
    for service in made:
        await service.aclose()
        service.store.close()


def backup_entry(fake: FakeProvider, base_url: str | None = None,
                 continue_partial: str = "auto") -> ProviderSettings:
    ptype = fake.provider_type
    return ProviderSettings("backup", ptype, MODELS[ptype], base_url or fake.base_url,
                            env_var("backup"), continue_partial=continue_partial)


async def fail_over(fakes: dict[str, FakeProvider], services: list[ChatService],
                    tmp_path: Path, backup: ProviderSettings,
                    backup_fake: FakeProvider, *pieces: str) -> list[ev.ChatEvent]:
    """The primary fails after PARTIAL; the backup streams `pieces`; the events of it all."""
    main = fakes["main"]
    main.script(Synth(PARTIAL, error="Overloaded"))
    backup_fake.script(Synth(pieces))
    primary = ProviderSettings("primary", "anthropic", MODELS["anthropic"], main.base_url,
                               env_var("primary"))
    settings = Settings(FailoverSettings(["primary", "backup"], **FAST),
                        {"primary": primary, "backup": backup})
    env = {env_var("primary"): main.api_key, env_var("backup"): backup_fake.api_key}
    client = httpx.AsyncClient(transport=_ToFakes(fakes), follow_redirects=False)
    store = HistoryStore.open(tmp_path / f"history{len(services)}.db")
    service = ChatService(store, settings, KeyStore(environ=env),
                          client=client, clock=FakeClock(), flush_interval_s=0.05)
    services.append(service)
    return await collect(service.send(QUESTION))


def shown(events: list[ev.ChatEvent]) -> str:
    return "".join(e.text for e in only(events, ev.TextChunk))


def assert_continued(events: list[ev.ChatEvent], service: ChatService) -> None:
    """The answer is the partial text and the continuation, each once; so is what was shown;
    the backup's attempt continued the failed one and kept only its own text."""
    [done] = only(events, ev.AnswerFinished)
    assert done.content == ANSWER and done.provider == "backup"
    assert shown(events) == ANSWER
    assert not only(events, ev.Restarted)
    assert [e.continuing for e in only(events, ev.AttemptStarted)] == [False, True]
    stored = service.store.get_message(done.message_id)
    assert stored is not None
    assert (stored.content, stored.status) == (ANSWER, "complete")
    failed, ok = service.store.attempts(stored.id)
    assert failed.streamed_text == "".join(PARTIAL)
    assert ok.continued_from == failed.id and ok.streamed_text == ANSWER[len(SENT):]


def assert_afresh(events: list[ev.ChatEvent], service: ChatService) -> None:
    """The backup answered the question anew: only its text is the answer."""
    [done] = only(events, ev.AnswerFinished)
    assert done.content == "".join(FRESH) and done.provider == "backup"
    assert only(events, ev.Restarted) == [ev.Restarted("backup")]
    assert [e.continuing for e in only(events, ev.AttemptStarted)] == [False, False]
    stored = service.store.get_message(done.message_id)
    assert stored is not None and stored.content == "".join(FRESH)


# -- OpenAI-compatible services that continue ---------------------------------------------

@pytest.mark.parametrize("base_url", ["https://api.deepseek.com", "https://api.deepseek.com/v1",
                                      "https://api.deepseek.com/beta"])
async def test_deepseek_continues_on_its_beta_endpoint_with_prefix_true(
        fakes: dict[str, FakeProvider], services: list[ChatService], tmp_path: Path,
        base_url: str) -> None:
    deepseek = fakes["deepseek"]
    events = await fail_over(fakes, services, tmp_path, backup_entry(deepseek, base_url),
                             deepseek, " the moon", "'s gravity.")
    [request] = deepseek.requests
    assert request.path == "/beta/chat/completions"
    assert request.json["messages"] == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": SENT, "prefix": True},
    ]
    assert request.json["model"] == MODELS["openai"] and request.json["stream"] is True
    assert_continued(events, services[0])


@pytest.mark.parametrize("pieces", [
    ("The tides are caused", " by the moon", "'s gravity."),  # the prefix repeated, as documented
    ("The tides are caused by", " the moon's gravity."),
    (" the moon", "'s gravity."),  # a server that only continues loses nothing either
], ids=["repeat-split", "repeat-whole", "no-repeat"])
async def test_mistral_continues_with_prefix_true_and_its_repeat_is_dropped(
        fakes: dict[str, FakeProvider], services: list[ChatService], tmp_path: Path,
        pieces: tuple[str, ...]) -> None:
    mistral = fakes["mistral"]
    events = await fail_over(fakes, services, tmp_path,
                             backup_entry(mistral, "https://api.mistral.ai/v1"), mistral, *pieces)
    [request] = mistral.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["messages"][-1] == {"role": "assistant", "content": SENT, "prefix": True}
    assert_continued(events, services[0])


async def test_openrouter_continues_a_plain_trailing_assistant_message(
        fakes: dict[str, FakeProvider], services: list[ChatService], tmp_path: Path) -> None:
    router = fakes["openrouter"]
    events = await fail_over(fakes, services, tmp_path,
                             backup_entry(router, "https://openrouter.ai/api/v1"), router,
                             " the moon", "'s gravity.")
    [request] = router.requests
    assert request.path == "/api/v1/chat/completions"
    assert request.json["messages"] == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": SENT},  # no `prefix`: not part of OpenRouter's API
    ]
    assert_continued(events, services[0])


# -- the other protocols ---------------------------------------------------------------------

async def test_ollama_continues_a_trailing_assistant_message(
        fakes: dict[str, FakeProvider], services: list[ChatService], tmp_path: Path) -> None:
    ollama = fakes["ollama"]
    events = await fail_over(fakes, services, tmp_path, backup_entry(ollama), ollama,
                             " the moon", "'s gravity.")
    [request] = ollama.requests
    assert request.path == "/api/chat"
    assert request.json["messages"] == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": SENT},
    ]
    assert_continued(events, services[0])


async def test_anthropic_continues_its_prefill(
        fakes: dict[str, FakeProvider], services: list[ChatService], tmp_path: Path) -> None:
    anthropic = fakes["anthropic"]
    events = await fail_over(fakes, services, tmp_path, backup_entry(anthropic), anthropic,
                             " the moon", "'s gravity.")
    assert anthropic.requests[0].json["messages"][-1] == {"role": "assistant", "content": SENT}
    assert_continued(events, services[0])


# -- backups that answer afresh --------------------------------------------------------------

async def test_openai_itself_answers_afresh(
        fakes: dict[str, FakeProvider], services: list[ChatService], tmp_path: Path) -> None:
    openai = fakes["openai"]
    events = await fail_over(fakes, services, tmp_path,
                             backup_entry(openai, "https://api.openai.com/v1"), openai, *FRESH)
    [request] = openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["messages"] == [{"role": "user", "content": QUESTION}]
    assert_afresh(events, services[0])


async def test_an_unknown_openai_compatible_server_answers_afresh(
        fakes: dict[str, FakeProvider], services: list[ChatService], tmp_path: Path) -> None:
    local = fakes["openai"]  # at its loopback URL: a server that does not say what it is
    events = await fail_over(fakes, services, tmp_path, backup_entry(local), local, *FRESH)
    assert local.requests[0].json["messages"] == [{"role": "user", "content": QUESTION}]
    assert_afresh(events, services[0])


async def test_gemini_answers_afresh(
        fakes: dict[str, FakeProvider], services: list[ChatService], tmp_path: Path) -> None:
    gemini = fakes["gemini"]
    events = await fail_over(fakes, services, tmp_path, backup_entry(gemini), gemini, *FRESH)
    contents = gemini.requests[0].json["contents"]
    assert contents == [{"role": "user", "parts": [{"text": QUESTION}]}]
    assert_afresh(events, services[0])


@pytest.mark.parametrize(("name", "base_url", "path"), [
    ("deepseek", "https://api.deepseek.com", "/chat/completions"),
    ("mistral", "https://api.mistral.ai/v1", "/v1/chat/completions"),
    ("openrouter", "https://openrouter.ai/api/v1", "/api/v1/chat/completions"),
    ("ollama", None, "/api/chat"),
    ("anthropic", None, "/v1/messages"),
])
async def test_continue_partial_never_answers_afresh_where_the_api_could_continue(
        fakes: dict[str, FakeProvider], services: list[ChatService], tmp_path: Path,
        name: str, base_url: str | None, path: str) -> None:
    fake = fakes[name]
    backup = backup_entry(fake, base_url, continue_partial="never")
    events = await fail_over(fakes, services, tmp_path, backup, fake, *FRESH)
    [request] = fake.requests
    assert request.path == path  # DeepSeek's usual endpoint, not /beta
    messages = request.json["messages"]
    assert messages == [{"role": "user", "content": QUESTION}]
    assert_afresh(events, services[0])
    [switched] = only(events, ev.Switched)
    assert switched.continuing is False
