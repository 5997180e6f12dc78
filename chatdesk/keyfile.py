"""The encrypted key file (keys.enc): API keys sealed with a passphrase, for desktops without a
system keyring.

Format, version 1 (all of it authenticated; nothing but provider names is readable without
the passphrase):

    b"chatdesk-keys\\n"  version (1 byte)  header length (2 bytes, big-endian)  header  sealed

header is UTF-8 JSON: {"kdf": "scrypt", "n", "r", "p", "salt", "cipher": "aes-256-gcm",
"nonce", "names"} (salt and nonce base64). sealed is AES-256-GCM of the JSON {"keys": {name:
key}} under scrypt(passphrase, salt), with everything before it as associated data. "names"
lists the providers whose keys are inside, so that `keys status` can say where a key lives
without asking for the passphrase.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAGIC = b"chatdesk-keys\n"
VERSION = 1
KEY_FILE_NAME = "keys.enc"
PASSPHRASE_VAR = "CHATDESK_KEYS_PASSPHRASE"  # for scripts: the CLI reads the passphrase here
# scrypt as OWASP suggests for interactive logins: 32 MiB and ~0.1 s per unlock.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_MAX_MEMORY, _MAX_P = 2**28, 16  # a damaged header must not make scrypt allocate GiBs
SALT_BYTES, NONCE_BYTES = 16, 12
MIN_PASSPHRASE = 8


class KeyFileError(Exception):
    """The key file cannot be used as asked; the message is one sentence without any key."""


class WrongPassphraseError(KeyFileError):
    """The passphrase does not open the file (nothing was changed)."""


class KeyFileDamagedError(KeyFileError):
    """The file is truncated, corrupt or of an unknown version; it is left as it is."""


@dataclass
class _Sealer:
    """What an unlocked file needs to write itself again without re-running scrypt."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes = field(repr=False)


