"""settings.toml ⇄ dataclasses: defaults, validation with line numbers, comment-keeping saves."""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROVIDER_TYPES = ("anthropic", "openai", "gemini", "ollama")
THEMES = ("system", "light", "dark")
DEFAULT_BASE_URLS = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com/v1",
    "gemini": "https://generativelanguage.googleapis.com",
    "ollama": "http://localhost:11434",
}
DEFAULT_MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-4o",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2",
}
DEFAULT_STATUS_URLS = {
    "anthropic": "https://status.anthropic.com",
    "openai": "https://status.openai.com",
}
DEFAULT_MAX_TOKENS = 4096
OLLAMA_PORT = 11434


@dataclass
class ProviderSettings:
    """One [providers.NAME] table."""

    name: str
    type: str  # anthropic | openai | gemini | ollama
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    status_url: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS

    def effective_base_url(self, environ: Mapping[str, str] = os.environ) -> str:
        """base_url, else the type's default (for ollama, OLLAMA_HOST when set); no trailing /."""
        if self.base_url:
            return self.base_url.rstrip("/")
        if self.type == "ollama":
            host = environ.get("OLLAMA_HOST", "").strip()
            if host:
                return _ollama_host_url(host)
        return DEFAULT_BASE_URLS[self.type]

    def effective_status_url(self) -> str | None:
        """status_url ("" disables it), else the type's status page if base_url is official."""
        if self.status_url is not None:
            return self.status_url or None
        official = DEFAULT_BASE_URLS.get(self.type)
        if self.base_url is None or self.base_url.rstrip("/") == official:
            return DEFAULT_STATUS_URLS.get(self.type)
        return None


@dataclass
class FailoverSettings:
    """The [failover] table."""

    order: list[str]
    connect_timeout_s: float = 10
    first_token_timeout_s: float = 60
    stall_timeout_s: float = 30
    cooldown_s: float = 60


@dataclass
class UiSettings:
    """The [ui] table."""

    theme: str = "system"  # system | light | dark


@dataclass
class Settings:
    """The whole settings.toml."""

    failover: FailoverSettings
    providers: dict[str, ProviderSettings]
    ui: UiSettings = field(default_factory=UiSettings)

    def ordered_providers(self) -> list[ProviderSettings]:
        """Providers named in failover.order first, then the others in file order."""
        names = [n for n in dict.fromkeys(self.failover.order) if n in self.providers]
        names += [n for n in self.providers if n not in names]
        return [self.providers[n] for n in names]


class SettingsError(Exception):
    """settings.toml cannot be used; str() is one line naming the file and, if known, the line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = " ".join(problem.split())
        where = f"{self.path} line {line}" if line else str(self.path)
        super().__init__(f"{where}: {self.problem}")


def default_settings() -> Settings:
    """anthropic, openai, gemini and ollama, in that order, with their default models."""
    providers = {t: ProviderSettings(t, t, DEFAULT_MODELS[t]) for t in PROVIDER_TYPES}
    return Settings(FailoverSettings(order=list(PROVIDER_TYPES)), providers, UiSettings())


DEFAULT_SETTINGS_TOML = """\
# chatdesk settings. Unknown keys are ignored; a mistake is reported with its line.
# API keys never go in this file: store them with `chatdesk keys set NAME` (the OS
# keyring), or put them in the environment variable named by api_key_env.

[failover]
order = ["anthropic", "openai", "gemini", "ollama"]   # preferred first
connect_timeout_s = 10       # TCP+TLS connect
first_token_timeout_s = 60   # request sent -> first content
stall_timeout_s = 30         # silence between two chunks of one answer
cooldown_s = 60              # how long a failed provider is skipped (grows on repeated failure)

[ui]
theme = "system"             # system | light | dark

