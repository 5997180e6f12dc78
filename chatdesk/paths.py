"""Where chatdesk keeps its files: --data-dir, --portable, CHATDESK_DATA_DIR or the OS default."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "chatdesk"
DATA_DIR_ENV = "CHATDESK_DATA_DIR"
PORTABLE_DIR_NAME = "chatdesk-data"


class DataDirError(Exception):
    """The data folder cannot be created or written; the message is a sentence for the user."""


def resolve_data_dir(
    data_dir: str | os.PathLike[str] | None = None,
    portable: bool = False,
    environ: Mapping[str, str] = os.environ,
) -> Path:
    """The data folder to use, by precedence: data_dir, portable, CHATDESK_DATA_DIR, the OS default.

    Nothing is created here; see ensure_data_dir.
    """
    if data_dir is not None and os.fspath(data_dir) != "":
        return Path(data_dir).expanduser().absolute()
    if portable:
        return portable_base_dir() / PORTABLE_DIR_NAME
    from_env = environ.get(DATA_DIR_ENV, "").strip()
    if from_env:
        return Path(from_env).expanduser().absolute()
    import platformdirs  # only when no folder was given: it costs start-up time

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def portable_base_dir() -> Path:
    """The folder that holds the executable (or the macOS app bundle) for --portable."""
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable).absolute()
        macos_dir = exe.parent
        bundle = macos_dir.parent.parent
        if (
            macos_dir.name == "MacOS"
            and macos_dir.parent.name == "Contents"
            and bundle.suffix == ".app"
        ):
            # Beside X.app: writing inside a signed bundle would break its signature.
            return bundle.parent
        return exe.parent
    launcher = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    # `python -m chatdesk` reports chatdesk/__main__.py; the package folder is no place for data.
    if launcher is not None and launcher.is_file() and launcher.name != "__main__.py":
        return launcher.absolute().parent
    return Path.cwd()


def ensure_data_dir(path: str | os.PathLike[str]) -> Path:
    """Create the data folder (and its parents) if needed; raise DataDirError if impossible."""
    folder = Path(path)
    hint = "choose another folder with --data-dir or the CHATDESK_DATA_DIR variable"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
        make_private(folder)
    except (FileExistsError, NotADirectoryError):
        raise DataDirError(
            f"The data folder {folder} cannot be created because a file is in the way; "
            f"move that file or {hint}."
        ) from None
    except PermissionError:
        raise DataDirError(
            f"chatdesk has no permission to create the data folder {folder}; {hint}."
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DataDirError(
            f"The data folder {folder} cannot be created ({reason}); {hint}."
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataDirError(f"The data folder {folder} is not writable; {hint}.")
    return folder


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private(path: str | os.PathLike[str]) -> None:
    """Tighten a folder to 0700 or a file to 0600 (POSIX), whatever the umask made it.

    Files and folders of older versions were 0755/0644; they are tightened when opened.
    Windows: a no-op; the per-user profile folders chatdesk uses are private by their ACL.
    """
    if os.name != "posix":
        return
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    wanted = PRIVATE_DIR_MODE if stat.S_ISDIR(st.st_mode) else PRIVATE_FILE_MODE
    if stat.S_IMODE(st.st_mode) != wanted:
        with suppress(PermissionError):  # not ours (a shared folder): leave it as it is
            os.chmod(path, wanted)


def private_opener(path: str, flags: int) -> int:
    """An `open(..., opener=)` that creates files 0600, for logs and exports."""
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    if os.name == "posix":
        with suppress(OSError):
            os.fchmod(fd, PRIVATE_FILE_MODE)  # a file that existed keeps its mode otherwise
    return fd


def touch_private(path: str | os.PathLike[str]) -> None:
    """Create an empty file 0600 unless it exists: Qt keeps the mode of a file it rewrites,
    so window.ini made this way stays private."""
    with suppress(OSError):
        os.close(private_opener(os.fspath(path), os.O_WRONLY | os.O_CREAT))


@dataclass(frozen=True)
class DataPaths:
    """The files chatdesk keeps under its data folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def history_db(self) -> Path:
        return self.root / "history.db"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.toml"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def window_state(self) -> Path:
        return self.root / "window.ini"

    def make_private(self) -> None:
        """Tighten what older versions left world-readable (0755/0644) to 0700/0600."""
        for path in (self.root, self.settings_file, self.window_state, self.log_dir):
            make_private(path)
        with suppress(OSError):
            for log in self.log_dir.iterdir():
                make_private(log)
