"""macOS: sign the .app (a real identity if one is given, else ad hoc) and wrap it in a .dmg."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from bundle_rules import APP_NAME

MACOS_DIR = Path(__file__).resolve().parent / "macos"
ENTITLEMENTS = MACOS_DIR / "entitlements.plist"
IDENTITY_ENV = "CHATDESK_CODESIGN_IDENTITY"


def signing_identity() -> str:
    """The codesign identity from CHATDESK_CODESIGN_IDENTITY, or "-" (ad hoc)."""
    return os.environ.get(IDENTITY_ENV, "").strip() or "-"


def codesign_command(target: Path, identity: str) -> list[str]:
    """codesign for the .app: a real identity gets the hardened runtime and a timestamp
    (what notarisation asks for); ad hoc signing only makes Apple silicon run it."""
    cmd = ["codesign", "--force", "--deep", "--sign", identity]
    if identity != "-":
        cmd += ["--options", "runtime", "--timestamp", "--entitlements", str(ENTITLEMENTS)]
    return [*cmd, str(target)]


def sign_app(app: Path) -> str:
    """Sign the bundle and verify the signature; returns the identity used."""
    identity = signing_identity()
    subprocess.run(codesign_command(app, identity), check=True)
    subprocess.run(["codesign", "--verify", "--deep", "--strict", "--verbose=2", str(app)],
                   check=True)
    return identity


def build_dmg(app: Path, dist: Path, work: Path, version: str) -> Path:
    """dist/chatdesk-VERSION-macos-ARCH.dmg: the .app beside a link to /Applications."""
    stage = work / "dmg"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    # ditto keeps the symlinks, extended attributes and signature of the bundle.
    subprocess.run(["ditto", str(app), str(stage / app.name)], check=True)
    (stage / "Applications").symlink_to("/Applications")
    out = dist / f"{APP_NAME}-{version}-macos-{platform.machine()}.dmg"
    out.unlink(missing_ok=True)
    subprocess.run(["hdiutil", "create", "-volname", f"chatdesk {version}", "-srcfolder",
                    str(stage), "-fs", "HFS+", "-format", "UDZO", "-ov", str(out)], check=True)
    identity = signing_identity()
    if identity != "-":  # an ad hoc signature on a disk image means nothing
        subprocess.run(["codesign", "--force", "--sign", identity, "--timestamp", str(out)],
                       check=True)
    return out
