"""Windows: the portable zip (portable by default) and the Inno Setup installer."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from bundle_rules import APP_NAME, ROOT, numeric_version

ISS_FILE = Path(__file__).resolve().parent / "windows" / "chatdesk.iss"
PORTABLE_MARKER = "portable.txt"  # packaging/launcher.py looks for it beside the .exe
PORTABLE_NOTE = """\
This copy of chatdesk is portable: it keeps its history, settings and logs in the
chatdesk-data folder beside chatdesk.exe, so the whole folder can travel on a USB stick.
Delete this file to use your user profile's data folder instead (%LOCALAPPDATA%\\chatdesk).
chatdeskw.exe starts the app without a console window; chatdesk.exe is the command line.
"""


def build_portable_zip(bundle: Path, dist: Path, version: str) -> Path:
    """dist/chatdesk-VERSION-windows-portable.zip holding chatdesk-VERSION/ + portable.txt."""
    out = dist / f"{APP_NAME}-{version}-windows-portable.zip"
    top = f"{APP_NAME}-{version}"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                zf.write(path, f"{top}/{path.relative_to(bundle).as_posix()}")
        zf.writestr(f"{top}/{PORTABLE_MARKER}", PORTABLE_NOTE.replace("\n", "\r\n"))
    return out


def find_iscc() -> Path | None:
    """Inno Setup's compiler: on PATH, or where its installer puts it."""
    found = shutil.which("iscc")
    if found:
        return Path(found)
    for base in (os.environ.get("ProgramFiles(x86)"), os.environ.get("ProgramFiles"),
                 os.environ.get("LOCALAPPDATA", "") + "\\Programs"):
        for edition in ("Inno Setup 6", "Inno Setup 7"):
            candidate = Path(base or "", edition, "ISCC.exe")
            if base and candidate.is_file():
                return candidate
    return None


def iscc_command(iscc: Path, version: str, bundle: Path, dist: Path) -> list[str]:
    """The iscc call that stamps the version into the installer."""
    numeric = ".".join(map(str, numeric_version(version)))
    return [str(iscc), "/Q", f"/DAppVersion={version}", f"/DNumericVersion={numeric}",
            f"/DSourceDir={bundle.resolve()}", f"/DOutputDir={dist.resolve()}",
            f"/DRepoDir={ROOT}", str(ISS_FILE)]


def build_installer(bundle: Path, dist: Path, version: str) -> Path | None:
    """dist/chatdesk-VERSION-windows-setup.exe, or None when Inno Setup is not installed."""
    iscc = find_iscc()
    if iscc is None:
        return None
    subprocess.run(iscc_command(iscc, version, bundle, dist), check=True)
    return dist / f"{APP_NAME}-{version}-windows-setup.exe"
