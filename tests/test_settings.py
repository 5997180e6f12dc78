"""Tests for chatdesk.settings: loading, validation with line numbers, comment-keeping saves."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from chatdesk.settings import (
    DEFAULT_SETTINGS_TOML,
    FailoverSettings,
    ProviderSettings,
    Settings,
    SettingsError,
    UiSettings,
    default_settings,
    load_settings,
    load_settings_or_defaults,
    save_settings,
)

USER_FILE = """\
# my own notes at the top
[failover]
order = ["work", "local"]   # work account first
cooldown_s = 120            # be patient with them

[providers.work]
type = "anthropic"          # the company account
model = "claude-sonnet-4-5"
api_key_env = "WORK_ANTHROPIC_KEY"

[providers.local]
type = "ollama"
model = "qwen2.5"
# remember: the GPU box is at 10.0.0.5

# --- things I might try later ---
# [providers.groq]
# type = "openai"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_missing_file_gives_the_four_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "settings.toml")
    assert [p.type for p in settings.ordered_providers()] == [
        "anthropic", "openai", "gemini", "ollama",
    ]
    assert settings.providers["openai"].model == "gpt-4o"
    assert settings.failover.connect_timeout_s == 10
    assert settings.ui.theme == "system"
    assert not (tmp_path / "settings.toml").exists()


def test_default_toml_describes_the_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, DEFAULT_SETTINGS_TOML)) == default_settings()
    assert "openrouter" in DEFAULT_SETTINGS_TOML and "anthropic-2" in DEFAULT_SETTINGS_TOML
    assert "openrouter" not in tomllib.loads(DEFAULT_SETTINGS_TOML)["providers"]


def test_user_file_is_read(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, USER_FILE))
    assert list(settings.providers) == ["work", "local"]
    work = settings.providers["work"]
    assert (work.name, work.type, work.api_key_env) == ("work", "anthropic", "WORK_ANTHROPIC_KEY")
    assert settings.failover.cooldown_s == 120
    assert settings.failover.stall_timeout_s == 30


def test_round_trip(tmp_path: Path) -> None:
    settings = Settings(
        FailoverSettings(order=["b", "a"], connect_timeout_s=2.5, cooldown_s=0),
        {
            "a": ProviderSettings("a", "gemini", "gemini-2.5-pro", max_tokens=8000),
            "b": ProviderSettings(
                "b", "openai", "mistral-large-latest",
                base_url="https://api.mistral.ai/v1", api_key_env="MY_MISTRAL",
                status_url="https://status.mistral.ai",
            ),
        },
        UiSettings(theme="dark"),
    )
    path = tmp_path / "new" / "settings.toml"
    save_settings(settings, path)
    assert load_settings(path) == settings
    save_settings(settings, path)  # saving again changes nothing
    assert load_settings(path) == settings
    assert [p.name for p in tmp_path.joinpath("new").iterdir()] == ["settings.toml"]


def test_save_keeps_comments_through_change_add_and_remove(tmp_path: Path) -> None:
    path = write(tmp_path, USER_FILE)
    settings = load_settings(path)
    settings.failover.cooldown_s = 300
    settings.providers["local"].model = "llama3.3"
    settings.providers["router"] = ProviderSettings(
        "router", "openai", "openai/gpt-4o", base_url="https://openrouter.ai/api/v1"
    )
    settings.failover.order.append("router")
    settings.ui.theme = "dark"
    save_settings(settings, path)
    text = path.read_text()
    assert load_settings(path) == settings
    for comment in [
        "# my own notes at the top", "# work account first", "# be patient with them",
        "# the company account", "# remember: the GPU box is at 10.0.0.5",
        "# --- things I might try later ---", "# [providers.groq]",
    ]:
        assert comment in text, comment
    assert "cooldown_s = 300            # be patient with them" in text
    assert text.index("[providers.router]") < text.index("# --- things I might try later ---")
    assert text.index("[ui]") < text.index("# --- things I might try later ---")
    assert "max_tokens" not in text and "stall_timeout_s" not in text  # defaults stay implicit

    del settings.providers["work"]
    settings.failover.order.remove("work")
    save_settings(settings, path)
    text = path.read_text()
    assert "[providers.work]" not in text and "WORK_ANTHROPIC_KEY" not in text
    assert "# my own notes at the top" in text and "# be patient with them" in text
    assert "# --- things I might try later ---" in text
    assert load_settings(path) == settings


