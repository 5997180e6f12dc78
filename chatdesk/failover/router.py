"""One whole answer across providers: tries each in order, carries partial text over."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chatdesk import events as ev
from chatdesk import wording
from chatdesk.capabilities import Capabilities
from chatdesk.failover import hedge
from chatdesk.failover.capability_check import CapabilityBook, Fit
from chatdesk.failover.health import HealthBook
from chatdesk.providers import errors
from chatdesk.providers.base import (
    ChatRequest,
    Finished,
    Message,
    Provider,
    ProviderEvent,
    RefusalDelta,
    TextDelta,
    ThinkingDelta,
    Usage,
    shown_continuation,
    trim_prefill,
)
from chatdesk.secrets import fingerprint
from chatdesk.settings import ProviderSettings
from chatdesk.store import AttemptOutcome, HealthState, HistoryStore, MessageStatus, StoreError

if TYPE_CHECKING:
    from chatdesk.failover import policy
    from chatdesk.failover.budget import BudgetBook
    from chatdesk.failover.deadline import DeadlineBook
    from chatdesk.failover.keys import KeyBook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """A provider entry and the model to ask for this answer."""

    settings: ProviderSettings
    model: str

    @property
    def name(self) -> str:
        return self.settings.name


@dataclass(frozen=True)
class Turn:
    """What to answer: the conversation up to the user's message, and where it is stored."""

    conversation_id: int
    user_message_id: int
    history: list[Message]
    system: str | None
    answer_at: str | None = None  # the answer's created_at, to place it in the thread; None: now


class _AnswerWriter:
    """Writes a streamed answer to the store as it arrives, at most `interval_s` behind, so a
    crash loses at most that much text. A timer flushes even when the stream goes quiet."""

    def __init__(self, store: HistoryStore, answer_id: int, attempt_id: int, prefix: str,
                 interval_s: float) -> None:
        self.store = store
        self.answer_id = answer_id
        self.attempt_id = attempt_id
        self.prefix = prefix  # text kept from an earlier attempt that this one continues
        self.parts: list[str] = []
        self.interval_s = interval_s
        self._timer: asyncio.TimerHandle | None = None

    @property
    def own_text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> None:
        self.parts.append(text)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self.flush)

    def flush(self) -> None:
        """Save the text so far. A history kept busy by another process (or any store error)
        must not end the answer: the text stays here and the next flush saves all of it."""
        self.cancel_timer()
        own = self.own_text
        try:
            with self.store.transaction():
                self.store.update_message_content(self.answer_id, self.prefix + own)
                self.store.update_attempt_text(self.attempt_id, own)
        except StoreError as exc:
            log.warning("answer %d not saved yet, kept in memory: %s", self.answer_id, exc)
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self.flush)

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


@dataclass
class _Attempt:
    """One provider's try at the answer: its stored rows, what it streamed, how it ended."""

    candidate: Candidate
    provider: Provider
    id: int  # its row in `attempts`
    answer_id: int
    request: ChatRequest
    writer: _AnswerWriter  # its prefix is the text this attempt continues
    continuing: bool  # it continues a failed attempt's text (else it answers afresh)
    cut_space: str  # white space cut from the end of that text (see `trim_prefill`)
    fit: Fit | None = None  # how its model takes the conversation
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    first_token_s: float | None = None  # how long the first token took (None: none came)
    refused: bool = False  # the provider refused or blocked the answer (its text is the reply)
    reasoning: list[str] = field(default_factory=list)  # its thinking, kept apart from the text
    active: bool = False  # anything arrived: text, reasoning or a refusal
    continued_from: int | None = None  # the failed attempt whose text this one continues

    @property
    def name(self) -> str:
        return self.candidate.name

    @property
    def pdfs_as_text(self) -> tuple[str, ...]:
        """The PDFs its model got as their text."""
        return self.fit.pdfs_as_text if self.fit else ()

    @property
    def text(self) -> str:
        """The whole answer so far: the text continued and this attempt's own."""
        return self.writer.prefix + self.writer.own_text


