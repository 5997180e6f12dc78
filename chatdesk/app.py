"""The desktop app: the main window painted first, then qasync and the chat engine; --self-test."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn

from PySide6.QtCore import (
    QEvent,
    QEventLoop,
    QMessageLogContext,
    QObject,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication, QWidget

from chatdesk.ui.pyside_scan import keep_sources_out_of_linecache

keep_sources_out_of_linecache()  # before the rest of chatdesk is imported

from chatdesk import STARTED, end_start_up  # noqa: E402
from chatdesk.context import AppContext, ConfigError  # noqa: E402
from chatdesk.store import HistoryStore, StoreError  # noqa: E402

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

log = logging.getLogger("chatdesk.app")
qt_log = logging.getLogger("chatdesk.qt")

SELF_TEST_TIMEOUT_S = 20.0
FIRST_PAINT_WAIT_S = 1.0  # a hidden or minimised start paints later: load the engine anyway
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    where = f" ({context.category})" if context.category and context.category != "default" \
        else ""
    qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "%s%s", message, where)


# The reverse-DNS id of the .desktop and metainfo files the installers ship.
APP_ID = "io.github.chatdesk.Chatdesk"


def install_qt_message_handler() -> object:
    """Send Qt's own messages (warnings above all) to the `chatdesk.qt` logger."""
    return qInstallMessageHandler(_qt_message)


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    log.error("unexpected error", exc_info=(kind, exc, tb))
    sys.__excepthook__(kind, exc, tb)


class StartError(Exception):
    """The app cannot open; the message says why and what to do."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Opened:
    store: HistoryStore
    ctx: AppContext | None
    browse_path: Path | None


def _open(args: argparse.Namespace) -> _Opened:
    """The history to show: the data dir's, or FILE read-only for `chatdesk browse FILE`."""
    if getattr(args, "command", None) == "browse":
        path = Path(args.file).expanduser()
        try:
            # Only for the log, the theme and window.ini; its history is never opened.
            ctx: AppContext | None = AppContext.create(args.data_dir, args.portable, warn=False)
        except ConfigError:
            ctx = None
        try:
            store = HistoryStore.open_readonly(path)
        except StoreError as exc:
            code = EXIT_USAGE if not path.exists() else EXIT_FAILED
            raise StartError(str(exc), code) from None
        return _Opened(store, ctx, path)
    try:
        ctx = AppContext.create(args.data_dir, args.portable, warn=False)
    except ConfigError as exc:
        raise StartError(str(exc), EXIT_USAGE) from None
    try:
        store = ctx.store
    except StoreError as exc:
        raise StartError(str(exc)) from None
    return _Opened(store, ctx, None)


class _FirstPaint(QObject):
    """Notes when the first frame of one window has been painted: the window's own first
    paint event starts the frame (Qt paints the window, then its widgets over it); the rest
    of its widgets are painted before Qt's loop turns again, when a zero timer notes the
    time. It watches the window alone: an app-wide filter saw every object's events (~400
    before the first frame), and wrapping the style's for Python built QStyle's ~20 enums."""

    def __init__(self, window: QWidget, painted: Callable[[], None]) -> None:
        super().__init__()
        self.window, self.painted = window, painted
        self.started = False
        self.at: float | None = None

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if not self.started and event.type() == QEvent.Type.Paint and obj is self.window:
            self.started = True
            QTimer.singleShot(0, self._frame_done)
        return False

    def _frame_done(self) -> None:
        self.at = time.perf_counter()
        self.painted()


def run_app(args: argparse.Namespace) -> int:
    """Open the desktop app (or run --self-test); returns the process exit code.

    The window is built and painted first, on Qt's own loop; the chat engine (asyncio under
    qasync, the ChatBridge) loads after that, so people see their history as early as
    possible. --self-test ends at the first paint (SPEC) and reports when it happened,
    having checked that the engine's modules are there.
    """
    install_qt_message_handler()
    sys.excepthook = _excepthook
    from chatdesk.ui.theme import new_application

    app = QApplication.instance() or new_application(sys.argv[0] if sys.argv else "chatdesk")
    assert isinstance(app, QApplication)
    app.setApplicationName("chatdesk")
    app.setOrganizationName("chatdesk")
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to the installed .desktop file
    app.setQuitOnLastWindowClosed(False)  # we quit after the answer running has been stored
    self_test = bool(getattr(args, "self_test", False))
    try:
        opened, window = _show_window(app, args, self_test)
    except StartError as exc:
        print(f"chatdesk: {exc}", file=sys.stderr)
        if not self_test:
            from PySide6.QtWidgets import QMessageBox

            _set_app_icon(app)
            QMessageBox.critical(None, "chatdesk", str(exc))
        return exc.code
    try:
        painted_at = _wait_for_first_paint(app, window, SELF_TEST_TIMEOUT_S if self_test
                                           else FIRST_PAINT_WAIT_S)
        if self_test:
            code = _self_test_result(window, painted_at)
            window.remember_state = False  # a smoke test leaves the next start as it was
            _close(opened, window)
            return code
        _set_app_icon(app)
        import qasync  # the chat engine's event loop: loaded once the window is on screen

        return int(qasync.run(_run(app, window, opened)))
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:  # the OS ended Qt's loop (log-out, a system quit)
        if "stopped before Future completed" in str(exc):
            return EXIT_OK
        raise
    finally:
        end_start_up()  # the self-test, or an engine that never came up
        # Qt may still log while tearing down, after Python's handler can no longer run.
        qInstallMessageHandler(None)


