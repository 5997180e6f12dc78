"""The wire examples in tests/wire are an exact copy of the reference ../shared/wire."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wirefiles import COPY_ONLY, SHARED_WIRE, WIRE_COPY, default_wire_dir, wire_drift


@pytest.mark.skipif(not SHARED_WIRE.is_dir(),
                    reason=f"no reference wire examples beside the repository ({SHARED_WIRE})")
def test_the_copy_matches_the_shared_reference() -> None:
    problems = wire_drift(SHARED_WIRE, WIRE_COPY)
    assert not problems, ("tests/wire has drifted from ../shared/wire; copy it again with "
                          "`cp -R ../shared/wire/. tests/wire/`:\n" + "\n".join(problems))


def test_the_copy_is_in_the_repository() -> None:
    for protocol in ("anthropic", "openai", "gemini", "ollama", "statuspage"):
        assert (WIRE_COPY / protocol).is_dir(), protocol
    assert (WIRE_COPY / "README.md").is_file()
    assert all((WIRE_COPY / name).is_file() for name in COPY_ONLY if not name.endswith("/"))
    assert (WIRE_COPY / "sdk" / "README.md").is_file()


def test_the_helpers_read_the_copy_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.delenv("CHATDESK_WIRE_DIR", raising=False)
    assert default_wire_dir() == WIRE_COPY
    monkeypatch.setenv("CHATDESK_WIRE_DIR", str(tmp_path))
    assert default_wire_dir() == tmp_path


def test_crlf_survives_in_the_copy() -> None:
    # gemini's stream uses CRLF; a checkout that normalised line endings would lose it.
    assert b"\r\n" in (WIRE_COPY / "gemini" / "stream_ok.sse").read_bytes()


# -- the comparison itself, on folders of our own -------------------------------------------

def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_drift_is_empty_for_identical_folders(tmp_path: Path) -> None:
    files = {"README.md": b"x\n", "openai/stream_ok.sse": b"data: 1\r\n\r\n"}
    ref, copy = _tree(tmp_path / "ref", files), _tree(tmp_path / "copy", files)
    _tree(copy, {"SOURCE.md": b"from ref\n"})
    assert wire_drift(ref, copy) == []


def test_drift_names_changed_missing_and_extra_files(tmp_path: Path) -> None:
    ref = _tree(tmp_path / "ref", {"a/one.json": b"{}", "a/two.json": b"[]", "b/three": b"3"})
    copy = _tree(tmp_path / "copy", {"a/one.json": b"{}\n", "b/three": b"3", "b/four": b"4"})
    assert wire_drift(ref, copy) == [
        "missing from copy/: a/two.json",
        "not in the reference: b/four",
        "differs from the reference: a/one.json",
    ]


def test_a_folder_of_the_copy_own_may_be_in_the_copy_alone(tmp_path: Path) -> None:
    ref = _tree(tmp_path / "ref", {"a/one.json": b"{}"})
    copy = _tree(tmp_path / "copy", {"a/one.json": b"{}", "sdk/a/x.sse": b"data: 1\n\n",
                                     "sdkx/y": b"y"})
    assert wire_drift(ref, copy, frozenset({"sdk/"})) == ["not in the reference: sdkx/y"]


def test_drift_sees_a_line_ending_change(tmp_path: Path) -> None:
    ref = _tree(tmp_path / "ref", {"s.sse": b"data: x\r\n\r\n"})
    copy = _tree(tmp_path / "copy", {"s.sse": b"data: x\n\n"})
    assert wire_drift(ref, copy) == ["differs from the reference: s.sse"]
