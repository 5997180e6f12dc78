"""Provider status as people see it: health merged with keys, and the retry gate built on it."""

from __future__ import annotations

from pathlib import Path

from chatdesk.context import AppContext
from chatdesk.failover.health import HealthBook
from chatdesk.provider_status import missing_keys, provider_statuses
from chatdesk.providers import errors
from chatdesk.secrets import KeyStore
from tests.helpers import MemoryKeyring

SETTINGS = """
[failover]
order = ["anthropic", "local", "openai"]
cooldown_s = 30

[providers.anthropic]
type = "anthropic"
model = "claude-x"

[providers.local]
type = "ollama"
model = "llama3.2"

[providers.openai]
type = "openai"
model = "gpt-x"
"""


def make_ctx(tmp_path: Path, environ: dict[str, str]) -> AppContext:
    (tmp_path / "settings.toml").write_text(SETTINGS, encoding="utf-8")
    ctx = AppContext.create(str(tmp_path), warn=False)
    ctx.keys = KeyStore(environ=environ)
    return ctx


def test_no_key_wins_over_health_and_keyless_servers_need_none(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, {"OPENAI_API_KEY": "sk-openai-test-0000"})
    try:
        missing = missing_keys(ctx.settings, ctx.keys)
        assert missing == {"anthropic"}
        ctx.health().record_failure("openai", errors.Overloaded("busy", provider="openai",
                                                                status=529))
        rows = {s.name: s for s in provider_statuses(ctx.settings, ctx.health(), missing)}
        assert [s.name for s in ctx.provider_statuses()] == ["anthropic", "local", "openai"]
        assert (rows["anthropic"].state, rows["anthropic"].ready) == ("no-key", False)
        assert (rows["local"].state, rows["local"].ready) == ("unknown", True)
        assert rows["openai"].state == "down" and not rows["openai"].ready
        assert 0 < rows["openai"].cooldown_left_s <= 30 and rows["openai"].failures == 1
        assert rows["openai"].last_error == "busy"
        assert rows["local"].cooldown_left_s == 0
    finally:
        ctx.close()


def test_providers_json_rows_are_the_statuses(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, {})
    try:
        rows = ctx.provider_rows()
        assert [set(r) for r in rows] == [{"name", "type", "model", "base_url", "state",
                                           "last_error", "cooldown_left_s", "slow", "set_up"}] * 3
        assert [r["state"] for r in rows] == ["no-key", "unknown", "no-key"]
    finally:
        ctx.close()


def test_the_retry_gate(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, {"ANTHROPIC_API_KEY": "sk-ant-test-0000"})
    try:
        assert not ctx.retry_ready()  # nothing waits
        conversation = ctx.store.create_conversation()
        ctx.store.add_message(conversation.id, "user", "waiting", status="pending")
        assert ctx.retry_ready()
        book = HealthBook(ctx.store, 30)
        for name in ("anthropic", "local"):
            book.record_failure(name, errors.ServerError("down", provider=name, status=500))
        # openai has no key, the others cool down: nothing could answer now.
        assert not ctx.retry_ready()
        assert ctx.retry_ready(missing=frozenset())  # had openai a key, it could
    finally:
        ctx.close()


def test_a_rejected_key_is_not_a_missing_one_and_a_key_found_later_is_tried(
        tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, {"OPENAI_API_KEY": "sk-openai-test-0000"})
    try:
        book = ctx.health()
        book.record_failure("openai", errors.AuthError("invalid key", provider="openai",
                                                       status=401))
        book.record_failure("anthropic", errors.MissingKey("none", provider="anthropic"))
        book.record_failure("local", errors.MissingKey("none", provider="local"))
        rows = {s.name: s for s in ctx.provider_statuses()}
        assert (rows["openai"].state, rows["openai"].ready) == ("key-rejected", False)
        assert rows["openai"].last_error_class == "auth" and rows["openai"].down_until
        assert rows["anthropic"].state == "no-key"  # none found: no key, whatever health says
        # Health remembers no key, but one is there now (a server needing none): tried next.
        assert (rows["local"].state, rows["local"].ready) == ("half-open", True)
        assert [r["state"] for r in ctx.provider_rows()] == ["no-key", "half-open",
                                                            "key-rejected"]
    finally:
        ctx.close()


def test_a_slow_provider_is_up_in_json_with_its_slow_flag(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, {})
    try:
        store = ctx.store
        conversation = store.create_conversation()
        for seconds in [0.5] * 10 + [6.0] * 3:  # its usual, then three late first tokens
            message = store.add_message(conversation.id, "assistant", "x")
            attempt = store.start_attempt(message.id, "local", "m")
            store.finish_attempt(attempt, outcome="ok", first_token_s=seconds)
        ctx.health().record_success("local")
        [local] = [s for s in ctx.provider_statuses() if s.name == "local"]
        assert (local.state, local.ready) == ("slow", True)
        [row] = [r for r in ctx.provider_rows() if r["name"] == "local"]
        assert (row["state"], row["slow"]) == ("up", True)  # SPEC has no "slow" state
    finally:
        ctx.close()


def test_a_key_in_the_environment_is_found_without_asking_the_keyring(tmp_path: Path) -> None:
    asked: list[str] = []

    class CountingKeyring(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            asked.append(username)
            return super().get_password(service, username)

    ctx = make_ctx(tmp_path, {"ANTHROPIC_API_KEY": "sk-ant-test-0000"})
    try:
        backend = CountingKeyring()
        backend.set_password("chatdesk", "openai", "sk-openai-kept-0001")
        backend.set_password("chatdesk", "anthropic", "sk-ant-kept-0002")
        ctx.keys = KeyStore(environ={"ANTHROPIC_API_KEY": "sk-ant-test-0000"}, backend=backend)
        assert missing_keys(ctx.settings, ctx.keys) == frozenset()
        assert asked == ["openai"]  # anthropic's key was in the environment
        # Sending still prefers the keyring's key (the lookup's own order).
        assert ctx.keys.lookup(ctx.settings.providers["anthropic"]).source == "keyring"
    finally:
        ctx.close()