class KeyFile:
    """One encrypted key file: read with a passphrase, then kept open (in memory) for writes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._sealer: _Sealer | None = None
        self._keys: dict[str, str] = {}

    # --- state --------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def unlocked(self) -> bool:
        return self._sealer is not None

    def names(self) -> list[str]:
        """The providers whose keys the file holds (readable without the passphrase).
        Raises KeyFileDamagedError."""
        if self.unlocked:
            return sorted(self._keys)
        header, _, _ = self._parse(self._read_bytes())
        return list(header["names"])

    def get(self, name: str) -> str | None:
        return self._keys.get(name) if self.unlocked else None

    # --- opening ------------------------------------------------------------------------
    def unlock(self, passphrase: str) -> None:
        """Read the keys; WrongPassphraseError or KeyFileDamagedError leave all as it was."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        header, aad, sealed = self._parse(self._read_bytes())
        salt = _b64(header["salt"], self.path)
        nonce = _b64(header["nonce"], self.path)
        if len(nonce) != NONCE_BYTES or len(salt) < 8:
            raise self._damaged("its header cannot be read")
        n, r, p = header["n"], header["r"], header["p"]
        key = _derive(passphrase, salt, n, r, p)
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise WrongPassphraseError(
                f"That passphrase does not open the key file {self.path}; nothing was "
                "changed (check the passphrase and try again).") from None
        try:
            keys = json.loads(plain.decode("utf-8"))["keys"]
            if not isinstance(keys, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
                raise ValueError
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise self._damaged("its contents are not chatdesk keys") from None
        self._keys = dict(keys)
        self._sealer = _Sealer(n, r, p, salt, key)

    def create(self, passphrase: str, keys: dict[str, str] | None = None) -> None:
        """Start a new file sealed with passphrase; refuses to replace one that exists."""
        check_passphrase(passphrase)
        if self.path.exists():
            raise KeyFileError(f"The key file {self.path} exists already; it was left as it "
                               "is (unlock it, or move it away to start a new one).")
        self._write(dict(keys or {}), _new_sealer(passphrase))

    def change_passphrase(self, passphrase: str) -> None:
        """Seal the same keys with a new passphrase (and a new salt)."""
        check_passphrase(passphrase)
        self._require_unlocked()
        self._write(dict(self._keys), _new_sealer(passphrase))

    def lock(self) -> None:
        self._sealer, self._keys = None, {}

    # --- changing keys ------------------------------------------------------------------
    def set(self, name: str, key: str) -> None:
        self._require_unlocked()
        self._write({**self._keys, name: key})

    def delete(self, name: str) -> bool:
        self._require_unlocked()
        if name not in self._keys:
            return False
        self._write({k: v for k, v in self._keys.items() if k != name})
        return True

    # --- the bytes ----------------------------------------------------------------------
    def _require_unlocked(self) -> None:
        if not self.unlocked:
            raise KeyFileError(f"The key file {self.path} is locked; enter its passphrase "
                               "first.")

    def _read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise KeyFileError(f"There is no key file at {self.path}.") from None
        except OSError as exc:
            raise KeyFileError(f"The key file {self.path} cannot be read "
                               f"({exc.strerror or exc}); it was left as it is.") from None

    def _parse(self, data: bytes) -> tuple[dict[str, Any], bytes, bytes]:
        """(header, associated data, sealed keys) or KeyFileDamagedError."""
        if not data.startswith(MAGIC):
            raise self._damaged("it is not a chatdesk key file")
        fixed = len(MAGIC) + 3
        if len(data) < fixed:
            raise self._damaged("it is cut short")
        version = data[len(MAGIC)]
        if version != VERSION:
            raise KeyFileDamagedError(
                f"The key file {self.path} is in format {version}, which this version of "
                f"chatdesk cannot read (it reads format {VERSION}); it was left as it is, and "
                "the system keyring, this session's keys and environment variables still "
                "work.")
        size = int.from_bytes(data[len(MAGIC) + 1:fixed], "big")
        if len(data) < fixed + size + 16:  # 16: the GCM tag of even an empty payload
            raise self._damaged("it is cut short")
        try:
            header = json.loads(data[fixed:fixed + size].decode("utf-8"))
            ok = (header["kdf"] == "scrypt" and header["cipher"] == "aes-256-gcm"
                  and _valid_cost(header["n"], header["r"], header["p"])
                  and isinstance(header["salt"], str) and isinstance(header["nonce"], str)
                  and isinstance(header["names"], list)
                  and all(isinstance(n, str) for n in header["names"]))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            ok = False
        if not ok:
            raise self._damaged("its header cannot be read")
        return header, data[:fixed + size], data[fixed + size:]

    def _damaged(self, why: str) -> KeyFileDamagedError:
        return KeyFileDamagedError(
            f"The key file {self.path} is damaged ({why}) and was left as it is; the system "
            "keyring, this session's keys and environment variables still work.")

    def _write(self, keys: dict[str, str], sealer: _Sealer | None = None) -> None:
        """Seal keys and replace the file atomically (temp file, fsync, rename; 0600). On any
        failure the old file stays, and so does what this object holds."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        sealer = sealer or self._sealer
        assert sealer is not None
        nonce = os.urandom(NONCE_BYTES)
        header = json.dumps({
            "kdf": "scrypt", "n": sealer.n, "r": sealer.r, "p": sealer.p,
            "salt": base64.b64encode(sealer.salt).decode("ascii"),
            "cipher": "aes-256-gcm", "nonce": base64.b64encode(nonce).decode("ascii"),
            "names": sorted(keys),
        }, separators=(",", ":")).encode("utf-8")
        aad = MAGIC + bytes([VERSION]) + len(header).to_bytes(2, "big") + header
        plain = json.dumps({"keys": keys}).encode("utf-8")
        data = aad + AESGCM(sealer.key).encrypt(nonce, plain, aad)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0),
                         0o600)
            try:
                if os.name == "posix":
                    os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        except OSError as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise KeyFileError(f"The key file {self.path} could not be written "
                               f"({exc.strerror or exc}); it was not changed.") from None
        self._keys, self._sealer = dict(keys), sealer


def check_passphrase(passphrase: str) -> None:
    """KeyFileError unless passphrase is long enough to be worth sealing keys with."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyFileError(f"Choose a passphrase of at least {MIN_PASSPHRASE} characters.")


def _new_sealer(passphrase: str) -> _Sealer:
    salt = os.urandom(SALT_BYTES)
    return _Sealer(SCRYPT_N, SCRYPT_R, SCRYPT_P, salt,
                   _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _valid_cost(n: object, r: object, p: object) -> bool:
    return (isinstance(n, int) and isinstance(r, int) and isinstance(p, int)
            and n >= 2 and n & (n - 1) == 0 and r >= 1 and 128 * n * r <= _MAX_MEMORY
            and 1 <= p <= _MAX_P)


def _b64(text: str, path: Path) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileDamagedError(
            f"The key file {path} is damaged (its header cannot be read) and was left as it "
            "is; the system keyring, this session's keys and environment variables still "
            "work.") from None


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
