"""@deferred_dataclass: a frozen dataclass whose methods are made with its first instance.

On Python 3.11 @dataclass(frozen=True) compiles six methods per class (~0.4 ms, ~4 M
instructions); most runs never make most of the rarer records (a failover's events, a
refusal's delta), and `chatdesk ask` paid for ~17 of them before its first byte. The class
exists (isinstance, unions, annotations) from import; it becomes the very same dataclass
when its first instance is made, or when `made(cls)` is called. Only for classes nobody asks
dataclass questions of (`dataclasses.fields(cls)`, `is_dataclass(cls)`) before making one.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, TypeVar, dataclass_transform

_C = TypeVar("_C", bound=type)
_MARK = "__deferred_dataclass__"
_lock = threading.Lock()


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def deferred_dataclass(cls: _C) -> _C:
    """`@dataclass(frozen=True)`, applied to cls when its first instance is made."""

    def first_init(self: Any, *args: Any, **kwargs: Any) -> None:
        made(cls)
        type.__getattribute__(cls, "__init__")(self, *args, **kwargs)

    first_init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = first_init  # type: ignore[misc]
    setattr(cls, _MARK, True)
    return cls


def made(cls: _C) -> _C:
    """cls as a dataclass now (a no-op once it is one)."""
    with _lock:
        if cls.__dict__.get(_MARK):
            # dataclass() never replaces what the class itself defines: the stand-in goes.
            delattr(cls, "__init__")
            delattr(cls, _MARK)
            dataclasses.dataclass(frozen=True)(cls)
    return cls
