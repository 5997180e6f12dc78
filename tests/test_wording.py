"""chatdesk.wording: every failure as one sentence saying what happened and what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk import wording
from chatdesk.providers import errors
from chatdesk.secrets import REDACTED, register_secret

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-ant-api03-" + "k3y" * 12  # shaped like a key: redacted even when not registered
REGISTERED = "0123456789-registered-secret"  # redacted because chatdesk knows it
CLASS_NAMES = {cls.__name__ for cls in errors.ALL_ERRORS} | {
    "ProviderError", "Exception", "OSError", "RuntimeError", "KeyError", "ValueError"}
WHAT_TO_DO = ("check", "try again", "wait", "add one", "set ", "pick", "type it")
STATUS = {errors.AuthError: 401, errors.RateLimited: 429, errors.QuotaExceeded: 429,
          errors.Overloaded: 529, errors.ServerError: 500, errors.BadRequest: 400,
          errors.ContextTooLong: 400, errors.NotFound: 404}


def assert_sentence(text: str) -> None:
    assert text[:1].isupper(), text
    assert text.endswith("."), text
    assert not text.endswith(".."), text
    assert not any(name in text for name in CLASS_NAMES), text
    assert KEY not in text and REGISTERED not in text, text
    assert "\n" not in text, text


@pytest.mark.parametrize("cls", errors.ALL_ERRORS, ids=lambda c: c.kind)
def test_each_error_class_says_what_happened_and_what_to_do(cls: type[errors.ProviderError],
                                                            ) -> None:
    register_secret(REGISTERED)
    exc = cls(f"upstream said: invalid x-api-key {KEY} ({REGISTERED}).", provider="anthropic",
              status=STATUS.get(cls))
    text = wording.provider_failure(exc, "anthropic", "https://api.anthropic.com")
    assert_sentence(text)
    assert any(todo in text.lower() for todo in WHAT_TO_DO), text
    if exc.status:
        assert f"({exc.status})" in text or cls in (errors.MissingKey,)


def test_known_sentences_keep_their_words() -> None:
    """The settings dialog's tests look for these beginnings."""
    def sentence(exc: errors.ProviderError) -> str:
        return wording.provider_failure(exc, "anthropic", "https://proxy.example:8443/v1")

    assert sentence(errors.AuthError("bad", status=401)) == (
        "Key rejected (401): check the API key for anthropic.")
    assert sentence(errors.ConnectionFailed("refused")) == (
        "Could not connect to proxy.example:8443: check the base URL and the network.")
    assert wording.provider_failure(errors.ConnectTimeout("slow"), "local") == (
        "Could not connect to local: check the base URL and the network.")
    redirect = errors.classify_response(301, {"location": "https://elsewhere.example/"}, "")
    assert sentence(redirect) == ("The provider's address redirects to "
                                  "https://elsewhere.example/; check its base URL in the "
                                  "settings.")


def test_anything_else_is_a_sentence_without_its_class_name() -> None:
    for exc in (OSError(f"proxy refused {KEY}"), KeyError("model"), RuntimeError("")):
        text = wording.provider_failure(exc, "openai")
        assert_sentence(text)
        assert text.startswith("The request could not be made (")


def test_attempt_summary_is_the_cli_failover_line() -> None:
    assert wording.attempt_summary("anthropic", "overloaded", 529, "one two three") == (
        "anthropic failed after 3 words: overloaded (529)")
    assert wording.attempt_summary("anthropic", "auth", 401, "") == (
        "anthropic failed: key rejected (401)")
    assert wording.attempt_summary("a", "weird_thing", None, "one") == (
        "a failed after 1 word: weird thing")
    assert wording.attempt_summary("a", None, None, "") == "a failed: error"  # an old row
    failed = ev.AttemptFailed("gemini", "m", "stall_timeout", "x", None, "a b")
    assert failed.summary() == "gemini failed after 2 words: stalled"


def test_failure_text_uses_the_same_words_for_the_transcript() -> None:
    assert wording.failure_text("anthropic", "overloaded", 529, "") == "Anthropic overloaded (529)"
    assert wording.failure_text("openai-2", "auth", 401, "Hi") == (
        "OpenAI-2 key rejected (401) after 1 word")
    assert wording.failure_text("mine", None, None, "") == "mine error"


def test_a_locked_key_file_is_one_sentence() -> None:
    text = wording.key_file_locked("anthropic")
    assert "encrypted key file" in text and "passphrase" in text
    assert_sentence(text)


@pytest.mark.parametrize(("env_var", "secure", "where", "expected"), [
    ("ANTHROPIC_API_KEY", True, "cli", "No API key for anthropic: add one with "
     "`chatdesk keys set anthropic` or set ANTHROPIC_API_KEY."),
    (None, True, "cli", "No API key for anthropic: add one with `chatdesk keys set anthropic`."),
    ("ANTHROPIC_API_KEY", False, "cli", "No API key for anthropic: add one with "
     "`chatdesk keys set anthropic` or set ANTHROPIC_API_KEY."),
    ("ANTHROPIC_API_KEY", True, "app", "No API key for anthropic: type it above and try again."),
    # Without a keyring the key field still works: this session only, or the key file.
    ("ANTHROPIC_API_KEY", False, "app", "No API key for anthropic: type it above and try again."),
])
def test_missing_key_has_one_sentence_per_situation(env_var: str | None, secure: bool,
                                                    where: wording.Where, expected: str) -> None:
    text = wording.missing_key("anthropic", env_var, secure, where)
    assert text == expected
    assert_sentence(text)


