"""Spawn → main window mapped and painted on a real X server (Xvfb), empty history:
`chatdesk --self-test` against the stock-widget skeleton chat window of app_startup.py.

The script starts its own Xvfb (on a free display, `-displayfd`) and, unless told not to,
openbox on it, then runs both programs as whole processes with QT_QPA_PLATFORM=xcb,
interleaved, one warm-up each. An outside observer, an X client of this process (libX11
and libXdamage through ctypes), sees the main window's MapNotify on the root window, and
then the DAMAGE extension's reports of drawing into it: "painted" is when drawing covering
half of the window has reached the X server. Each program also prints its own first-frame
figure (`startup_ms`); the script prints how far the observer's figure is from it, to show
that the two agree, and how many other top-level windows each mapped.

Needs Xvfb (and openbox for the window-manager rows) and the libraries Qt's xcb plugin
loads (Debian: xvfb openbox libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0).

Run from the repository root:  python benchmarks/window_mapped.py [--rounds N] [--wm MODE]
Exit status 0 when every goal is met (PASS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from app_startup import MINIMAL_CHAT, SELF_TEST_OK, make  # noqa: E402
from results import Row, report  # noqa: E402

GOAL_RATIO = 1.3  # chatdesk's median spawn → painted / the skeleton's
RUN_TIMEOUT_S = 30.0

# Xlib's constants and the offsets of the fields read (x86-64 / LP64 layouts).
_SUBSTRUCTURE_NOTIFY_MASK, _PROPERTY_CHANGE_MASK = 1 << 19, 1 << 22
_DESTROY_NOTIFY, _UNMAP_NOTIFY, _MAP_NOTIFY = 17, 18, 19
_CREATE_NOTIFY, _CONFIGURE_NOTIFY, _PROPERTY_NOTIFY = 16, 22, 28
_XA_STRING, _XA_WM_NAME = 31, 39
_REPORT_RAW_RECTANGLES = 0
_EV_WINDOW, _EV_OVERRIDE = 40, 48  # XMapEvent.window, .override_redirect
_EV_BOX = 48  # XCreateWindowEvent / XConfigureEvent: x, y, width, height (int)
_EV_PROPERTY_TIME = 48  # XPropertyEvent.time
_EV_DAMAGE_TIME, _EV_DAMAGE_AREA = 56, 64  # XDamageNotifyEvent.timestamp, .area (4 shorts)
_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
MAIN_WINDOW_MIN = (400, 300)  # a smaller top-level (a widget shown with no parent) is not it


def _library(name: str, package: str) -> ctypes.CDLL:
    found = ctypes.util.find_library(name)
    if found is None:
        raise SystemExit(f"lib{name} is missing (Debian: {package})")
    return ctypes.CDLL(found)


@dataclass
class Seen:
    """What the observer saw of one run, in perf_counter seconds."""

    mapped: float | None = None  # when this process read the MapNotify
    painted: float | None = None  # the X server's time of the drawing, on this clock
    box: tuple[int, int, int, int] | None = None  # x, y, width, height in the root
    small_windows: int = 0  # top-levels mapped that were not the main window


class XObserver:
    """A plain X client of this process: MapNotify of the root's children tells when a
    top-level window is mapped; XDamage on the root (which covers what is drawn in every
    window on it) tells when pixels are drawn into it, with the server's own timestamp, so
    that this process being scheduled late does not move the figure."""

    def __init__(self, display: str) -> None:
        x = _library("X11", "libx11-6")
        damage = _library("Xdamage", "libxdamage1")
        vp, ul, ci = ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int
        x.XOpenDisplay.restype = vp
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ul
        x.XDefaultRootWindow.argtypes = [vp]
        x.XSelectInput.argtypes = [vp, ul, ctypes.c_long]
        x.XConnectionNumber.argtypes = [vp]
        x.XPending.argtypes = [vp]
        x.XNextEvent.argtypes = [vp, vp]
        x.XSync.argtypes = [vp, ci]
        x.XFlush.argtypes = [vp]
        x.XGetWindowAttributes.argtypes = [vp, ul, vp]
        x.XCreateSimpleWindow.restype = ul
        x.XCreateSimpleWindow.argtypes = [vp, ul, ci, ci, ctypes.c_uint, ctypes.c_uint,
                                          ctypes.c_uint, ul, ul]
        x.XChangeProperty.argtypes = [vp, ul, ul, ul, ci, ci, ctypes.c_char_p, ci]
        damage.XDamageQueryExtension.argtypes = [vp, vp, vp]
        damage.XDamageCreate.restype = ul
        damage.XDamageCreate.argtypes = [vp, ul, ci]
        self.x = x
        # A window gone between two requests must not end this process (Xlib's default).
        self._on_error = _ERROR_HANDLER(lambda _dpy, _err: 0)
        x.XSetErrorHandler(self._on_error)
        self.dpy = x.XOpenDisplay(display.encode())
        if not self.dpy:
            raise SystemExit(f"cannot open X display {display}")
        self.root = x.XDefaultRootWindow(self.dpy)
        event_base, error_base = ctypes.c_int(), ctypes.c_int()
        if not damage.XDamageQueryExtension(self.dpy, ctypes.byref(event_base),
                                            ctypes.byref(error_base)):
            raise SystemExit("the X server has no DAMAGE extension")
        self._damage_notify = event_base.value
        damage.XDamageCreate(self.dpy, self.root, _REPORT_RAW_RECTANGLES)
        # An unmapped window of ours whose property changes give the server's time.
        self._clock = x.XCreateSimpleWindow(self.dpy, self.root, 0, 0, 1, 1, 0, 0, 0)
        x.XSelectInput(self.dpy, self._clock, _PROPERTY_CHANGE_MASK)
        x.XSelectInput(self.dpy, self.root, _SUBSTRUCTURE_NOTIFY_MASK)
        x.XSync(self.dpy, 0)
        self.fd = x.XConnectionNumber(self.dpy)
        self._event = ctypes.create_string_buffer(192)  # sizeof(XEvent)
        self._attrs = ctypes.create_string_buffer(256)  # > sizeof(XWindowAttributes)
        self._server_ms = 0  # the server's time (ms, 32 bits) at self._local…
        self._local = 0.0  # …this process's perf_counter then

    def drain(self) -> None:
        """Forget the events of earlier runs, and read the server's clock against ours."""
        self.x.XSync(self.dpy, 0)
        while self.x.XPending(self.dpy):
            self.x.XNextEvent(self.dpy, self._event)
        before = time.perf_counter()
        self.x.XChangeProperty(self.dpy, self._clock, _XA_WM_NAME, _XA_STRING, 8, 0, b"t", 1)
        self.x.XSync(self.dpy, 0)
        after = time.perf_counter()
        while self.x.XPending(self.dpy):
            self.x.XNextEvent(self.dpy, self._event)
            raw = self._event.raw
            if struct.unpack_from("<i", raw)[0] == _PROPERTY_NOTIFY:
                self._server_ms = struct.unpack_from("<Q", raw, _EV_PROPERTY_TIME)[0]
                self._local = (before + after) / 2

    def _on_our_clock(self, server_ms: int) -> float:
        return self._local + ((server_ms - self._server_ms) % 2**32) / 1000

    def _geometry(self, window: int) -> tuple[int, int, int, int] | None:
        """x, y (in the root: a top-level's parent is the root), width, height."""
        if not self.x.XGetWindowAttributes(self.dpy, window, self._attrs):
            return None
        return struct.unpack_from("<4i", self._attrs.raw)  # type: ignore[return-value]

    def watch(self, proc: subprocess.Popen[bytes], deadline: float) -> Seen:
        """Follow one run until its main window has been painted (or the process ends).

        "Painted": after the window (at least MAIN_WINDOW_MIN) was mapped, and before it was
        unmapped, drawing covering at least half of it reached the X server.
        """
        seen = Seen()
        window = covered = 0
        boxes: dict[int, tuple[int, int, int, int]] = {}  # from the root's Create/Configure
        ended = False
        while time.perf_counter() < deadline:
            while self.x.XPending(self.dpy):
                self.x.XNextEvent(self.dpy, self._event)
                now = time.perf_counter()
                raw = self._event.raw
                kind = struct.unpack_from("<i", raw)[0]
                which = struct.unpack_from("<Q", raw, _EV_WINDOW)[0]
                if kind in (_CREATE_NOTIFY, _CONFIGURE_NOTIFY):
                    boxes[which] = struct.unpack_from("<4i", raw, _EV_BOX)  # type: ignore[assignment]
                elif kind == _MAP_NOTIFY and not window \
                        and not struct.unpack_from("<i", raw, _EV_OVERRIDE)[0]:
                    box = boxes.get(which) or self._geometry(which)
                    if box is None or box[2] < MAIN_WINDOW_MIN[0] or box[3] < MAIN_WINDOW_MIN[1]:
                        seen.small_windows += 1
                        continue
                    window, seen.mapped, seen.box, covered = which, now, box, 0
                elif kind in (_UNMAP_NOTIFY, _DESTROY_NOTIFY) and window and which == window:
                    window, seen.mapped, seen.box = 0, None, None  # gone before it was painted
                elif kind == self._damage_notify and window and seen.box is not None:
                    covered += _overlap(struct.unpack_from("<hhHH", raw, _EV_DAMAGE_AREA),
                                        seen.box)
                    if covered * 2 >= seen.box[2] * seen.box[3]:
                        stamp = struct.unpack_from("<Q", raw, _EV_DAMAGE_TIME)[0]
                        seen.painted = self._on_our_clock(stamp)
                        return seen
            if ended:
                return seen
            if proc.poll() is not None:  # read what the server has queued for us, then stop
                ended = True
                self.x.XSync(self.dpy, 0)
                continue
            select.select([self.fd], [], [], 0.05)
        return seen


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    """The area two (x, y, width, height) rectangles share."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


@dataclass
class Runs:
    """The measured runs of one command."""

    label: str
    cmd: list[str]
    mapped_ms: list[float] = field(default_factory=list)
    painted_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    startup_ms: list[int] = field(default_factory=list)
    other_windows: list[int] = field(default_factory=list)

    def med(self, name: str) -> float:
        return statistics.median(getattr(self, name))


def run_once(cmd: list[str], env: dict[str, str], out_dir: Path,
             xo: XObserver) -> tuple[float, float, float, int, int]:
    """(spawn → mapped, spawn → painted, spawn → exit) in ms, the printed startup_ms and the
    number of other top-level windows mapped."""
    xo.drain()
    out_path, err_path = out_dir / "stdout.txt", out_dir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=out_dir)
        seen = xo.watch(proc, start + RUN_TIMEOUT_S)
        try:
            code = proc.wait(max(0.1, start + RUN_TIMEOUT_S - time.perf_counter()))
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        ended = time.perf_counter()
    text = out_path.read_text(errors="replace")
    match = SELF_TEST_OK.search(text)
    if code != 0 or match is None or seen.mapped is None or seen.painted is None:
        what = "no main window was mapped" if seen.mapped is None else \
            "the window was not seen painted" if seen.painted is None else f"exit {code}"
        raise SystemExit(f"{' '.join(cmd[:4])}: {what}\n{text}"
                         f"{err_path.read_text(errors='replace')}")
    return ((seen.mapped - start) * 1000, (seen.painted - start) * 1000,
            (ended - start) * 1000, int(match.group(1)), seen.small_windows)


class Display:
    """An Xvfb of this script's own on a free display, optionally with openbox on it."""

    def __init__(self, wm: bool) -> None:
        if shutil.which("Xvfb") is None:
            raise SystemExit("Xvfb is not installed (Debian: apt-get install xvfb)")
        read, write = os.pipe()
        self.xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten",
             "tcp", "-noreset"], pass_fds=(write,),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        number = b""
        ready, _, _ = select.select([read], [], [], 15)
        while ready and not number.endswith(b"\n"):
            chunk = os.read(read, 16)
            if not chunk:
                break
            number += chunk
        os.close(read)
        if not number.strip():
            self.close()
            raise SystemExit("Xvfb did not start")
        self.name = f":{number.decode().strip()}"
        self.wm: subprocess.Popen[bytes] | None = None
        if wm:
            self.wm = subprocess.Popen(["openbox", "--sm-disable"],
                                       env=dict(os.environ, DISPLAY=self.name),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._wait_for_wm()

    def _wait_for_wm(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            done = subprocess.run(["xprop", "-display", self.name, "-root",
                                   "_NET_SUPPORTING_WM_CHECK"], capture_output=True, text=True)
            if "window id" in done.stdout:
                return
            time.sleep(0.05)
        self.close()
        raise SystemExit("openbox did not start on the Xvfb display")

    def close(self) -> None:
        for proc in (self.wm, self.xvfb):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(5)


def measure_on(display: Display, runs: list[Runs], rounds: int, env: dict[str, str],
               out_dir: Path) -> None:
    xo = XObserver(display.name)
    env = dict(env, DISPLAY=display.name, QT_QPA_PLATFORM="xcb")
    for round_no in range(rounds + 1):  # round 0 is the warm-up
        for r in runs:
            mapped, painted, wall, startup, others = run_once(r.cmd, env, out_dir, xo)
            if round_no:
                r.mapped_ms.append(mapped)
                r.painted_ms.append(painted)
                r.wall_ms.append(wall)
                r.startup_ms.append(startup)
                r.other_windows.append(others)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=11, help="measured runs of each (default 11)")
    p.add_argument("--wm", choices=("both", "openbox", "none"), default="both",
                   help="with openbox, without a window manager, or both (default)")
    args = p.parse_args()
    if args.wm != "none" and shutil.which("openbox") is None:
        if args.wm == "openbox":
            raise SystemExit("openbox is not installed (Debian: apt-get install openbox)")
        print("openbox is not installed: measuring without a window manager only")
        args.wm = "none"
    if args.wm != "none" and shutil.which("xprop") is None:
        raise SystemExit("xprop is not installed (Debian: apt-get install x11-utils)")

    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    # PYTHONDONTWRITEBYTECODE would make every run compile chatdesk from source again.
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "CHATDESK_DATA_DIR",
                "PYTHONDONTWRITEBYTECODE", "WAYLAND_DISPLAY"):
        env.pop(var, None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    modes = {"both": ("none", "openbox"), "none": ("none",), "openbox": ("openbox",)}[args.wm]
    results: dict[str, tuple[Runs, Runs]] = {}
    with tempfile.TemporaryDirectory(prefix="chatdesk-mapped-") as tmp:
        base = Path(tmp)
        # The skeleton reads its 60 titles from an empty history.db made by the store;
        # chatdesk's data dir starts empty (its warm-up run makes its files).
        make(base / "skeleton", 0, 0)
        for mode in modes:
            data_dir = base / f"data-{mode}"
            data_dir.mkdir()
            skeleton = Runs("skeleton chat window", [sys.executable, "-c", MINIMAL_CHAT,
                                                     str(base / "skeleton" / "history.db")])
            app = Runs("chatdesk --self-test", [sys.executable, "-m", "chatdesk", "--data-dir",
                                               str(data_dir), "--self-test"])
            display = Display(wm=mode == "openbox")
            try:
                measure_on(display, [skeleton, app], args.rounds, env, base)
            finally:
                display.close()
            results[mode] = (skeleton, app)

    rows = []
    for mode, (skeleton, app) in results.items():
        where = "Xvfb + openbox" if mode == "openbox" else "Xvfb, no window manager"
        print(f"\n{where}: {args.rounds} runs each after 1 warm-up, interleaved (medians, ms "
              f"from spawn)")
        print(f"{'':22} {'mapped':>8} {'painted':>8} {'min':>6} {'max':>6} {'exit':>7} "
              f"{'startup_ms':>11} {'painted - startup_ms':>21} {'other windows':>14}")
        for r in (skeleton, app):
            gap = statistics.median(p - s for p, s in zip(r.painted_ms, r.startup_ms, strict=True))
            print(f"{r.label:22} {r.med('mapped_ms'):>8.0f} {r.med('painted_ms'):>8.0f} "
                  f"{min(r.painted_ms):>6.0f} {max(r.painted_ms):>6.0f} {r.med('wall_ms'):>7.0f} "
                  f"{r.med('startup_ms'):>11.0f} {gap:>21.1f} {max(r.other_windows):>14}")
        ratio = app.med("painted_ms") / skeleton.med("painted_ms")
        rows.append(Row(f"window mapped and painted ({where}), empty history",
                        f"{app.med('painted_ms'):.0f} ms",
                        f"skeleton {skeleton.med('painted_ms'):.0f} ms", ratio,
                        f"<= {GOAL_RATIO}x the skeleton", ratio <= GOAL_RATIO))
    print()
    ok = report(rows)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
