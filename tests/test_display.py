"""One clear line instead of Qt aborting when no window can open."""

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
