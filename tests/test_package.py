"""What importing chatdesk costs: httpx's own command-line tool is never loaded."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

LOADED = ("import sys; print(sorted(m for m in ('click', 'rich', 'httpx._main')"
          " if sys.modules.get(m) is not None))")


def modules_after(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", f"{code}; {LOADED}"], capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout.strip()


@pytest.mark.skipif(importlib.util.find_spec("click") is None, reason="needs click installed")
def test_httpx_command_line_module_is_not_imported() -> None:
    assert "click" in modules_after("import httpx")  # what httpx alone costs here
    assert modules_after("import chatdesk.providers.anthropic, chatdesk.chat") == "[]"


def test_httpx_still_works_after_the_stub() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import chatdesk, httpx; httpx.URL('http://a/b');"
         " r = httpx.Response(200, text='ok'); print(r.text)"],
        capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "ok"
