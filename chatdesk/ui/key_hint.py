"""What the settings dialog's key field says about one provider."""

from __future__ import annotations

from dataclasses import dataclass

from chatdesk.secrets import key_env_vars
from chatdesk.settings import ProviderSettings


@dataclass(frozen=True)
class KeyHint:
    """What the key field shows for one provider."""

    placeholder: str
    note: str
    stored: bool  # a key sits in a key store and is not about to be forgotten


_STORES = {"keyring": "the system keyring", "file": "the encrypted key file",
           "session": "memory for this session only"}


def key_hint(p: ProviderSettings, source: str, needs_key: bool, secure: bool,
             forgetting: bool, place: str | None = None) -> KeyHint:
    """Advice for the key field; source is KeyLookup.source ("keyring", "file", "session",
    "locked", "env:VAR", …), place where a key typed now is kept (KeyPlace; by default the
    keyring when secure, else this session)."""
    env_vars = key_env_vars(p)
    var = env_vars[0] if env_vars else None
    in_env = source[4:] if source.startswith("env:") else None
    place = place or ("keyring" if secure else "session")
    kept_in = _STORES.get(place, _STORES["session"])
    stored = source in _STORES and not forgetting
    if forgetting:
        return KeyHint("paste the API key", "The stored key will be removed when you save.",
                       False)
    if stored and source == "session":
        return KeyHint("kept for this session only", "A key is kept for this session only "
                       "(until chatdesk closes); type a new one to replace it.", True)
    if stored:
        return KeyHint(f"stored in {_STORES[source]}", f"A key is stored in {_STORES[source]}; "
                       "type a new one to replace it.", True)
    if source == "locked":
        return KeyHint("in the locked key file", "The key is in the encrypted key file, which "
                       "is locked: unlock it below to use or replace the key.", False)
    if in_env:
        return KeyHint("from a variable", f"Using the key in {in_env}; type one to keep it in "
                       f"{kept_in} instead.", False)
    if not needs_key:
        return KeyHint("not needed", "This provider needs no key.", False)
    also = f" (or set {var})" if var else ""
    return KeyHint("paste the API key",
                   f"No key yet: paste it here{also}; it is kept in {kept_in}.", False)
