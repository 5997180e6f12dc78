"""Prompts and presets: their `{{variables}}`, filling them in, finding prompts by name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from chatdesk import wording
from chatdesk.store.prompts import Preset, Prompt, Route

__all__ = ["MissingValueError", "Preset", "Prompt", "Route", "check_max_tokens",
           "check_temperature", "clean_name", "fill", "find", "parse_route", "parse_values",
           "preset_to_json", "prompt_to_json", "variables"]

# `{{name}}`, spaces inside the braces allowed: `{{ topic }}`.
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
NAME_LENGTH = 100
TEMPERATURE_RANGE = (0.0, 2.0)


class MissingValueError(ValueError):
    """A prompt's variable was given no value; str() is the sentence."""


def clean_name(name: str) -> str:
    """A prompt's or preset's name as stored: one line, trimmed; ValueError if unusable."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError(wording.name_empty())
    if len(cleaned) > NAME_LENGTH:
        raise ValueError(wording.name_too_long(NAME_LENGTH))
    return cleaned


def check_temperature(value: float | None) -> float | None:
    low, high = TEMPERATURE_RANGE
    if value is not None and not low <= value <= high:
        raise ValueError(wording.temperature_out_of_range(low, high))
    return value


def check_max_tokens(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ValueError(wording.max_tokens_too_small())
    return value


def parse_route(text: str) -> Route:
    """`NAME` or `NAME:MODEL` (a model may hold colons itself: `llama3.2:3b`)."""
    provider, _, model = text.strip().partition(":")
    if not provider.strip():
        raise ValueError(wording.route_malformed(text))
    return Route(provider.strip(), model.strip() or None)


def variables(text: str) -> list[str]:
    """The names of the `{{variables}}` in a text, each once, in the order they first appear."""
    return list(dict.fromkeys(m.group(1) for m in _VARIABLE.finditer(text)))


def fill(text: str, values: Mapping[str, str]) -> str:
    """The text with each `{{name}}` replaced by its value; MissingValueError names the
    variables that have none (all of them, in one sentence)."""
    missing = [name for name in variables(text) if name not in values]
    if missing:
        raise MissingValueError(wording.missing_values(missing))
    return _VARIABLE.sub(lambda m: values[m.group(1)], text)


def parse_values(pairs: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` pairs (the CLI's --var) as a dict; ValueError for one without `=`."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(wording.var_malformed(pair))
        found[key.strip()] = value
    return found


def _subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(ch in it for ch in needle)


def _rank(prompt: Prompt, query: str) -> int | None:
    """Lower is better; None: no match. Name prefix, a word of the name starting with it,
    name substring, text substring, then the letters in order in the name."""
    name, text = prompt.name.casefold(), prompt.text.casefold()
    if name.startswith(query):
        return 0
    if any(word.startswith(query) for word in re.split(r"[\s_\-./]+", name)):
        return 1
    if query in name:
        return 2
    if query in text:
        return 3
    if _subsequence(query.replace(" ", ""), name):
        return 4
    return None


def find(prompts: Sequence[Prompt], query: str) -> list[Prompt]:
    """The prompts that match what was typed after "/", best first; ties go to the most
    used, then the most recently used, then by name. An empty query lists them all so."""
    wanted = " ".join(query.casefold().split())
    ranked = [(rank, p) for p in prompts
              if (rank := 0 if not wanted else _rank(p, wanted)) is not None]
    ranked.sort(key=lambda rp: (rp[1].name.casefold(),))
    ranked.sort(key=lambda rp: rp[1].last_used_at or "", reverse=True)
    ranked.sort(key=lambda rp: (rp[0], -rp[1].uses))
    return [p for _, p in ranked]


def prompt_to_json(prompt: Prompt) -> dict[str, object]:
    """One element of `prompts list --json`."""
    return {"name": prompt.name, "text": prompt.text, "variables": variables(prompt.text),
            "uses": prompt.uses, "last_used_at": prompt.last_used_at}


def preset_to_json(preset: Preset) -> dict[str, object]:
    """One element of `presets list --json`."""
    return {"name": preset.name, "system_prompt": preset.system_prompt,
            "providers": [{"provider": r.provider, "model": r.model} for r in preset.routes],
            "temperature": preset.temperature, "max_tokens": preset.max_tokens}
