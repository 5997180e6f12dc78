"""`chatdesk ask --attach` against loopback fakes; `history show` and `search` with files."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chatdesk.chat import ChatService
from chatdesk.cli import EXIT_OK, EXIT_USAGE, main
from chatdesk.providers.base import ChatRequest, Provider, ProviderEvent
from chatdesk.settings import ProviderSettings
from tests.fakes.server import FakeProvider
from tests.helpers import key_env, write_settings
from tests.pdfs import make_pdf
from tests.test_attachments import png


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    monkeypatch.setenv("CHATDESK_DATA_DIR", str(directory))
    return directory


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ChatRequest]]:
    """Every ChatRequest handed to a provider object, with the provider's name (what the
    protocol module then encodes)."""
    requests: list[tuple[str, ChatRequest]] = []
    build = ChatService.build_provider

    def recording(self: ChatService, provider: ProviderSettings) -> Provider:
        built = build(self, provider)
        original = built.stream

        async def stream(request: ChatRequest) -> AsyncIterator[ProviderEvent]:
            requests.append((provider.name, request))
            async for event in original(request):
                yield event

        built.stream = stream  # type: ignore[method-assign]
        return built

    monkeypatch.setattr(ChatService, "build_provider", recording)
    return requests


@pytest.fixture
def fakes(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeProvider]]:
    with FakeProvider("anthropic") as a, FakeProvider("openai") as o, \
            FakeProvider("ollama") as local:
        pool = [("anthropic", a), ("openai", o), ("ollama", local)]
        write_settings(data_dir, pool)
        for var, value in key_env(pool).items():
            monkeypatch.setenv(var, value)
        yield dict(pool)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    shot = tmp_path / "shot.png"
    shot.write_bytes(png(4, 4))
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\nthe capybara census\n", encoding="utf-8")
    report = tmp_path / "report.pdf"
    report.write_bytes(make_pdf("Annual narwhal statistics"))
    return shot, notes, report


def test_ask_attach_sends_the_files_and_history_lists_them(
        tmp_path: Path, fakes: dict[str, FakeProvider], seen: list[tuple[str, ChatRequest]],
        capsys: pytest.CaptureFixture[str]) -> None:
    shot, notes, report = files(tmp_path)
    code, _, err = run(capsys, "ask", "--provider", "anthropic", "--attach", str(shot),
                       "--attach", str(notes), "--attach", str(report), "What are these?")
    assert code == EXIT_OK, err
    [(name, request)] = seen
    assert name == "anthropic"
    [question] = request.messages
    assert question.content == "What are these?"
    assert [(a.name, a.kind, a.media_type, a.data) for a in question.attachments] == [
        ("shot.png", "image", "image/png", shot.read_bytes()),
        ("notes.md", "text_file", "text/markdown", notes.read_bytes()),
        ("report.pdf", "document", "application/pdf", report.read_bytes())]
    assert len(fakes["anthropic"].requests) == 1

    code, out, _ = run(capsys, "history", "show", "1", "--json")
    shown = json.loads(out)
    listed = shown["messages"][0]["attachments"]
    assert [(f["name"], f["kind"], f["media_type"], f["size"]) for f in listed] == [
        ("shot.png", "image", "image/png", shot.stat().st_size),
        ("notes.md", "text_file", "text/markdown", notes.stat().st_size),
        ("report.pdf", "document", "application/pdf", report.stat().st_size)]
    assert all(len(f["sha256"]) == 64 for f in listed)
    assert "attachments" not in shown["messages"][1]

    code, out, _ = run(capsys, "history", "show", "1")
    assert "[attached: shot.png · image · " in out and "[attached: report.pdf · PDF · " in out

    code, out, _ = run(capsys, "search", "narwhal", "--json")
    [hit] = json.loads(out)
    assert (hit["message_id"], hit["attachment"]) == (shown["messages"][0]["id"], "report.pdf")
    code, out, _ = run(capsys, "search", "capybara")
    assert "(notes.md)" in out and "[capybara]" in out

    # A follow-up without files still carries the earlier ones.
    assert run(capsys, "ask", "--continue", "--provider", "openai", "And now?")[0] == EXIT_OK
    name, request = seen[-1]
    assert name == "openai"
    assert [len(m.attachments) for m in request.messages] == [3, 0, 0]


@pytest.mark.parametrize(("file_name", "data", "words"), [
    ("broken.png", b"\x00garbage", "Could not attach broken.png: it is not a readable PNG"),
    ("movie.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 30, "Could not attach movie.mp4:"),
    ("huge.txt", None, "more than the 30 MB a file may have"),
])
def test_a_bad_file_is_one_line_exit_2_and_nothing_saved_or_sent(
        tmp_path: Path, fakes: dict[str, FakeProvider], seen: list[tuple[str, ChatRequest]],
        capsys: pytest.CaptureFixture[str], file_name: str, data: bytes | None,
        words: str) -> None:
    path = tmp_path / file_name
    if data is None:
        with path.open("wb") as f:
            f.truncate(31_000_000)
    else:
        path.write_bytes(data)
    code, out, err = run(capsys, "ask", "--attach", str(path), "look at this")
    assert code == EXIT_USAGE
    assert out == "" and err.count("\n") == 1 and err.startswith("chatdesk: ")
    assert words in err and err.rstrip().endswith("Nothing was sent.")
    assert seen == [] and all(f.requests == [] for f in fakes.values())
    assert json.loads(run(capsys, "history", "list", "--json")[1]) == []


def test_a_missing_file_is_a_usage_error(tmp_path: Path, fakes: dict[str, FakeProvider],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ask", "--attach", str(tmp_path / "nope.png"), "hi")
    assert code == EXIT_USAGE and "there is no such file" in err
    assert all(f.requests == [] for f in fakes.values())


def test_a_file_no_provider_takes_is_refused_before_sending(
        tmp_path: Path, fakes: dict[str, FakeProvider], seen: list[tuple[str, ChatRequest]],
        capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4_500_000))  # over Anthropic's 5 MB of base64
    code, _, err = run(capsys, "ask", "--provider", "anthropic", "--attach", str(big), "hi")
    assert code == EXIT_USAGE
    assert err.strip() == ("chatdesk: Anthropic cannot take this message: big.png is 4.5 MB, "
                           "and it takes images of at most 3.9 MB. Nothing was sent.")
    assert seen == [] and json.loads(run(capsys, "history", "list", "--json")[1]) == []

    # With a backup that takes it, it is sent (who is skipped is the router's to decide).
    code, _, err = run(capsys, "ask", "--provider", "anthropic", "--provider", "openai",
                       "--attach", str(big), "hi")
    assert code == EXIT_OK, err
    assert seen and seen[-1][1].messages[-1].attachments[0].name == "big.png"


def test_a_scanned_pdf_cannot_go_to_ollama(tmp_path: Path, fakes: dict[str, FakeProvider],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(make_pdf(""))
    code, _, err = run(capsys, "ask", "--provider", "ollama", "--attach", str(scan), "read it")
    assert code == EXIT_USAGE
    assert "Ollama cannot take this message: it cannot read PDFs, and scan.pdf has no text" \
        in err
    assert fakes["ollama"].requests == []


def test_with_nothing_set_up_the_draft_says_the_files_are_not_in_it(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shot, _, _ = files(tmp_path)
    with FakeProvider("anthropic") as fake:
        write_settings(data_dir, [("anthropic", fake)])  # its key is in no variable
        code, _, err = run(capsys, "ask", "--attach", str(shot), "look")
        assert fake.requests == []
    assert code == EXIT_USAGE
    assert "kept as a draft" in err and "attach the files again when you send it" in err
    assert err.count("\n") == 1
