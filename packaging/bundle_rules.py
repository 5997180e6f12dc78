"""What goes into the PyInstaller bundle: version, app id, excluded modules and files.

Loaded by packaging/chatdesk.spec (inside PyInstaller) and by packaging/build.py; it needs
only the standard library (PyInstaller's own modules are imported where they are used).
"""

from __future__ import annotations

import plistlib
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "io.github.chatdesk.Chatdesk"
APP_NAME = "chatdesk"
PUBLISHER = "The chatdesk authors"
HOMEPAGE = "https://github.com/chatdesk/chatdesk"

# chatdesk imports only these Qt modules (checked by tests/packaging); every other
# PySide6 module is left out, and with it its Qt library, plugins and translations.
USED_QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtSvg")
ALSO_EXCLUDED = (
    "tkinter", "_tkinter", "PyQt5", "PyQt6", "PySide2", "shiboken2",
    "IPython", "pytest", "_pytest", "pytestqt", "pytest_asyncio", "importlinter",
    "PyInstaller", "setuptools", "pip",
)

# Qt plugins kept, by plugin folder; None keeps the whole folder. Folders not named here
# (eglfs devices, evdev input, network information, TLS, SQL drivers…) are left out.
KEPT_PLUGINS: dict[str, frozenset[str] | None] = {
    "platforms": frozenset({"qxcb", "qwayland", "qoffscreen", "qminimal", "qcocoa",
                            "qwindows"}),
    "imageformats": frozenset({"qsvg", "qico", "qjpeg", "qgif", "qicns"}),
    "iconengines": None,
    "platforminputcontexts": None,  # ibus / compose: dead keys and input methods
    "platformthemes": None,  # GTK and xdg-desktop-portal file dialogs
    "styles": None,  # the native Windows and macOS looks
    "xcbglintegrations": None,
    "wayland-decoration-client": None,
    "wayland-graphics-integration-client": None,
    "wayland-shell-integration": None,
}
# Qt libraries that only the plugins or modules left out above use.
DROPPED_QT_LIBS = frozenset({"Qt6Network", "Qt6EglFSDeviceIntegration", "Qt6EglFsKmsSupport",
                             "QtNetwork", "QtEglFSDeviceIntegration"})
# Linux: the desktop's own libraries come from the system (the .deb depends on them), never
# from the build machine: a bundled copy can clash with the system's GTK, Mesa or X server.
# Python's own libraries (ssl, sqlite, ffi, compression) stay bundled. Kerberos came only
# with QtNetwork, which is left out.
LINUX_SYSTEM_LIBS = re.compile(
    r"^lib(X[\w-]*|xcb.*|xkbcommon.*|fontconfig|freetype|harfbuzz.*|graphite2|png16|jpeg|"
    r"glib-2\.0|gobject-2\.0|gio-2\.0|gmodule-2\.0|gthread-2\.0|dbus-1|systemd|gcrypt|"
    r"gpg-error|selinux|mount|blkid|pcre2-.*|cairo.*|pango.*|atk.*|atspi|epoxy|gdk.*|gtk.*|"
    r"pixman-1|fribidi|thai|datrie|brotli.*|bsd|md|cap|lz4|zstd|wayland-.*|EGL|GL|GLX|"
    r"GLdispatch|OpenGL|drm|gbm|stdc\+\+|gcc_s|"
    r"gssapi_krb5|krb5|k5crypto|krb5support|com_err|keyutils)\.so(\.\d+)*$"
)


def read_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The project version, from pyproject.toml's [project] table (its only home)."""
    with open(pyproject, "rb") as fh:
        data = tomllib.load(fh)
    try:
        version = str(data["project"]["version"])
    except KeyError:
        raise SystemExit(f"{pyproject} has no [project] version; add one") from None
    if not re.fullmatch(r"\d+\.\d+\.\d+([.-]?[A-Za-z0-9.]+)?", version):
        raise SystemExit(f"the version {version!r} in {pyproject} is not like 1.2.3")
    return version


