"""Build chatdesk's standalone bundle for this OS, test it, and package it into dist/.

    python packaging/build.py            # bundle + self-test + this OS's packages
    python packaging/build.py --help

Needs the project installed in the running Python (pip install -e .) and PyInstaller
(pip install pyinstaller). The bundle's own `chatdesk --self-test` runs with a throwaway
data folder and an environment without Python; the build fails if it does not pass.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bundle_rules import APP_NAME, ROOT, read_version  # noqa: E402

SPEC = HERE / "chatdesk.spec"
SELF_TEST_OK = re.compile(r"^self-test ok startup_ms=(\d+)\s*$", re.MULTILINE)
LINUX_MAX_MIB = 150
MIB = 1024 * 1024


class BuildError(Exception):
    """The build cannot go on; the message says why and what to do."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="packaging/build.py",
        description="Build the chatdesk bundle with PyInstaller (onedir), run its "
                    "--self-test without Python, and make this OS's packages in DIST: "
                    "Linux .tar.gz and .deb; macOS .dmg; Windows portable .zip and, when "
                    "Inno Setup's iscc is installed, the setup .exe.")
    p.add_argument("--dist", type=Path, default=ROOT / "dist",
                   help="where packages go (default: dist/; the bundle in DIST/bundle)")
    p.add_argument("--work", type=Path, default=ROOT / "build",
                   help="scratch folder (default: build/; PyInstaller uses WORK/pyinstaller)")
    p.add_argument("--bundle-only", action="store_true",
                   help="build and test the bundle, make no packages")
    p.add_argument("--reuse-bundle", action="store_true",
                   help="skip PyInstaller and use the bundle already in DIST/bundle")
    p.add_argument("--qt-platform", default="offscreen",
                   help="QT_QPA_PLATFORM for the self-test (default: offscreen; e.g. xcb "
                        "under xvfb-run, cocoa, windows)")
    p.add_argument("--print-version", action="store_true",
                   help="print the version from pyproject.toml and exit")
    return p.parse_args(argv)


def check_build_python(version: str) -> None:
    """PyInstaller present, and chatdesk installed with the version pyproject.toml has
    (the bundle copies the installed metadata that `chatdesk --version` reads)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise BuildError("PyInstaller is not installed in this Python: run "
                         f"{sys.executable} -m pip install pyinstaller") from None
    try:
        found = installed_version(APP_NAME)
    except PackageNotFoundError:
        found = None
    if found != version:
        raise BuildError(
            f"pyproject.toml says version {version} but this Python has chatdesk {found} "
            f"installed: run {sys.executable} -m pip install -e . and build again")


def run_pyinstaller(work: Path, bundles: Path) -> None:
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
           "--workpath", str(work / "pyinstaller"), "--distpath", str(bundles), str(SPEC)]
    print("$ " + " ".join(cmd), flush=True)
    if subprocess.run(cmd, cwd=ROOT).returncode != 0:
        raise BuildError("PyInstaller failed (see its messages above)")


def locate_bundle(bundles: Path) -> tuple[Path, Path]:
    """(what gets packaged, the chatdesk executable inside it)."""
    if sys.platform == "darwin":
        top = bundles / f"{APP_NAME}.app"
        exe = top / "Contents" / "MacOS" / APP_NAME
    else:
        top = bundles / APP_NAME
        exe = top / (f"{APP_NAME}.exe" if sys.platform == "win32" else APP_NAME)
    if not exe.is_file():
        raise BuildError(f"no bundle at {top}: build it first (without --reuse-bundle)")
    return top, exe


def clean_env(home: Path, qt_platform: str) -> dict[str, str]:
    """An environment like a fresh login's, with no Python on PATH (as `env -i` gives)."""
    empty_bin = home / "bin"  # PATH must exist but hold no interpreter
    empty_bin.mkdir(parents=True, exist_ok=True)
    env = {"HOME": str(home), "QT_QPA_PLATFORM": qt_platform, "PATH": str(empty_bin)}
    if sys.platform == "win32":
        system_root = os.environ.get("SystemRoot", r"C:\Windows")
        env.update(SystemRoot=system_root, WINDIR=system_root, TEMP=str(home), TMP=str(home),
                   USERPROFILE=str(home), APPDATA=str(home / "Roaming"),
                   LOCALAPPDATA=str(home / "Local"),
                   PATH=str(Path(system_root) / "System32"))
    else:
        runtime = home / "runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env.update(LANG="C.UTF-8", XDG_RUNTIME_DIR=str(runtime), TMPDIR=str(home))
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY"):  # for --qt-platform xcb
            if name in os.environ and qt_platform != "offscreen":
                env[name] = os.environ[name]
    return env


