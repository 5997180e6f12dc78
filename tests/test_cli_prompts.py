"""`chatdesk prompts`, `chatdesk presets` and `ask --prompt/--var/--preset` against loopback
fake providers: the JSON shape, text from stdin, and what reaches the wire."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chatdesk.cli import main
from tests.fakes.responses import ErrorResponse
from tests.fakes.server import FakeProvider
from tests.helpers import MODELS, key_env, write_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    monkeypatch.setenv("CHATDESK_DATA_DIR", str(directory))
    return directory


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def configure(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
              fakes: list[tuple[str, FakeProvider]]) -> None:
    write_settings(data_dir, fakes)
    for var, value in key_env(fakes).items():
        monkeypatch.setenv(var, value)


def test_prompts_add_from_stdin_list_json_show_edit_delete(
        data_dir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "prompts", "add", "summarize",
                       stdin="Summarize {{text}} in {{words}} words.\n", monkeypatch=monkeypatch)
    assert code == 0, err
    code, out, _ = run(capsys, "prompts", "list", "--json")
    assert code == 0
    assert json.loads(out) == [{"name": "summarize",
                                "text": "Summarize {{text}} in {{words}} words.",
                                "variables": ["text", "words"], "uses": 0,
                                "last_used_at": None}]
    code, _, err = run(capsys, "prompts", "add", "summarize", stdin="again",
                       monkeypatch=monkeypatch)
    assert code == 2 and "already" in err
    assert run(capsys, "prompts", "edit", "summarize", stdin="Shorter {{text}}",
               monkeypatch=monkeypatch)[0] == 0
    code, out, _ = run(capsys, "prompts", "show", "summarize")
    assert (code, out) == (0, "Shorter {{text}}\n")
    code, out, _ = run(capsys, "prompts", "list")
    assert code == 0 and out.startswith("summarize") and "{text}" in out
    assert run(capsys, "prompts", "show", "nope")[0] == 2
    assert run(capsys, "prompts", "add", "empty", stdin="  \n", monkeypatch=monkeypatch)[0] == 2
    assert run(capsys, "prompts", "delete", "summarize")[0] == 0
    assert json.loads(run(capsys, "prompts", "list", "--json")[1]) == []
    assert run(capsys, "prompts", "frobnicate")[0] == 2


def test_prompts_export_and_import_on_the_command_line(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    run(capsys, "prompts", "add", "greet", stdin="Hello {{who}}", monkeypatch=monkeypatch)
    folder = tmp_path / "library"
    code, _, err = run(capsys, "prompts", "export", str(folder))
    assert code == 0 and f"Wrote 1 file to {folder}." in err
    code, _, err = run(capsys, "prompts", "export", str(folder))
    assert code == 0 and "Wrote 0 files" in err and "1 was up to date already" in err
    assert (folder / "greet.md").exists()
    code, _, err = run(capsys, "prompts", "import", str(folder))
    assert code == 0 and "Imported 0 prompts, 1 already here." in err
    (folder / "greet.md").write_text("---\nkind: prompt\nname: greet\n---\nHi {{who}}\n")
    code, _, err = run(capsys, "prompts", "import", str(folder))
    assert code == 1 and "greet.md: a prompt named 'greet' exists already" in err
    assert run(capsys, "prompts", "show", "greet")[1] == "Hello {{who}}\n"


def test_ask_prompt_sends_the_filled_in_text_and_counts_the_use(
        data_dir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeProvider("openai") as fake:
        configure(data_dir, monkeypatch, [("openai", fake)])
        run(capsys, "prompts", "add", "translate",
            stdin="Translate {{text}} into {{language}}.", monkeypatch=monkeypatch)
        code, _, err = run(capsys, "ask", "--prompt", "translate", "--var", "text=good night")
        assert code == 2 and "language" in err and not fake.requests  # nothing sent
        code, out, err = run(capsys, "ask", "--prompt", "translate", "--var", "text=good night",
                             "--var", "language=French")
        assert code == 0, err
        body = fake.requests[-1].json
    assert body["messages"][-1] == {"role": "user",
                                    "content": "Translate good night into French."}
    listed = json.loads(run(capsys, "prompts", "list", "--json")[1])[0]
    assert listed["uses"] == 1 and listed["last_used_at"] is not None
    assert run(capsys, "ask", "--prompt", "missing")[0] == 2
    assert run(capsys, "ask", "--var", "a=b", "hello")[0] == 2


def test_presets_add_show_list_json_and_usage_errors(
        data_dir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeProvider("anthropic") as a, FakeProvider("openai") as o:
        configure(data_dir, monkeypatch, [("main", a), ("backup", o)])
        code, _, err = run(capsys, "presets", "add", "careful", "--system", "Be careful.",
                           "--provider", "backup:gpt-special", "--provider", "main",
                           "--temperature", "0.25", "--max-tokens", "321")
        assert code == 0, err
        assert run(capsys, "presets", "add", "typo", "--provider", "nosuch")[0] == 2
        assert run(capsys, "presets", "add", "hot", "--temperature", "7")[0] == 2
        assert run(capsys, "presets", "add", "careful")[0] == 2
        assert run(capsys, "presets", "edit", "careful", "--max-tokens", "400")[0] == 0
        code, out, _ = run(capsys, "presets", "list", "--json")
        assert json.loads(out) == [{
            "name": "careful", "system_prompt": "Be careful.",
            "providers": [{"provider": "backup", "model": "gpt-special"},
                          {"provider": "main", "model": None}],
            "temperature": 0.25, "max_tokens": 400}]
        code, out, _ = run(capsys, "presets", "show", "careful")
        assert code == 0 and "backup:gpt-special, main" in out and "0.25" in out
        assert run(capsys, "presets", "show", "nope")[0] == 2


def test_ask_preset_uses_its_order_models_system_temperature_and_max_tokens(
        data_dir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeProvider("anthropic") as a, FakeProvider("openai") as o:
        # The failover order says main first; the preset says backup first.
        configure(data_dir, monkeypatch, [("main", a), ("backup", o)])
        run(capsys, "presets", "add", "careful", "--system", "Be careful.",
            "--provider", "backup:gpt-special", "--provider", "main:claude-special",
            "--temperature", "0.25", "--max-tokens", "321")
        o.script(ErrorResponse(503))  # the first of the preset fails: its second is asked
        code, out, err = run(capsys, "ask", "--preset", "careful", "hello")
        assert code == 0, err
        assert "answered by main · claude-special" in err
        first, second = o.requests[-1].json, a.requests[-1].json
        assert first["model"] == "gpt-special"
        assert first["messages"][0] == {"role": "system", "content": "Be careful."}
        assert (first["temperature"], first["max_tokens"]) == (0.25, 321)
        assert second["model"] == "claude-special" and second["system"] == "Be careful."
        assert (second["temperature"], second["max_tokens"]) == (0.25, 321)

        # The conversation remembers its preset: the next message follows it too (backup
        # is cooling down after its 503, so the preset's second is asked again).
        asked = len(o.requests)
        code, _, err = run(capsys, "ask", "--continue", "and then?")
        assert code == 0, err
        assert "answered by main · claude-special" in err and len(o.requests) == asked
        later = a.requests[-1].json
        assert (later["model"], later["temperature"], later["max_tokens"], later["system"]) \
            == ("claude-special", 0.25, 321, "Be careful.")

        # Without a preset, nothing of it: the failover order and the entries' own values.
        code, _, err = run(capsys, "ask", "plain")
        assert code == 0 and f"answered by main · {MODELS['anthropic']}" in err
        plain = a.requests[-1].json
        assert "temperature" not in plain and plain["max_tokens"] == 4096
        assert "system" not in plain
        assert run(capsys, "ask", "--preset", "nope", "hi")[0] == 2
