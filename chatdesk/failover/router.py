"""One whole answer across providers: tries each in order, carries partial text over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from chatdesk import events as ev
from chatdesk.failover import policy
from chatdesk.failover.health import HealthBook
from chatdesk.providers import errors
from chatdesk.providers.base import ChatRequest, Finished, Message, Provider, TextDelta, Usage
from chatdesk.settings import ProviderSettings
from chatdesk.store import AttemptOutcome, HealthState, HistoryStore, MessageStatus


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
        self.cancel_timer()
        own = self.own_text
        self.store.update_message_content(self.answer_id, self.prefix + own)
        self.store.update_attempt_text(self.attempt_id, own)

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class Router:
    """Gets one whole answer for a turn, failing over as the policy decides."""

    def __init__(
        self,
        store: HistoryStore,
        health: HealthBook,
        build_provider: Callable[[ProviderSettings], Provider],
        max_tokens: Callable[[ProviderSettings], int] = lambda s: s.max_tokens,
        monotonic: Callable[[], float] = time.monotonic,
        flush_interval_s: float = 0.25,
    ) -> None:
        self.store = store
        self.health = health
        self.build_provider = build_provider
        self.max_tokens = max_tokens
        self.monotonic = monotonic
        self.flush_interval_s = flush_interval_s

    async def answer(self, turn: Turn, candidates: list[Candidate]) -> AsyncIterator[ev.ChatEvent]:
        kept = ""  # answer text so far, from failed attempts that a backup may continue
        answer_id: int | None = None
        previous_attempt: int | None = None
        last_failure: ev.AttemptFailed | None = None
        reasons: list[str] = []

        for candidate in candidates:
            name = candidate.name
            state = self.health.get(name)
            if state.state == HealthState.NO_KEY:
                reasons.append(f"{name}: key rejected (fix it with: chatdesk keys set {name})")
                continue
            if state.state == HealthState.DOWN:
                reasons.append(f"{name} cooling down ({_left(state.seconds_left)} left)")
                continue
            try:
                provider = self.build_provider(candidate.settings)
            except errors.MissingKey as exc:
                reasons.append(f"{name}: {exc}")
                continue

            continuing = bool(kept) and provider.supports_prefill
            if kept and not continuing:
                kept = ""
                yield ev.Restarted(name)
            # Prefills may not end in white space (Anthropic rejects them); the
            # continuation brings its own leading space.
            shown_ws = kept[len(kept.rstrip()):] if continuing else ""
            kept = kept.rstrip() if continuing else kept

            if last_failure is not None:
                why = last_failure.summary()
                yield ev.Switched(last_failure.provider, name, why, continuing)
            if answer_id is None:
                answer_id = self.store.add_message(
                    turn.conversation_id, "assistant", "", status=MessageStatus.PARTIAL,
                    provider=name, model=candidate.model,
                ).id
            else:
                self.store.update_message_content(answer_id, kept)
            attempt_id = self.store.start_attempt(
                answer_id, name, candidate.model,
                continued_from=previous_attempt if continuing else None,
            )
            previous_attempt = attempt_id
            yield ev.AttemptStarted(name, candidate.model, attempt_id, answer_id, continuing)

            messages = list(turn.history)
            if continuing:
                messages.append(Message("assistant", kept))
            request = ChatRequest(messages, candidate.model, turn.system,
                                  self.max_tokens(candidate.settings))
            writer = _AnswerWriter(self.store, answer_id, attempt_id, kept,
                                   self.flush_interval_s)
            usage = Usage()
            reason: str | None = None
            started = self.monotonic()
            try:
                async for event in provider.stream(request):
                    if isinstance(event, TextDelta):
                        text = event.text
                        if not writer.parts:
                            yield ev.FirstToken(name, self.monotonic() - started)
                            if shown_ws:
                                shown = text.lstrip() if text[:1].isspace() else text
                                writer.add(text)
                                if shown:
                                    yield ev.TextChunk(shown)
                                continue
                        writer.add(text)
                        yield ev.TextChunk(text)
                    elif isinstance(event, Usage):
                        usage = Usage(event.input_tokens or usage.input_tokens,
                                      event.output_tokens or usage.output_tokens)
                    elif isinstance(event, Finished):
                        reason = event.reason
            except errors.ProviderError as exc:
                writer.cancel_timer()
                own = writer.own_text
                self.store.finish_attempt(
                    attempt_id, outcome=AttemptOutcome.FAILED, error_class=exc.kind,
                    error_message=exc.message, http_status=exc.status, streamed_text=own,
                )
                self.store.update_message_content(answer_id, kept + own)
                decision = self.health.record_failure(name, exc)
                last_failure = ev.AttemptFailed(
                    name, candidate.model, exc.kind, exc.message, exc.status, own,
                    exc.retry_after,
                )
                yield last_failure
                kept += own
                reasons.append(last_failure.summary())
                if decision.action is policy.Action.STOP:
                    self.store.finish_message(
                        answer_id, content=kept, status=MessageStatus.FAILED, provider=name,
                        model=candidate.model,
                    )
                    yield ev.AnswerStopped(turn.conversation_id, answer_id,
                                           f"{name}: {exc.message}. {decision.advice}")
                    return
                continue
            except (asyncio.CancelledError, GeneratorExit):
                writer.cancel_timer()
                own = writer.own_text
                self.store.finish_attempt(attempt_id, outcome=AttemptOutcome.CANCELLED,
                                          streamed_text=own)
                text = kept + own
                self.store.finish_message(
                    answer_id, content=text,
                    status=MessageStatus.PARTIAL if text else MessageStatus.FAILED,
                    provider=name, model=candidate.model,
                )
                raise
            writer.cancel_timer()
            own = writer.own_text
            content = kept + own
            self.store.finish_attempt(attempt_id, outcome=AttemptOutcome.OK, streamed_text=own)
            self.store.finish_message(
                answer_id, content=content, status=MessageStatus.COMPLETE, provider=name,
                model=candidate.model, input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens, finish_reason=reason,
            )
            self.health.record_success(name)
            yield ev.AnswerFinished(
                turn.conversation_id, answer_id, name, candidate.model, content, reason,
                usage.input_tokens, usage.output_tokens,
            )
            return

        if answer_id is not None:
            self.store.finish_message(answer_id, content=kept, status=MessageStatus.FAILED,
                                      provider=None, model=None)
        self.store.set_message_status(turn.user_message_id, MessageStatus.PENDING)
        detail = "; ".join(reasons) if reasons else "no provider is configured"
        yield ev.AnswerPending(turn.conversation_id, turn.user_message_id,
                               f"every provider failed ({detail})")


def _left(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