# One [providers.NAME] table per provider; NAME is yours to choose and is also the
# keyring entry of its key. Keys of a provider table:
#   type        = anthropic | openai | gemini | ollama  (openai = any OpenAI-compatible endpoint)
#   model       = the model to ask
#   base_url    = optional; as the provider's official SDK spells it (ollama: OLLAMA_HOST)
#   api_key_env = optional; the variable holding the key when the keyring has none
#   max_tokens  = optional; the longest answer, in tokens (default 4096)

[providers.anthropic]
type = "anthropic"
model = "claude-sonnet-4-5"
# base_url = "https://api.anthropic.com"
# api_key_env = "ANTHROPIC_API_KEY"

[providers.openai]
type = "openai"
model = "gpt-4o"
# base_url = "https://api.openai.com/v1"
# api_key_env = "OPENAI_API_KEY"

[providers.gemini]
type = "gemini"
model = "gemini-2.5-flash"
# base_url = "https://generativelanguage.googleapis.com"
# api_key_env = "GEMINI_API_KEY"           # GOOGLE_API_KEY works too

[providers.ollama]
type = "ollama"                            # local models, no key needed
model = "llama3.2"
# base_url = "http://localhost:11434"      # default: OLLAMA_HOST, else this

# More examples; uncomment one and add its name to `order` above.
#
# Any OpenAI-compatible service, here OpenRouter:
# [providers.openrouter]
# type = "openai"
# model = "anthropic/claude-sonnet-4.5"
# base_url = "https://openrouter.ai/api/v1"
# api_key_env = "OPENROUTER_API_KEY"
#
# A second Anthropic account (its key: `chatdesk keys set anthropic-2`):
# [providers.anthropic-2]
# type = "anthropic"
# model = "claude-sonnet-4-5"
# api_key_env = "ANTHROPIC_API_KEY_2"
"""


def load_settings(path: Path) -> Settings:
    """Read settings.toml; a missing file gives default_settings(). Problems raise SettingsError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default_settings()
    except UnicodeDecodeError:
        raise SettingsError(path, None, "is not UTF-8 text; save it as UTF-8.") from None
    except OSError as exc:
        raise SettingsError(path, None, f"cannot be read ({exc.strerror or exc}).") from None
    return parse_settings(text, path)


def load_settings_or_defaults(path: Path) -> tuple[Settings, SettingsError | None]:
    """Like load_settings, but a broken file gives the defaults plus the error to show."""
    try:
        return load_settings(path), None
    except SettingsError as exc:
        return default_settings(), exc


def parse_settings(text: str, path: Path | str = "settings.toml") -> Settings:
    """Validate settings.toml text; path only names the file in errors."""
    import tomllib  # only when there is a file: its patterns cost start-up time

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, problem = _split_toml_error(str(exc))
        if line is None and problem.endswith("at the end of the file"):
            line = max(1, len(text.splitlines()))
        raise SettingsError(path, line, f"{problem}; fix the TOML syntax there.") from None
    return _Validator(text, Path(path)).settings(data)


def save_settings(settings: Settings, path: Path) -> None:
    """Write settings atomically, keeping the comments and layout of the existing file."""
    path = Path(path)
    try:
        original = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        original = DEFAULT_SETTINGS_TOML
    except UnicodeDecodeError:
        raise SettingsError(path, None, "is not UTF-8 text; save it as UTF-8.") from None
    except OSError as exc:
        reason = exc.strerror or exc
        raise SettingsError(path, None, f"cannot be read to update it ({reason}).") from None
    try:
        parse_settings(original, path)
    except SettingsError as exc:
        # Overwriting would lose what the user wrote; they must fix it first.
        raise SettingsError(path, exc.line, f"{exc.problem} Nothing was saved.") from None
    from chatdesk.settings_toml import update_document  # tomlkit only when saving

    text = update_document(original, _as_plain(settings))
    try:
        parse_settings(text, path)  # never write a file that would not load again
    except SettingsError as exc:
        raise SettingsError(path, None, f"{exc.problem} Nothing was saved.") from None
    _write_atomically(path, text)


