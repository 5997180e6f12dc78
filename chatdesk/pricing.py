"""What an answer cost: the shipped, dated price table, the settings' overrides, the arithmetic."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from chatdesk.settings import ModelPrice, ProviderSettings, Settings
from chatdesk.setup_rules import is_local

PRICE_FILE = Path(__file__).parent / "resources" / "prices.toml"
PER_TOKENS = 1_000_000  # prices are USD per this many tokens
FREE = ModelPrice(0.0, 0.0)  # a model on this machine
_DATED = re.compile(r"-20\d{6}$")  # Anthropic's dated IDs: claude-sonnet-4-5-20250929


@dataclass(frozen=True)
class ShippedPrice:
    """One row of prices.toml: the rates, the wire protocol they apply to, and where and
    when they were read."""

    model: str
    api: str  # the provider type whose entries it prices
    price: ModelPrice
    source: str  # the provider's pricing page
    checked: str  # the day it was checked, YYYY-MM-DD
    confirmed: str  # how


@dataclass(frozen=True)
class Tokens:
    """An answer's billed tokens; the cached ones are part of the input, the reasoning ones
    part of the output (as chatdesk stores them)."""

    input: int | None
    output: int | None
    cached_input: int | None = None
    reasoning: int | None = None


@cache
def shipped_prices(path: Path = PRICE_FILE) -> dict[str, ShippedPrice]:
    """The shipped table by model name and alias (read once)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    table: dict[str, ShippedPrice] = {}
    for model, row in data["models"].items():
        price = ModelPrice(
            float(row["input"]), float(row["output"]), _rate(row, "cached_input"),
            _rate(row, "reasoning"), row.get("above_tokens"), _rate(row, "input_above"),
            _rate(row, "output_above"))
        shipped = ShippedPrice(model, row["api"], price, row["source"], row["checked"],
                               row["confirmed"])
        for name in (model, *row.get("aliases", ())):
            table[name] = shipped
    return table


def _rate(row: dict[str, object], key: str) -> float | None:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) else None


def price_for(model: str | None, entry: ProviderSettings | None,
              settings: Settings) -> ModelPrice | None:
    """The rates of `model` as answered through `entry` (None: an entry no longer in the
    settings): the entry's own price_input/price_output, else [prices."MODEL"], else free for
    a server on this machine, else the shipped row for the entry's protocol; None when none
    is known (the cost is then unknown, never guessed)."""
    if entry is not None and entry.price_input is not None and entry.price_output is not None:
        return ModelPrice(entry.price_input, entry.price_output, entry.price_cached_input)
    if model and model in settings.prices:
        return settings.prices[model]
    if entry is not None and is_local(entry):
        return FREE
    if not model:
        return None
    shipped = shipped_prices()
    row = shipped.get(model) or shipped.get(_DATED.sub("", model))
    if row is None or (entry is not None and entry.type != row.api):
        return None
    return row.price


def cost_usd(tokens: Tokens, price: ModelPrice | None) -> float | None:
    """What the tokens cost at `price`; None when the price or a token count is unknown
    (nothing is ever a made-up figure). Free models cost 0 whatever was counted."""
    if price is None:
        return None
    if price == FREE:
        return 0.0
    if tokens.input is None or tokens.output is None:
        return None
    input_rate, output_rate = price.input, price.output
    cached_rate = price.input if price.cached_input is None else price.cached_input
    if price.above_tokens is not None and tokens.input > price.above_tokens and \
            price.input_above is not None and price.output_above is not None:
        # A long prompt: every token at the higher tier, a cache read as much dearer.
        if price.input:
            cached_rate *= price.input_above / price.input
        input_rate, output_rate = price.input_above, price.output_above
    reasoning_rate = output_rate if price.reasoning is None else price.reasoning
    cached = min(max(tokens.cached_input or 0, 0), tokens.input)
    reasoning = min(max(tokens.reasoning or 0, 0), tokens.output)
    total = ((tokens.input - cached) * input_rate + cached * cached_rate
             + (tokens.output - reasoning) * output_rate + reasoning * reasoning_rate)
    return total / PER_TOKENS
