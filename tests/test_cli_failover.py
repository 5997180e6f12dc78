"""`chatdesk ask` and `chatdesk retry` when providers fail: what stdout, stderr, the exit code
and the history say."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.cli import main
from tests.fakes.server import ErrorResponse, FakeProvider, Stream, Synth
from tests.helpers import MODELS, key_env, reset_fakes, write_settings


@pytest.fixture(scope="module")
def pool() -> Iterator[dict[str, FakeProvider]]:
    with FakeProvider("anthropic") as a, FakeProvider("anthropic") as b, \
            FakeProvider("openai") as o:
        yield {"anthropic": a, "backup": b, "openai": o}


@pytest.fixture
def fakes(pool: dict[str, FakeProvider]) -> Iterator[dict[str, FakeProvider]]:
    yield reset_fakes(pool)
    reset_fakes(pool)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    monkeypatch.setenv("CHATDESK_DATA_DIR", str(directory))
    return directory


def configure(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
              pairs: list[tuple[str, FakeProvider]], **failover: float) -> None:
    write_settings(data_dir, pairs, connect_timeout_s=0.3, first_token_timeout_s=0.5,
                   stall_timeout_s=0.5, **failover)
    for var, value in key_env(pairs).items():
        monkeypatch.setenv(var, value)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def history(capsys: pytest.CaptureFixture[str], conversation: int = 1) -> list[dict]:
    code, out, _ = run(capsys, "history", "show", str(conversation), "--json")
    assert code == 0
    return json.loads(out)["messages"]


def test_midstream_failover_says_what_happened_on_stderr(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = fakes["anthropic"], fakes["backup"]
    configure(data_dir, monkeypatch, [("anthropic", a), ("backup", b)])
    a.script(Synth(["Tides rise", " "], error="Overloaded"))
    b.script(Synth([" twice", " a day."]))

    code, out, err = run(capsys, "ask", "When do tides rise?")

    assert code == 0
    assert out == "Tides rise twice a day.\n"
    assert err.splitlines() == [
        "anthropic failed after 2 words: overloaded — continuing on backup",
        f"answered by backup · {MODELS['anthropic']} (conversation 1)",
    ]
    messages = history(capsys)
    assert [(m["role"], m["content"], m["status"], m["provider"]) for m in messages] == [
        ("user", "When do tides rise?", "complete", None),
        ("assistant", "Tides rise twice a day.", "complete", "backup")]


def test_failover_before_any_text_names_status_and_backup(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, o = fakes["anthropic"], fakes["openai"]
    configure(data_dir, monkeypatch, [("anthropic", a), ("openai", o)])
    a.script(ErrorResponse(529))

    code, out, err = run(capsys, "ask", "hello")

    assert code == 0 and out == "Hello! How can I help you today?\n"
    assert err.splitlines() == [
        "anthropic failed: overloaded (529) — switching to openai",
        f"answered by openai · {MODELS['openai']} (conversation 1)",
    ]


def test_restart_on_a_backup_that_cannot_continue_says_so(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, o = fakes["anthropic"], fakes["openai"]
    configure(data_dir, monkeypatch, [("anthropic", a), ("openai", o)])
    a.script(Synth(["Half an"], finish=False))

    code, out, err = run(capsys, "ask", "hello")

    assert code == 0
    assert out.splitlines()[-1] == "Hello! How can I help you today?"
    assert err.splitlines()[0] == (
        "anthropic failed after 2 words: stream cut short — answering afresh on openai")
    assert history(capsys)[-1]["content"] == "Hello! How can I help you today?"


def test_all_down_then_retry_delivers_the_pending_message_once(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, o = fakes["anthropic"], fakes["openai"]
    configure(data_dir, monkeypatch, [("anthropic", a), ("openai", o)], cooldown_s=0)
    a.script(ErrorResponse(529))
    o.script(ErrorResponse(503))

    code, out, err = run(capsys, "ask", "are you there?")

    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == "anthropic failed: overloaded (529) — switching to openai"
    assert len(lines) == 2 and lines[1].startswith("chatdesk: every provider failed")
    assert "pending" in lines[1] and "chatdesk retry" in lines[1]
    assert "Traceback" not in err
    assert history(capsys)[0]["status"] == "pending"

    # The provider recovers (cooldown_s = 0): retry sends the message, once.
    code, out, err = run(capsys, "retry")
    assert code == 0, err
    assert out == "Hello! How can I help you today?\n"
    assert "1 sent, 0 still pending" in err
    assert len(a.requests) == 2 and len(o.requests) == 1
    messages = history(capsys)
    assert [(m["role"], m["status"]) for m in messages] == [
        ("user", "complete"), ("assistant", "failed"), ("assistant", "complete")]
    assert messages[-1]["provider"] == "anthropic"

    code, out, err = run(capsys, "retry")
    assert (code, out, err) == (0, "", "No pending messages.\n")
    assert len(a.requests) == 2


def test_plain_bad_request_stops_with_one_line(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = fakes["anthropic"], fakes["backup"]
    configure(data_dir, monkeypatch, [("anthropic", a), ("backup", b)])
    a.script(ErrorResponse(400, "error_400_alternation.json"))

    code, out, err = run(capsys, "ask", "hello")

    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("chatdesk: anthropic: messages: roles")
    assert "would not help" in err
    assert b.requests == []


def test_rejected_key_is_said_plainly_and_the_backup_answers(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, o = fakes["anthropic"], fakes["openai"]
    configure(data_dir, monkeypatch, [("anthropic", a), ("openai", o)])
    monkeypatch.setenv("CHATDESK_TEST_KEY_ANTHROPIC", "wrong")

    code, out, err = run(capsys, "ask", "hello")

    assert code == 0 and out == "Hello! How can I help you today?\n"
    assert err.splitlines()[0] == ("anthropic failed: key rejected (401) — switching to openai "
                                   "(fix the key with: chatdesk keys set anthropic)")
    code, out, _ = run(capsys, "providers", "--json")
    assert {r["name"]: r["state"] for r in json.loads(out)} == {
        "anthropic": "key-rejected", "openai": "up"}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_failover_line_gets_its_own_line_without_touching_stdout(
    fakes: dict[str, FakeProvider], data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = fakes["anthropic"], fakes["backup"]
    configure(data_dir, monkeypatch, [("anthropic", a), ("backup", b)])
    a.script(Synth(["Tides rise"], error="Overloaded"))
    b.script(Synth([" twice", " a day."]))
    out, err = io.StringIO(), _Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)

    assert main(["ask", "When?"]) == 0

    assert out.getvalue() == "Tides rise twice a day.\n"
    assert err.getvalue().startswith(
        "\nanthropic failed after 2 words: overloaded — continuing on backup\n")


def test_retry_sends_two_pending_messages_of_a_conversation_in_order(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = fakes["anthropic"]
    configure(data_dir, monkeypatch, [("anthropic", a)], cooldown_s=0)
    a.script(ErrorResponse(529), ErrorResponse(529), ErrorResponse(529))
    assert run(capsys, "ask", "Question A")[0] == 1
    assert run(capsys, "ask", "-c", "1", "Question B")[0] == 1

    # A fails once more: B waits behind it, and both are still pending.
    code, _, err = run(capsys, "retry")
    assert code == 1 and "0 sent, 2 still pending" in err
    assert len(a.requests) == 3

    a.script(Synth(["Answer A."]), Synth(["Answer B."]))
    code, out, err = run(capsys, "retry")
    assert code == 0, err
    assert out == "Answer A.\nAnswer B.\n" and "2 sent, 0 still pending" in err
    sent = [[m["content"] for m in r.json["messages"]] for r in a.requests[3:]]
    assert sent == [["Question A"], ["Question A", "Answer A.", "Question B"]]
    thread = [(m["role"], m["content"]) for m in history(capsys) if m["status"] != "failed"]
    assert thread == [("user", "Question A"), ("assistant", "Answer A."),
                      ("user", "Question B"), ("assistant", "Answer B.")]


# -- issue 14: refusals, reasoning, and where a fresh answer starts ---------------------------

SDK_WIRE = Path(__file__).parent / "wire" / "sdk"


def test_a_refusal_prints_what_arrived_exits_1_and_names_the_next_provider(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, o = fakes["anthropic"], fakes["openai"]
    configure(data_dir, monkeypatch, [("anthropic", a), ("openai", o)])
    a.script(Stream((SDK_WIRE / "anthropic" / "thinking_then_refusal.sse").read_bytes()))

    code, out, err = run(capsys, "ask", "What is a solar eclipse, claudius?")

    assert code == 1 and out == "Hi\n"
    assert err.splitlines() == [
        "chatdesk: Anthropic refused to answer; its reply is kept, marked refused. To ask "
        'openai: chatdesk ask -c 1 --provider openai "…"']
    assert o.requests == []
    answer = history(capsys)[-1]
    assert (answer["content"], answer["status"]) == ("Hi", "refused")
    assert answer["reasoning"].startswith("Simple educational question")


def test_a_safety_block_is_worded_as_a_block(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeProvider("gemini") as g:
        configure(data_dir, monkeypatch, [("gemini", g)])
        g.script(Stream((SDK_WIRE / "gemini" / "finish_safety.sse").read_bytes()))
        code, out, err = run(capsys, "ask", "hello")
    assert code == 1 and out == "Here is how\n"
    assert err.startswith("chatdesk: Gemini blocked the answer (SAFETY); its reply is kept")
    assert 'To ask another provider: chatdesk ask -c 1 --provider NAME "…"' in err


def test_history_show_prints_reasoning_apart_from_the_answer(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    o = fakes["openai"]
    configure(data_dir, monkeypatch, [("openai", o)])
    o.script(Stream((SDK_WIRE / "openai" / "deepseek_reasoning_content.sse").read_bytes()))
    code, out, _ = run(capsys, "ask", "Which is larger, 9.11 or 9.8?")
    assert code == 0 and out == "9.8 is larger.\n"  # the reasoning is not the answer

    code, out, _ = run(capsys, "history", "show", "1")
    assert code == 0
    lines = out.splitlines()
    start = lines.index("reasoning (not part of the answer):")
    assert lines[start + 1:start + 4] == [
        "  │ The user asks 9.11 vs 9.8. 9.8 = 9.80 > 9.11.", "", "9.8 is larger."]
    answer, question = history(capsys)[-1], history(capsys)[0]
    assert answer["reasoning"] == "The user asks 9.11 vs 9.8. 9.8 = 9.80 > 9.11."
    assert "reasoning" not in question


def _restart(fakes: dict[str, FakeProvider], data_dir: Path,
             monkeypatch: pytest.MonkeyPatch) -> None:
    a, o = fakes["anthropic"], fakes["openai"]
    configure(data_dir, monkeypatch, [("anthropic", a), ("openai", o)])
    a.script(Synth(["Half an"], finish=False))


def test_on_a_terminal_a_fresh_answer_is_marked_where_it_starts(
    fakes: dict[str, FakeProvider], data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _restart(fakes, data_dir, monkeypatch)
    out, err = _Terminal(), _Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)

    assert main(["ask", "hello"]) == 0

    assert out.getvalue() == "Half an\nHello! How can I help you today?\n"
    assert err.getvalue().splitlines()[:2] == [
        "anthropic failed after 2 words: stream cut short — answering afresh on openai",
        "──── the answer from openai starts below; the text above was abandoned ────"]


def test_piped_stdout_gets_no_separator(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _restart(fakes, data_dir, monkeypatch)

    code, out, err = run(capsys, "ask", "hello")

    assert code == 0 and out == "Half an\nHello! How can I help you today?\n"
    assert "────" not in out and "────" not in err


def test_retry_of_a_message_that_is_then_refused_exits_1(
    fakes: dict[str, FakeProvider], data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = fakes["anthropic"]
    configure(data_dir, monkeypatch, [("anthropic", a)], cooldown_s=0)
    a.script(ErrorResponse(529))
    assert run(capsys, "ask", "hello")[0] == 1
    a.script(Stream((SDK_WIRE / "anthropic" / "refusal_no_text.sse").read_bytes()))

    code, _, err = run(capsys, "retry")

    assert code == 1 and "Anthropic refused to answer" in err and "1 sent, 0 still pending" in err
    assert history(capsys)[-1]["status"] == "refused"


def test_a_hedge_is_one_line_on_stderr_and_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from chatdesk import events as ev
    from chatdesk.cli_chat import _AnswerPrinter

    printer = _AnswerPrinter()
    printer.show(ev.Hedged("anthropic", "openai", 2.5))
    printer.show(ev.TextChunk("Hi."))
    out, err = capsys.readouterr()
    assert out == "Hi."
    assert err == "Anthropic has not started answering after 2.5 s; also asking OpenAI.\n"


def test_an_attempt_that_lost_a_hedge_says_who_answered() -> None:
    from chatdesk.cli import _attempt_line
    from chatdesk.states import LOST_HEDGE
    from chatdesk.store import Attempt

    fields = dict.fromkeys(Attempt.__dataclass_fields__)
    lost = Attempt(**{**fields, "provider": "anthropic", "outcome": "cancelled",
                      "error_class": LOST_HEDGE,
                      "error_message": "Cancelled: the answer went to OpenAI."})
    assert _attempt_line(lost) == "anthropic: Cancelled: the answer went to OpenAI."
    stopped = Attempt(**{**fields, "provider": "anthropic", "outcome": "cancelled"})
    assert _attempt_line(stopped) == "anthropic: stopped by you"