def test_save_starts_from_the_commented_default(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    settings = default_settings()
    settings.providers["ollama"].base_url = "http://gpu:11434"
    del settings.providers["gemini"]
    settings.failover.order.remove("gemini")
    save_settings(settings, path)
    text = path.read_text()
    assert "# TCP+TLS connect" in text and "# [providers.openrouter]" in text
    assert "[providers.gemini]" not in text
    assert "\n\n\n" not in text
    assert load_settings(path) == settings


def test_save_never_writes_a_broken_file_over_the_users(tmp_path: Path) -> None:
    path = write(tmp_path, "[failover]\norder = [\n")
    with pytest.raises(SettingsError):
        save_settings(default_settings(), path)
    assert path.read_text() == "[failover]\norder = [\n"


def test_save_refuses_an_order_naming_a_missing_provider(tmp_path: Path) -> None:
    settings = default_settings()
    settings.failover.order.append("ghost")
    with pytest.raises(SettingsError, match="ghost"):
        save_settings(settings, tmp_path / "settings.toml")
    assert not (tmp_path / "settings.toml").exists()


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    text = '[failover]\norder = ["anthropic"]\ncooldown_s = = 5\n'
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    message = str(err.value)
    assert err.value.line == 3 and err.value.path == path
    assert f"{path} line 3:" in message and "settings.toml line 3:" in message
    assert "\n" not in message and "TOMLDecodeError" not in message


def test_syntax_error_at_end_of_file_names_the_last_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, "[failover]\norder = [\n"))
    assert err.value.line == 2 and "line 2:" in str(err.value)


@pytest.mark.parametrize(
    ("text", "needle", "words"),
    [
        ('[providers.x]\nmodel = "m"\ntype = "opneai"\n', 'type = "opneai"', "opneai"),
        (
            '[failover]\norder = ["a", "ghost"]\n\n[providers.a]\ntype = "ollama"\nmodel = "m"\n',
            "order =", "ghost",
        ),
        ('[failover]\nconnect_timeout_s = 3\ncooldown_s = "x"\n', "cooldown_s", "number"),
        ("[failover]\nstall_timeout_s = -1\n", "stall_timeout_s", "more than 0"),
        ('[providers.a]\ntype = "openai"\nmodel = ""\n', 'model = ""', "model is empty"),
        ('[providers.a]\ntype = "openai"\nmodel = "m"\nmax_tokens = "lots"\n', "max_tokens",
         "whole number"),
        ('[providers.a]\ntype = "openai"\nmodel = "m"\nbase_url = "api.x.com"\n', "base_url",
         "http"),
        ('[ui]\ntheme = "blue"\n', "theme", "theme"),
        ('# note\n[providers.a]\nmodel = "m"\n', "[providers.a]", "needs a type"),
    ],
)
def test_content_errors_name_the_line(tmp_path: Path, text: str, needle: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.line == line_of(text, needle)
    assert f"settings.toml line {err.value.line}:" in str(err.value)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_line_search_skips_commented_keys(tmp_path: Path) -> None:
    text = '[failover]\n# cooldown_s = 5\ncooldown_s = "soon"\n'
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, text))
    assert err.value.line == 3


def test_load_or_defaults_returns_the_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.x]\ntype = "nope"\nmodel = "m"\n')
    settings, error = load_settings_or_defaults(path)
    assert settings == default_settings()
    assert isinstance(error, SettingsError) and error.line == 2
    good, no_error = load_settings_or_defaults(write(tmp_path, USER_FILE))
    assert no_error is None and list(good.providers) == ["work", "local"]


