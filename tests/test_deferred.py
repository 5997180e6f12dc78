"""@deferred_dataclass: the same frozen dataclass as @dataclass(frozen=True), made with the
first instance."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from chatdesk.deferred import deferred_dataclass, made


def _pair() -> tuple[type, type]:
    @deferred_dataclass
    class Late:
        """A record."""

        name: str
        count: int = 0
        tags: tuple[str, ...] = ()
        secret: str = field(default="", repr=False)

        def shout(self) -> str:
            return self.name.upper()

    @dataclass(frozen=True)
    class Now:
        """A record."""

        name: str
        count: int = 0
        tags: tuple[str, ...] = ()
        secret: str = field(default="", repr=False)

    return Late, Now


def test_nothing_is_made_before_the_first_instance() -> None:
    late, _ = _pair()
    assert not dataclasses.is_dataclass(late)
    assert isinstance(late("a"), late)
    assert dataclasses.is_dataclass(late)


def test_it_is_the_same_frozen_dataclass() -> None:
    late, now = _pair()
    a, b = late("a", 2, ("x",), secret="s"), now("a", 2, ("x",), secret="s")
    assert repr(a).replace("Late", "Now") == repr(b)
    assert repr(b).endswith(".Now(name='a', count=2, tags=('x',))")
    assert a == late("a", 2, ("x",), "s") and a != late("b")
    assert hash(a) == hash(late("a", 2, ("x",), "s"))
    assert dataclasses.astuple(a) == dataclasses.astuple(b)
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert [f.name for f in dataclasses.fields(late)] == [f.name for f in dataclasses.fields(now)]
    assert late.__match_args__ == now.__match_args__
    assert dataclasses.replace(a, count=3).count == 3
    assert late("z").shout() == "Z" and late.__doc__ == "A record."
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.count = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        late()  # type: ignore[call-arg]


def test_made_ahead_and_from_many_threads_at_once() -> None:
    late, _ = _pair()
    assert made(late) is late and dataclasses.is_dataclass(late)
    assert made(late) is late  # once
    other, _ = _pair()
    got: list[Any] = []
    threads = [threading.Thread(target=lambda i=i: got.append(other(str(i), i)))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(g.count for g in got) == list(range(8))
    assert "__deferred_dataclass__" not in other.__dict__


def test_the_events_and_deltas_made_late_are_frozen_dataclasses() -> None:
    from chatdesk import events as ev
    from chatdesk.providers import base

    hedged = ev.Hedged("a", "b", 1.5)
    assert hedged == ev.Hedged("a", "b", 1.5, "") and dataclasses.is_dataclass(hedged)
    assert repr(base.Finished("stop")) == "Finished(reason='stop', refused=False)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        hedged.backup = "c"  # type: ignore[misc]
