"""Tests for chatdesk.settings_check: every key's type and range, deep nesting, fuzzing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatdesk.settings import SettingsError, load_settings, parse_settings

PROVIDER = '[providers.a]\ntype = "openai"\nmodel = "m"\n'


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("text", "needle", "words"),
    [
        # 1. an order naming a provider twice
        ('[failover]\norder = ["a", "a"]\n' + PROVIDER, "order =", "twice"),
        # 2. a URL without a host
        (PROVIDER + 'base_url = "https://"\n', "base_url", "host"),
        (PROVIDER + 'status_url = "http://"\n', "status_url", "host"),
        # 3. a URL with a space, a port out of range or a fragment
        (PROVIDER + 'base_url = "https://api.example .com"\n', "base_url", "spaces"),
        (PROVIDER + 'base_url = "https://example.com:99999/v1"\n', "base_url", "port"),
        (PROVIDER + 'base_url = "https://example.com/v1#x"\n', "base_url", "fragment"),
        # 4. api_key_env that no shell could set
        (PROVIDER + 'api_key_env = "MY KEY"\n', "api_key_env", "variable name"),
        (PROVIDER + 'api_key_env = ["KEY_A", "KEY B"]\n', "api_key_env", "list of such names"),
        (PROVIDER + "api_key_env = []\n", "api_key_env", "list of such names"),
        (PROVIDER + 'api_key_env = ["KEY_A", 3]\n', "api_key_env", "variable name"),
        # 5. timeouts past a day (1e300 overflowed the socket timeout), and huge integers
        ("[failover]\nconnect_timeout_s = 1e300\n", "connect_timeout_s", "at most"),
        ("[failover]\ncooldown_s = " + "9" * 400 + "\n", "cooldown_s", "at most"),
        # 6. max_tokens beyond what a provider parses
        (PROVIDER + "max_tokens = 9223372036854775807\n", "max_tokens", "from 1 to"),
        (PROVIDER + "max_tokens = true\n", "max_tokens", "whole number"),
        # 7. unknown keys: typos that silently fell back to defaults
        ('[failover]\nordr = ["a"]\n' + PROVIDER, "ordr", 'did you mean "order"'),
        (PROVIDER + 'modle = "x"\n', "modle", 'did you mean "model"'),
        ('[ui]\nthem = "dark"\n', "them", 'did you mean "theme"'),
        ('colour = "red"\n', "colour", "known keys"),
        # 8. provider names the keyring and the dialog cannot use
        ('[providers."my proxy"]\ntype = "openai"\nmodel = "m"\n', "my proxy", "rename"),
        ('[providers." a"]\ntype = "openai"\nmodel = "m"\n', '" a"', "rename"),
        # 9. text with control characters (a model id goes into Gemini's URL)
        ('[providers.a]\ntype = "gemini"\nmodel = "m\\n?x"\n', "model", "control"),
        # the new keys
        (PROVIDER + 'allow_insecure_http = "yes"\n', "allow_insecure_http", "true or false"),
        (PROVIDER + 'ca_bundle = "/no/such/ca.pem"\n', "ca_bundle", "not a file"),
        (PROVIDER + 'ca_bundle = "settings.toml"\n', "ca_bundle", "no PEM certificate"),
        (PROVIDER + 'continue_partial = "sometimes"\n', "continue_partial", '"never"'),
        ('[failover]\nhedge = "yes"\n', "hedge", "must be true"),
        ("[failover]\nhedge = 1\n", "hedge", "or false"),
    ],
)
def test_wrong_values_are_refused_with_their_line(
    tmp_path: Path, text: str, needle: str, words: str
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    message = str(err.value)
    assert err.value.line == line_of(text, needle), message
    assert message.startswith(f"{path} line {err.value.line}: ")
    assert words in message and "\n" not in message and len(message) < 400


def test_the_spec_example_loads(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    from tests.fakes.certs import make_certs

    ca = make_certs(tmp_path).ca_pem
    text = f"""\
[failover]
order = ["anthropic"]
connect_timeout_s = 10
first_token_timeout_s = 60
stall_timeout_s = 30
cooldown_s = 60