def test_known_names_may_omit_type_and_model(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "[providers.gemini]\n[providers.ollama]\n"))
    assert settings.providers["gemini"].type == "gemini"
    assert settings.providers["gemini"].model == "gemini-2.5-flash"
    assert settings.failover.order == ["gemini", "ollama"]


def test_effective_base_url_defaults_and_ollama_host() -> None:
    ollama = ProviderSettings("ollama", "ollama", "llama3.2")
    assert ollama.effective_base_url({}) == "http://localhost:11434"
    assert ollama.effective_base_url({"OLLAMA_HOST": "0.0.0.0:11434"}) == "http://127.0.0.1:11434"
    assert ollama.effective_base_url({"OLLAMA_HOST": "gpu-box"}) == "http://gpu-box:11434"
    assert ollama.effective_base_url({"OLLAMA_HOST": "https://o.example.com/"}) == (
        "https://o.example.com:443"
    )
    assert ollama.effective_base_url({"OLLAMA_HOST": "http://h:8080"}) == "http://h:8080"
    pinned = ProviderSettings("o", "ollama", "m", base_url="http://pinned:1/")
    assert pinned.effective_base_url({"OLLAMA_HOST": "elsewhere"}) == "http://pinned:1"
    assert ProviderSettings("a", "anthropic", "m").effective_base_url({"OLLAMA_HOST": "x"}) == (
        "https://api.anthropic.com"
    )
    assert ProviderSettings("o", "openai", "m").effective_base_url({}) == (
        "https://api.openai.com/v1"
    )


def test_status_url_only_defaults_for_the_official_api() -> None:
    assert ProviderSettings("a", "anthropic", "m").effective_status_url() == (
        "https://status.anthropic.com"
    )
    router = ProviderSettings("r", "openai", "m", base_url="https://openrouter.ai/api/v1")
    assert router.effective_status_url() is None
    assert ProviderSettings("g", "gemini", "m").effective_status_url() is None
    assert ProviderSettings("a", "anthropic", "m", status_url="").effective_status_url() is None


def test_ordered_providers() -> None:
    providers = {n: ProviderSettings(n, "openai", "m") for n in ["p1", "p2", "p3", "p4"]}
    settings = Settings(FailoverSettings(order=["p3", "p1"]), providers, UiSettings())
    assert [p.name for p in settings.ordered_providers()] == ["p3", "p1", "p2", "p4"]


def test_api_key_env_may_be_a_list_of_variables(tmp_path: Path) -> None:
    """A pool of keys from the environment: the list is kept (one name stays one name), and
    the key store reads every variable that is set, in order."""
    from chatdesk.secrets import KeyStore

    path = tmp_path / "settings.toml"
    path.write_text('[providers.a]\ntype = "anthropic"\nmodel = "m"\n'
                    'api_key_env = ["KEY_A", "KEY_B", "KEY_A", "KEY_C"]\n', encoding="utf-8")
    settings = load_settings(path)
    assert settings.providers["a"].api_key_env == ["KEY_A", "KEY_B", "KEY_C"]
    save_settings(settings, path)
    assert load_settings(path) == settings
    env = {"KEY_A": "sk-env-pool-aaaaaaaa0001", "KEY_C": "sk-env-pool-cccccccc0003",
           "ANTHROPIC_API_KEY": "sk-env-pool-usual00000009"}
    pool = KeyStore(environ=env).pool(settings.providers["a"])
    assert [(k.fingerprint, k.source) for k in pool] == [
        ("sk-…0001", "env:KEY_A"), ("sk-…0003", "env:KEY_C")]
    single = tmp_path / "one.toml"
    single.write_text('[providers.a]\ntype = "anthropic"\nmodel = "m"\n'
                      'api_key_env = ["KEY_A"]\n', encoding="utf-8")
    assert load_settings(single).providers["a"].api_key_env == "KEY_A"
