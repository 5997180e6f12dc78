"""Hedging a provider that is slow to start ("The Tail at Scale"): past its adaptive first-token
deadline the next usable provider is asked too, the first to give a token answers, the other
is cancelled and recorded as having lost the hedge."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from enum import Enum
from typing import TYPE_CHECKING

from chatdesk import events as ev
from chatdesk import wording
from chatdesk.failover.deadline import FirstTokenDeadline
from chatdesk.providers import errors
from chatdesk.providers.base import ACTIVITY, ProviderEvent
from chatdesk.states import LOST_HEDGE
from chatdesk.store import AttemptOutcome, HealthState

if TYPE_CHECKING:
    from chatdesk.failover.router import Candidate, Router, _Attempt, _Progress

log = logging.getLogger(__name__)


class Plan(Enum):
    """What the router does while an attempt waits for its first token."""

    WAIT = "wait"  # the configured first-token timeout, as without a learned deadline
    FAIL_OVER_EARLY = "fail_over_early"  # hedge = false: the learned deadline is the timeout
    HEDGE = "hedge"  # past the learned deadline, ask the next provider too


def plan(deadline: FirstTokenDeadline, hedge: bool, backup_left: bool) -> Plan:
    """Only a learned deadline shorter than the configured timeout changes anything, and
    only when another provider may be asked: the last one left always gets the whole
    configured timeout (a long prompt is slow everywhere)."""
    if not deadline.learned or not backup_left:
        return Plan.WAIT
    return Plan.HEDGE if hedge else Plan.FAIL_OVER_EARLY


def race_for(router: Router, attempt: _Attempt, candidates: list[Candidate], index: int,
             progress: _Progress, force: bool) -> Race | None:
    """How `attempt` (of candidates[index]) waits for its first token: a Race when a backup
    may be asked past its learned deadline; None to stream it directly (its provider's
    first-token timeout cut to that deadline when hedging is off)."""
    if router.deadlines is None:
        return None
    deadline = router.deadlines.get(attempt.name, attempt.candidate.model)
    if not deadline.learned:
        return None
    after = [i for i in range(index + 1, len(candidates))
             if i not in progress.hedged and candidates[i].name != attempt.name
             and _may_ask(router, candidates[i], force)]
    chosen = plan(deadline, router.hedging(), bool(after))
    if chosen is Plan.FAIL_OVER_EARLY:
        provider = attempt.provider = copy.copy(attempt.provider)
        provider.timeouts = dataclasses.replace(provider.timeouts,
                                                first_token_s=deadline.seconds)
        return None
    if chosen is Plan.WAIT:
        return None
    return Race(router, progress, attempt, deadline,
                lambda: _partner(router, attempt, candidates, after, progress, force))


def _may_ask(router: Router, candidate: Candidate, force: bool) -> bool:
    """Whether the candidate could be tried now, from its health alone (no key lookup)."""
    state = router.health.get(candidate.name).state
    return state.usable or (force and state == HealthState.DOWN)


def _partner(router: Router, lead: _Attempt, candidates: list[Candidate], after: list[int],
             progress: _Progress, force: bool) -> tuple[int, _Attempt] | None:
    """The first of `after` that may answer alongside `lead` (it can continue the text
    `lead` continues, if any), with its attempt stored; None if there is none."""
    from chatdesk.failover.router import _continues, _Progress  # the router imports us

    for i in after:
        # A look-ahead: skip notices and reasons are the loop's, when it gets there.
        provider = router._usable(candidates[i], _Progress(progress.turn), force)
        if provider is None or (lead.writer.prefix and not _continues(candidates[i], provider)):
            continue
        fit = router._fit_now(candidates[i], provider, progress.turn)
        if not fit.ok:
            continue  # its model cannot take this conversation: the loop says so later
        return i, router._alongside(lead, candidates[i], provider, fit)
    return None


class Pump:
    """One attempt's provider stream, read by a task of its own into a queue: the router can
    wait for its first token with a deadline without cancelling it, and cancel it if it
    loses. `decided` is set at its first activity (text, reasoning or a refusal) or its end."""

    def __init__(self, stream: AsyncIterator[ProviderEvent], started: float,
                 changed: asyncio.Event) -> None:
        self.started = started  # when its request went out (the router's monotonic clock)
        self.active = False
        self.decided = False
        self.error: Exception | None = None
        self._changed = changed
        self._queue: asyncio.Queue[ProviderEvent | None] = asyncio.Queue()
        self.task = asyncio.create_task(self._run(stream))

    async def _run(self, stream: AsyncIterator[ProviderEvent]) -> None:
        try:
            async for event in stream:
                self._queue.put_nowait(event)
                if not self.active and isinstance(event, ACTIVITY) and event.text:
                    self.active = True
                    self._decide()
        except Exception as exc:  # the reader raises it: a ProviderError, or a bug
            self.error = exc
        finally:
            self._queue.put_nowait(None)
            self._decide()

    def _decide(self) -> None:
        self.decided = True
        self._changed.set()

    @property
    def won(self) -> bool:
        """It gave a token, or ended without an error (a refusal with no text)."""
        return self.active or (self.decided and self.error is None)

    @property
    def failed(self) -> bool:
        """It ended with an error before giving anything."""
        return self.decided and not self.active and self.error is not None

    async def events(self) -> AsyncIterator[ProviderEvent]:
        """Everything it read, in order, then its error if it ended with one."""
        while True:
            item = await self._queue.get()
            if item is None:
                if self.error is not None:
                    raise self.error
                return
            yield item

    def cancel(self) -> None:
        self.task.cancel()

    async def close(self) -> None:
        """Cancel it and wait until its connection is closed."""
        self.task.cancel()
        await asyncio.wait([self.task])


class Race:
    """One attempt (the lead) given its learned deadline; past it, a partner (the next
    usable provider, found by `find_partner`) is asked too. The first of the two to give a
    token is the `survivor` the router streams on; the other is cancelled.

    A partner failing before either gave a token is recorded as a failure and the lead goes
    on alone; the lead failing so leaves the partner to answer (as a failover would); a
    lead failure no provider would do better with (policy STOP) cancels the partner and
    ends the answer as without a hedge. One hedge per attempt."""

    def __init__(self, host: Router, progress: _Progress, lead: _Attempt,
                 deadline: FirstTokenDeadline,
                 find_partner: Callable[[], tuple[int, _Attempt] | None]) -> None:
        self.host = host
        self.progress = progress
        self.lead = lead
        self.deadline = deadline
        self.find_partner = find_partner
        self.survivor = lead
        self.partner: _Attempt | None = None
        self.partner_index: int | None = None  # its place among the candidates
        self.partner_done = False  # it answered or failed: the router must not ask it again
        self._changed = asyncio.Event()
        self._pumps: dict[int, Pump] = {}
        self._ended: set[int] = set()  # attempts this race has finished in the store

    def _pump(self, attempt: _Attempt) -> Pump:
        pump = Pump(attempt.provider.stream(attempt.request), self.host.monotonic(),
                    self._changed)
        self._pumps[attempt.id] = pump
        return pump

    def source(self) -> tuple[AsyncIterator[ProviderEvent], float]:
        """The survivor's events and when its request went out, for the router's stream."""
        pump = self._pumps[self.survivor.id]
        return pump.events(), pump.started

    async def run(self) -> AsyncIterator[ev.ChatEvent]:
        """Wait for the lead's first token until its deadline, then (maybe) race a partner.
        Yields Hedged when the partner is asked; when the partner takes over, the lead's
        AttemptFailed (if it failed) and the partner's AttemptStarted."""
        lead = self._pump(self.lead)
        due = lead.started + self.deadline.seconds
        while not lead.decided:
            left = due - self.host.monotonic()
            if left <= 0:
                break
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                break
        if lead.decided:
            return  # the common case: a token (or an error) before the deadline
        found = self.find_partner()
        if found is None:
            return  # nobody to ask: the lead keeps its whole configured timeout
        self.partner_index, partner = found
        self.partner = partner
        other = self._pump(partner)
        log.info("%s gave no token within %.2f s: also asking %s", self.lead.name,
                 self.deadline.seconds, partner.name)
        yield ev.Hedged(self.lead.name, partner.name, self.deadline.seconds,
                        partner.candidate.model)
        while True:
            if lead.won:
                await self._lose(partner, self.lead)
                return
            if other.won:
                await self._lose(self.lead, partner, blame=True)
                self._take_over(partner)
                yield self._started(partner)
                return
            if lead.failed and isinstance(lead.error, errors.ProviderError):
                from chatdesk.failover import policy

                if policy.decide(lead.error).action is policy.Action.STOP:
                    await self._lose(partner, self.lead)
                    return  # the router stops the answer, as it would without a hedge
                failed, _ = self.host._failed(self.lead, lead.error, self.progress)
                self._ended.add(self.lead.id)
                self._take_over(partner)
                yield failed
                yield ev.Switched(self.lead.name, partner.name, failed.summary(),
                                  partner.continuing)
                yield self._started(partner)
                return
            if other.failed and isinstance(other.error, errors.ProviderError):
                # Recorded (and counted in the provider's health); the lead goes on alone.
                self.host._failed(partner, other.error, self.progress)
                self._ended.add(partner.id)
                self.partner_done = True
                return
            if lead.failed:  # not a provider failure (a bug): the lead's stream raises it
                await self._lose(partner, self.lead)
                return
            if other.failed:
                log.error("%s failed alongside %s: %r", partner.name, self.lead.name,
                          other.error)
                self._finish_lost(partner, None)
                self.partner_done = True
                return
            self._changed.clear()
            await self._changed.wait()

    def _take_over(self, partner: _Attempt) -> None:
        self.survivor = partner
        self.partner_done = True

    @staticmethod
    def _started(attempt: _Attempt) -> ev.AttemptStarted:
        return ev.AttemptStarted(attempt.name, attempt.candidate.model, attempt.id,
                                 attempt.answer_id, attempt.continuing)

    async def _lose(self, loser: _Attempt, winner: _Attempt, *, blame: bool = False) -> None:
        """Cancel the loser and record it: cancelled, having lost the hedge. `blame`: it was
        the lead, which gave nothing within its deadline and then the partner's time to
        first token: a failure to answer in time for its health (it cools down, as a
        first-token timeout would)."""
        await self._pumps[loser.id].close()
        self._finish_lost(loser, winner.name)
        if blame:
            error = errors.FirstTokenTimeout(
                wording.no_first_token(self.deadline.seconds, winner.name), provider=loser.name)
            self.host.health.record_failure(loser.name, error)

    def _finish_lost(self, loser: _Attempt, winner: str | None) -> None:
        loser.writer.cancel_timer()
        self.host.store.finish_attempt(
            loser.id, outcome=AttemptOutcome.CANCELLED,
            error_class=LOST_HEDGE if winner else None,
            error_message=wording.lost_hedge(winner) if winner else None,
            streamed_text=loser.writer.own_text)
        self._ended.add(loser.id)

    def abandon(self) -> _Attempt:
        """The answer was stopped (the user, or the app closing): every stream is cancelled
        and each attempt other than the survivor is recorded as cancelled. Returns the
        survivor, which the router finishes."""
        for pump in self._pumps.values():
            pump.cancel()
        for attempt in (self.lead, self.partner):
            if attempt is not None and attempt is not self.survivor \
                    and attempt.id not in self._ended:
                self._finish_lost(attempt, None)
        return self.survivor