def numeric_version(version: str) -> tuple[int, int, int, int]:
    """1.2.3rc1 -> (1, 2, 3, 0): the four numbers Windows and macOS build numbers take."""
    nums = [int(n) for n in re.findall(r"\d+", version.split("-")[0])[:3]]
    while len(nums) < 4:
        nums.append(0)
    return (nums[0], nums[1], nums[2], nums[3])


def excluded_modules(pyside_dir: Path | None) -> list[str]:
    """Python modules PyInstaller must not collect."""
    names = list(ALSO_EXCLUDED)
    if pyside_dir is not None:
        for ext in pyside_dir.glob("Qt*.*"):
            module = ext.name.split(".")[0]
            if ext.suffix in {".so", ".pyd"} and module not in USED_QT_MODULES:
                names.append(f"PySide6.{module}")
    return sorted(set(names))


def is_kept(dest: str, platform: str) -> bool:
    """Whether a file PyInstaller collected (by its path inside the bundle) is shipped."""
    parts = PurePosixPath(dest.replace("\\", "/")).parts
    name = parts[-1]
    if "PySide6" in parts:
        inside = parts[parts.index("PySide6") + 1:]
        if "translations" in inside:  # chatdesk installs no QTranslator: Qt's are unused
            return False
        if "plugins" in inside[:-1]:
            category = inside[inside.index("plugins") + 1] if len(inside) > 2 else ""
            if category not in KEPT_PLUGINS:
                return False
            allowed = KEPT_PLUGINS[category]
            return allowed is None or _plugin_stem(name) in allowed
    if any(_lib_stem(part) in DROPPED_QT_LIBS for part in parts):
        return False
    if platform.startswith("linux") and len(parts) == 1 and LINUX_SYSTEM_LIBS.match(name):
        return False
    return True


def keep_only_needed(toc: Iterable[Any], platform: str) -> list[Any]:
    """A PyInstaller TOC (entries (dest, src, kind)) without the files is_kept drops."""
    return [entry for entry in toc if is_kept(str(entry[0]), platform)]


def _plugin_stem(name: str) -> str:
    stem = name.split(".")[0]
    return stem[3:] if stem.startswith("lib") else stem


def _lib_stem(name: str) -> str:
    stem = name.split(".")[0]
    if stem.startswith("lib"):
        stem = stem[3:]
    return stem


def macos_info_plist(version: str, template: Path = ROOT / "packaging" / "macos" / "Info.plist"
                     ) -> dict[str, Any]:
    """Info.plist of chatdesk.app: the template with the app id and the version stamped in
    (Apple wants three numbers in both version keys: 1.2.0rc1 gives 1.2.0)."""
    with open(template, "rb") as fh:
        info: dict[str, Any] = plistlib.load(fh)
    numbers = ".".join(map(str, numeric_version(version)[:3]))
    info.update(CFBundleIdentifier=APP_ID, CFBundleShortVersionString=numbers,
                CFBundleVersion=numbers, CFBundleExecutable=APP_NAME)
    return info


def windows_version_info(version: str) -> Any:
    """The version resource of chatdesk.exe (Explorer's Properties > Details)."""
    from PyInstaller.utils.win32 import versioninfo as vi

    nums = numeric_version(version)
    strings = [
        vi.StringStruct("CompanyName", PUBLISHER),
        vi.StringStruct("FileDescription", "chatdesk"),
        vi.StringStruct("FileVersion", version),
        vi.StringStruct("InternalName", APP_NAME),
        vi.StringStruct("OriginalFilename", f"{APP_NAME}.exe"),
        vi.StringStruct("ProductName", "chatdesk"),
        vi.StringStruct("ProductVersion", version),
    ]
    return vi.VSVersionInfo(
        ffi=vi.FixedFileInfo(filevers=nums, prodvers=nums),
        kids=[
            vi.StringFileInfo([vi.StringTable("040904B0", strings)]),
            vi.VarFileInfo([vi.VarStruct("Translation", [1033, 1200])]),
        ],
    )
