"""chatdesk.method_cache: dataclasses' methods compiled once, the same classes either way."""

from __future__ import annotations

import builtins
import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk import method_cache


@pytest.fixture
def cache_file(tmp_path: Path) -> Iterator[Path]:
    file = tmp_path / "__pycache__" / "methods.bin"
    yield file
    method_cache.uninstall()


def make_class() -> type:
    @dataclasses.dataclass(frozen=True)
    class Row:
        """A row."""

        id: int
        text: str = ""
        tags: tuple[str, ...] = dataclasses.field(default=(), repr=False)

    return Row


def compiled_sources(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = builtins.compile

    def counting(source: object, *args: object, **kwargs: object) -> object:
        if isinstance(source, str):
            seen.append(source)
        return real(source, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "compile", counting)
    return seen


def test_a_class_made_through_the_cache_behaves_as_one_made_without(cache_file: Path) -> None:
    plain = make_class()
    assert method_cache.install(cache_file)
    cached = make_class()
    assert repr(plain(1, "a", ("x",))) == repr(cached(1, "a", ("x",)))
    assert repr(cached(1, "a")).endswith("Row(id=1, text='a')")
    for row_class in (plain, cached):
        row = row_class(1, "a", ("x",))
        assert row == row_class(1, "a", ("x",)) and row != row_class(2)
        assert hash(row) == hash(row_class(1, "a", ("x",)))
        with pytest.raises(dataclasses.FrozenInstanceError):
            row.id = 3  # type: ignore[misc]
        assert row_class(5).text == ""


def test_the_next_run_compiles_nothing_it_kept(cache_file: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    method_cache.install(cache_file)
    make_class()
    method_cache.save()
    assert cache_file.is_file()
    method_cache.uninstall()

    method_cache.install(cache_file)  # as the next process does
    compiled = compiled_sources(monkeypatch)
    make_class()
    assert compiled == []


def test_a_changed_class_is_compiled_afresh(cache_file: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    method_cache.install(cache_file)
    make_class()
    method_cache.save()
    method_cache.uninstall()
    method_cache.install(cache_file)
    compiled = compiled_sources(monkeypatch)

    @dataclasses.dataclass(frozen=True)
    class Other:
        """Another shape: its methods are not in the file."""

        name: str
        size: int = 0

    assert Other("a", 2) == Other("a", 2)
    assert any("name" in source and "size" in source for source in compiled)


@pytest.mark.parametrize("content", [
    b"", b"garbage", b"chatdesk-dataclass-methods\n\x00\x00\x00\x00rest",
    b"chatdesk-dataclass-methods\n" + b"\x0d\x0d\x0d\x0a" + b"\xff\xfe",
])
def test_a_damaged_or_foreign_file_is_ignored(cache_file: Path, content: bytes) -> None:
    cache_file.parent.mkdir()
    cache_file.write_bytes(content)
    assert method_cache.install(cache_file)
    row = make_class()(1)
    assert row.id == 1
    method_cache.save()  # replaced by a good one
    method_cache.uninstall()
    assert method_cache.install(cache_file)
    assert make_class()(2).id == 2


def test_a_place_it_cannot_write_only_means_compiling_again(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    try:
        assert method_cache.install(blocker / "methods.bin")
        make_class()
        method_cache.save()  # no exception, nothing written
    finally:
        method_cache.uninstall()
    assert not (blocker / "methods.bin").exists()


def test_uninstall_gives_dataclasses_its_own_exec_back(cache_file: Path) -> None:
    method_cache.install(cache_file)
    method_cache.uninstall()
    assert "exec" not in vars(dataclasses)


@pytest.mark.parametrize(("argv", "role"), [
    ([], "app"), (["--self-test"], "app"), (["--data-dir", "ask", "--portable"], "app"),
    (["--data-dir", "d", "ask", "hi"], "ask"), (["history", "list"], "history"),
    (["../weird"], "other"),
])
def test_each_command_keeps_a_cache_of_its_own(argv: list[str], role: str) -> None:
    import chatdesk

    assert chatdesk._role(argv) == role
    assert method_cache.default_file(role).name == (
        f"dataclass-methods.{role}.{sys.implementation.cache_tag}.bin")
