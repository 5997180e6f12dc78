"""Fast checks of the packaging recipes: workflow, desktop files, version stamping, bundle
rules and the Linux/Windows package layouts (built from a fake bundle, no PyInstaller)."""

from __future__ import annotations

import ast
import configparser
import datetime as dt
import os
import plistlib
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

import bundle_rules  # noqa: E402
import launcher  # noqa: E402
import package_linux  # noqa: E402
import package_windows  # noqa: E402

APP_ID = bundle_rules.APP_ID
WORKFLOW = ROOT / ".github" / "workflows" / "build.yml"
DESKTOP = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
ISS = PACKAGING / "windows" / "chatdesk.iss"


def pyproject_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def load_yaml(text: str) -> object:
    import yaml

    data = yaml.safe_load(text)
    if isinstance(data, dict) and True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


def fake_bundle(tmp_path: Path, exe_name: str = "chatdesk") -> Path:
    bundle = tmp_path / "bundle" / "chatdesk"
    (bundle / "_internal" / "PySide6").mkdir(parents=True)
    exe = bundle / exe_name
    exe.write_bytes(b"#!/bin/sh\necho fake\n")
    exe.chmod(0o755)
    (bundle / "_internal" / "PySide6" / "libQt6Core.so.6").write_bytes(b"not really elf")
    return bundle


# -- the CI workflow --------------------------------------------------------------------

