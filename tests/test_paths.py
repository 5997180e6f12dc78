"""Tests for chatdesk.paths: where the data folder is, and creating it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs
import pytest

from chatdesk.paths import DataDirError, DataPaths, ensure_data_dir, resolve_data_dir


@pytest.fixture
def not_frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A source install whose launcher script is tmp_path/bin/chatdesk."""
    monkeypatch.delattr(sys, "frozen", raising=False)
    launcher = tmp_path / "bin" / "chatdesk"
    launcher.parent.mkdir()
    launcher.write_text("#!/usr/bin/env python\n")
    monkeypatch.setattr(sys, "argv", [str(launcher)])
    return launcher


def test_explicit_dir_beats_everything(tmp_path: Path, not_frozen: Path) -> None:
    env = {"CHATDESK_DATA_DIR": str(tmp_path / "from-env")}
    got = resolve_data_dir(tmp_path / "explicit", portable=True, environ=env)
    assert got == tmp_path / "explicit"


def test_portable_beats_environment(tmp_path: Path, not_frozen: Path) -> None:
    env = {"CHATDESK_DATA_DIR": str(tmp_path / "from-env")}
    got = resolve_data_dir(None, portable=True, environ=env)
    assert got == not_frozen.parent / "chatdesk-data"


def test_environment_beats_platform_default(tmp_path: Path) -> None:
    env = {"CHATDESK_DATA_DIR": str(tmp_path / "from-env")}
    assert resolve_data_dir(environ=env) == tmp_path / "from-env"


def test_platform_default_when_nothing_is_given() -> None:
    expected = Path(platformdirs.user_data_dir("chatdesk", appauthor=False))
    assert resolve_data_dir(environ={}) == expected
    assert resolve_data_dir("", environ={"CHATDESK_DATA_DIR": ""}) == expected


def test_tilde_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert resolve_data_dir("~/chats", environ={}) == tmp_path / "chats"
    assert resolve_data_dir(environ={"CHATDESK_DATA_DIR": "~/env"}) == tmp_path / "env"


def test_resolving_creates_nothing(tmp_path: Path) -> None:
    resolve_data_dir(tmp_path / "a" / "b", environ={})
    assert not (tmp_path / "a").exists()


def test_portable_beside_frozen_executable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "usb" / "chatdesk" / "chatdesk.exe"))
    got = resolve_data_dir(portable=True, environ={})
    assert got == tmp_path / "usb" / "chatdesk" / "chatdesk-data"


def test_portable_beside_macos_app_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    exe = tmp_path / "usb" / "chatdesk.app" / "Contents" / "MacOS" / "chatdesk"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert resolve_data_dir(portable=True, environ={}) == tmp_path / "usb" / "chatdesk-data"


def test_portable_macos_dir_outside_a_bundle_is_not_special(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    exe = tmp_path / "plain" / "Contents" / "MacOS" / "chatdesk"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert resolve_data_dir(portable=True, environ={}) == exe.parent / "chatdesk-data"


def test_portable_without_launcher_uses_current_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "no-such-script")])
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir(portable=True, environ={}) == tmp_path / "chatdesk-data"


def test_ensure_creates_parents(tmp_path: Path) -> None:
    target = tmp_path / "x" / "y" / "data"
    assert ensure_data_dir(target) == target
    assert target.is_dir()
    assert ensure_data_dir(target) == target  # a second time is fine


def test_ensure_with_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(DataDirError) as err:
        ensure_data_dir(tmp_path / "data")
    message = str(err.value)
    assert "file is in the way" in message and str(tmp_path / "data") in message
    assert "\n" not in message
    with pytest.raises(DataDirError):
        ensure_data_dir(tmp_path / "data" / "below")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions"
)
def test_ensure_without_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(DataDirError, match="permission"):
            ensure_data_dir(locked / "data")
    finally:
        locked.chmod(0o700)


def test_data_paths(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path)
    assert paths.history_db == tmp_path / "history.db"
    assert paths.settings_file == tmp_path / "settings.toml"
    assert paths.log_dir == tmp_path / "logs"
    assert DataPaths(str(tmp_path)).root == tmp_path
    with pytest.raises(AttributeError):
        paths.root = tmp_path / "other"  # type: ignore[misc]


def test_ensure_permission_error_is_a_sentence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(DataDirError) as err:
        ensure_data_dir(tmp_path / "data")
    assert "no permission" in str(err.value) and "--data-dir" in str(err.value)
