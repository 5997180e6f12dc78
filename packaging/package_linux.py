"""Linux packages from the PyInstaller bundle: the .tar.gz and the .deb (dpkg-deb)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

from bundle_rules import APP_ID, APP_NAME, HOMEPAGE, ROOT

LINUX_DIR = Path(__file__).resolve().parent / "linux"
DESKTOP_FILE = LINUX_DIR / f"{APP_ID}.desktop"
METAINFO_FILE = LINUX_DIR / f"{APP_ID}.metainfo.xml"
ICONS_DIR = ROOT / "chatdesk" / "resources" / "icons"
MAINTAINER = os.environ.get("CHATDESK_DEB_MAINTAINER",
                            "chatdesk maintainers <maintainers@chatdesk.invalid>")
SUMMARY = "chat client for many AI providers that survives their outages"
DESCRIPTION = """\
A desktop chat client for Anthropic, OpenAI (and every OpenAI-compatible endpoint),
Google Gemini and local Ollama that keeps working when one of them goes down: it
carries the whole conversation over to the next provider. Every conversation lives
in a local SQLite file. Everything the app does is also a command-line command."""
# What the bundle's Qt libraries and plugins load from the system (readelf NEEDED of every
# file in the bundle, less what it ships). Names without Ubuntu's t64 suffix: those
# packages provide the plain names too, so one .deb installs on Debian 12 and Ubuntu 22.04+.
DEB_DEPENDS = (
    "libstdc++6", "libgcc-s1", "libglib2.0-0", "libdbus-1-3", "libfontconfig1",
    "libfreetype6", "libzstd1", "libgl1", "libegl1", "libxkbcommon0", "libxkbcommon-x11-0",
    "libx11-6", "libx11-xcb1", "libxcb1", "libxcb-cursor0", "libxcb-glx0", "libxcb-icccm4",
    "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0", "libxcb-render0",
    "libxcb-render-util0", "libxcb-shape0", "libxcb-shm0", "libxcb-sync1", "libxcb-util1",
    "libxcb-xfixes0", "libxcb-xkb1", "libwayland-client0", "libwayland-cursor0",
    "libwayland-egl1",
)
# Loaded only by optional plugins (GTK look and dialogs) or optional services (the
# Secret Service that keeps API keys); chatdesk works without them.
DEB_RECOMMENDS = ("libgtk-3-0", "gnome-keyring | kwalletmanager | keepassxc")


def machine_name(machine: str) -> str:
    """uname -m spelling for file names (amd64 -> x86_64)."""
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine.lower(), machine.lower())


def deb_arch(machine: str) -> str:
    """Debian's architecture name for a uname -m machine."""
    table = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
             "armv7l": "armhf", "i686": "i386", "i386": "i386", "ppc64le": "ppc64el"}
    try:
        return table[machine.lower()]
    except KeyError:
        raise SystemExit(f"no Debian architecture known for machine {machine!r}") from None


def deb_version(version: str) -> str:
    """A Debian version that sorts like the PEP 440 one: 1.2.0rc1 -> 1.2.0~rc1."""
    return re.sub(r"[.-]?(a|b|rc|alpha|beta|dev)(\d*)$", r"~\1\2", version)


def required_glibc(bundle: Path) -> str | None:
    """The newest GLIBC_x.y symbol version any file of the bundle needs (objdump), or None."""
    objdump = shutil.which("objdump")
    if objdump is None:
        return None
    best: tuple[int, ...] = ()
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file() or not _is_elf(path):
            continue
        out = subprocess.run([objdump, "-p", str(path)], capture_output=True, text=True).stdout
        for found in re.findall(r"\bGLIBC_(\d+(?:\.\d+)+)\b", out):
            best = max(best, tuple(int(n) for n in found.split(".")))
    return ".".join(map(str, best)) or None


