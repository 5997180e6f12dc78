"""The capability table: the dated catalog, what providers report (parsed from their
documented answers), settings overrides over both, and their validation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from chatdesk import capabilities
from chatdesk.capabilities import Capabilities
from chatdesk.providers.base import Endpoint, Timeouts
from chatdesk.providers.registry import make_provider
from chatdesk.settings import SettingsError, load_settings, parse_settings, save_settings
from tests.fakes.server import FakeProvider


@pytest.mark.parametrize(("kind", "model", "host", "expected"), [
    ("anthropic", "claude-sonnet-4-5", None, Capabilities(True, True, 200_000)),
    ("anthropic", "claude-2.1", None, Capabilities(False, False, 100_000)),
    ("openai", "gpt-4o-mini", "api.openai.com", Capabilities(True, True, 128_000)),
    ("openai", "gpt-3.5-turbo", "api.openai.com", Capabilities(False, False, 16_385)),
    ("openai", "o3-mini", "api.openai.com", Capabilities(False, False, 200_000)),
    ("openai", "gpt-4o", "localhost", Capabilities(pdf=False)),  # another server's gpt-4o
    ("gemini", "models/gemini-1.5-pro-002", None, Capabilities(True, True, 2_097_152)),
    ("gemini", "gemini-2.5-flash", None, Capabilities(True, True, 1_048_576)),
    ("ollama", "llama3.2", None, Capabilities(False, False)),
    ("ollama", "llama3.2:latest", None, Capabilities(False, False)),
    ("ollama", "llama3.2-vision:11b", None, Capabilities(True, False)),
    ("ollama", "gemma3:1b", None, Capabilities(False, False)),
    ("ollama", "gemma3:27b", None, Capabilities(True, False)),
    ("ollama", "my-own-model", None, Capabilities(None, False)),  # unknown: try images
    ("anthropic", "not-a-claude", None, Capabilities()),
])
def test_the_catalog(kind: str, model: str, host: str | None, expected: Capabilities) -> None:
    assert capabilities.catalog(kind, model, host) == expected


def test_a_report_wins_over_the_catalog_and_a_setting_over_both() -> None:
    catalogued = Capabilities(False, False, 8_192)
    reported = Capabilities(True, None, 32_768)
    assert capabilities.merged(catalogued, reported, Capabilities()) == \
        Capabilities(True, False, 32_768)
    assert capabilities.merged(catalogued, reported, Capabilities(False, True, None)) == \
        Capabilities(False, True, 32_768)
    assert capabilities.merged(catalogued, None, Capabilities()) == catalogued


def test_ollama_show_is_read() -> None:
    # docs.ollama.com/api/show: capabilities, model_info with "<arch>.context_length".
    payload = {"capabilities": ["completion", "vision"],
               "model_info": {"general.architecture": "qwen25vl",
                              "qwen25vl.context_length": 128000}}
    assert capabilities.from_ollama_show(payload) == Capabilities(True, False, 128_000)
    assert capabilities.from_ollama_show({"capabilities": ["completion"]}) == \
        Capabilities(False, False, None)
    # An older server lists no capabilities: vision stays unknown.
    assert capabilities.from_ollama_show({"model_info": {}}) == Capabilities(None, False)
    assert capabilities.from_ollama_show("garbage") == Capabilities()


def test_openrouter_models_are_read() -> None:
    # openrouter.ai/docs/models: context_length, architecture.input_modalities.
    payload = {"data": [
        {"id": "meta-llama/llama-3.3-70b-instruct", "context_length": 131072,
         "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]}},
        {"id": "google/gemini-2.5-flash", "context_length": 1048576,
         "architecture": {"input_modalities": ["text", "image", "file", "audio"]}},
    ]}
    assert capabilities.from_openrouter_models(payload, "google/gemini-2.5-flash") == \
        Capabilities(True, True, 1_048_576)
    assert capabilities.from_openrouter_models(
        payload, "meta-llama/llama-3.3-70b-instruct") == Capabilities(False, False, 131_072)
    assert capabilities.from_openrouter_models(payload, "absent") == Capabilities()


def test_gemini_model_is_read() -> None:
    # ai.google.dev/api/models#Model: inputTokenLimit.
    payload = {"name": "models/gemini-2.5-flash", "inputTokenLimit": 1048576,
               "outputTokenLimit": 65536}
    assert capabilities.from_gemini_model(payload) == Capabilities(context_tokens=1_048_576)
    assert capabilities.from_gemini_model({"inputTokenLimit": True}) == Capabilities()


async def test_the_questions_go_where_each_api_answers_them() -> None:
    show = {"capabilities": ["vision"], "model_info": {}}
    with FakeProvider("ollama", model_info={"llava": show}) as ollama, \
            FakeProvider("gemini", model_info={"gemini-2.5-flash": {"inputTokenLimit": 7}}) \
            as gemini:
        async with httpx.AsyncClient() as client:
            lla = make_provider("ollama", Endpoint("o", ollama.base_url), client, Timeouts())
            gem = make_provider("gemini", Endpoint("g", gemini.base_url, gemini.api_key),
                                client, Timeouts())
            assert await lla.report_capabilities("llava", 2) == Capabilities(True, False)
            assert await lla.report_capabilities("other", 2) == Capabilities()  # 404
            dead = make_provider("ollama", Endpoint("d", "http://127.0.0.1:9"), client,
                                 Timeouts(connect_s=1))
            assert await dead.report_capabilities("llava", 2) is None  # not reachable
            assert await gem.report_capabilities("gemini-2.5-flash", 2) == \
                Capabilities(context_tokens=7)
        [asked] = ollama.requests[:1]
        assert (asked.method, asked.path, asked.json) == ("POST", "/api/show", {"model": "llava"})
        assert gemini.requests[0].path == "/v1beta/models/gemini-2.5-flash"


async def test_only_openrouter_of_the_openai_compatible_services_is_asked() -> None:
    async with httpx.AsyncClient() as client:
        plain = make_provider("openai", Endpoint("o", "https://api.openai.com/v1", "k"),
                              client, Timeouts())
        router = make_provider("openai", Endpoint("r", "https://openrouter.ai/api/v1", "k"),
                               client, Timeouts())
        assert plain.build_capabilities_call("gpt-4o") is None
        assert await plain.report_capabilities("gpt-4o", 1) == Capabilities()  # no request
        call = router.build_capabilities_call("x/y")
        assert call is not None and call.url == "https://openrouter.ai/api/v1/models"
        anthropic = make_provider("anthropic", Endpoint("a", "https://api.anthropic.com", "k"),
                                  client, Timeouts())
        assert anthropic.build_capabilities_call("claude-sonnet-4-5") is None


def test_overrides_in_settings() -> None:
    settings = parse_settings(
        '[failover]\norder = ["local"]\n[providers.local]\ntype = "ollama"\n'
        'model = "my-vlm"\nvision = true\npdf = false\ncontext_tokens = 32768\n')
    local = settings.providers["local"]
    assert (local.vision, local.pdf, local.context_tokens) == (True, False, 32768)
    default = parse_settings('[failover]\norder = ["a"]\n[providers.a]\ntype = "anthropic"\n')
    assert (default.providers["a"].vision, default.providers["a"].context_tokens) == (None, None)


@pytest.mark.parametrize(("line", "problem"), [
    ('vision = "yes"', '[providers.local] vision must be true or false (whether the model '
                       'sees images), not "yes".'),
    ("pdf = 1", "[providers.local] pdf must be true or false (whether the model reads "
                "PDFs), not 1."),
    ("context_tokens = 0", "[providers.local] context_tokens must be a whole number of "
                           "tokens from 1 to 100000000, not 0."),
    ("context_tokens = 1.5", "[providers.local] context_tokens must be a whole number of "
                             "tokens from 1 to 100000000, not 1.5."),
])
def test_a_wrong_override_is_one_clear_sentence_with_its_line(line: str, problem: str) -> None:
    text = f'[failover]\norder = ["local"]\n[providers.local]\ntype = "ollama"\n{line}\n'
    with pytest.raises(SettingsError) as caught:
        parse_settings(text)
    assert caught.value.line == 5
    assert caught.value.problem == problem


def test_overrides_survive_a_save(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[failover]\norder = ["local"]\n[providers.local]\ntype = "ollama"\n'
                    "vision = true  # my own model\n", encoding="utf-8")
    settings = load_settings(path)
    settings.providers["local"].context_tokens = 8192
    save_settings(settings, path)
    text = path.read_text(encoding="utf-8")
    assert "vision = true  # my own model" in text and "context_tokens = 8192" in text
    assert "pdf" not in text  # not set: not written
    again = load_settings(path).providers["local"]
    assert (again.vision, again.pdf, again.context_tokens) == (True, None, 8192)
