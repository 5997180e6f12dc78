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
    stored: bool  # a key sits in the keyring and is not about to be forgotten


def key_hint(p: ProviderSettings, source: str, needs_key: bool, secure: bool,
             forgetting: bool) -> KeyHint:
    """Advice for the key field; source is KeyLookup.source ("keyring", "env:VAR", …)."""
    env_vars = key_env_vars(p)
    var = env_vars[0] if env_vars else None
    in_env = source[4:] if source.startswith("env:") else None
    stored = secure and source == "keyring" and not forgetting
    if not secure:
        todo = (f"Set the environment variable {var} to the key instead" if var else
                "Name an environment variable under “Key variable” and set it to the key")
        now = f" ({in_env} is set now)" if in_env else ""
        return KeyHint("no system keyring on this machine",
                       "No system keyring is available on this machine, so keys cannot be "
                       f"saved here. {todo}{now}.", False)
    if forgetting:
        return KeyHint("paste the API key", "The stored key will be removed when you save.",
                       False)
    if stored:
        return KeyHint("stored in the system keyring", "A key is stored in the system "
                       "keyring; type a new one to replace it.", True)
    if in_env:
        return KeyHint(f"using {in_env}", f"Using the key in {in_env}; type one to keep it in "
                       "the system keyring instead.", False)
    if not needs_key:
        return KeyHint("not needed", "This provider needs no key.", False)
    also = f" (or set {var})" if var else ""
    return KeyHint("paste the API key",
                   f"No key yet: paste it here{also}; it is kept in the system keyring.", False)