def control_text(version: str, arch: str, installed_kib: int, glibc: str | None) -> str:
    """The DEBIAN/control file."""
    depends = [f"libc6 (>= {glibc})" if glibc else "libc6", *DEB_DEPENDS]
    long_desc = "\n".join(" " + (line or ".") for line in DESCRIPTION.splitlines())
    return (
        f"Package: {APP_NAME}\n"
        f"Version: {deb_version(version)}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {', '.join(depends)}\n"
        f"Recommends: {', '.join(DEB_RECOMMENDS)}\n"
        "Section: net\n"
        "Priority: optional\n"
        f"Homepage: {HOMEPAGE}\n"
        f"Description: {SUMMARY}\n{long_desc}\n"
    )


def metainfo_with_release(text: str, version: str, date: dt.date) -> str:
    """The AppStream file with a <release> for version (newest first), added if missing."""
    root = ET.fromstring(text)
    releases = root.find("releases")
    if releases is None:
        releases = ET.SubElement(root, "releases")
    if not any(r.get("version") == version for r in releases.findall("release")):
        release = ET.Element("release", {"version": version, "date": date.isoformat()})
        releases.insert(0, release)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


def build_tarball(bundle: Path, dist: Path, version: str, machine: str) -> Path:
    """dist/chatdesk-VERSION-linux-MACHINE.tar.gz holding chatdesk-VERSION/ (the bundle)."""
    out = dist / f"{APP_NAME}-{version}-linux-{machine_name(machine)}.tar.gz"
    top = f"{APP_NAME}-{version}"

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(out, "w:gz", compresslevel=9) as tar:
        tar.add(bundle, arcname=top, filter=owned_by_root)
    return out


def stage_deb_root(bundle: Path, root: Path, version: str, machine: str) -> Path:
    """The file tree of the .deb under root (removed first), DEBIAN/control included."""
    if root.exists():
        shutil.rmtree(root)
    opt = root / "opt" / APP_NAME
    shutil.copytree(bundle, opt, symlinks=True)
    usr = root / "usr"
    (usr / "bin").mkdir(parents=True)
    # The PyInstaller bootloader resolves its own path, so a symlink finds _internal/.
    (usr / "bin" / APP_NAME).symlink_to(f"/opt/{APP_NAME}/{APP_NAME}")
    share = usr / "share"
    _copy(DESKTOP_FILE, share / "applications" / DESKTOP_FILE.name)
    metainfo = metainfo_with_release(METAINFO_FILE.read_text(encoding="utf-8"), version,
                                     dt.date.today())
    _write(share / "metainfo" / METAINFO_FILE.name, metainfo)
    for png in sorted((ICONS_DIR / "hicolor").glob("*/apps/chatdesk.png")):
        _copy(png, share / "icons" / "hicolor" / png.parent.parent.name / "apps" / png.name)
    _copy(ICONS_DIR / "chatdesk.svg", share / "icons" / "hicolor" / "scalable" / "apps"
          / "chatdesk.svg")
    _write(share / "doc" / APP_NAME / "copyright",
           f"chatdesk {version}\nLicense: MIT\nHomepage: {HOMEPAGE}\n"
           "The bundled Qt (LGPLv3) and Python (PSF) keep their own licences.\n")
    _normalise_modes(root)
    installed_kib = (_tree_size(root) + 1023) // 1024
    debian = root / "DEBIAN"
    debian.mkdir()
    _write(debian / "control",
           control_text(version, deb_arch(machine), installed_kib, required_glibc(opt)))
    return root


def build_deb(bundle: Path, dist: Path, work: Path, version: str, machine: str) -> Path:
    """dist/chatdesk_VERSION_ARCH.deb, built with dpkg-deb --root-owner-group."""
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("dpkg-deb is not installed (apt-get install dpkg); cannot build the .deb")
    root = stage_deb_root(bundle, work / "deb-root", version, machine)
    out = dist / f"{APP_NAME}_{deb_version(version)}_{deb_arch(machine)}.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", "-Zxz", str(root), str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return out


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def _write(dst: Path, text: str) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text, encoding="utf-8")


def _normalise_modes(root: Path) -> None:
    """0755 for folders and executables, 0644 for the rest, whatever the umask was."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        executable = path.is_dir() or path.stat().st_mode & 0o111
        path.chmod(0o755 if executable else 0o644)


def _tree_size(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False
