"""settings.toml ⇄ dataclasses: defaults, validation with line numbers, comment-keeping saves."""

from __future__ import annotations

import os
import re
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
    # The variable holding the key, or a list of them (a pool of keys from the environment)
    api_key_env: str | list[str] | None = None
    status_url: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    ca_bundle: str | None = None  # extra CA certificates (a PEM file) for this provider
    allow_insecure_http: bool = False  # the key may travel over plain http:// off this machine
    continue_partial: str = "auto"  # SPEC: auto | never
    # What the model takes, where the catalog or the provider's report is wrong or silent
    # (None: not overridden; see chatdesk/capabilities.py).
    vision: bool | None = None  # it sees images
    pdf: bool | None = None  # it reads PDFs (false: it gets their extracted text)
    context_tokens: int | None = None  # the longest conversation it takes, in tokens
    # What this entry's answers cost, USD per million tokens, whatever its model (None: the
    # [prices] table's, else the shipped table's; see chatdesk/pricing.py).
    price_input: float | None = None
    price_output: float | None = None
    price_cached_input: float | None = None
    # This calendar month's spending (UTC) at which the entry is skipped (None: no limit).
    monthly_budget_usd: float | None = None

    def effective_base_url(self, environ: Mapping[str, str] = os.environ) -> str:
        """base_url, else the type's default (for ollama, OLLAMA_HOST when set); no trailing /."""
        if self.base_url:
            return self.base_url.rstrip("/")
        if self.type == "ollama":
            host = environ.get("OLLAMA_HOST", "").strip()
            if host:
                return _ollama_host_url(host)
        return DEFAULT_BASE_URLS[self.type]

    def plain_http_host(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """The host a key would reach in clear (http:// off this machine), else None."""
        return plain_http_host(self.effective_base_url(environ))

    def effective_status_url(self) -> str | None:
        """status_url ("" disables it), else the type's status page if base_url is official."""
        if self.status_url is not None:
            return self.status_url or None
        official = DEFAULT_BASE_URLS.get(self.type)
        if self.base_url is None or self.base_url.rstrip("/") == official:
            return DEFAULT_STATUS_URLS.get(self.type)
        return None


@dataclass(frozen=True)
class ModelPrice:
    """A model's rates, USD per million tokens (a [prices."MODEL"] table, or the shipped
    table's row). None: billed like `input` (cached) or `output` (reasoning)."""

    input: float
    output: float
    cached_input: float | None = None
    reasoning: float | None = None
    # A prompt longer than `above_tokens` is billed at these rates instead (None: no tier).
    above_tokens: int | None = None
    input_above: float | None = None
    output_above: float | None = None


@dataclass
class FailoverSettings:
    """The [failover] table."""

    order: list[str]
    connect_timeout_s: float = 10
    first_token_timeout_s: float = 60
    stall_timeout_s: float = 30
    cooldown_s: float = 60
    # Past a provider's learned first-token deadline, ask the next provider too (false: fail
    # over to it at that deadline instead, never two requests for one answer).
    hedge: bool = True


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
    # [prices."MODEL"] tables: the user's rates, over the shipped ones.
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    # Providers that come from the built-in defaults, not from a table the user wrote: a
    # local one among them is not "set up" until it has answered once (see setup_rules).
    built_in: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

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
    return Settings(FailoverSettings(order=list(PROVIDER_TYPES)), providers, UiSettings(),
                    built_in=frozenset(providers))


def key_env_text(value: str | list[str] | None) -> str:
    """api_key_env as one line of text for a form: 'KEY_A, KEY_B'."""
    if not value:
        return ""
    return value if isinstance(value, str) else ", ".join(value)


def parse_key_env_text(text: str) -> str | list[str] | None:
    """A form's 'KEY_A, KEY_B' back as api_key_env: one name, a list of names, or None."""
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        return None
    return names[0] if len(names) == 1 else names


DEFAULT_SETTINGS_TOML = """\
# chatdesk settings. A mistake (or a key chatdesk does not know) is reported with its line.
# API keys never go in this file: store them with `chatdesk keys set NAME` (the OS
# keyring), or put them in the environment variable named by api_key_env.

[failover]
order = ["anthropic", "openai", "gemini", "ollama"]   # preferred first
connect_timeout_s = 10       # TCP+TLS connect
first_token_timeout_s = 60   # request sent -> first content
stall_timeout_s = 30         # silence between two chunks of one answer
cooldown_s = 60              # how long a failed provider is skipped (grows on repeated failure)
hedge = true                 # a provider slow to start: also ask the next one (false: switch to it)

[ui]
theme = "system"             # system | light | dark

# One [providers.NAME] table per provider; NAME is yours to choose and is also the
# keyring entry of its key. Keys of a provider table:
#   type        = anthropic | openai | gemini | ollama  (openai = any OpenAI-compatible endpoint)
#   model       = the model to ask
#   base_url    = optional; as the provider's official SDK spells it (ollama: OLLAMA_HOST)
#   api_key_env = optional; the variable holding the key when the keyring has none, or a
#                 list of them (a pool: ["KEY_A", "KEY_B"]; on a 429 the next key is tried)
#   max_tokens  = optional; the longest answer, in tokens (default 4096)
#   ca_bundle   = optional; a PEM file of extra CA certificates for this provider
#   allow_insecure_http = true  lets the key travel over plain http:// to another machine
#   continue_partial = "auto" | "never"  whether this provider goes on with an answer another
#               one left unfinished, where its API can (auto, the default), or answers afresh
#   vision = true | false, pdf = true | false, context_tokens = N  optional; what the model
#               takes, when chatdesk's catalog or the provider's own report is wrong: an
#               image goes only to a model that may see it, a PDF to one that cannot read
#               it goes as its text, and a conversation longer than N tokens goes elsewhere

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

    from chatdesk.settings_check import MAX_NESTING, Validator, too_deep

    deep = too_deep(text)
    if deep is not None:
        raise SettingsError(path, deep, f"nests lists or tables more than {MAX_NESTING} deep; "
                            "flatten it there.")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, problem = _split_toml_error(str(exc))
        if line is None and problem.endswith("at the end of the file"):
            line = max(1, len(text.splitlines()))
        raise SettingsError(path, line, f"{problem}; fix the TOML syntax there.") from None
    except RecursionError:  # too_deep missed a nesting tomllib still recursed into
        raise SettingsError(path, None, "nests lists or tables too deeply to be read; "
                            "flatten it.") from None
    return Validator(text, Path(path)).settings(data)


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
        import tempfile  # only when saving: not on every start

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


def plain_http_host(url: str) -> str | None:
    """The host of an http:// URL that leaves this machine; None for https and loopback."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http":
        return None
    host = (parts.hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return None
    import ipaddress

    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return parts.netloc or host or url


def insecure_http_line(provider_name: str) -> str:
    """The line that lets a provider's key travel over plain HTTP."""
    return f"allow_insecure_http = true   # under [providers.{provider_name}]"


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