def test_workflow_is_yaml_with_a_job_per_desktop_os() -> None:
    data = load_yaml(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    assert "push" in data["on"] and "pull_request" in data["on"]
    (job,) = data["jobs"].values()
    assert set(job["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "macos-latest",
                                                    "windows-latest"}
    assert job["runs-on"] == "${{ matrix.os }}"
    steps = job["steps"]
    python = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert python and str(python[0]["with"]["python-version"]) == "3.11"
    runs = "\n".join(str(s.get("run", "")) for s in steps)
    assert '".[test,build]"' in runs
    assert "python -m pytest" in runs
    assert "python packaging/build.py" in runs
    assert "--self-test" in runs and "xvfb-run" in runs
    assert any(str(s.get("uses", "")).startswith("actions/upload-artifact") for s in steps)
    assert job["env"]["QT_QPA_PLATFORM"] == "offscreen"


def test_workflow_runs_the_tests_on_this_repository_alone() -> None:
    """CI checks out only this repository (no ../shared): the suite must need nothing else."""
    (job,) = load_yaml(WORKFLOW.read_text(encoding="utf-8"))["jobs"].values()
    steps = job["steps"]
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert len(checkouts) == 1 and not (checkouts[0].get("with") or {}).get("repository")
    tests = [i for i, s in enumerate(steps) if "python -m pytest" in str(s.get("run", ""))]
    builds = [i for i, s in enumerate(steps) if "packaging/build.py" in str(s.get("run", ""))]
    assert tests and builds and tests[0] < builds[0]  # tests run before anything is built
    assert (ROOT / "tests" / "wire" / "README.md").is_file()  # the wire examples come along


def test_desktop_entry_launches_chatdesk_with_its_icon() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "chatdesk"
    assert entry["StartupWMClass"] == "chatdesk"
    icon = entry["Icon"]
    assert (package_linux.ICONS_DIR / "hicolor" / "256x256" / "apps" / f"{icon}.png").is_file()
    assert (package_linux.ICONS_DIR / f"{icon}.svg").is_file()


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate is not installed (desktop-file-utils)")
def test_desktop_entry_passes_desktop_file_validate() -> None:
    out = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_metainfo_names_the_app_id_and_desktop_file() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.find("provides/binary").text == "chatdesk"  # type: ignore[union-attr]


def test_metainfo_gets_one_release_for_the_version() -> None:
    text = METAINFO.read_text(encoding="utf-8")
    stamped = package_linux.metainfo_with_release(text, "9.8.7", dt.date(2030, 1, 2))
    releases = ET.fromstring(stamped).findall("releases/release")
    assert [(r.get("version"), r.get("date")) for r in releases][0] == ("9.8.7", "2030-01-02")
    again = package_linux.metainfo_with_release(stamped, "9.8.7", dt.date(2031, 1, 1))
    assert len(ET.fromstring(again).findall("releases/release")) == len(releases)


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli not installed")
def test_stamped_metainfo_passes_appstreamcli(tmp_path: Path) -> None:
    stamped = tmp_path / METAINFO.name
    stamped.write_text(package_linux.metainfo_with_release(
        METAINFO.read_text(encoding="utf-8"), "1.2.3", dt.date(2030, 1, 2)), encoding="utf-8")
    out = subprocess.run(["appstreamcli", "validate", "--no-net", str(stamped)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


# -- build.py and the version ------------------------------------------------------------

def test_build_help_and_version_run_without_pyinstaller() -> None:
    env = {**os.environ, "PYTHONPATH": ""}
    out = subprocess.run([sys.executable, str(PACKAGING / "build.py"), "--help"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "--bundle-only" in out.stdout and "--qt-platform" in out.stdout
    out = subprocess.run([sys.executable, str(PACKAGING / "build.py"), "--print-version"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.stdout.strip() == pyproject_version()


def test_version_is_read_from_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "chatdesk"\nversion = "9.8.7rc1"\n')
    assert bundle_rules.read_version(pyproject) == "9.8.7rc1"
    assert bundle_rules.read_version() == pyproject_version()
    pyproject.write_text('[project]\nname = "chatdesk"\nversion = "soon"\n')
    with pytest.raises(SystemExit):
        bundle_rules.read_version(pyproject)
    pyproject.write_text('[project]\nname = "chatdesk"\ndynamic = ["version"]\n')
    with pytest.raises(SystemExit):
        bundle_rules.read_version(pyproject)


def test_version_is_stamped_into_every_package_format(tmp_path: Path) -> None:
    control = package_linux.control_text("9.8.7rc1", "amd64", 1234, "2.31")
    fields = dict(line.split(": ", 1) for line in control.splitlines() if ": " in line
                  and not line.startswith(" "))
    assert fields["Version"] == "9.8.7~rc1"
    assert fields["Architecture"] == "amd64" and fields["Installed-Size"] == "1234"
    assert fields["Depends"].startswith("libc6 (>= 2.31), ")
    for lib in ("libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libfontconfig1",
                "libdbus-1-3", "libgl1"):
        assert lib in fields["Depends"].split(", ")
    assert fields["Maintainer"] and fields["Description"]

    info = bundle_rules.macos_info_plist("9.8.7")
    assert info["CFBundleShortVersionString"] == info["CFBundleVersion"] == "9.8.7"
    assert info["CFBundleIdentifier"] == APP_ID
    assert bundle_rules.macos_info_plist("9.8.7rc1")["CFBundleVersion"] == "9.8.7"

    cmd = package_windows.iscc_command(Path("iscc"), "9.8.7", tmp_path, tmp_path)
    assert "/DAppVersion=9.8.7" in cmd and "/DNumericVersion=9.8.7.0" in cmd
    assert cmd[-1] == str(ISS)


def test_deb_versions_sort_like_python_versions() -> None:
    assert package_linux.deb_version("1.2.0") == "1.2.0"
    assert package_linux.deb_version("1.2.0rc1") == "1.2.0~rc1"
    assert package_linux.deb_version("1.2.0.dev3") == "1.2.0~dev3"
    assert package_linux.deb_arch("x86_64") == "amd64"
    assert package_linux.deb_arch("aarch64") == "arm64"


def test_inno_setup_script_installs_per_user_with_the_passed_version() -> None:
    text = ISS.read_text(encoding="utf-8")
    assert re.search(r"^PrivilegesRequired=lowest$", text, re.MULTILINE)
    assert re.search(r"^AppVersion=\{#AppVersion\}$", text, re.MULTILINE)
    assert "#error" in text  # compiling without /DAppVersion fails instead of guessing
    assert re.search(r"^Name: \"\{autoprograms\}\\chatdesk\"", text, re.MULTILINE)
    assert "OutputBaseFilename=chatdesk-{#AppVersion}-windows-setup" in text
    settings = [line for line in text.splitlines() if not line.lstrip().startswith(";")]
    assert not re.search(r"\d+\.\d+\.\d+", "\n".join(settings))  # no version of its own


def test_macos_plist_template_is_a_valid_plist() -> None:
    with open(PACKAGING / "macos" / "Info.plist", "rb") as fh:
        info = plistlib.load(fh)
    assert info["CFBundleName"] == "chatdesk" and info["NSHighResolutionCapable"] is True
    with open(PACKAGING / "macos" / "entitlements.plist", "rb") as fh:
        assert plistlib.load(fh)


# -- what goes into the bundle -----------------------------------------------------------

def test_bundle_keeps_only_the_qt_modules_chatdesk_imports() -> None:
    imported: set[str] = set()
    for source in (ROOT / "chatdesk").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "PySide6":
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("PySide6."):
                imported.add(node.module.split(".")[1])  # type: ignore[union-attr]
            elif isinstance(node, ast.Import):
                imported |= {a.name.split(".")[1] for a in node.names
                             if a.name.startswith("PySide6.")}
    assert imported, "chatdesk imports no Qt module?"
    assert imported <= set(bundle_rules.USED_QT_MODULES), (
        f"chatdesk now imports {sorted(imported - set(bundle_rules.USED_QT_MODULES))}: add "
        "it to USED_QT_MODULES in packaging/bundle_rules.py or the bundle will lack it")


def test_excluded_modules_cover_unused_qt_modules(tmp_path: Path) -> None:
    for name in ("QtCore.abi3.so", "QtWidgets.abi3.so", "QtNetwork.abi3.so", "QtQml.pyd",
                 "QtQuick.abi3.so"):
        (tmp_path / name).write_bytes(b"")
    excluded = bundle_rules.excluded_modules(tmp_path)
    assert {"PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "tkinter"} <= set(excluded)
    assert "PySide6.QtCore" not in excluded and "PySide6.QtWidgets" not in excluded


@pytest.mark.parametrize(("dest", "platform", "kept"), [
    ("PySide6/Qt/plugins/platforms/libqxcb.so", "linux", True),
    ("PySide6/Qt/plugins/platforms/libqoffscreen.so", "linux", True),
    ("PySide6/Qt/plugins/platforms/libqwayland.so", "linux", True),
    ("PySide6/Qt/plugins/platforms/libqvnc.so", "linux", False),
    ("PySide6/Qt/plugins/platforms/libqeglfs.so", "linux", False),
    ("PySide6/Qt/plugins/platforms/libqcocoa.dylib", "darwin", True),
    ("PySide6\\plugins\\platforms\\qwindows.dll", "win32", True),
    ("PySide6\\plugins\\styles\\qmodernwindowsstyle.dll", "win32", True),
    ("PySide6/Qt/plugins/imageformats/libqsvg.so", "linux", True),
    ("PySide6/Qt/plugins/imageformats/libqtiff.so", "linux", False),
    ("PySide6/Qt/plugins/tls/libqopensslbackend.so", "linux", False),
    ("PySide6/Qt/plugins/generic/libqevdevmouseplugin.so", "linux", False),
    ("PySide6/Qt/translations/qtbase_de.qm", "linux", False),
    ("PySide6\\translations\\qtbase_de.qm", "win32", False),
    ("PySide6/Qt/lib/libQt6Network.so.6", "linux", False),
    ("PySide6/Qt/lib/QtNetwork.framework/Versions/A/QtNetwork", "darwin", False),
    ("PySide6/Qt/lib/libQt6Widgets.so.6", "linux", True),
    ("chatdesk/resources/icons/chatdesk.svg", "linux", True),
    ("libX11.so.6", "linux", False),
    ("libxcb-cursor.so.0", "linux", False),
    ("libstdc++.so.6", "linux", False),
    ("libssl.so.3", "linux", True),
    ("libpython3.11.so.1.0", "linux", True),
    ("libsqlite3.so.0", "linux", True),
])
def test_bundle_rules_keep_or_drop(dest: str, platform: str, kept: bool) -> None:
    assert bundle_rules.is_kept(dest, platform) is kept


# -- the portable default ---------------------------------------------------------------

def test_portable_marker_makes_portable_the_default(tmp_path: Path) -> None:
    plain = launcher.with_portable_default(["history", "list"], tmp_path, {})
    assert plain == ["history", "list"]
    (tmp_path / launcher.PORTABLE_MARKER).write_text("portable")
    assert launcher.with_portable_default(["history", "list"], tmp_path, {}) == [
        "--portable", "history", "list"]
    assert launcher.with_portable_default(["--data-dir", "x"], tmp_path, {}) == [
        "--data-dir", "x"]
    assert launcher.with_portable_default(["--data-dir=x"], tmp_path, {}) == ["--data-dir=x"]
    env = {"CHATDESK_DATA_DIR": "/somewhere"}
    assert launcher.with_portable_default([], tmp_path, env) == []
    assert package_windows.PORTABLE_MARKER == launcher.PORTABLE_MARKER


def test_portable_zip_holds_the_bundle_and_the_marker(tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path, "chatdesk.exe")
    dist = tmp_path / "dist"
    dist.mkdir()
    out = package_windows.build_portable_zip(bundle, dist, "9.8.7")
    assert out.name == "chatdesk-9.8.7-windows-portable.zip"
    names = set(zipfile.ZipFile(out).namelist())
    assert "chatdesk-9.8.7/chatdesk.exe" in names
    assert "chatdesk-9.8.7/portable.txt" in names
    assert "chatdesk-9.8.7/_internal/PySide6/libQt6Core.so.6" in names


# -- Linux packages from a fake bundle ---------------------------------------------------

@pytest.mark.skipif(sys.platform == "win32", reason="symlinks and modes of a Linux package")
def test_tarball_holds_the_bundle_owned_by_root(tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path)
    out = package_linux.build_tarball(bundle, tmp_path, "9.8.7", "x86_64")
    assert out.name == "chatdesk-9.8.7-linux-x86_64.tar.gz"
    with tarfile.open(out) as tar:
        members = {m.name: m for m in tar.getmembers()}
    exe = members["chatdesk-9.8.7/chatdesk"]
    assert exe.mode & 0o111 and exe.uid == 0 and exe.uname == "root"
    assert "chatdesk-9.8.7/_internal/PySide6/libQt6Core.so.6" in members


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks and modes of a Linux package")
def test_deb_tree_installs_app_launcher_desktop_file_and_icons(tmp_path: Path) -> None:
    root = package_linux.stage_deb_root(fake_bundle(tmp_path), tmp_path / "root", "9.8.7",
                                        "x86_64")
    assert os.readlink(root / "usr/bin/chatdesk") == "/opt/chatdesk/chatdesk"
    assert os.access(root / "opt/chatdesk/chatdesk", os.X_OK)
    share = root / "usr/share"
    assert (share / "applications" / f"{APP_ID}.desktop").is_file()
    metainfo = ET.parse(share / "metainfo" / f"{APP_ID}.metainfo.xml").getroot()
    assert metainfo.find("releases/release").get("version") == "9.8.7"  # type: ignore[union-attr]
    for size in (16, 32, 48, 64, 128, 256, 512):
        assert (share / f"icons/hicolor/{size}x{size}/apps/chatdesk.png").is_file()
    assert (share / "icons/hicolor/scalable/apps/chatdesk.svg").is_file()
    control = (root / "DEBIAN/control").read_text()
    assert "Version: 9.8.7\n" in control and "Architecture: amd64\n" in control
    assert (share / "icons/hicolor/16x16/apps/chatdesk.png").stat().st_mode & 0o777 == 0o644


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
def test_deb_builds_and_dpkg_reads_it(tmp_path: Path) -> None:
    out = package_linux.build_deb(fake_bundle(tmp_path), tmp_path, tmp_path / "work", "9.8.7",
                                  "x86_64")
    assert out.name == "chatdesk_9.8.7_amd64.deb"
    info = subprocess.run(["dpkg-deb", "-f", str(out), "Package", "Version", "Depends"],
                          capture_output=True, text=True, check=True).stdout
    assert "Package: chatdesk" in info and "Version: 9.8.7" in info
    listing = subprocess.run(["dpkg-deb", "-c", str(out)], capture_output=True, text=True,
                             check=True).stdout
    assert "root/root" in listing and "./usr/bin/chatdesk -> /opt/chatdesk/chatdesk" in listing


def test_windows_version_resource_carries_the_version() -> None:
    pytest.importorskip("pefile", reason="PyInstaller needs pefile for it (Windows only)")
    info = str(bundle_rules.windows_version_info("9.8.7rc1"))
    assert "filevers=(9, 8, 7, 0)" in info
    assert "'ProductVersion', '9.8.7rc1'" in info and "'OriginalFilename', 'chatdesk.exe'" in info
