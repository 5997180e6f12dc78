"""What importing chatdesk costs: httpx's own command-line tool is never loaded, nor by `ask`
what it does not need."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.fakes.server import FakeProvider

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


# What `chatdesk ask` never needs on its way to an answer (no key file, no status pages, no
# app, no settings written): loading any of them would cost every ask start-up time.
NOT_ON_ASK = ("chatdesk.provider_status", "chatdesk.failover.status_page", "chatdesk.ui",
              "chatdesk.transfer", "chatdesk.cli_prompts", "chatdesk.cli_setup", "PySide6",
              "qasync", "tomlkit", "markdown_it", "pygments", "sqlite_utils", "cryptography",
              "logging.handlers")
ASK_AND_LIST = """
import atexit, runpy, sys
names = sys.argv[1].split(",")
atexit.register(lambda: print("loaded:", [n for n in names if n in sys.modules]))
sys.argv = ["chatdesk", "ask", "hello"]
runpy.run_module("chatdesk", run_name="__main__")
"""


def ask_env(data: Path, fake: FakeProvider) -> dict[str, str]:
    """The environment of a `chatdesk ask` on DATA with FAKE as its one provider (its key in
    the environment, no keyring)."""
    from tests.helpers import key_env, write_settings

    fakes = [("local", fake)]
    write_settings(data, fakes)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(key_env(fakes), CHATDESK_DATA_DIR=str(data),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    return env


def test_ask_loads_nothing_it_does_not_need(tmp_path: Path) -> None:
    from tests.fakes.server import FakeProvider

    with FakeProvider("openai") as fake:
        env = ask_env(tmp_path, fake)
        done = subprocess.run([sys.executable, "-c", ASK_AND_LIST, ",".join(NOT_ON_ASK)],
                              capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Hello! How can I help you today?\n")
    assert done.stdout.splitlines()[-1] == "loaded: []"


# What `chatdesk ask` does not need before the answer's first byte: the costs, the monthly
# budgets' sums (chatdesk.usage, pricing: a budget or the notices after the answer), the
# median of a slow provider's times (statistics, with fractions and decimal), the typo hints
# of settings.toml (difflib), ids (uuid), hidden prompts (getpass), keyring when its
# variable turns it off (the fail backend), the outage policy (a failure's), a message's
# versions (the app's) and attachments' files.
NOT_BEFORE_FIRST_BYTE = ("chatdesk.usage", "chatdesk.pricing", "statistics", "difflib",
                         "uuid", "getpass", "keyring", "chatdesk.failover.policy",
                         "chatdesk.versions", "chatdesk.attachment_files")
ASK_TO_FIRST_BYTE = """
import os, runpy, sys
names = sys.argv[1].split(",")
class FirstByte:
    def __init__(self, out): self.out = out
    def write(self, text):
        if text:
            loaded = [n for n in names if n in sys.modules]
            self.out.write(text)
            self.out.flush()
            sys.stderr.write(f"loaded: {loaded}\\n")
            sys.stderr.flush()
            os._exit(0)
        return 0
    def __getattr__(self, name): return getattr(self.out, name)
sys.stdout = FirstByte(sys.stdout)
sys.argv = ["chatdesk", "ask", "hello"]
runpy.run_module("chatdesk", run_name="__main__")
"""


def test_ask_loads_only_what_it_needs_before_the_first_byte(tmp_path: Path) -> None:
    from tests.fakes.server import FakeProvider

    with FakeProvider("openai") as fake:
        env = ask_env(tmp_path, fake)
        # Enough answers for the slow-provider check to take the median of their times.
        for _ in range(9):
            done = subprocess.run([sys.executable, "-m", "chatdesk", "ask", "hello"],
                                  capture_output=True, text=True, timeout=60, env=env)
            assert done.returncode == 0, done.stderr
        done = subprocess.run(
            [sys.executable, "-c", ASK_TO_FIRST_BYTE, ",".join(NOT_BEFORE_FIRST_BYTE)],
            capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello"
    assert done.stderr.splitlines()[-1] == "loaded: []"
