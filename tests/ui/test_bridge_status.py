"""The app reads status pages in the background: a reported outage marks a provider down."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chatdesk.context import AppContext
from chatdesk.failover.health import HealthBook
from chatdesk.ui.bridge import ChatBridge
from tests.fakes.server import default_wire_dir
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()
MAJOR = (default_wire_dir() / "statuspage" / "status_major.json").read_bytes()


@pytest.fixture
def status_page() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(MAJOR)))
            self.end_headers()
            self.wfile.write(MAJOR)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_major_outage_on_the_status_page_marks_the_provider_down(
    qtbot: Any, qloop: Any, run: Any, tmp_path: Path, status_page: str,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.toml").write_text(
        '[failover]\norder = ["main"]\n\n[providers.main]\ntype = "anthropic"\n'
        f'model = "m"\nstatus_url = "{status_page}"\n', encoding="utf-8")
    ctx = AppContext.create(str(data), warn=False)
    bridge = ChatBridge(ctx.chat_service)
    health = HealthBook(ctx.store, ctx.settings.failover.cooldown_s)
    try:
        bridge.watch_status_pages()
        qtbot.waitUntil(lambda: health.get("main").state == "down", timeout=5000)
        assert "Partial System Outage" in (health.get("main").last_error or "")
        # New settings (a new service) restart the watcher on the new service's client.
        bridge.replace_service(ctx.chat_service)
        qtbot.waitUntil(lambda: bridge._status_task is not None, timeout=1000)
    finally:
        run(bridge.shutdown())
        ctx.close()


def test_status_pages_are_read_from_the_first_keystroke_not_at_start(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window(make_ctx([("anthropic", fake_anthropic)]))
    bridge = window.controller.bridge
    calls: list[int] = []
    monkeypatch.setattr(bridge, "watch_status_pages", lambda: calls.append(1))
    window.controller.start_background()
    qtbot.wait(50)
    assert calls == []  # an idle window reads no status page
    window.composer.edit.setPlainText("h")
    window.composer.edit.setPlainText("hi")
    assert calls == [1]  # once, from the first keystroke