def _as_plain(settings: Settings) -> dict[str, Any]:
    providers = {
        name: {k: v for k, v in asdict(p).items() if k != "name"}
        for name, p in settings.providers.items()
    }
    failover, ui = asdict(settings.failover), asdict(settings.ui)
    return {"failover": failover, "ui": ui, "providers": providers}


def _write_atomically(path: Path, text: str) -> None:
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        if path.exists():
            os.chmod(tmp_name, path.stat().st_mode & 0o777)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise SettingsError(path, None, f"cannot be saved ({exc.strerror or exc}).") from None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _split_toml_error(message: str) -> tuple[int | None, str]:
    """'Invalid value (at line 3, column 10)' -> (3, 'Invalid value at column 10')."""
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if m:
        return int(m.group(1)), f"{message[: m.start()]} at column {m.group(2)}"
    m = re.search(r"\s*\(at end of document\)\s*$", message)
    if m:
        return None, f"{message[: m.start()]} at the end of the file"
    return None, message


def _ollama_host_url(raw: str) -> str:
    """OLLAMA_HOST as the ollama client reads it: the scheme and the port are optional."""
    explicit_scheme = "://" in raw
    parts = urlsplit(raw if explicit_scheme else f"http://{raw}")
    scheme = parts.scheme or "http"
    try:
        port = parts.port
    except ValueError:
        return raw.rstrip("/")
    if port is None:
        port = OLLAMA_PORT
        if explicit_scheme:
            port = {"http": 80, "https": 443}.get(scheme, OLLAMA_PORT)
    host = parts.hostname or "localhost"
    if host in ("0.0.0.0", "::"):  # a server's listen-on-all address; clients dial loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{parts.path.rstrip('/')}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


