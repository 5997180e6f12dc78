"""What every wire protocol shares: the request, the event model and the streaming loop."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx
import httpx_sse
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from chatdesk.capabilities import Capabilities
from chatdesk.parts import PDF_TYPE, Attachment, PartKind
from chatdesk.providers import errors

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One turn of a conversation as every protocol sees it: its text, and the files attached
    to it (each protocol sends them in its own format)."""

    role: Role
    content: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class ChatRequest:
    """A whole conversation to answer. A trailing assistant message is a prefill to continue."""

    messages: list[Message]
    model: str
    system: str | None = None
    max_tokens: int = 4096
    temperature: float | None = None


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    """Reasoning the model shows before its answer: not part of the answer, but proof that
    the model is working, so it counts against the stall deadline, not the first-token one."""

    text: str


@dataclass(frozen=True)
class RefusalDelta:
    """The model declining to answer, in its own words (OpenAI's `delta.refusal`): the
    provider's reply, kept and shown, but not the answer that was asked for."""

    text: str


@dataclass(frozen=True)
class Usage:
    """Token counts as billed. `input_tokens` counts every prompt token, the ones read from
    the provider's cache included (`cached_input_tokens` of them); `output_tokens` every
    generated one, thinking included (`reasoning_tokens` of them). None: not reported."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None

    def updated(self, later: Usage) -> Usage:
        """These counts with a later report's: its counts win, a count it lacks is kept
        (0 is a count)."""
        return Usage(*(mine if theirs is None else theirs
                       for mine, theirs in zip(dataclasses.astuple(self),
                                               dataclasses.astuple(later), strict=True)))


@dataclass(frozen=True)
class Finished:
    """The terminal event; `reason` is the provider's own word (end_turn, stop, STOP, length…).
    `refused`: the provider refused or blocked the answer (set by `Provider.stream`)."""

    reason: str | None = None
    refused: bool = False


ProviderEvent = TextDelta | ThinkingDelta | RefusalDelta | Usage | Finished
# The events that show the provider is working on the answer (activity for the deadlines).
ACTIVITY = (TextDelta, ThinkingDelta, RefusalDelta)


@dataclass(frozen=True)
class ModelInfo:
    id: str
    display_name: str | None = None


@dataclass(frozen=True)
class Timeouts:
    """The three deadlines of the outage policy, in seconds."""

    connect_s: float = 10.0
    first_token_s: float = 60.0
    stall_s: float = 30.0


@dataclass(frozen=True)
class Endpoint:
    """Where and how a provider entry is reached."""

    name: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    allow_insecure_http: bool = False  # the key may travel over http:// off this machine
    # The temperature asked for when a request names none (a preset's); None: the model's.
    temperature: float | None = None


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request as a protocol module builds it."""

    method: str
    url: str
    headers: dict[str, str]
    json_body: dict[str, Any] | None = None