def run_bundle(exe: Path, args: list[str], env: dict[str, str], cwd: Path
               ) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise BuildError(f"the bundle did not finish `chatdesk {' '.join(args)}` within "
                         "120 s") from None


def smoke_test(exe: Path, version: str, qt_platform: str) -> int:
    """--version, --self-test and `keys status` of the bundle; returns startup_ms."""
    with tempfile.TemporaryDirectory(prefix="chatdesk-selftest-") as tmp:
        home = Path(tmp)
        env = clean_env(home, qt_platform)
        data = ["--data-dir", str(home / "data")]

        out = run_bundle(exe, ["--version"], env, home)
        if out.returncode != 0 or out.stdout.strip() != f"{APP_NAME} {version}":
            raise BuildError(f"`chatdesk --version` in the bundle printed {out.stdout!r} "
                             f"{out.stderr!r}, expected '{APP_NAME} {version}'")
        out = run_bundle(exe, [*data, "--self-test"], env, home)
        match = SELF_TEST_OK.search(out.stdout)
        if out.returncode != 0 or match is None:
            raise BuildError("the bundle's self-test failed (exit "
                             f"{out.returncode}):\n{out.stdout}{out.stderr}")
        startup_ms = int(match.group(1))
        print(f"bundle self-test ok (QT_QPA_PLATFORM={qt_platform}, no Python on PATH): "
              f"startup_ms={startup_ms}")

        out = run_bundle(exe, [*data, "keys", "status"], env, home)
        if out.returncode != 0 or "Traceback" in out.stderr or not out.stdout.strip():
            raise BuildError(f"`chatdesk keys status` failed in the bundle:\n"
                             f"{out.stdout}{out.stderr}")
        print("bundle `keys status`:\n  " + out.stdout.strip().replace("\n", "\n  "))
        # macOS and Windows always have a key store: saying none means the keyring
        # backends were lost from the bundle.
        if sys.platform in ("darwin", "win32") and "no system keyring" in out.stdout:
            raise BuildError("the bundle found no keyring backend: keyring's backends or "
                             "entry points were not collected")
    return startup_ms


def tree_size(path: Path) -> int:
    """Bytes of the regular files under path (symlinks counted once, as links)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def make_packages(top: Path, dist: Path, work: Path, version: str) -> list[Path]:
    machine = platform.machine()
    made: list[Path] = []
    if sys.platform.startswith("linux"):
        import package_linux

        made.append(package_linux.build_tarball(top, dist, version, machine))
        made.append(package_linux.build_deb(top, dist, work / "packaging", version, machine))
    elif sys.platform == "darwin":
        import package_macos

        made.append(package_macos.build_dmg(top, dist, work / "packaging", version))
    elif sys.platform == "win32":
        import package_windows

        made.append(package_windows.build_portable_zip(top, dist, version))
        installer = package_windows.build_installer(top, dist, version)
        if installer is None:
            print("Inno Setup (iscc) not found: no installer made; the portable zip is "
                  "ready (install Inno Setup 6 and build again for the installer)")
        else:
            made.append(installer)
    else:
        raise BuildError(f"no packages are defined for {sys.platform}; use --bundle-only")
    return made


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    version = read_version()
    if args.print_version:
        print(version)
        return 0
    dist, work = args.dist.resolve(), args.work.resolve()
    bundles = dist / "bundle"
    try:
        if not args.reuse_bundle:
            check_build_python(version)
            run_pyinstaller(work, bundles)
        top, exe = locate_bundle(bundles)
        if sys.platform == "darwin":
            import package_macos

            print(f"signed {top.name} as {package_macos.sign_app(top)!r}")
        size = tree_size(top)
        print(f"bundle: {top} ({size / MIB:.1f} MiB)")
        if sys.platform.startswith("linux") and size > LINUX_MAX_MIB * MIB:
            raise BuildError(f"the bundle is {size / MIB:.1f} MiB, over the "
                             f"{LINUX_MAX_MIB} MiB budget: see KEPT_PLUGINS and "
                             "LINUX_SYSTEM_LIBS in packaging/bundle_rules.py")
        smoke_test(exe, version, args.qt_platform)
        if args.bundle_only:
            return 0
        for path in make_packages(top, dist, work, version):
            print(f"made {path} ({path.stat().st_size / MIB:.1f} MiB)")
    except BuildError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"build.py: {' '.join(map(str, exc.cmd))} failed (exit {exc.returncode})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
