"""Where chatdesk keeps its files: --data-dir, --portable, CHATDESK_DATA_DIR or the OS default."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
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
        folder.mkdir(parents=True, exist_ok=True)
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
