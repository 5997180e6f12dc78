"""The command line against loopback fake providers: SPEC's commands, shapes and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatdesk import cli, method_cache
from chatdesk.cli import main
from tests.fakes.server import ErrorResponse, FakeProvider
from tests.helpers import MODELS, key_env, write_settings

WIRE_TEXT = {
    "anthropic": "Hello! How can I help you today?",
    "openai": "Hello! How can I help you today?",
    "gemini": "Hello! How can I help you today?",
    "ollama": "Hello! How can I help?",
}
AUTH_HEADER = {"anthropic": "x-api-key", "openai": "authorization", "gemini": "x-goog-api-key"}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    monkeypatch.setenv("CHATDESK_DATA_DIR", str(directory))
    return directory


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("ptype", ["anthropic", "openai", "gemini", "ollama"])
def test_ask_streams_the_answer_of_each_protocol(
    ptype: str, data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeProvider(ptype) as fake:
        fakes = [(ptype, fake)]
        write_settings(data_dir, fakes)
        for var, value in key_env(fakes).items():
            monkeypatch.setenv(var, value)
        code, out, err = run(capsys, "ask", "--provider", ptype, "hello")
        request = fake.requests[-1]
    assert code == 0, err
    assert out == WIRE_TEXT[ptype] + "\n"
    assert f"answered by {ptype} · {MODELS[ptype]}" in err
    if ptype in AUTH_HEADER:
        assert fake.api_key in request.headers[AUTH_HEADER[ptype]]
    if ptype == "anthropic":
        assert request.headers["anthropic-version"] == "2023-06-01"
    # The answer and the question are in the history, with who answered.
    code, out, _ = run(capsys, "history", "show", "1", "--json")
    shown = json.loads(out)
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant"]
    assert shown["messages"][0]["content"] == "hello"
    assert shown["messages"][0]["provider"] is None
    answer = shown["messages"][1]
    assert (answer["content"], answer["provider"], answer["model"], answer["status"]) == (
        WIRE_TEXT[ptype], ptype, MODELS[ptype], "complete")


def test_history_and_search_json_shapes(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeProvider("openai") as fake:
        fakes = [("openai", fake)]
        write_settings(data_dir, fakes)
        monkeypatch.setenv(*next(iter(key_env(fakes).items())))
        assert run(capsys, "ask", "tell me about tides")[0] == 0
        assert run(capsys, "ask", "--continue", "and the moon?")[0] == 0

    code, out, _ = run(capsys, "history", "list", "--json")
    listing = json.loads(out)
    assert code == 0 and len(listing) == 1
    assert set(listing[0]) == {"id", "title", "created_at", "updated_at", "message_count"}
    assert listing[0]["message_count"] == 4
    assert listing[0]["title"] == "tell me about tides"

    code, out, _ = run(capsys, "history", "show", str(listing[0]["id"]), "--json")
    shown = json.loads(out)
    assert set(shown) == {"id", "title", "created_at", "messages"}
    assert set(shown["messages"][0]) == {"id", "role", "content", "provider", "model",
                                        "status", "created_at"}

    code, out, _ = run(capsys, "search", "moon", "--json")
    hits = json.loads(out)
    assert code == 0 and hits
    assert set(hits[0]) == {"conversation_id", "message_id", "role", "snippet", "created_at"}
    assert hits[0]["role"] == "user" and "moon" in hits[0]["snippet"]


def test_providers_json_lists_order_and_health(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeProvider("anthropic") as a, FakeProvider("gemini") as g:
        fakes = [("main", a), ("backup", g)]
        write_settings(data_dir, fakes)
        monkeypatch.setenv(*next(iter(key_env(fakes[:1]).items())))
        code, out, _ = run(capsys, "providers", "--json")
    rows = json.loads(out)
    assert code == 0
    assert [r["name"] for r in rows] == ["main", "backup"]
    assert set(rows[0]) == {"name", "type", "model", "base_url", "state", "last_error",
                            "cooldown_left_s", "slow", "set_up"}
    assert rows[0]["state"] == "unknown" and rows[1]["state"] == "no-key"  # never tried
    assert rows[0]["slow"] is False
    assert (rows[0]["set_up"], rows[1]["set_up"]) == (True, False)  # backup has no key
    assert fakes[0][1].api_key not in out


def test_every_provider_down_keeps_the_message_pending(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeProvider("anthropic") as fake:
        fakes = [("anthropic", fake)]
        write_settings(data_dir, fakes)
        monkeypatch.setenv(*next(iter(key_env(fakes).items())))
        fake.script(ErrorResponse(529, "error_529_overloaded.json"))
        code, out, err = run(capsys, "ask", "are you there?")
    assert code == 1
    assert out == ""
    assert "pending" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "history", "show", "1", "--json")
    messages = json.loads(out)["messages"]
    assert messages[0]["content"] == "are you there?" and messages[0]["status"] == "pending"


def test_usage_errors_exit_2_with_one_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))  # noqa: SIM115
    for argv in (["ask"], ["ask", "--provider", "nope", "hi"], ["history", "show", "x"],
                 ["keys", "set", "nope"], ["frobnicate"], ["ask", "-c", "99", "hi"]):
        code, out, err = run(capsys, *argv)
        assert code == 2, argv
        assert err.startswith("chatdesk: ") and err.count("\n") == 1, (argv, err)


def test_broken_settings_still_open_history(
    data_dir: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "settings.toml").write_text("[failover]\norder = [\n", encoding="utf-8")
    code, out, err = run(capsys, "history", "list", "--json")
    assert code == 0 and json.loads(out) == []
    assert "settings.toml line" in err
    code, _, err = run(capsys, "ask", "hi")
    assert code == 2 and "settings.toml line" in err and err.count("\n") == 1


def test_keys_set_without_keyring_says_what_to_do(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin("sk-ant-secret-value-123456\n"))
    code, out, err = run(capsys, "keys", "set", "anthropic")
    assert code == 2 and err.count("\n") == 1
    assert "CHATDESK_KEYS_PASSPHRASE" in err and "sk-ant-secret" not in err + out
    assert not (data_dir / "keys.enc").exists()


class _Stdin:
    def __init__(self, text: str) -> None:
        self.text = text

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self.text

    def read(self) -> str:
        return self.text


def test_cli_commands_never_import_qt(data_dir: Path) -> None:
    code = ("import sys; from chatdesk.cli import main; main(['history', 'list']); "
            "main(['providers']); main(['search', 'x']); "
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'qasync'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).parents[1])
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_history_delete_trash_restore_and_empty(
    data_dir: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from chatdesk.store import HistoryStore

    data_dir.mkdir(parents=True)
    with HistoryStore.open(data_dir / "history.db") as store:
        ids = [store.create_conversation(title).id for title in ("one", "two", "three")]
    code, _, err = run(capsys, "history", "delete", str(ids[0]), str(ids[1]))
    assert code == 0 and "Moved 2 conversations to the Trash" in err
    code, out, _ = run(capsys, "history", "list", "--json")
    assert [c["id"] for c in json.loads(out)] == [ids[2]]
    code, out, _ = run(capsys, "history", "trash", "--json")
    trashed = json.loads(out)
    assert [c["id"] for c in trashed] == [ids[1], ids[0]] and trashed[0]["deleted_at"]
    code, out, _ = run(capsys, "history", "trash")
    assert code == 0 and "two" in out and "one" in out
    # Restoring something not in the Trash changes nothing at all.
    code, _, err = run(capsys, "history", "restore", str(ids[0]), str(ids[2]))
    assert code == 1 and f"no conversation {ids[2]} in the Trash" in err
    assert len(json.loads(run(capsys, "history", "trash", "--json")[1])) == 2
    code, _, err = run(capsys, "history", "restore", str(ids[0]))
    assert code == 0 and "Restored 1 conversation." in err
    code, _, err = run(capsys, "history", "trash", "--empty")
    assert code == 0 and "1 conversation deleted for good" in err
    code, _, err = run(capsys, "history", "trash")
    assert "The Trash is empty." in err
    code, out, _ = run(capsys, "history", "list", "--json")
    assert sorted(c["id"] for c in json.loads(out)) == [ids[0], ids[2]]
    code, _, err = run(capsys, "history", "delete", "999")
    assert code == 1 and "no conversation 999 to delete" in err


def test_providers_text_says_each_state_and_the_wait(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chatdesk.context import AppContext
    from chatdesk.providers import errors

    with FakeProvider("anthropic") as a, FakeProvider("openai") as o, \
            FakeProvider("gemini") as g:
        fakes = [("main", a), ("second", o), ("backup", g)]
        write_settings(data_dir, fakes)
        for var, value in key_env(fakes[:2]).items():
            monkeypatch.setenv(var, value)
        ctx = AppContext.create(str(data_dir), warn=False)
        try:
            ctx.health().record_failure("second", errors.AuthError("bad key", status=401))
        finally:
            ctx.close()
        code, out, _ = run(capsys, "providers")
    assert code == 0
    states = {line.split()[0]: line.split()[2] for line in out.splitlines()}
    assert states == {"main": "unknown", "second": "key-rejected", "backup": "no-key"}
    assert "key-rejected (5 min)" in out and "last error: bad key" in out


@pytest.mark.parametrize(("argv", "named"), [
    ([], False),
    (["--self-test"], False),
    (["--data-dir", "list", "--portable"], False),  # "list" is the option's value here
    (["--data-dir=d", "history", "list"], True),
    (["--data", "d"], True),  # an abbreviation: parsed with every command, to be sure
    (["--help"], True),
    (["browse", "f.db"], True),
])
def test_only_a_run_that_may_name_a_command_builds_their_parsers(
        argv: list[str], named: bool) -> None:
    assert cli._may_name_a_command(argv) is named


def test_the_app_path_parses_its_options_and_refuses_unknown_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.build_parser(commands=False).parse_args(["--data-dir", "d", "--self-test"])
    assert (args.command, args.data_dir, args.self_test) == (None, "d", True)
    assert cli.main(["--data-dir", "d", "--bogus"]) == 2
    assert capsys.readouterr().err == (
        "chatdesk: unrecognized arguments: --bogus (see: chatdesk --help)\n")


def test_ask_keeps_the_collector_paused_until_the_first_text_is_out(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc
    import io

    import chatdesk

    class Out(io.StringIO):
        """stdout, noting whether the collector ran at each write."""

        collecting: list[bool] = []

        def write(self, text: str) -> int:
            self.collecting.append(gc.isenabled())
            return super().write(text)

    out = Out()
    monkeypatch.setattr(sys, "stdout", out)
    with FakeProvider("openai") as fake:
        write_settings(data_dir, [("openai", fake)])
        for var, value in key_env([("openai", fake)]).items():
            monkeypatch.setenv(var, value)
        try:
            chatdesk.begin_start_up()
            code = main(["ask", "hello"])
            after = gc.isenabled()
        finally:
            chatdesk.end_start_up()
            gc.enable()
            gc.unfreeze()  # what end_start_up froze: this test process goes on
            method_cache.uninstall()
    assert code == 0
    assert out.getvalue() == WIRE_TEXT["openai"] + "\n"
    assert out.collecting[0] is False and after is True
    assert out.collecting[1:] and all(out.collecting[1:])  # the first text resumed it
