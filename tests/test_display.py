"""One clear line instead of Qt aborting when no window can open."""

import pytest

from chatdesk.display import display_problem


def _found(name: str) -> str:
    return f"lib{name}.so"


def test_no_display_on_linux_is_explained() -> None:
    problem = display_problem({}, "linux", _found)
    assert problem and "no display" in problem and "chatdesk --help" in problem


def test_missing_xcb_libraries_are_named_with_their_package() -> None:
    problem = display_problem({"DISPLAY": ":0"}, "linux", lambda name: None)
    assert problem and "libxcb-cursor0" in problem and "libxkbcommon-x11-0" in problem


def test_a_usable_display_or_an_explicit_platform_passes() -> None:
    assert display_problem({"DISPLAY": ":0"}, "linux", _found) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", lambda n: None) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", lambda n: None) is None
    assert display_problem({}, "darwin", lambda n: None) is None
    assert display_problem({}, "win32", lambda n: None) is None


def test_the_app_command_says_it_in_one_line(monkeypatch, capsys) -> None:
    from chatdesk.cli import main

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main(["--data-dir", "/nonexistent-never-used"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chatdesk: no display") and err.count("\n") == 1


def test_the_xcb_libraries_are_found_without_ldconfig(monkeypatch) -> None:
    import ctypes
    import ctypes.util

    loaded: list[str] = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name: loaded.append(name))
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: pytest.fail("ldconfig run"))
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert loaded == ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]


def test_a_library_not_loadable_by_soname_is_looked_up(monkeypatch) -> None:
    import ctypes
    import ctypes.util

    from chatdesk import display

    def no(name: str) -> None:
        raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", no)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    problem = display_problem({"DISPLAY": ":0"}, "linux", display.find_library)
    assert problem and "libxcb-cursor0" in problem
