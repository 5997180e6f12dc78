"""Lexers load on a worker thread, and the patterns others keep in re's cache are compiled again."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from chatdesk.ui import lexers
from tests.ui.conftest import wait_for_lexer


def test_a_lexer_loads_off_the_calling_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = lexers.get_lexer_by_name

    def spy(name: str, **options: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(name, **options)

    monkeypatch.setattr(lexers, "get_lexer_by_name", spy)
    monkeypatch.setattr(lexers, "_loading", {})
    assert lexers.ready("python") is False  # only started
    wait_for_lexer("python")
    found = lexers.lexer("python")
    assert found is not None and "python" in found.aliases
    assert threads and all(t != threading.current_thread().name for t in threads)
    assert lexers.lexer("no-such-language-at-all") is None  # known missing, not an error
    assert lexers.ready("no-such-language-at-all")


def test_kept_patterns_are_compiled_again_after_each_load(
        monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[tuple[str, int, str]] = []
    real = re.compile

    def spy(pattern: Any, flags: int = 0) -> Any:
        if pattern == "kept-pattern-x":
            compiled.append((pattern, int(flags), threading.current_thread().name))
        return real(pattern, flags)

    monkeypatch.setattr(lexers.re, "compile", spy)
    monkeypatch.setattr(lexers, "_loading", {})
    monkeypatch.setattr(lexers, "_kept", ())
    lexers.keep_compiled([("kept-pattern-x", re.IGNORECASE)])
    wait_for_lexer("rust")
    assert compiled and compiled[-1][:2] == ("kept-pattern-x", int(re.IGNORECASE))
    assert compiled[-1][2] != threading.current_thread().name


def test_a_broken_lexer_shows_the_code_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str, **options: Any) -> Any:
        raise RuntimeError("a plugin's bug")

    monkeypatch.setattr(lexers, "get_lexer_by_name", broken)
    monkeypatch.setattr(lexers, "_loading", {})
    assert lexers.lexer("python") is None


def test_while_the_worker_works_it_hands_the_gil_back_sooner() -> None:
    import sys

    usual = sys.getswitchinterval()
    during = lexers.later(sys.getswitchinterval).result()
    assert during <= lexers.WORKING_SWITCH_S < usual
    assert sys.getswitchinterval() == usual  # as it was once the work is done