[providers.anthropic]
type = "anthropic"
model = "claude-sonnet-4-5"
base_url = "https://api.anthropic.com"
api_key_env = "ANTHROPIC_API_KEY"
continue_partial = "auto"
ca_bundle = "{ca}"
"""
    p = parse_settings(text).providers["anthropic"]
    assert p.ca_bundle == str(ca) and p.continue_partial == "auto"
    assert not p.allow_insecure_http


@pytest.mark.parametrize("opening", ["[", "{a = "])
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    text = '[ui]\ntheme = "dark"\n\nx = ' + opening * 5000 + "1" + closing * 5000 + "\n"
    with pytest.raises(SettingsError) as err:
        parse_settings(text, tmp_path / "settings.toml")
    assert err.value.line == 4 and "deep" in str(err.value)


def test_nesting_inside_strings_and_comments_is_not_counted() -> None:
    text = ('[ui]\ntheme = "dark"  # ' + "[" * 100 + '\n[providers.a]\ntype = "openai"\n'
            'model = "' + "[" * 100 + '"\nstatus_url = """\n' + "{" * 100 + '"""\n')
    with pytest.raises(SettingsError) as err:
        parse_settings(text)
    assert "status_url" in str(err.value)  # past the nesting check, at the validation


@pytest.mark.slow
def test_self_test_passes_with_a_broken_settings_file(tmp_path: Path) -> None:
    from tests.test_app_selftest import run_chatdesk

    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n",
                                        encoding="utf-8")
    result = run_chatdesk("--data-dir", str(data), "--self-test")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("self-test ok")
    assert "RecursionError" not in result.stderr


_FRAGMENTS = st.sampled_from([
    "[failover]\n", "[providers.a]\n", "[ui]\n", "[[x]]\n", "order = ", "type = ",
    "model = ", "base_url = ", "max_tokens = ", "cooldown_s = ", "theme = ", '"openai"',
    '"http://"', '"https://h:1"', "[", "]", "{", "}", ",", "=", "\n", "1e999", "-0",
    "99999999999999999999999", "true", "nan", "inf", "1979-05-27", '"""', "'''", "#",
    '"a"', "a.b.c", "\\u0000", " ", ".",
])
_TOMLISH = st.lists(_FRAGMENTS | st.text(max_size=8), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TOMLISH)
def test_fuzzed_text_gives_settings_or_one_settings_error(text: str) -> None:
    started = time.monotonic()
    try:
        parse_settings(text)
    except SettingsError as exc:
        assert "\n" not in str(exc)
    assert time.monotonic() - started < 1.0


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", "{a="]))
def test_fuzzed_nesting_depth(depth: int, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    try:
        parse_settings("x = " + opening * depth + "1" + closing * depth)
    except SettingsError:
        pass


_VALUES = st.recursive(
    st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
    | st.sampled_from(["openai", "ollama", "a", "https://h", "http://", "dark", "auto"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6,
)
_PROVIDER_TABLE = st.dictionaries(
    st.sampled_from(["type", "model", "base_url", "api_key_env", "status_url", "max_tokens",
                     "ca_bundle", "allow_insecure_http", "continue_partial", "x"]),
    _VALUES, max_size=5)
_DOCUMENT = st.fixed_dictionaries({}, optional={
    "failover": st.dictionaries(st.sampled_from(
        ["order", "connect_timeout_s", "first_token_timeout_s", "stall_timeout_s",
         "cooldown_s", "hedge"]), _VALUES, max_size=3),
    "providers": st.dictionaries(st.sampled_from(["a", "openai", "b c", ""]), _PROVIDER_TABLE,
                                 max_size=2),
    "ui": st.dictionaries(st.sampled_from(["theme", "x"]), _VALUES, max_size=1),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENT)
def test_fuzzed_values_of_every_key_give_settings_or_one_settings_error(
    document: dict[str, object],
) -> None:
    import tomlkit

    try:
        text = tomlkit.dumps(document)
    except (TypeError, ValueError):  # a value tomlkit cannot write (e.g. mixed key types)
        return
    try:
        parsed = parse_settings(text)
    except SettingsError as exc:
        assert "\n" not in str(exc)
    else:
        for p in parsed.providers.values():
            assert isinstance(p.max_tokens, int) and not isinstance(p.max_tokens, bool)
            assert p.model and p.model == p.model.strip()
        assert len(set(parsed.failover.order)) == len(parsed.failover.order)


def test_hedge_is_on_unless_turned_off(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(PROVIDER, encoding="utf-8")
    assert load_settings(path).failover.hedge is True
    path.write_text("[failover]\nhedge = false\n" + PROVIDER, encoding="utf-8")
    assert load_settings(path).failover.hedge is False