def _show_window(app: QApplication, args: argparse.Namespace,
                 self_test: bool) -> tuple[_Opened, MainWindow]:
    from chatdesk.ui.theme import apply_theme

    opened = _open(args)
    ctx = opened.ctx
    apply_theme(app, ctx.settings.ui.theme if ctx is not None else "system")
    try:
        window = _build_window(opened, background=not self_test)
    except StoreError as exc:
        opened.store.close()
        raise StartError(str(exc)) from None
    window.show()
    window.raise_()
    return opened, window


def _set_app_icon(app: QApplication) -> None:
    """The chatdesk mark on every window, given just after the first frame: on X11 the icon
    goes to the window manager as pixels of every size (~350 KB decoded from six PNGs),
    which held the window's first appearance back; the task bar shows it a frame later."""
    from chatdesk.ui.resources import app_icon

    app.setWindowIcon(app_icon())


def _wait_for_first_paint(app: QApplication, window: QWidget, timeout_s: float) -> float | None:
    """Run Qt's loop until the window has painted (or timeout_s); the perf_counter of the paint."""
    loop = QEventLoop()
    watcher = _FirstPaint(window, loop.quit)
    window.installEventFilter(watcher)
    QTimer.singleShot(round(timeout_s * 1000), loop.quit)
    if watcher.at is None and window.isVisible():
        loop.exec()
    window.removeEventFilter(watcher)
    return watcher.at


async def _run(app: QApplication, window: MainWindow, opened: _Opened) -> int:
    import asyncio

    from chatdesk.ui.bridge import ChatBridge, install_asyncgen_hooks

    install_asyncgen_hooks(asyncio.get_running_loop())
    bridge = None
    if not window.readonly and opened.ctx is not None:
        bridge = ChatBridge(opened.ctx.chat_service)
        window.attach_bridge(bridge)
    keep_start_up_objects()
    loop = asyncio.get_running_loop()
    quit_now: asyncio.Future[int] = loop.create_future()

    def closed() -> None:
        if not quit_now.done():
            quit_now.set_result(EXIT_OK)

    app.lastWindowClosed.connect(closed)
    _quit_on_sigint(window)
    if not window.isVisible():  # closed before the engine was up
        code = EXIT_OK
    else:
        code = await quit_now
    if bridge is not None:
        await bridge.shutdown()
    _close(opened, window)
    return code


def keep_start_up_objects() -> None:
    """Start-up is over: the garbage collector resumes, and what start-up made (modules, Qt
    wrappers, the window), which lives as long as the app, is left out of its passes."""
    end_start_up(long_running=True)


def _close(opened: _Opened, window: MainWindow) -> None:
    if window.isVisible():
        window.close()
    window.deleteLater()
    if opened.ctx is not None:
        opened.ctx.close()
    if opened.browse_path is not None:
        opened.store.close()


def _build_window(opened: _Opened, background: bool) -> MainWindow:
    from chatdesk.ui.main_window import MainWindow

    ctx = opened.ctx
    state_file = ctx.paths.window_state if ctx is not None else None
    if state_file is not None:
        from chatdesk.paths import touch_private

        touch_private(state_file)
    window = MainWindow(opened.store, ctx=ctx, browse_path=opened.browse_path,
                        state_file=state_file, background=background)
    if ctx is not None and ctx.settings_error is not None:
        log.warning("%s", ctx.settings_error)
    return window


# What the chat engine loads after the first paint: the self-test checks they are there (a
# bundle could lack one) without loading them, as SPEC has it end at the first paint.
ENGINE_MODULES = ("asyncio", "qasync", "httpx", "chatdesk.ui.bridge", "chatdesk.chat")


def _self_test_result(window: MainWindow, painted_at: float | None) -> int:
    def failed(why: str) -> int:
        print(f"chatdesk: self-test failed: {why}", file=sys.stderr)
        return EXIT_FAILED

    if painted_at is None:
        return failed(f"the main window was not painted within {SELF_TEST_TIMEOUT_S:.0f} s")
    problem = window.sidebar.model.error
    if problem:
        return failed(f"the history could not be listed: {problem}")
    missing = [name for name in ENGINE_MODULES if not _findable(name)]
    if missing:
        return failed(f"the chat engine is incomplete: {', '.join(missing)} cannot be found "
                      "(reinstall chatdesk)")
    print(f"self-test ok startup_ms={round((painted_at - STARTED) * 1000)}", flush=True)
    return EXIT_OK


def _findable(name: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def end_process(code: int) -> NoReturn:
    """End the process after run_app: by then the history is closed, window.ini synced and the
    answer running stored. Qt's application object is destroyed properly (on X11 that hands
    the clipboard to the clipboard manager), the logs and standard streams are flushed, and
    Python's own teardown of thousands of Qt wrappers, which adds ~50 ms, is skipped."""
    app = QApplication.instance()
    shutdown = getattr(app, "shutdown", None)  # PySide6's; destroys the C++ application
    if shutdown is not None:
        shutdown()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    os._exit(code)


def _quit_on_sigint(window: QWidget) -> None:
    """Ctrl+C in the terminal closes the window cleanly (Python sees signals only between
    Qt events, so a timer wakes it now and then)."""
    try:
        signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, window.close))
    except ValueError:  # not the main thread
        return
    timer = QTimer(window)
    timer.start(500)
    timer.timeout.connect(lambda: None)
