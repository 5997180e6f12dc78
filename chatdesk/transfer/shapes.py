"""An export's JSON values read as the type a reader expects; anything else reads as empty."""

from __future__ import annotations

from typing import Any


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
