"""A pending message's next try, and how a late answer folds in the "Not answered" rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from chatdesk.states import HealthState, MessageStatus

if TYPE_CHECKING:
    from chatdesk.failover.health import HealthBook


class _Message(Protocol):
    """What folding reads of a message (a StoredMessage, or a MessageHead without text)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def status(self) -> str: ...


_M = TypeVar("_M", bound=_Message)


@dataclass(frozen=True)
class NextTry:
    """When pending messages are next sent by themselves: as the first cooldown ends."""

    provider: str  # whose cooldown ends first
    at: float  # unix time; a provider that may be tried now gives `at` = now
    error_class: str | None = None  # why it is down

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.at - now)


def next_try(health: HealthBook, names: Iterable[str]) -> NextTry | None:
    """The earliest moment one of `names` (the providers set up, in failover order) may be
    tried: now if one is not cooling down, else the end of the shortest cooldown. None when
    none will become usable by itself (no provider, or only rejected keys)."""
    now = health.clock()
    best: NextTry | None = None
    for name in names:
        state = health.get(name)
        if state.state.usable:  # up, slow, never tried, or its cooldown over
            return NextTry(name, now, None)
        if state.state == HealthState.DOWN and (best is None or now + state.seconds_left < best.at):
            best = NextTry(name, now + state.seconds_left, state.last_error_class)
    return best


def unanswered(message: _Message) -> bool:
    """A "Not answered" row: an answer no provider wrote (every provider failed)."""
    return (message.role == "assistant" and message.provider is None
            and message.status == MessageStatus.FAILED)


def fold_unanswered(messages: list[_M]) -> tuple[list[_M], dict[int, list[int]]]:
    """The thread as shown: a "Not answered" row that a later answer to the same message
    replaced is left out, and remembered under that answer's id (its facts go into the
    answer's provenance). Rows nothing answered yet stay."""
    shown: list[_M] = []
    folded: dict[int, list[int]] = {}
    waiting: list[_M] = []  # "Not answered" rows since the last user message
    for message in messages:
        if message.role == "user":
            shown.extend(waiting)
            waiting = []
            shown.append(message)
        elif unanswered(message):
            waiting.append(message)
        elif message.role == "assistant" and waiting:
            folded[message.id] = [m.id for m in waiting]
            waiting = []
            shown.append(message)
        else:
            shown.append(message)
    shown.extend(waiting)
    return shown, folded
