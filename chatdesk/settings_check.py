"""Validating parsed settings.toml: every key's type and range, reported with its line."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chatdesk.settings import (
    DEFAULT_MODELS,
    PROVIDER_TYPES,
    THEMES,
    FailoverSettings,
    ModelPrice,
    ProviderSettings,
    Settings,
    SettingsError,
    UiSettings,
    default_settings,
)

# The keys each table may hold; anything else is a typo or a newer version's key.
TOP_KEYS = ("failover", "providers", "ui", "prices")
FAILOVER_KEYS = ("order", "connect_timeout_s", "first_token_timeout_s", "stall_timeout_s",
                 "cooldown_s", "hedge")
FAILOVER_SECONDS = FAILOVER_KEYS[1:5]
UI_KEYS = ("theme",)
MAX_CONTEXT_TOKENS = 100_000_000
PROVIDER_KEYS = ("type", "model", "base_url", "api_key_env", "status_url", "max_tokens",
                 "ca_bundle", "allow_insecure_http", "continue_partial", "vision", "pdf",
                 "context_tokens", "price_input", "price_output", "price_cached_input",
                 "monthly_budget_usd")
PRICE_KEYS = ("input", "output", "cached_input", "reasoning", "above_tokens", "input_above",
              "output_above")
MAX_PRICE = 1_000_000.0  # USD per million tokens (or a month's budget): beyond any real one
CONTINUE_PARTIAL = ("auto", "never")

MAX_NESTING = 32  # far beyond any real settings file, far below tomllib's recursion limit
MAX_SECONDS = 86_400.0  # a day; beyond that a timeout overflows some socket APIs
MAX_TOKENS = 2**31 - 1  # what every provider's JSON parser still takes as an int
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_TOKENS = re.compile(
    r'#[^\n]*|"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|[\[\]{}]|\n',
    re.S,
)


def too_deep(text: str, limit: int = MAX_NESTING) -> int | None:
    """The line where lists or inline tables nest more than `limit` deep, else None."""
    depth, line = 0, 1
    for m in _TOKENS.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return line
        elif token in "]}":
            depth = max(0, depth - 1)
        else:
            line += token.count("\n")
    return None


def show(value: Any) -> str:
    """A value as the sentence shows it: strings quoted and escaped, and kept short."""
    if isinstance(value, str):
        shown = json.dumps(value[:60], ensure_ascii=False)
        return shown[:-1] + '…"' if len(value) > 60 else shown
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int) and abs(value) > 10**15:
        return "a huge number"
    return str(value)[:60]


def url_problem(value: str) -> str | None:
    """Why value is not a usable http(s) URL (a clause), else None."""
    if not value.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    if _CONTROL.search(value) or " " in value:
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number 0-65535
    except ValueError:
        return "is not a valid URL (check the host and the port)"
    if not parts.hostname:
        return "needs a host name after the //"
    if parts.fragment or value.endswith("#"):
        return "must not end in a #fragment"
    return None


class Validator:
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

    def known_keys(self, raw: Mapping[str, Any], known: tuple[str, ...],
                   where: tuple[str, ...], label: str) -> None:
        for key in raw:
            if key not in known:
                import difflib  # only for a typo: not on every start

                close = difflib.get_close_matches(key, known, n=1)
                hint = f'did you mean "{close[0]}"?' if close else \
                    "known keys: " + ", ".join(known) + "."
                raise self.fail((*where, key),
                                f"{label} has no key {show(key)}; {hint} Remove or rename it.")

    def settings(self, data: dict[str, Any]) -> Settings:
        self.known_keys(data, TOP_KEYS, (), "The top level")
        defaults = default_settings()
        if "providers" in data:
            raw = self.table(data, "providers", ("providers",))
            providers = {name: self.provider(name, value) for name, value in raw.items()}
        else:
            providers = defaults.providers
        failover = self.failover(self.table(data, "failover", ("failover",)), providers)
        ui = self.table(data, "ui", ("ui",))
        self.known_keys(ui, UI_KEYS, ("ui",), "[ui]")
        theme = ui.get("theme", "system")
        if theme not in THEMES:
            raise self.fail(
                ("ui", "theme"),
                f'[ui] theme must be "system", "light" or "dark", not {show(theme)}.',
            )
        # An entry just as the defaults (or the template settings.toml) have it is not one
        # the user wrote: a local one is not taken as set up until it has answered once.
        built_in = frozenset(n for n, p in providers.items() if defaults.providers.get(n) == p)
        prices = self.table(data, "prices", ("prices",))
        return Settings(failover, providers, UiSettings(theme=theme),
                        prices={model: self.price(model, raw) for model, raw in prices.items()},
                        built_in=built_in)

    def dollars(self, value: Any, where: tuple[str, ...], label: str, what: str,
                zero_ok: bool = True) -> float:
        """A price or budget in USD: a number from 0 (or above 0) to MAX_PRICE."""
        ok = isinstance(value, int | float) and not isinstance(value, bool) and \
            math.isfinite(value) and (0 <= value if zero_ok else 0 < value) and \
            value <= MAX_PRICE
        if not ok:
            least = "0" if zero_ok else "more than 0"
            raise self.fail(where, f"{label} must be {what} in US dollars, a number from "
                                   f"{least} to {MAX_PRICE:,.0f}, not {show(value)}.")
        return float(value)

    def price(self, model: str, raw: Any) -> ModelPrice:
        """A [prices."MODEL"] table: input and output, the others optional."""
        table = f'[prices."{model}"]'
        where = ("prices", model)
        if not isinstance(raw, dict):
            raise self.fail(where, f'prices."{model}" must be a table ({table}) with input '
                                   "and output, in US dollars per million tokens.")
        self.known_keys(raw, PRICE_KEYS, where, table)
        missing = [k for k in ("input", "output") if k not in raw]
        if missing:
            raise self.fail(where, f"{table} needs {' and '.join(missing)}: US dollars per "
                                   "million tokens.")
        rates = {k: self.dollars(raw[k], (*where, k), f"{table} {k}",
                                 "a price per million tokens")
                 for k in PRICE_KEYS if k in raw and k != "above_tokens"}
        tier = [k for k in ("above_tokens", "input_above", "output_above") if k in raw]
        if tier and len(tier) != 3:
            raise self.fail((*where, tier[0]), f"{table} needs above_tokens, input_above and "
                                               "output_above together (the long-prompt rates).")
        above = raw.get("above_tokens")
        if tier and (isinstance(above, bool) or not isinstance(above, int) or
                     not 0 < above <= MAX_CONTEXT_TOKENS):
            raise self.fail((*where, "above_tokens"),
                            f"{table} above_tokens must be a whole number of tokens from 1 to "
                            f"{MAX_CONTEXT_TOKENS}, not {show(above)}.")
        return ModelPrice(rates["input"], rates["output"], rates.get("cached_input"),
                          rates.get("reasoning"), above, rates.get("input_above"),
                          rates.get("output_above"))

    def failover(self, raw: dict[str, Any], providers: dict[str, Any]) -> FailoverSettings:
        self.known_keys(raw, FAILOVER_KEYS, ("failover",), "[failover]")
        where = ("failover", "order")
        order = raw.get("order", list(providers))
        if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
            raise self.fail(where, '[failover] order must be a list of provider names, '
                            'e.g. ["anthropic", "openai"].')
        for index, name in enumerate(order):
            if name not in providers:
                raise self.fail(
                    where,
                    f"[failover] order names {show(name)} but there is no [providers.{name}] "
                    f"table; add one or remove {show(name)} from order.",
                )
            if name in order[:index]:
                raise self.fail(where, f"[failover] order names {show(name)} twice; "
                                "keep one of them.")
        failover = FailoverSettings(order=list(order))
        for key in FAILOVER_SECONDS:
            if key in raw:
                setattr(failover, key, self.seconds(raw[key], key, zero_ok=key == "cooldown_s"))
        hedge = raw.get("hedge", True)
        if not isinstance(hedge, bool):
            raise self.fail(("failover", "hedge"),
                            "[failover] hedge must be true (also ask the next provider when "
                            "one is slow to start) or false (switch to it instead), "
                            f"not {show(hedge)}.")
        failover.hedge = hedge
        return failover

    def seconds(self, value: Any, key: str, zero_ok: bool) -> float:
        where = ("failover", key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (isinstance(value, float) and not math.isfinite(value)):
            raise self.fail(where, f"[failover] {key} must be a number of seconds, "
                            f"not {show(value)}.")
        if value < 0 or (value == 0 and not zero_ok):
            least = "0 or more" if zero_ok else "more than 0"
            raise self.fail(where, f"[failover] {key} must be {least} seconds, not {show(value)}.")
        if value > MAX_SECONDS:
            raise self.fail(where, f"[failover] {key} must be at most {MAX_SECONDS:g} seconds "
                            f"(a day), not {show(value)}.")
        return float(value)

    def provider(self, name: str, raw: Any) -> ProviderSettings:
        table = f"[providers.{name}]"
        if not name.strip():
            raise self.fail(("providers", name), "A provider name is empty; give it a name.")
        if not NAME_RE.match(name):
            raise self.fail(("providers", name),
                            f"The provider name {show(name)} must be letters, digits, '.', '-' "
                            "or '_' (at most 64, starting with a letter or digit); rename it.")
        if not isinstance(raw, dict):
            raise self.fail(("providers", name), f"providers.{name} must be a table ({table}).")
        self.known_keys(raw, PROVIDER_KEYS, ("providers", name), table)
        kind = raw.get("type", name if name in PROVIDER_TYPES else None)
        if kind is None:
            raise self.fail(
                ("providers", name), f"{table} needs a type: anthropic, openai, gemini or ollama."
            )
        if kind not in PROVIDER_TYPES:
            raise self.fail(
                ("providers", name, "type"),
                f"{table} type {show(kind)} is not known; use anthropic, openai, gemini or ollama "
                "(openai covers every OpenAI-compatible service).",
            )
        model = self.text_value(raw, name, "model", DEFAULT_MODELS[kind])
        if not model:
            raise self.fail(("providers", name, "model"),
                            f"{table} model is empty; name the model to use, "
                            f"e.g. {show(DEFAULT_MODELS[kind])}.")
        provider = ProviderSettings(name=name, type=kind, model=model)
        for key in ("base_url", "status_url"):
            value = self.text_value(raw, name, key, None)
            if value is None or (key == "base_url" and not value):
                continue  # an empty base_url means "not set"; an empty status_url, "none"
            problem = url_problem(value) if value else None
            if problem:
                raise self.fail(("providers", name, key),
                                f"{table} {key} {problem}, not {show(value)}.")
            setattr(provider, key, value)
        provider.api_key_env = self.api_key_env(raw, name)
        provider.ca_bundle = self.ca_bundle(raw, name)
        if "max_tokens" in raw:
            value = raw["max_tokens"]
            if isinstance(value, bool) or not isinstance(value, int) or not \
                    0 < value <= MAX_TOKENS:
                raise self.fail(("providers", name, "max_tokens"),
                                f"{table} max_tokens must be a whole number from 1 to "
                                f"{MAX_TOKENS}, not {show(value)}.")
            provider.max_tokens = value
        insecure = raw.get("allow_insecure_http", False)
        if not isinstance(insecure, bool):
            raise self.fail(("providers", name, "allow_insecure_http"),
                            f"{table} allow_insecure_http must be true or false, "
                            f"not {show(insecure)}.")
        provider.allow_insecure_http = insecure
        cont = raw.get("continue_partial", "auto")
        if cont not in CONTINUE_PARTIAL:
            raise self.fail(("providers", name, "continue_partial"),
                            f'{table} continue_partial must be "auto" or "never", '
                            f"not {show(cont)}.")
        provider.continue_partial = cont
        for key, says in (("vision", "whether the model sees images"),
                          ("pdf", "whether the model reads PDFs")):
            flag = raw.get(key)
            if flag is not None and not isinstance(flag, bool):
                raise self.fail(("providers", name, key),
                                f"{table} {key} must be true or false ({says}), "
                                f"not {show(flag)}.")
            setattr(provider, key, flag)
        if "context_tokens" in raw:
            value = raw["context_tokens"]
            if isinstance(value, bool) or not isinstance(value, int) or not \
                    0 < value <= MAX_CONTEXT_TOKENS:
                raise self.fail(("providers", name, "context_tokens"),
                                f"{table} context_tokens must be a whole number of tokens "
                                f"from 1 to {MAX_CONTEXT_TOKENS}, not {show(value)}.")
            provider.context_tokens = value
        for key in ("price_input", "price_output", "price_cached_input"):
            if key in raw:
                setattr(provider, key, self.dollars(raw[key], ("providers", name, key),
                                                    f"{table} {key}",
                                                    "a price per million tokens"))
        if (provider.price_input is None) != (provider.price_output is None):
            given = "price_input" if provider.price_input is not None else "price_output"
            raise self.fail(("providers", name, given),
                            f"{table} needs price_input and price_output together (US "
                            "dollars per million tokens).")
        if provider.price_cached_input is not None and provider.price_input is None:
            raise self.fail(("providers", name, "price_cached_input"),
                            f"{table} price_cached_input needs price_input and price_output "
                            "too.")
        if "monthly_budget_usd" in raw:
            provider.monthly_budget_usd = self.dollars(
                raw["monthly_budget_usd"], ("providers", name, "monthly_budget_usd"),
                f"{table} monthly_budget_usd", "a month's spending", zero_ok=False)
        return provider

    def text_value(self, raw: Mapping[str, Any], name: str, key: str,
                   default: str | None) -> str | None:
        """raw[key] stripped, default when absent; anything but one line of text is refused."""
        value = raw.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(("providers", name, key),
                            f"[providers.{name}] {key} must be text, not {show(value)}.")
        if _CONTROL.search(value):
            raise self.fail(("providers", name, key),
                            f"[providers.{name}] {key} must be one line without control "
                            f"characters, not {show(value)}.")
        return value.strip()

    def api_key_env(self, raw: Mapping[str, Any], name: str) -> str | list[str] | None:
        """One variable name, or a list of them (a pool of keys from the environment)."""
        value = raw.get("api_key_env")
        if isinstance(value, list):
            names = [v.strip() if isinstance(v, str) else v for v in value]
            if names and all(isinstance(v, str) and ENV_RE.match(v) for v in names):
                unique = list(dict.fromkeys(str(v) for v in names))
                return unique if len(unique) > 1 else unique[0]
        elif value is None or (isinstance(value, str) and (
                not value.strip() or ENV_RE.match(value.strip()))):
            return value.strip() if value and value.strip() else None
        raise self.fail(("providers", name, "api_key_env"),
                        f"[providers.{name}] api_key_env must be a variable name of letters, "
                        "digits and '_' (e.g. MY_API_KEY) or a list of such names (e.g. "
                        f'["KEY_A", "KEY_B"]), not {show(value)}.')

    def ca_bundle(self, raw: Mapping[str, Any], name: str) -> str | None:
        value = self.text_value(raw, name, "ca_bundle", None)
        if not value:
            return None
        path = Path(os.path.expanduser(value))
        if not path.is_absolute():  # relative to the settings file, not to the working dir
            path = self.path.parent / path
            value = str(path)
        if not path.is_file():
            raise self.fail(("providers", name, "ca_bundle"),
                            f"[providers.{name}] ca_bundle names {show(value)}, which is not a "
                            "file; point it at a PEM file of CA certificates.")
        problem = _pem_problem(path)
        if problem:
            raise self.fail(("providers", name, "ca_bundle"),
                            f"[providers.{name}] ca_bundle {show(value)} {problem}; point it "
                            "at a PEM file of CA certificates.")
        return value


def _pem_problem(path: Path) -> str | None:
    """Why the file holds no CA certificate ssl can load (a clause), else None."""
    import ssl  # only for files that set ca_bundle

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except ssl.SSLError:
        return "holds no PEM certificate"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None


# --- finding the line of a key in the file text ---------------------------------------------

# Compiled at first use (re's cache): only an error's line is looked for.
_KEY_PART = r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+'
_HEADER = r"^\s*\[(?!\[)([^\]]*)\]\s*(?:#.*)?$"


def _find_line(text: str, where: tuple[str, ...]) -> int | None:
    """The line of `where`: (key,), ("failover", key), ("providers", name[, key]) or a table."""
    if not where:
        return None
    depth = 2 if where[0] in ("providers", "prices") and len(where) > 1 else 1
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
        header = re.match(_HEADER, line)
        if header:
            current = tuple(p.strip("\"'") for p in re.findall(_KEY_PART, header.group(1)))
            if current[: len(table)] == table and header_line is None:
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
