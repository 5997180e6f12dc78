"""AppContext: its log file (rotated at start once large) and saving settings with keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from chatdesk.context import AppContext, KeyChanges, SettingsChangeError, _LogFile, rotate_log
from chatdesk.secrets import SERVICE, KeyStore
from chatdesk.settings import load_settings
from tests.helpers import MemoryKeyring


def test_the_log_is_private_and_a_full_disk_does_not_stop_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging
    import os

    log = tmp_path / "chatdesk.log"
    handler = _LogFile(log, encoding="utf-8", delay=True)
    record = logging.LogRecord("chatdesk", logging.INFO, __file__, 1, "a line", None, None)
    old = os.umask(0o022)
    try:
        handler.emit(record)
    finally:
        os.umask(old)
    assert "a line" in log.read_text()
    if os.name == "posix":
        assert log.stat().st_mode & 0o777 == 0o600

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(handler.stream, "write", full)
    handler.emit(record)  # swallowed: no "--- Logging error ---" traceback on stderr
    handler.close()
    assert capsys.readouterr().err == ""


def test_a_small_log_is_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "chatdesk.log"
    log.write_text("a line\n")
    rotate_log(log, max_bytes=100)
    assert log.read_text() == "a line\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chatdesk.log"]


def test_a_large_log_moves_to_backups_and_the_oldest_is_dropped(tmp_path: Path) -> None:
    log = tmp_path / "chatdesk.log"
    for name, text in (("chatdesk.log.1", "one"), ("chatdesk.log.2", "two"),
                       ("chatdesk.log.3", "three")):
        (tmp_path / name).write_text(text)
    log.write_text("x" * 200)
    rotate_log(log, max_bytes=100, backups=3)
    assert not log.exists()  # the handler opens a new one on the first line
    assert (tmp_path / "chatdesk.log.1").read_text() == "x" * 200
    assert (tmp_path / "chatdesk.log.2").read_text() == "one"
    assert (tmp_path / "chatdesk.log.3").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "chatdesk.log.1", "chatdesk.log.2", "chatdesk.log.3"]


def test_a_missing_log_is_not_an_error(tmp_path: Path) -> None:
    rotate_log(tmp_path / "nothing.log", max_bytes=1)
    assert list(tmp_path.iterdir()) == []


# -- saving settings and keys (what the settings dialog's Save does) ----------------------

def _ctx_with_keyring(tmp_path: Path) -> tuple[AppContext, dict[tuple[str, str], str]]:
    memory = MemoryKeyring()
    ctx = AppContext.create(str(tmp_path), warn=False)
    ctx.keys = KeyStore(environ={}, backend=memory)
    return ctx, memory.entries


def test_save_settings_writes_the_file_keys_and_the_context(tmp_path: Path) -> None:
    ctx, entries = _ctx_with_keyring(tmp_path)
    try:
        entries[(SERVICE, "gone")] = "sk-old-0000"
        order = ["openai", *[n for n in ctx.settings.failover.order if n != "openai"]]
        new = dataclasses.replace(
            ctx.settings, failover=dataclasses.replace(ctx.settings.failover, order=order))
        ctx.save_settings(new, KeyChanges(typed={"openai": "sk-new-key-0000"},
                                          removed=frozenset({"gone"})))
        assert ctx.settings.failover.order == order
        assert load_settings(ctx.paths.settings_file).failover.order == order
        assert entries == {(SERVICE, "openai"): "sk-new-key-0000"}
        ctx.save_settings(new, KeyChanges(forget=frozenset({"openai"})))
        assert entries == {}
    finally:
        ctx.close()


def test_save_settings_refuses_while_the_file_is_broken(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text("[failover\n", encoding="utf-8")
    ctx, _ = _ctx_with_keyring(tmp_path)
    try:
        with pytest.raises(SettingsChangeError, match="fix it"):
            ctx.save_settings(ctx.settings)
        assert (tmp_path / "settings.toml").read_text(encoding="utf-8") == "[failover\n"
    finally:
        ctx.close()


def test_save_settings_without_a_keyring_picks_the_right_store(tmp_path: Path) -> None:
    """The onboarding path: typed keys go to this session's memory unless the encrypted key
    file exists, then there (locked: one sentence, settings.toml untouched)."""
    from keyring.backends import fail

    from chatdesk.keyfile import KeyFile

    ctx = AppContext.create(str(tmp_path), warn=False)
    try:
        assert ctx.keys.key_file_path == tmp_path / "keys.enc"
        ctx.keys = KeyStore(environ={}, backend=fail.Keyring(), key_file=tmp_path / "keys.enc")
        openai = ctx.settings.providers["openai"]
        ctx.save_settings(ctx.settings, KeyChanges(typed={"openai": "sk-x-0000000001"}))
        assert ctx.keys.lookup(openai).source == "session"
        assert ("openai", "this session only") in ctx.key_status()
        assert not (tmp_path / "keys.enc").exists()

        KeyFile(tmp_path / "keys.enc").create("a passphrase", {"anthropic": "sk-ant-0000001"})
        ctx.keys = KeyStore(environ={}, backend=fail.Keyring(), key_file=tmp_path / "keys.enc")
        assert ("anthropic", "encrypted key file (locked)") in ctx.key_status()
        before = ctx.settings
        toml = ctx.paths.settings_file.read_bytes()
        with pytest.raises(SettingsChangeError, match="locked"):
            ctx.save_settings(before, KeyChanges(typed={"openai": "sk-x-0000000002"}))
        assert ctx.settings is before and ctx.paths.settings_file.read_bytes() == toml
        ctx.keys.unlock_key_file("a passphrase")
        ctx.save_settings(before, KeyChanges(typed={"openai": "sk-x-0000000002"}))
        assert ctx.keys.lookup(openai).source == "file"
        assert dict(ctx.key_status())["anthropic"] == "encrypted key file"
        assert KeyFile(tmp_path / "keys.enc").names() == ["anthropic", "openai"]
    finally:
        ctx.close()
