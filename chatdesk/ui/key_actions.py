"""The settings dialog's key matters, for the controller: where each key is, and the key
stores without a keyring (this session only, or the encrypted key file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chatdesk.secrets import KeyFileState, KeyPlace

if TYPE_CHECKING:
    from chatdesk.context import AppContext
    from chatdesk.secrets import KeyLookup, KeyStore
    from chatdesk.settings import ProviderSettings


class KeyActions:
    """Reads the key stores once per provider (the keyring can be slow: D-Bus) until
    `forget`; `changed` runs after a store changed (the controller looks keys up again)."""

    def __init__(self, ctx: AppContext | None, changed: Callable[[], None]) -> None:
        self.ctx = ctx
        self._changed = changed
        self._cached: dict[str, KeyLookup | None] = {}  # what the key stores hold

    def forget(self) -> None:
        self._cached.clear()

    def pool_fingerprints(self, provider: ProviderSettings) -> list[str]:
        """The fingerprints of the provider's keys, in the order they are tried (as last
        read: the settings form must not ask the keyring on every change)."""
        if self.ctx is None:
            return []
        try:
            return [k.fingerprint for k in self.ctx.keys.cached_pool(provider)]
        except Exception:  # a key store that cannot be read says so elsewhere
            return []

    def secure_store(self) -> bool:
        return self.ctx is not None and self.ctx.keys.secure_store_available()

    def lookup(self, provider: ProviderSettings, *, keyring: bool = True) -> KeyLookup:
        """Where the provider's key comes from. The stores are read once per provider (the
        keyring can be slow: D-Bus) until settings are saved or the key file is unlocked;
        variables are read every time."""
        assert self.ctx is not None
        keys = self.ctx.keys
        if keyring:
            if provider.name not in self._cached:
                found = keys.lookup(provider)
                stored = found.source in ("keyring", "file", "session", "locked")
                self._cached[provider.name] = found if stored else None
            cached = self._cached[provider.name]
            if cached is not None:
                return cached
        return keys.lookup(provider, keyring=False)

    def place(self) -> KeyPlace:
        """Where a key typed now is kept: "keyring", "file" or "session"."""
        assert self.ctx is not None
        return self.ctx.keys.place()

    def file_state(self) -> KeyFileState:
        assert self.ctx is not None
        return self.ctx.keys.key_file_state()

    def file_path(self) -> str:
        assert self.ctx is not None
        return str(self.ctx.keys.key_file_path or "")

    def file_problem(self) -> str | None:
        return self.ctx.keys.key_file_problem() if self.ctx is not None else None

    def file_locked_in_use(self) -> bool:
        """The key file is locked and holds the key of a configured provider."""
        if self.ctx is None or self.ctx.keys.key_file_state() != KeyFileState.LOCKED:
            return False
        return any(n in self.ctx.settings.providers for n in self.ctx.keys.key_file_names())

    def unlock(self, passphrase: str) -> str | None:
        """Unlock the key file for this session; what went wrong as a sentence, or None."""
        return self._file_action(lambda keys: keys.unlock_key_file(passphrase))

    def create_file(self, passphrase: str) -> str | None:
        """Create the key file (this session's keys move into it) and keep new keys there."""
        return self._file_action(lambda keys: keys.create_key_file(passphrase))

    def change_passphrase(self, passphrase: str) -> str | None:
        return self._file_action(lambda keys: keys.change_passphrase(passphrase))

    def choose_store(self, place: KeyPlace) -> str | None:
        """Keep new keys for this session only, or in the (existing, unlocked) key file."""
        if place == KeyPlace.SESSION:
            return self._file_action(lambda keys: keys.choose_session_only())
        return self._file_action(lambda keys: keys.choose_key_file())

    def _file_action(self, action: Callable[[KeyStore], None]) -> str | None:
        if self.ctx is None:
            return "This history is open read-only; keys cannot be changed here."
        from chatdesk.secrets import KeyStoreError

        try:
            action(self.ctx.keys)
        except KeyStoreError as exc:
            return str(exc)
        self._cached.clear()
        self._changed()
        return None

    def needs_key(self, provider: ProviderSettings) -> bool:
        return self.ctx is not None and self.ctx.keys.needs_key(provider)