class _Validator:
    """Turns the parsed TOML into Settings, raising SettingsError with the line of the culprit."""

    def __init__(self, text: str, path: Path) -> None:
        self.text = text
        self.path = path

    def fail(self, where: tuple[str, ...], problem: str) -> SettingsError:
        return SettingsError(self.path, _find_line(self.text, where), problem)

    def table(self, data: Mapping[str, Any], key: str, where: tuple[str, ...]) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(where, f"{'.'.join(where)} must be a table ([{'.'.join(where)}]).")
        return value

    def settings(self, data: dict[str, Any]) -> Settings:
        defaults = default_settings()
        if "providers" in data:
            raw = self.table(data, "providers", ("providers",))
            providers = {name: self.provider(name, value) for name, value in raw.items()}
        else:
            providers = defaults.providers
        failover = self.failover(self.table(data, "failover", ("failover",)), providers)
        theme = self.table(data, "ui", ("ui",)).get("theme", "system")
        if theme not in THEMES:
            raise self.fail(
                ("ui", "theme"),
                f'[ui] theme must be "system", "light" or "dark", not {_show(theme)}.',
            )
        return Settings(failover, providers, UiSettings(theme=theme))

    def failover(self, raw: dict[str, Any], providers: dict[str, Any]) -> FailoverSettings:
        order = raw.get("order", list(providers))
        if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
            raise self.fail(
                ("failover", "order"), '[failover] order must be a list of provider names, '
                'e.g. ["anthropic", "openai"].'
            )
        for name in order:
            if name not in providers:
                raise self.fail(
                    ("failover", "order"),
                    f"[failover] order names {_show(name)} but there is no [providers.{name}] "
                    f"table; add one or remove {_show(name)} from order.",
                )
        failover = FailoverSettings(order=list(dict.fromkeys(order)))
        for key in ("connect_timeout_s", "first_token_timeout_s", "stall_timeout_s", "cooldown_s"):
            if key in raw:
                setattr(failover, key, self.seconds(raw[key], key, zero_ok=key == "cooldown_s"))
        return failover

    def seconds(self, value: Any, key: str, zero_ok: bool) -> float:
        where = ("failover", key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise self.fail(
                where, f"[failover] {key} must be a number of seconds, not {_show(value)}."
            )
        if value < 0 or (value == 0 and not zero_ok):
            least = "0 or more" if zero_ok else "more than 0"
            raise self.fail(where, f"[failover] {key} must be {least} seconds, not {_show(value)}.")
        return float(value)

    def provider(self, name: str, raw: Any) -> ProviderSettings:
        table = f"[providers.{name}]"
        if not name.strip():
            raise self.fail(("providers", name), "A provider name is empty; give it a name.")
        if not isinstance(raw, dict):
            raise self.fail(("providers", name), f"providers.{name} must be a table ({table}).")
        kind = raw.get("type", name if name in PROVIDER_TYPES else None)
        if kind is None:
            raise self.fail(
                ("providers", name), f"{table} needs a type: anthropic, openai, gemini or ollama."
            )
        if kind not in PROVIDER_TYPES:
            raise self.fail(
                ("providers", name, "type"),
                f"{table} type {_show(kind)} is not known; use anthropic, openai, gemini or ollama "
                "(openai covers every OpenAI-compatible service).",
            )
        model = raw.get("model", DEFAULT_MODELS[kind])
        if not isinstance(model, str):
            raise self.fail(
                ("providers", name, "model"), f"{table} model must be text, not {_show(model)}."
            )
        if not model.strip():
            raise self.fail(
                ("providers", name, "model"),
                f"{table} model is empty; name the model to use, "
                f"e.g. {_show(DEFAULT_MODELS[kind])}.",
            )
        provider = ProviderSettings(name=name, type=kind, model=model.strip())
        for key in ("base_url", "api_key_env", "status_url"):
            value = raw.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise self.fail(
                    ("providers", name, key), f"{table} {key} must be text, not {_show(value)}."
                )
            value = value.strip()
            if key != "status_url" and not value:
                continue  # an empty optional key means "not set"
            if key != "api_key_env" and value and not value.startswith(("http://", "https://")):
                raise self.fail(
                    ("providers", name, key),
                    f"{table} {key} must start with http:// or https://, not {_show(value)}.",
                )
            setattr(provider, key, value)
        if "max_tokens" in raw:
            value = raw["max_tokens"]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise self.fail(
                    ("providers", name, "max_tokens"),
                    f"{table} max_tokens must be a whole number above 0, not {_show(value)}.",
                )
            provider.max_tokens = value
        return provider


# --- finding the line of a key in the file text ---------------------------------------------

_KEY_PART = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+')
_HEADER = re.compile(r"^\s*\[(?!\[)([^\]]*)\]\s*(?:#.*)?$")


def _find_line(text: str, where: tuple[str, ...]) -> int | None:
    """The line of `where`: ("failover", key), ("providers", name[, key]) or a table alone."""
    depth = 2 if where[0] == "providers" else 1
    table, key = where[:depth], (where[depth] if len(where) > depth else None)
    lines = text.splitlines()
    current: tuple[str, ...] = ()
    header_line: int | None = None
    own_key = (
        re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
        if key
        else None
    )
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("[["):
            current = ("[[",)
            continue
        header = _HEADER.match(line)
        if header:
            current = tuple(p.strip("\"'") for p in _KEY_PART.findall(header.group(1)))
            if current == table and header_line is None:
                header_line = number
            continue
        if own_key and current == table and own_key.match(line):
            return number
    if key is None and header_line is not None:
        return header_line
    # Dotted keys or inline tables: the first line (after the header, if any) setting the key.
    wanted = re.compile(rf"(?:^|[\s{{,.\"']){re.escape(key or table[-1])}[\"']?\s*=")
    start = header_line or 1
    for number, line in enumerate(lines[start - 1 :], start):
        if not line.lstrip().startswith("#") and wanted.search(line):
            return number
    return header_line
