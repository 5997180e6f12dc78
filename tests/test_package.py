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


def test_version_is_the_installed_distributions() -> None:
    import importlib.metadata

    import chatdesk

    try:
        installed = importlib.metadata.version("chatdesk")
    except importlib.metadata.PackageNotFoundError:
        installed = "0.0.0"
    assert chatdesk._installed_version() == installed
    assert chatdesk.__version__ == installed


def test_version_is_read_from_the_metadata_header_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    import chatdesk

    class Dist:
        version = "never parsed"

        def read_text(self, name: str) -> str | None:
            return ("Metadata-Version: 2.1\r\nName: chatdesk\r\nVersion: 9.8.7rc1\r\n\r\n"
                    "Version: 1.0 (the README below the headers)\r\n"
                    if name == "METADATA" else None)

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Dist())
    assert chatdesk._installed_version() == "9.8.7rc1"