def test_every_missing_key_in_the_core_says_the_same() -> None:
    from chatdesk.providers.anthropic import AnthropicProvider
    from chatdesk.providers.base import ChatRequest, Endpoint, Message
    from chatdesk.providers.gemini import GeminiProvider

    request = ChatRequest([Message("user", "hi")], "m")
    for cls, var in ((AnthropicProvider, "ANTHROPIC_API_KEY"), (GeminiProvider, "GEMINI_API_KEY")):
        provider = cls(Endpoint("mine", "https://example.invalid"), None)  # type: ignore[arg-type]
        with pytest.raises(errors.MissingKey) as caught:
            provider.build_chat_call(request)
        assert caught.value.message == wording.clause(wording.missing_key("mine", var))
        assert wording.provider_failure(caught.value, "mine") == wording.missing_key("mine")


def test_router_reasons_and_stops() -> None:
    assert wording.cooling_down("a1", 250) == "a1 cooling down (4 min 10 s left)"
    assert wording.cooling_down("a1", 42.4) == "a1 cooling down (42 s left)"
    assert wording.key_unusable("a2", "auth") == (
        "a2: key rejected (fix the key with: chatdesk keys set a2)")
    assert wording.key_unusable("a2", "no_key") == (
        "a2: no API key (fix the key with: chatdesk keys set a2)")
    assert wording.every_provider_failed([]) == "every provider failed (no provider is configured)"
    assert wording.every_provider_failed(["a", "b"]) == "every provider failed (a; b)"
    advice = wording.advice(errors.BadRequest("x"))
    stopped = wording.stopped("openai", f"Bad request with {KEY}.", advice)
    assert stopped == (f"openai: Bad request with {REDACTED}. The provider refused this "
                       "request; sending it elsewhere would not help.")


def test_advice_is_empty_or_a_sentence() -> None:
    for cls in errors.ALL_ERRORS:
        text = wording.advice(cls("x", provider="anthropic"))
        if text:
            assert_sentence(text)
    rejected = errors.AuthError("x", provider="anthropic")
    assert "chatdesk keys set anthropic" in wording.advice(rejected)
    assert wording.advice(errors.Overloaded("x")) == ""


def test_clause_and_unexpected() -> None:
    assert wording.clause("No API key for a: add one.") == "no API key for a: add one"
    assert wording.clause("API keys are missing.") == "API keys are missing"
    assert wording.unexpected(RuntimeError("the disk is gone")) == (
        "The disk is gone. Details are in the log.")
    assert wording.unexpected(ValueError("")) == (
        "An unexpected error happened. Details are in the log.")
    assert KEY not in wording.unexpected(RuntimeError(f"sent {KEY}"))
    assert wording.display_name("openrouter") == "OpenRouter"
    assert wording.display_name(None) == "assistant"


def test_wording_loads_neither_httpx_nor_qt() -> None:
    code = ("import sys, chatdesk.wording; "
            "print(sorted(m for m, mod in sys.modules.items() if mod is not None and "
            "m.split('.')[0] in ('httpx', 'httpx_sse', 'PySide6', 'qasync')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


def test_history_commands_still_start_without_httpx(tmp_path: Path) -> None:
    code = ("import sys; from chatdesk.cli import main; "
            f"main(['--data-dir', {str(tmp_path)!r}, 'history', 'list']); "
            f"main(['--data-dir', {str(tmp_path)!r}, 'providers']); "
            "print(sorted(m for m, mod in sys.modules.items() if mod is not None"
            " and m.split('.')[0] in ('httpx', 'httpx_sse')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_provider_states_in_few_words_and_for_the_terminal() -> None:
    from chatdesk import wording

    assert wording.clock_time(42.2) == "0:43" and wording.clock_time(3725) == "1:02:05"
    assert wording.health_words("down", 133) == "down 2:13"
    assert wording.health_words("down", 0) == "trying again"  # the cooldown just ended
    assert wording.health_words("unknown", 0) == "not tried yet"
    assert wording.health_words("unknown", 0, ever_failed=True) == "not answered yet"
    assert wording.health_words("key-rejected", 200) == "key rejected"
    assert wording.health_cli("down", 59) == "down (59 s)"
    assert wording.health_cli("key-rejected", 240) == "key-rejected (4 min)"
    assert wording.health_cli("slow", 0) == "slow"
    assert [wording.ago(s) for s in (3, 42, 125, 7300, 90000, 200000)] == [
        "just now", "42 s ago", "2 min ago", "2 h ago", "1 day ago", "2 days ago"]
    assert wording.health_error("auth", "Invalid key sk-ant-api03-abcdefghijklmnopqrstuvwxyz"
                                ) == "Key rejected: Invalid key [redacted]."
    assert wording.health_error("overloaded", "Overloaded") == "Overloaded."
    assert wording.providers_usable(2, 4) == "2 of 4 providers usable"
    assert wording.providers_usable(3, 3) == "All 3 providers usable"
