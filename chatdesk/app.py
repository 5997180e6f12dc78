"""The desktop app: QApplication on a qasync loop, the main window, browse mode and --self-test."""

from __future__ import annotations

import time

# --self-test reports startup_ms from here: this module is imported right after the command
# line is parsed and before Qt is loaded, so the figure includes loading Qt, opening the
# history and the first paint (but not the Python interpreter's own start).
_STARTED = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from types import TracebackType  # noqa: E402
from typing import Any  # noqa: E402

import qasync  # noqa: E402
from PySide6.QtCore import (  # noqa: E402
    QEvent,
    QMessageLogContext,
    QObject,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget  # noqa: E402

from chatdesk.context import AppContext, ConfigError  # noqa: E402
from chatdesk.store import HistoryStore, StoreError  # noqa: E402

log = logging.getLogger("chatdesk.app")
qt_log = logging.getLogger("chatdesk.qt")

SELF_TEST_TIMEOUT_S = 20.0
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


def install_qt_message_handler() -> Any:
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
    """Resolves a future on the first paint event of any widget of one window."""

    def __init__(self, window: QWidget, future: asyncio.Future[float]) -> None:
        super().__init__()
        self.window, self.future = window, future

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint and not self.future.done() \
                and isinstance(obj, QWidget) and obj.window() is self.window:
            self.future.set_result(time.perf_counter())
        return False


def run_app(args: argparse.Namespace) -> int:
    """Open the desktop app (or run --self-test); returns the process exit code."""
    install_qt_message_handler()
    sys.excepthook = _excepthook
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "chatdesk"])
    assert isinstance(app, QApplication)
    app.setApplicationName("chatdesk")
    app.setOrganizationName("chatdesk")
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to the installed .desktop file
    app.setQuitOnLastWindowClosed(False)  # we quit after the answer running has been stored
    try:
        return int(qasync.run(_main(app, args)))
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:  # the OS ended Qt's loop (log-out, a system quit)
        if "stopped before Future completed" in str(exc):
            return EXIT_OK
        raise
    finally:
        # Qt may still log while tearing down, after Python's handler can no longer run.
        qInstallMessageHandler(None)


async def _main(app: QApplication, args: argparse.Namespace) -> int:
    from chatdesk.ui.bridge import install_asyncgen_hooks
    from chatdesk.ui.resources import app_icon
    from chatdesk.ui.theme import apply_theme

    install_asyncgen_hooks(asyncio.get_running_loop())

    self_test = bool(getattr(args, "self_test", False))
    app.setWindowIcon(app_icon())
    try:
        opened = _open(args)
    except StartError as exc:
        print(f"chatdesk: {exc}", file=sys.stderr)
        if not self_test:
            QMessageBox.critical(None, "chatdesk", str(exc))
        return exc.code
    ctx = opened.ctx
    apply_theme(app, ctx.settings.ui.theme if ctx is not None else "system")
    try:
        window, bridge = _build_window(opened, background=not self_test)
    except StoreError as exc:
        print(f"chatdesk: {exc}", file=sys.stderr)
        opened.store.close()
        return EXIT_FAILED

    loop = asyncio.get_running_loop()
    quit_now: asyncio.Future[int] = loop.create_future()
    app.lastWindowClosed.connect(lambda: quit_now.done() or quit_now.set_result(EXIT_OK))
    _quit_on_sigint(window)
    code = EXIT_OK
    if self_test:
        code = await _self_test(app, window)
        window.close()
    else:
        window.show()
        window.raise_()
        code = await quit_now
    if bridge is not None:
        await bridge.shutdown()
    window.deleteLater()
    if ctx is not None:
        ctx.close()
    if opened.browse_path is not None:
        opened.store.close()
    return code


def _build_window(opened: _Opened, background: bool) -> tuple[Any, Any]:
    from chatdesk.ui.bridge import ChatBridge
    from chatdesk.ui.main_window import MainWindow

    ctx = opened.ctx
    state_file = ctx.paths.root / "window.ini" if ctx is not None else None
    bridge = None
    if opened.browse_path is None and ctx is not None:
        bridge = ChatBridge(ctx.chat_service)
    window = MainWindow(opened.store, ctx=ctx, bridge=bridge, browse_path=opened.browse_path,
                        state_file=state_file, background=background)
    if ctx is not None and ctx.settings_error is not None:
        log.warning("%s", ctx.settings_error)
    return window, bridge


async def _self_test(app: QApplication, window: Any) -> int:
    loop = asyncio.get_running_loop()
    painted: asyncio.Future[float] = loop.create_future()
    watcher = _FirstPaint(window, painted)
    app.installEventFilter(watcher)
    window.show()
    try:
        at = await asyncio.wait_for(painted, SELF_TEST_TIMEOUT_S)
    except TimeoutError:
        print(f"chatdesk: self-test failed: the main window was not painted within "
              f"{SELF_TEST_TIMEOUT_S:.0f} s", file=sys.stderr)
        return EXIT_FAILED
    finally:
        app.removeEventFilter(watcher)
    problem = window.sidebar.model.error
    if problem:
        print(f"chatdesk: self-test failed: the history could not be listed: {problem}",
              file=sys.stderr)
        return EXIT_FAILED
    print(f"self-test ok startup_ms={round((at - _STARTED) * 1000)}", flush=True)
    return EXIT_OK


def _quit_on_sigint(window: Any) -> None:
    """Ctrl+C in the terminal closes the window cleanly (Python sees signals only between
    Qt events, so a timer wakes it now and then)."""
    try:
        signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, window.close))
    except ValueError:  # not the main thread
        return
    timer = QTimer(window)
    timer.start(500)
    timer.timeout.connect(lambda: None)
