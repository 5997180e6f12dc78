"""UI test fixtures: one qasync loop shared with qtbot, data dirs wired to fake providers."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
import shiboken6
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chatdesk.context import AppContext
from chatdesk.store import HistoryStore
from chatdesk.ui.bridge import ChatBridge, install_asyncgen_hooks
from chatdesk.ui.main_window import MainWindow
from tests.fakes.server import FakeProvider
from tests.helpers import key_env, write_settings


def wait_for_lexer(name: str) -> None:
    """Until `name`'s lexer is loaded (lexers load on a worker thread)."""
    from chatdesk.ui import lexers  # pygments: only for the tests that render

    deadline = time.monotonic() + 10
    while not lexers.ready(name):
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}'s lexer never loaded")
        time.sleep(0.01)


# Qt warnings fail the test (see each module's pytestmark); these come from the headless
# "offscreen" platform itself, not from chatdesk.
OFFSCREEN_NOISE = [r"This plugin does not support propagateSizeHints\(\)",
                   r"This plugin does not support raise\(\)"]



def qt_warning_marks() -> list[pytest.MarkDecorator]:
    return [pytest.mark.qt_log_level_fail("WARNING"),
            pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)]


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """An asyncio loop driven by Qt's, so tasks run while qtbot waits."""
    hooks = sys.get_asyncgen_hooks()
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    install_asyncgen_hooks(loop)
    yield loop
    bot = QtBot(qapp)
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        bot.waitUntil(lambda: all(t.done() for t in leftovers), timeout=5000)
    closing = asyncio.ensure_future(loop.shutdown_asyncgens())
    bot.waitUntil(closing.done, timeout=5000)
    sys.set_asyncgen_hooks(*hooks)
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def run(qtbot: Any, qloop: qasync.QEventLoop) -> Callable[..., Any]:
    """run(coro, timeout_ms) → its result, with Qt events processed meanwhile."""

    def runner(coro: Coroutine[Any, Any, Any], timeout: int = 10000) -> Any:
        task = asyncio.ensure_future(coro)
        qtbot.waitUntil(task.done, timeout=timeout)
        return task.result()

    return runner


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_ctx(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """make_ctx([(name, fake), …], **failover) → an AppContext whose settings use the fakes."""
    made: list[AppContext] = []

    def make(fakes: list[tuple[str, FakeProvider]], **failover: float) -> AppContext:
        write_settings(data_dir, fakes, **failover)
        for var, value in key_env(fakes).items():
            monkeypatch.setenv(var, value)
        ctx = AppContext.create(str(data_dir), warn=False)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def make_window(qtbot: Any, qloop: qasync.QEventLoop, data_dir: Path,
                run: Callable[..., Any]) -> Iterator[Callable[..., MainWindow]]:
    """make_window(ctx) for the full app, make_window(store=…, browse_path=…) for browse."""
    windows: list[MainWindow] = []

    def make(ctx: AppContext | None = None, *, store: HistoryStore | None = None,
             browse_path: Path | None = None, show: bool = True,
             size: tuple[int, int] | None = None, attach: bool = True) -> MainWindow:
        """attach=False leaves the ChatBridge off, as the app does until the first paint."""
        bridge = ChatBridge(ctx.chat_service) \
            if ctx is not None and browse_path is None and attach else None
        window = MainWindow(store or ctx.store, ctx=ctx, bridge=bridge,  # type: ignore[union-attr]
                            browse_path=browse_path, state_file=data_dir / "window.ini",
                            background=False)
        qtbot.addWidget(window)
        if size is not None:
            window.resize(*size)
        windows.append(window)
        if show:
            window.show()
            qtbot.waitExposed(window)
            window.activateWindow()
            qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        return window

    yield make
    # Close every window before the loop runs again: shutting a bridge down runs the loop,
    # which carries out the deleteLater that qtbot gave each window it knows.
    bridges = []
    for window in windows:
        if shiboken6.isValid(window):
            if window.controller.bridge is not None:
                bridges.append(window.controller.bridge)
            window.close()
    for bridge in bridges:
        run(bridge.shutdown())