@dataclass
class _Progress:
    """What one answer has gathered across its attempts."""

    turn: Turn
    kept: str = ""  # answer text so far, from failed attempts that a backup may continue
    answer_id: int | None = None
    previous_attempt: int | None = None
    last_failure: ev.AttemptFailed | None = None
    reasons: list[str] = field(default_factory=list)  # why each provider did not answer
    skipped: list[str] = field(default_factory=list)  # the notice of a provider just skipped
    unfit: list[str] = field(default_factory=list)  # reasons: a model could not take it
    hedged: set[int] = field(default_factory=set)  # candidates a hedge asked (not to ask again)


class Router:
    """Gets one whole answer for a turn, failing over as the policy decides."""

    budget: BudgetBook | None = None  # the monthly budgets (None: none are kept)

    def __init__(
        self,
        store: HistoryStore,
        health: HealthBook,
        build_provider: Callable[..., Provider],  # (settings[, key]): key None = its own
        max_tokens: Callable[[ProviderSettings], int] = lambda s: s.max_tokens,
        monotonic: Callable[[], float] = time.monotonic,
        flush_interval_s: float = 0.25,
        deadlines: DeadlineBook | None = None,
        hedging: Callable[[], bool] = lambda: True,
        capabilities: CapabilityBook | None = None,
        keys: KeyBook | None = None,
    ) -> None:
        self.store = store
        self.keys = keys  # the providers' key pools (None: one key each, as before pools)
        self.capabilities = capabilities if capabilities is not None else CapabilityBook()
        self.health = health
        self.build_provider = build_provider
        self.max_tokens = max_tokens
        self.monotonic = monotonic
        self.flush_interval_s = flush_interval_s
        # The learned first-token deadlines (None: every attempt waits the configured
        # timeout), and whether to hedge past them (else: fail over at them).
        self.deadlines = deadlines
        self.hedging = hedging

    async def answer(self, turn: Turn, candidates: list[Candidate], *,
                     force: bool = False) -> AsyncIterator[ev.ChatEvent]:
        """Try each candidate in turn until one answers, a failure stops the answer, or none
        is left (the user's message is then marked pending). `force` (the user's "Send now")
        tries providers that are still cooling down too."""
        progress = _Progress(turn)
        again: list[Provider] = []  # the same provider with its pool's next key
        for index, candidate in _tries(candidates, again):
            next_key = again.pop() if again else None
            if index in progress.hedged and next_key is None:
                continue  # a hedge asked it already: it answered, or failed
            provider = next_key or self._usable(candidate, progress, force)
            if provider is None:
                if progress.skipped:
                    yield ev.Skipped(candidate.name, progress.skipped.pop())
                continue
            fit = await self._fit(candidate, provider, turn)
            if not fit.ok:
                yield self._unfit(candidate, fit, progress)
                continue
            for event in self._switch_to(candidate, provider, progress):
                yield event
            attempt = self._start(candidate, provider, progress, fit)
            yield ev.AttemptStarted(attempt.name, candidate.model, attempt.id, attempt.answer_id,
                                    attempt.continuing, attempt.pdfs_as_text)
            race = hedge.race_for(self, attempt, candidates, index, progress, force)
            # Only the streaming is guarded: a consumer that stops reading at another event
            # leaves the rows as they are at that point. A consumer that stops during the
            # stream lands here (GeneratorExit), so the rows are finished at once; the
            # provider's stream is closed by the event loop as the generators unwind.
            try:
                if race is None:
                    stream = self._stream(attempt)
                else:  # past its learned deadline another provider may be asked too
                    async for event in race.run():
                        yield event
                    attempt = race.survivor
                    progress.previous_attempt = attempt.id
                    if race.partner_done and race.partner_index is not None:
                        progress.hedged.add(race.partner_index)
                    stream = self._stream(attempt, *race.source())
                async for event in stream:
                    yield event
            except errors.ProviderError as exc:
                # The outage policy (chatdesk.failover.policy) loads at the first failure.
                from chatdesk.failover import policy

                failed, decision = self._failed(attempt, exc, progress)
                yield failed
                if decision.action is policy.Action.STOP:
                    yield self._stopped(attempt, exc, decision, progress)
                    return
                if decision.rotate_key and attempt.candidate is candidate:
                    switched = self._next_key(attempt, failed, progress, again)
                    if switched is not None:
                        yield switched
                continue
            except (asyncio.CancelledError, GeneratorExit):
                if race is not None:
                    attempt = race.abandon()
                self._finish(attempt, AttemptOutcome.CANCELLED)
                raise
            # (A hedge's partner may have answered: whom to ask next follows the one that did.)
            yield self._succeeded(attempt, progress, _next_name(candidates, attempt.candidate))
            return
        yield self._pending(progress)

    # -- the steps of one answer, in order ----------------------------------------------------

    def _usable(self, candidate: Candidate, progress: _Progress,
                force: bool = False) -> Provider | None:
        """The provider to try, or None (the reason and a skipped notice noted) when it must
        be skipped: its key is missing or was rejected, or it is cooling down after a failure
        (unless `force`)."""
        name = candidate.name
        spent = self.budget.skip_reason(candidate.settings) if self.budget else None
        if spent:  # this month's budget is spent: skipped like a cooling provider, forced or not
            progress.reasons.append(spent[0])
            progress.skipped.append(spent[1])
            return None
        state = self.health.get(name)
        if state.state in (HealthState.NO_KEY, HealthState.KEY_REJECTED):
            progress.reasons.append(wording.key_unusable(name, state.last_error_class))
            progress.skipped.append(wording.skipped(name, state.state, state.seconds_left,
                                                    state.last_error_class))
            return None
        if state.state == HealthState.DOWN and not force:
            progress.reasons.append(wording.cooling_down(name, state.seconds_left))
            progress.skipped.append(wording.skipped(name, state.state, state.seconds_left,
                                                    state.last_error_class))
            return None
        try:
            if self.keys is None:
                return self.build_provider(candidate.settings)
            choice = self.keys.choose(candidate.settings, force)
            if choice.key is None and choice.waiting_s > 0:  # every key is cooling down
                progress.reasons.append(wording.keys_cooling(name, choice.waiting_s))
                progress.skipped.append(wording.skipped_keys(name, choice.waiting_s))
                return None
            if not choice.pooled:
                return self.build_provider(candidate.settings)
            return self.build_provider(candidate.settings, choice.key)
        except errors.MissingKey as exc:
            progress.reasons.append(str(exc))  # it names the provider and where a key goes
            progress.skipped.append(wording.skipped(name, HealthState.UP, 0.0, None))
            return None

    async def _fit(self, candidate: Candidate, provider: Provider, turn: Turn) -> Fit:
        """Whether this model can take the conversation (capability_check decides)."""
        return await self.capabilities.fit(
            candidate.settings, candidate.model, provider, turn.history, turn.system,
            self.max_tokens(candidate.settings))

    def _fit_now(self, candidate: Candidate, provider: Provider, turn: Turn) -> Fit:
        """Like `_fit`, from what is known now (a hedge's look-ahead asks no provider)."""
        return self.capabilities.fit_now(
            candidate.settings, candidate.model, provider, turn.history, turn.system,
            self.max_tokens(candidate.settings))

    def _unfit(self, candidate: Candidate, fit: Fit, progress: _Progress) -> ev.Skipped:
        """A model that cannot take this conversation is skipped, saying why."""
        why = fit.unfit or ""
        reason = wording.unfit_reason(candidate.name, candidate.model, why)
        progress.reasons.append(reason)
        progress.unfit.append(reason)
        return ev.Skipped(candidate.name,
                          wording.skipped_unfit(candidate.name, candidate.model, why))

    def _switch_to(self, candidate: Candidate, provider: Provider,
                   progress: _Progress) -> Iterator[ev.ChatEvent]:
        """Say how this provider takes over from a failed one: it continues the text kept so
        far where it can, else answers afresh (Restarted)."""
        if progress.kept and not _continues(candidate, provider):
            progress.kept = ""
            yield ev.Restarted(candidate.name)
        if progress.last_failure is not None:
            yield ev.Switched(progress.last_failure.provider, candidate.name,
                              progress.last_failure.summary(), bool(progress.kept))

    def _start(self, candidate: Candidate, provider: Provider,
               progress: _Progress, fit: Fit) -> _Attempt:
        """Store the answer (the first time) and a new attempt at it, and build the request:
        the conversation, plus the text kept so far as a prefill when continuing."""
        continuing = bool(progress.kept)
        progress.kept, cut_space = trim_prefill(progress.kept)
        turn = progress.turn
        if progress.answer_id is None:
            progress.answer_id = self.store.add_message(
                turn.conversation_id, "assistant", "", status=MessageStatus.PARTIAL,
                provider=candidate.name, model=candidate.model, created_at=turn.answer_at,
                parent_id=turn.user_message_id,
            ).id
        else:
            self.store.update_message_content(progress.answer_id, progress.kept)
        attempt_id = self.store.start_attempt(
            progress.answer_id, candidate.name, candidate.model,
            continued_from=progress.previous_attempt if continuing else None,
            key_fingerprint=_fingerprint_of(provider),
        )
        previous = progress.previous_attempt if continuing else None
        progress.previous_attempt = attempt_id
        messages = list(fit.history)  # as this model takes it (PDFs as text where it must)
        if continuing:
            messages.append(Message("assistant", progress.kept))
        request = ChatRequest(messages, candidate.model, turn.system,
                              self.max_tokens(candidate.settings))
        writer = _AnswerWriter(self.store, progress.answer_id, attempt_id, progress.kept,
                               self.flush_interval_s)
        return _Attempt(candidate, provider, attempt_id, progress.answer_id, request, writer,
                        continuing, cut_space, continued_from=previous, fit=fit)

    def _alongside(self, lead: _Attempt, candidate: Candidate, provider: Provider,
                   fit: Fit | None = None) -> _Attempt:
        """A hedge's second attempt, stored: the same answer and request as `lead` (the text
        it continues included), for another provider; `fit`: the conversation as its model
        takes it (the PDFs as their text where it must)."""
        attempt_id = self.store.start_attempt(lead.answer_id, candidate.name, candidate.model,
                                              continued_from=lead.continued_from,
                                              key_fingerprint=_fingerprint_of(provider))
        messages = lead.request.messages
        if fit is not None:
            messages = list(fit.history) + (messages[-1:] if lead.continuing else [])
        request = dataclasses.replace(lead.request, messages=messages, model=candidate.model,
                                      max_tokens=self.max_tokens(candidate.settings))
        writer = _AnswerWriter(self.store, lead.answer_id, attempt_id, lead.writer.prefix,
                               self.flush_interval_s)
        return _Attempt(candidate, provider, attempt_id, lead.answer_id, request, writer,
                        lead.continuing, lead.cut_space, continued_from=lead.continued_from,
                        fit=fit)

    async def _stream(self, attempt: _Attempt, events: AsyncIterator[ProviderEvent] | None = None,
                      started: float | None = None) -> AsyncIterator[ev.ChatEvent]:
        """Run one attempt: stream its provider (or `events`, read from it since `started`),
        yielding FirstToken and TextChunk events and noting usage and finish reason on the
        attempt. A failure raises `errors.ProviderError`; cancellation passes through. The
        caller finishes it."""
        writer = attempt.writer
        started = self.monotonic() if started is None else started
        if events is None:
            events = attempt.provider.stream(attempt.request)
        async for event in events:
            if isinstance(event, TextDelta | ThinkingDelta | RefusalDelta) and not attempt.active:
                # Reasoning is activity too: a model thinking is not a provider hanging.
                attempt.active = True
                attempt.first_token_s = self.monotonic() - started
                yield ev.FirstToken(attempt.name, attempt.first_token_s)
            if isinstance(event, ThinkingDelta):
                attempt.reasoning.append(event.text)
            elif isinstance(event, TextDelta | RefusalDelta):
                # A refusal's words are the provider's reply: kept and shown as its text.
                text = event.text
                if not writer.parts and attempt.cut_space:
                    shown = shown_continuation(attempt.cut_space, text)
                    writer.add(text)
                    if shown:
                        yield ev.TextChunk(shown)
                    continue
                writer.add(text)
                yield ev.TextChunk(text)
            elif isinstance(event, Usage):
                attempt.usage = attempt.usage.updated(event)  # 0 is a count, None is not
            elif isinstance(event, Finished):
                attempt.finish_reason = event.reason
                attempt.refused = event.refused

    def _finish(self, attempt: _Attempt, outcome: AttemptOutcome,
                error: errors.ProviderError | None = None) -> str:
        """How every attempt ends: the writer's timer stops, the attempt's outcome is stored,
        then the answer's text, finished unless the attempt failed (another may go on with
        it). Returns the attempt's own text."""
        attempt.writer.cancel_timer()
        own = attempt.writer.own_text
        self.store.finish_attempt(
            attempt.id, outcome=outcome, error_class=error.kind if error else None,
            error_message=error.message if error else None,
            http_status=error.status if error else None, streamed_text=own,
            first_token_s=attempt.first_token_s,
        )
        text = attempt.text
        if outcome is AttemptOutcome.FAILED:
            self.store.update_message_content(attempt.answer_id, text)
        elif outcome is AttemptOutcome.OK:
            status = MessageStatus.REFUSED if attempt.refused else MessageStatus.COMPLETE
            self._settle(attempt.answer_id, text, status, attempt.candidate,
                         attempt.usage, attempt.finish_reason,
                         "".join(attempt.reasoning) or None)
        else:
            self._settle(attempt.answer_id, text,
                         MessageStatus.PARTIAL if text else MessageStatus.FAILED,
                         attempt.candidate)
        return own

    def _failed(self, attempt: _Attempt, exc: errors.ProviderError,
                progress: _Progress) -> tuple[ev.AttemptFailed, policy.Decision]:
        """A failed attempt: stored, its provider's health updated, its text kept for the
        next one; the policy's decision says whether another provider may try."""
        from chatdesk.failover import policy

        own = self._finish(attempt, AttemptOutcome.FAILED, exc)
        decision = policy.decide(exc)
        used = _fingerprint_of(attempt.provider)
        # A key's own failure with another key of the pool usable: the provider is fine.
        if not (decision.rotate_key and self.keys is not None and used is not None
                and self.keys.record_failure(attempt.candidate.settings, used, exc)):
            decision = self.health.record_failure(attempt.name, exc)
        unproven = attempt.fit.unproven if attempt.fit else None
        if unproven and unproven != Capabilities() and isinstance(exc, errors.BadRequest):
            # Sent images or PDFs it was not known to take: that is what it refused.
            self.capabilities.learn_cannot(attempt.candidate.settings, attempt.candidate.model,
                                           attempt.provider, unproven)
            decision = policy.unproven_parts(exc, decision)
        failed = ev.AttemptFailed(attempt.name, attempt.candidate.model, exc.kind, exc.message,
                                  exc.status, own, exc.retry_after)
        progress.last_failure = failed
        progress.kept += own
        progress.reasons.append(failed.summary())
        return failed, decision

    def _next_key(self, attempt: _Attempt, failed: ev.AttemptFailed, progress: _Progress,
                  again: list[Provider]) -> ev.Switched | None:
        """After a key's own failure: the same provider with its next usable key goes in
        `again` (asked next), and the notice of the switch; None when no other key is
        usable (fail over)."""
        used = _fingerprint_of(attempt.provider)
        if self.keys is None or used is None:
            return None
        choice = self.keys.choose(attempt.candidate.settings)
        if choice.key is None or choice.fingerprint == used:
            return None
        try:
            again.append(self.build_provider(attempt.candidate.settings, choice.key))
        except errors.MissingKey:
            return None
        why = wording.key_failure(attempt.name, used, failed.error_class, failed.status)
        progress.last_failure = None  # said here: no "switching to" the same provider
        return ev.Switched(attempt.name, attempt.name, why, bool(progress.kept),
                           from_key=used, to_key=choice.fingerprint)

    def _stopped(self, attempt: _Attempt, exc: errors.ProviderError, decision: policy.Decision,
                 progress: _Progress) -> ev.AnswerStopped:
        """A failure no other provider would do better with ends the answer."""
        self._settle(attempt.answer_id, progress.kept, MessageStatus.FAILED, attempt.candidate)
        return ev.AnswerStopped(progress.turn.conversation_id, attempt.answer_id,
                                wording.stopped(attempt.name, exc.message, decision.advice))

    def _succeeded(self, attempt: _Attempt, progress: _Progress,
                   next_provider: str | None) -> ev.AnswerFinished:
        """The attempt gave the whole answer (or refused it): stored complete (or refused),
        its provider is up — a refusal is the provider's reply, not an outage."""
        self._finish(attempt, AttemptOutcome.OK)
        self.health.record_success(attempt.name)
        if self.keys is not None:
            self.keys.record_success(attempt.name, _fingerprint_of(attempt.provider))
        usage = attempt.usage
        return ev.AnswerFinished(
            progress.turn.conversation_id, attempt.answer_id, attempt.name,
            attempt.candidate.model, attempt.text, attempt.finish_reason, usage.input_tokens,
            usage.output_tokens, refused=attempt.refused, next_provider=next_provider,
            reasoning="".join(attempt.reasoning), pdfs_as_text=attempt.pdfs_as_text,
        )

    def _pending(self, progress: _Progress) -> ev.AnswerPending:
        """No provider answered: the user's message waits, marked pending."""
        if progress.answer_id is not None:
            self._settle(progress.answer_id, progress.kept, MessageStatus.FAILED, None)
        turn = progress.turn
        self.store.set_message_status(turn.user_message_id, MessageStatus.PENDING)
        unfit_only = progress.unfit and progress.unfit == progress.reasons
        reason = wording.no_provider_can_take(progress.reasons) if unfit_only else \
            wording.every_provider_failed(progress.reasons)
        return ev.AnswerPending(turn.conversation_id, turn.user_message_id, reason)

    def _settle(self, answer_id: int, content: str, status: MessageStatus,
                candidate: Candidate | None, usage: Usage | None = None,
                finish_reason: str | None = None, reasoning: str | None = None) -> None:
        """Store the answer's final text and status, naming who wrote it (None: nobody)."""
        self.store.finish_message(
            answer_id, content=content, status=status,
            provider=candidate.name if candidate else None,
            model=candidate.model if candidate else None,
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            finish_reason=finish_reason, reasoning=reasoning,
            cached_input_tokens=usage.cached_input_tokens if usage else None,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
        )


def _tries(candidates: list[Candidate],
           again: list[Provider]) -> Iterator[tuple[int, Candidate]]:
    """Each candidate in order, and the same one once more while `again` holds a provider
    for it (its pool's next key)."""
    for index, candidate in enumerate(candidates):
        yield index, candidate
        while again:
            yield index, candidate


def _continues(candidate: Candidate, provider: Provider) -> bool:
    """Whether this provider goes on with a partial answer: its API continues a prefill and
    its entry's `continue_partial` is not "never"."""
    return provider.supports_prefill and candidate.settings.continue_partial != "never"


def _next_name(candidates: list[Candidate], current: Candidate) -> str | None:
    """The provider after `current` in this answer's order (whom to ask after a refusal)."""
    names = [c.name for c in candidates]
    after = names[names.index(current.name) + 1:]
    return next((n for n in after if n != current.name), None)


def _fingerprint_of(provider: Provider) -> str | None:
    """The fingerprint of the key a provider sends ('sk-…3f9a'); None when it sends none."""
    key = provider.endpoint.api_key
    return fingerprint(key) if key else None