class Provider(ABC):
    """One provider entry speaking one wire protocol over a shared `httpx.AsyncClient`.

    Subclasses only translate: `build_chat_call` turns a `ChatRequest` into HTTP, and
    `parse_stream` turns the response into events. This class sends, enforces the
    deadlines, classifies failures and checks that the stream ended with its terminal
    event. It never retries: what happens after a failure is the failover layer's call.
    """

    protocol: ClassVar[str]
    default_base_url: ClassVar[str]

    def __init__(
        self,
        endpoint: Endpoint,
        client: httpx.AsyncClient,
        timeouts: Timeouts = Timeouts(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.client = client
        self.timeouts = timeouts
        self.clock = clock

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url.rstrip("/")

    @property
    def supports_prefill(self) -> bool:
        """Whether this entry's API continues a trailing assistant message (the text kept
        from a failed attempt) instead of answering afresh. Per entry, not per protocol:
        of the OpenAI-compatible services some continue and some do not (see
        docs/continuation.md)."""
        return False

    @property
    def echoes_prefill(self) -> bool:
        """Whether a continuation's stream starts by repeating the prefill it was sent
        (Mistral's does); `stream` then drops that repeat (see `without_echo`)."""
        return False

    # -- what each protocol module provides -------------------------------------------

    @abstractmethod
    def build_chat_call(self, request: ChatRequest) -> HttpCall:
        """The streaming HTTP request for this conversation, in this protocol's format."""

    @abstractmethod
    def parse_stream(self, response: httpx.Response) -> AsyncIterator[ProviderEvent]:
        """Events from a 200 response; raises `errors.ProviderError` for in-stream errors."""

    @abstractmethod
    def build_models_call(self) -> HttpCall:
        """The HTTP request that lists this provider's models."""

    @abstractmethod
    def parse_models(self, payload: Any) -> list[ModelInfo]:
        """Models from the decoded JSON of the models listing."""

    def build_capabilities_call(self, model: str) -> HttpCall | None:
        """The request that asks this provider what `model` takes, where that is cheap
        (one small call); None: it reports nothing (the catalog and settings decide)."""
        return None

    def parse_capabilities(self, payload: Any, model: str) -> Capabilities:
        """What the answer to `build_capabilities_call` says of `model`."""
        return Capabilities()

    # -- the shared machinery ---------------------------------------------------------

    async def report_capabilities(self, model: str, timeout_s: float) -> Capabilities | None:
        """What this provider reports of `model`: empty when it reports nothing (no such
        question, an error status, an answer that cannot be read); None when it could not
        be asked (the connection failed: ask again another time). A report is a help,
        never a reason to fail."""
        call = self.build_capabilities_call(model)
        if call is None:
            return Capabilities()
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, self.timeouts.connect_s))
        try:
            response = await self.client.request(
                call.method, call.url, headers=call.headers, json=call.json_body,
                timeout=timeout)
        except (httpx.HTTPError, OSError):
            return None
        if response.status_code != 200:
            return Capabilities()
        try:
            return self.parse_capabilities(response.json(), model)
        except _UNREADABLE:
            return Capabilities()

    def _httpx_timeout(self, reads: bool = True) -> httpx.Timeout:
        """httpx's timeouts; `reads=False` for a stream: the first-token and stall deadlines
        bound its reads, on events (keep-alive pings would reset a socket timer), and a
        read timeout of httpx's own armed one more timer for every chunk."""
        t = self.timeouts
        return httpx.Timeout(
            connect=t.connect_s, read=max(t.first_token_s, t.stall_s) + 5 if reads else None,
            write=t.connect_s, pool=t.connect_s,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        """Stream one answer. Cancelling the consumer closes the connection at once.

        The first-token deadline runs from the moment the request is sent until the first
        non-empty text, whatever else arrives meanwhile (headers, usage, empty deltas).
        """
        if request.temperature is None and self.endpoint.temperature is not None:
            request = dataclasses.replace(request, temperature=self.endpoint.temperature)
        call = self.build_chat_call(request)
        loop = asyncio.get_running_loop()
        first_deadline = loop.time() + self.timeouts.first_token_s
        try:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    async with asyncio.timeout_at(first_deadline):
                        response = await stack.enter_async_context(self.client.stream(
                            call.method, call.url, headers=call.headers, json=call.json_body,
                            timeout=self._httpx_timeout(reads=False),
                        ))
                except TimeoutError:
                    raise self._first_token_timeout() from None
                if response.status_code != 200:
                    try:
                        async with asyncio.timeout(self.timeouts.stall_s):
                            body = await _read_error_body(response)
                    except TimeoutError:
                        body = ""  # the status says what went wrong; its body never came
                    raise errors.classify_response(
                        response.status_code, response.headers, body, self.name
                    )
                events = self._guarded(self.parse_stream(response), first_deadline)
                prefill = prefill_of(request) if self.echoes_prefill else None
                if prefill:
                    events = without_echo(events, prefill)
                async for event in events:
                    yield event
        except errors.ProviderError:
            raise
        except httpx.HTTPError as exc:
            raise errors.classify_transport(exc, self.name) from None
        except OSError as exc:
            raise errors.ConnectionFailed(f"connection failed: {exc}", provider=self.name) from None

    def _first_token_timeout(self) -> errors.FirstTokenTimeout:
        return errors.FirstTokenTimeout(
            f"no answer within {self.timeouts.first_token_s:g} s", provider=self.name
        )

    async def _guarded(
        self, events: AsyncIterator[ProviderEvent], first_deadline: float | None = None
    ) -> AsyncIterator[ProviderEvent]:
        """Apply the first-token and stall deadlines, require a terminal event and judge it.

        Before the first activity (text, reasoning or a refusal) the deadline is fixed
        (`first_deadline`); after it, each event that carries something (not an empty
        delta) restarts the stall deadline. A terminal event that is not an answer (an
        error finish, nothing at all) raises as `errors.judge_ending` says.
        """
        loop = asyncio.get_running_loop()
        if first_deadline is None:
            first_deadline = loop.time() + self.timeouts.first_token_s
        deadline = first_deadline
        iterator = aiter(events)
        seen: set[type] = set()
        finished = False
        watch = _Deadline(loop)
        try:
            while True:
                try:
                    async with asyncio.timeout(None) as scope:
                        watch.start(scope, deadline)
                        try:
                            event = await anext(iterator)
                        finally:
                            watch.stop()
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    if seen:
                        raise errors.StallTimeout(
                            f"no data for {self.timeouts.stall_s:g} s in the middle of the answer",
                            provider=self.name,
                        ) from None
                    raise self._first_token_timeout() from None
                except _UNREADABLE as exc:
                    raise errors.MalformedStream(
                        f"the stream could not be read: {exc}", provider=self.name
                    ) from None
                event = self._well_typed(event)
                if isinstance(event, ACTIVITY):
                    if not event.text:
                        continue
                    seen.add(type(event))
                if isinstance(event, Finished):
                    refused = errors.judge_ending(
                        event.reason, answered=TextDelta in seen,
                        refused=event.refused or RefusalDelta in seen,
                        reasoned=ThinkingDelta in seen, provider=self.name)
                    event = Finished(event.reason, refused)
                    finished = True
                yield event
                if finished:
                    break
                if seen:
                    deadline = loop.time() + self.timeouts.stall_s
        finally:
            watch.close()
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()
        if not finished:
            raise errors.TruncatedStream(
                "the stream ended before the answer was complete", provider=self.name
            )

    def _well_typed(self, event: ProviderEvent) -> ProviderEvent:
        """The event as the rest of chatdesk may trust it. Text must be text (else the
        stream is malformed); a token count or finish reason of another type is dropped,
        not worth failing a good answer for."""
        if isinstance(event, ACTIVITY):
            if not isinstance(event.text, str):
                raise errors.MalformedStream(
                    f"the stream could not be read: text of type {type(event.text).__name__}",
                    provider=self.name)
        elif isinstance(event, Usage):
            return Usage(_count(event.input_tokens), _count(event.output_tokens),
                         _count(event.cached_input_tokens), _count(event.reasoning_tokens))
        elif isinstance(event, Finished) and not isinstance(event.reason, str | None):
            return Finished(None, event.refused)
        return event

    async def list_models(self) -> list[ModelInfo]:
        """The models this provider offers, for pickers."""
        call = self.build_models_call()
        try:
            response = await self.client.request(
                call.method, call.url, headers=call.headers, timeout=self._httpx_timeout()
            )
        except httpx.HTTPError as exc:
            raise errors.classify_transport(exc, self.name) from None
        if response.status_code != 200:
            raise errors.classify_response(
                response.status_code, response.headers, response.text, self.name
            )
        try:
            return self.parse_models(response.json())
        except _UNREADABLE as exc:
            raise errors.MalformedStream(
                f"the model list could not be read: {exc}", provider=self.name
            ) from None


# What parsing a stream whose events hold values of unexpected types or shapes raises (a
# string where an object belongs: AttributeError; nesting too deep: RecursionError).
_UNREADABLE = (ValueError, LookupError, TypeError, AttributeError, RecursionError)


def _count(value: object) -> int | None:
    """A token count, or None for anything that is not a whole number >= 0."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


@dataclass(frozen=True)
class SseEvent:
    """One server-sent event; `at_eof`: dispatched by the end of the stream, not by the
    blank line after it (its data may be cut short)."""

    event: str
    data: str
    at_eof: bool = False


_SSE_FIELDS = frozenset({"data", "event", "id", "retry"})


async def sse_events(response: httpx.Response, provider: str) -> AsyncIterator[SseEvent]:
    """The events of an SSE response, read as the official SDKs read them.

    The last event counts even without its blank line. Lines outside SSE framing (Gemini
    appends a pretty-printed `{"error": {...}}` to a failing stream) are gathered, and at
    the end raise the error they describe. Raises httpx_sse.SSEError for a response that
    is not an event stream.
    """
    content_type = response.headers.get("content-type", "").partition(";")[0]
    if "text/event-stream" not in content_type:
        raise httpx_sse.SSEError(
            f"expected Content-Type text/event-stream, got {content_type!r}")
    lines, decoder = SSELineDecoder(), SSEDecoder()
    stray: list[str] = []

    def events_of(texts: list[str]) -> list[SseEvent]:
        found = []
        for line in texts:
            if line and not line.startswith(":") and line.partition(":")[0] not in _SSE_FIELDS:
                stray.append(line)
                continue
            sse = decoder.decode(line)
            if sse is not None:
                found.append(SseEvent(sse.event, sse.data))
        return found

    async for text in response.aiter_text():
        for event in events_of(lines.decode(text)):
            yield event
    for event in events_of(lines.flush()):
        yield event
    last = decoder.decode("")  # an event the stream ended without dispatching
    if last is not None:
        yield SseEvent(last.event, last.data, at_eof=True)
    if stray:
        error = errors.classify_unframed(" ".join(stray), provider)
        if error is not None:
            raise error


def sse_json(sse: SseEvent) -> Any:
    """The JSON of an event's data; None when the stream was cut inside its last event
    (a truncated stream, not a malformed one)."""
    try:
        payload = json.loads(sse.data)
    except ValueError:
        if sse.at_eof:
            return None
        raise
    if not isinstance(payload, dict):
        raise ValueError(f"expected an object, got {errors.excerpt(sse.data)!r}")
    return payload


class _Deadline:
    """The deadline of a stream's next read, kept with one timer: the deadline moves with
    every event at no cost (a timer per chunk left thousands waiting in Qt's timer list,
    then as garbage); a timer that rings before the deadline is set again for it. Only a
    read in progress (between `start` and `stop`) is ever timed out."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.when = 0.0
        self.scope: asyncio.Timeout | None = None
        self.timer: asyncio.Handle | None = None  # qasync's timers are plain Handles
        self.timer_at = 0.0

    def start(self, scope: asyncio.Timeout, when: float) -> None:
        self.scope, self.when = scope, when
        if self.timer is not None and self.timer_at > when:
            self.timer.cancel()  # the deadline came nearer (the first token's, then a stall's)
            self.timer = None
        if self.timer is None:
            self._set(when)

    def stop(self) -> None:
        self.scope = None

    def close(self) -> None:
        self.scope = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _set(self, when: float) -> None:
        self.timer, self.timer_at = self.loop.call_at(when, self._ring), when

    def _ring(self) -> None:
        self.timer = None
        now = self.loop.time()
        if now < self.when:
            self._set(self.when)
        elif self.scope is not None:
            self.scope.reschedule(now)  # the read in progress ends with TimeoutError
        # else: between reads; the next read's start sets the timer again


async def _read_error_body(response: httpx.Response) -> str:
    """The body of an error response, bounded so a hostile server cannot flood memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > 64_000:
            break
    return b"".join(chunks).decode("utf-8", errors="replace")


# -- prefills ---------------------------------------------------------------------------
# The one rule for continuing a partial answer: a prefill may not end in white space
# (Anthropic rejects it), so its trailing white space is cut before it is sent; the
# continuation brings its own leading space. The text already shown kept that white space,
# so the continuation's leading white space is not shown again.


def trim_prefill(text: str) -> tuple[str, str]:
    """(the prefill as it may be sent, the white space cut from its end)."""
    sent = text.rstrip()
    return sent, text[len(sent):]


def shown_continuation(cut: str, text: str) -> str:
    """The first text of a continuation as shown after the prefill, which was shown with
    the white space `cut` from it: without a repeat of that space."""
    return text.lstrip() if cut and text[:1].isspace() else text


def prefill_of(request: ChatRequest) -> str | None:
    """The prefill a request asks to continue, as it is sent (cut by `trim_prefill`): the
    trailing assistant message after at least one other turn; None when there is none or
    nothing is left of it."""
    messages = request.messages
    if len(messages) < 2 or messages[-1].role != "assistant":
        return None
    return trim_prefill(messages[-1].content)[0] or None


async def without_echo(events: AsyncIterator[ProviderEvent],
                       prefill: str) -> AsyncIterator[ProviderEvent]:
    """A continuation's events without the repeat of its prefill at the start of its text.

    Text is held back while it could still be that repeat; once it is the whole prefill,
    the rest goes on as the continuation. Text that turns out not to repeat the prefill
    is passed on whole, so a server that does not repeat it loses nothing. Other events
    (reasoning, usage, the finish) pass at once; the held text goes before a finish.
    """
    held = ""
    matching = True
    async for event in events:
        if matching and isinstance(event, TextDelta):
            held += event.text
            if prefill.startswith(held):
                continue  # still all a repeat of the prefill (or its beginning)
            matching = False
            rest = held[len(prefill):] if held.startswith(prefill) else held
            held = ""
            if rest:
                yield TextDelta(rest)
            continue
        if matching and isinstance(event, Finished) and held and held != prefill:
            matching = False
            yield TextDelta(held)  # it ended on a beginning of the prefill: that was text
        yield event


# Anthropic and Gemini want the first turn to be the user's.
LEADING_USER_TURN = "(start of conversation)"


def split_system(request: ChatRequest) -> tuple[str | None, list[Message]]:
    """(system prompt, turns) for APIs that take the system prompt apart: system turns in
    the history join it, empty turns are dropped (such APIs reject empty text), same-role
    turns are merged and the first turn is made a user turn. A turn with attachments is
    never empty; a system turn's attachments go in a user turn of their own."""
    system_parts = [request.system] if request.system else []
    turns: list[Message] = []
    for message in request.messages:
        if message.role == "system":
            if message.content.strip():
                system_parts.append(message.content)
            if message.attachments:
                turns.append(Message("user", "", message.attachments))
        elif message.content.strip() or message.attachments:
            turns.append(message)
    turns = merge_consecutive(turns)
    if turns and turns[0].role == "assistant":
        turns.insert(0, Message("user", LEADING_USER_TURN))
    return ("\n\n".join(system_parts) if system_parts else None), turns


def merge_consecutive(messages: list[Message], separator: str = "\n\n") -> list[Message]:
    """Join consecutive turns of the same role (for APIs that require alternation), with
    the attachments of both in order."""
    merged: list[Message] = []
    for message in messages:
        if merged and merged[-1].role == message.role:
            before = merged[-1]
            text = separator.join(t for t in (before.content, message.content) if t) \
                if before.attachments or message.attachments else \
                before.content + separator + message.content
            merged[-1] = Message(message.role, text, before.attachments + message.attachments)
        else:
            merged.append(message)
    return merged


# -- attachments ------------------------------------------------------------------------
# What every protocol shares about the parts of a message. Images and PDFs go in each API's
# own format (its module); a text file goes as text with its name (`file_text`). A PDF sent
# to a model that cannot read PDFs goes as its extracted text: the router replaces it with
# `as_extracted_text(pdf)` (chatdesk/failover/capability_check.py). Attachments on an
# assistant turn (an imported answer's image) go as text notes (`as_note`): the APIs take
# images and documents from the user only.


def b64(data: bytes) -> str:
    """The standard base64 (with padding) every API takes for inline bytes."""
    return base64.b64encode(data).decode("ascii")


def data_url(attachment: Attachment) -> str:
    """`data:<media type>;base64,<bytes>` (OpenAI's image_url and file_data)."""
    return f"data:{attachment.media_type};base64,{b64(attachment.data)}"


def as_extracted_text(pdf: Attachment) -> Attachment:
    """A PDF as its extracted text, for a model that cannot read PDFs: a text file with the
    PDF's name and media type (so `file_text` says where the text came from)."""
    return dataclasses.replace(pdf, kind=PartKind.TEXT_FILE, text=pdf.text or "")


def is_extracted_pdf(attachment: Attachment) -> bool:
    """Whether this text part is a PDF's extracted text (see `as_extracted_text`)."""
    return attachment.kind is PartKind.TEXT_FILE and attachment.media_type == PDF_TYPE


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in `text` (at least three)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def file_text(attachment: Attachment) -> str:
    """A text file as the model reads it: 'File: notes.md', then its text in a fence.
    A PDF's extracted text says so: 'File: report.pdf (the text of the PDF)'."""
    text = attachment.text
    if text is None:
        text = attachment.data.decode("utf-8", errors="replace")
    label = f"File: {attachment.name}"
    if is_extracted_pdf(attachment):
        label += " (the text of the PDF)"
    fence = _fence(text)
    return f"{label}\n{fence}\n{text}\n{fence}"


def as_note(attachment: Attachment) -> str:
    """An attachment as text, where its API takes no such part: a text file (or a PDF's
    text) whole, an image or a PDF named in brackets."""
    if attachment.kind is PartKind.TEXT_FILE:
        return file_text(attachment)
    if attachment.kind is PartKind.DOCUMENT and attachment.text:
        return file_text(as_extracted_text(attachment))
    word = "image" if attachment.kind is PartKind.IMAGE else "PDF"
    return f"[{word}: {attachment.name}]"


def with_notes(message: Message) -> str:
    """A turn's text with its attachments as notes in front (for assistant turns, and for
    APIs that take no part of that kind)."""
    return "\n\n".join([as_note(a) for a in message.attachments] +
                         ([message.content] if message.content else []))
