"""ChatBridge: runs ChatService calls as asyncio tasks and re-emits their events as Qt signals."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from chatdesk import events as ev
from chatdesk.providers import errors
from chatdesk.wording import unexpected

log = logging.getLogger("chatdesk.ui.bridge")

# Which typed signal each event goes out on (besides the catch-all `event`).
_SIGNAL_OF: dict[type, str] = {
    ev.MessageSaved: "messageSaved",
    ev.AttemptStarted: "attemptStarted",
    ev.FirstToken: "firstToken",
    ev.Restarted: "restarted",
    ev.AttemptFailed: "attemptFailed",
    ev.Switched: "switched",
    ev.AnswerFinished: "answerFinished",
    ev.AnswerPending: "answerPending",
    ev.AnswerStopped: "answerStopped",
}


class ChatBridge(QObject):
    """The one place the UI reaches the network. One answer runs at a time; widgets call
    `send`/`retry_pending`/`stop` and listen to the signals, never awaiting anything."""

    event = Signal(object)  # every ChatEvent, in order
    messageSaved = Signal(object)
    attemptStarted = Signal(object)
    firstToken = Signal(object)
    textChunk = Signal(str)
    restarted = Signal(object)
    attemptFailed = Signal(object)
    switched = Signal(object)
    answerFinished = Signal(object)
    answerPending = Signal(object)
    answerStopped = Signal(object)  # also sent (cancelled=True) when stop() ends an answer
    failed = Signal(str)  # an unexpected problem, as a sentence for people
    busyChanged = Signal(bool)
    runFinished = Signal(str, int)  # kind ("send" | "retry"), answers finished in the run
    modelsLoaded = Signal(str, object)  # provider name, list[str]
    modelsFailed = Signal(str, str)  # provider name, sentence

    def __init__(self, service_factory: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = service_factory
        self._service: Any = None
        self._task: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._status_task: asyncio.Task[None] | None = None
        self._retired: list[Any] = []  # services replaced while an answer was running
        self._closing: set[asyncio.Task[None]] = set()
        self.conversation_id: int | None = None  # of the answer running now
        self.answer_id: int | None = None
        self.live_text = ""  # the running answer's text so far, as shown

    # -- state ----------------------------------------------------------------------------

    @property
    def service(self) -> Any:
        if self._service is None:
            self._service = self._factory()
        return self._service

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def replace_service(self, factory: Callable[[], Any]) -> None:
        """Use a new ChatService (settings or keys changed); the old one is closed when idle."""
        self._factory = factory
        old, self._service = self._service, None
        if old is not None:
            self._retired.append(old)
        watching = self._status_task is not None and not self._status_task.done()
        if watching:  # the watcher uses the old service's client and provider list
            self._status_task.cancel()
            self._status_task = None
        if not self.busy:
            self._close_retired()
        if watching:
            self.watch_status_pages()

    def _close_retired(self) -> None:
        while self._retired:
            task = self._spawn(self._retired.pop().aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    # -- commands -------------------------------------------------------------------------

    def send(self, text: str, conversation_id: int | None = None, *,
             providers: list[str] | None = None, model: str | None = None,
             system: str | None = None) -> bool:
        """Start sending; False (and nothing happens) while another answer is running."""
        if self.busy:
            return False
        try:
            stream = self.service.send(text, conversation_id, providers=providers, model=model,
                                       system=system)
        except Exception as exc:  # building the service can fail on bad settings
            self.failed.emit(_sentence(exc))
            return False
        self.conversation_id = conversation_id
        self._start(stream, "send")
        return True

    def retry_pending(self) -> bool:
        """Send every pending message now; False while another answer is running."""
        if self.busy:
            return False
        try:
            stream = self.service.retry_pending()
        except Exception as exc:
            self.failed.emit(_sentence(exc))
            return False
        self.conversation_id = None
        self._start(stream, "retry")
        return True

    def stop(self) -> bool:
        """Cancel the running answer; the router keeps the partial text in the store."""
        if not self.busy:
            return False
        assert self._task is not None
        self._task.cancel()
        return True

    def fetch_models(self, provider_name: str) -> None:
        """Ask one provider for its models; answers on modelsLoaded / modelsFailed."""
        self._spawn(self._fetch_models(provider_name))

    def watch_status_pages(self) -> None:
        """Read the providers' status pages now and then (in the background); a reported
        major outage marks a provider down before any message fails there."""
        if self._status_task is None or self._status_task.done():
            self._status_task = self._spawn(self._watch_status_pages())

    async def _watch_status_pages(self) -> None:
        from chatdesk.failover.status_page import StatusWatcher

        service = self.service
        watcher = StatusWatcher(service.health, service.settings.ordered_providers(),
                                service.client)
        await watcher.run()

    async def wait_idle(self) -> None:
        """Until the running answer (if any) has ended."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait([task])

    async def shutdown(self) -> None:
        """Stop what runs, wait for it to be stored, and close the network client."""
        self.stop()
        await self.wait_idle()
        self._close_retired()
        for task in list(self._side_tasks):
            if task not in self._closing:  # model lists may go; closing clients must finish
                task.cancel()
        if self._side_tasks:
            await asyncio.wait(list(self._side_tasks))
        if self._service is not None:
            try:
                await self._service.aclose()
            except Exception:  # closing must not stop the app from quitting
                log.exception("closing the chat service failed")
            self._service = None

    # -- internals ------------------------------------------------------------------------

    def _start(self, stream: AsyncIterator[ev.ChatEvent], kind: str) -> None:
        self.answer_id, self.live_text = None, ""
        self._task = asyncio.ensure_future(self._run(stream, kind))
        self.busyChanged.emit(True)

    async def _run(self, stream: AsyncIterator[ev.ChatEvent], kind: str) -> None:
        finished = 0
        try:
            async for event in stream:
                if isinstance(event, ev.AnswerFinished):
                    finished += 1
                self._dispatch(event)
        except asyncio.CancelledError:
            stopped = ev.AnswerStopped(self.conversation_id or 0, self.answer_id,
                                       "You stopped the answer; the text so far is kept.",
                                       cancelled=True)
            self._dispatch(stopped)
        except Exception as exc:
            log.exception("sending failed")
            self.failed.emit(_sentence(exc))
        finally:
            self._task = None
            self._close_retired()
            self.busyChanged.emit(False)
            self.runFinished.emit(kind, finished)

    def _dispatch(self, event: Any) -> None:
        if isinstance(event, ev.MessageSaved):
            self.conversation_id = event.conversation_id
            self.answer_id, self.live_text = None, ""
        elif isinstance(event, ev.AttemptStarted):
            self.answer_id = event.answer_id
        elif isinstance(event, ev.TextChunk):
            self.live_text += event.text
        elif isinstance(event, ev.Restarted):
            self.live_text = ""
        self.event.emit(event)
        if isinstance(event, ev.TextChunk):
            self.textChunk.emit(event.text)
            return
        name = _SIGNAL_OF.get(type(event))
        if name is not None:
            getattr(self, name).emit(event)

    async def _fetch_models(self, name: str) -> None:
        try:
            service = self.service
            provider = service.build_provider(service.provider_settings(name))
            models = await provider.list_models()
        except asyncio.CancelledError:
            raise
        except errors.ProviderError as exc:
            self.modelsFailed.emit(name, f"Could not list the models of {name}: {exc.message}")
        except Exception as exc:
            log.exception("listing models failed")
            self.modelsFailed.emit(name, _sentence(exc))
        else:
            self.modelsLoaded.emit(name, [m.id for m in models])

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
        return task


def install_asyncgen_hooks(loop: asyncio.AbstractEventLoop) -> None:
    """Let the loop finalize async generators dropped half-way (httpx's streams do this).

    asyncio's own run_forever installs these hooks; qasync's does not, and without them a
    collected generator is closed synchronously ("async generator ignored GeneratorExit").
    """
    firstiter = getattr(loop, "_asyncgen_firstiter_hook", None)
    finalizer = getattr(loop, "_asyncgen_finalizer_hook", None)
    if firstiter is not None and finalizer is not None:
        sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=finalizer)


def _sentence(exc: BaseException) -> str:
    """What an unexpected error says to people: its message, and where the details are."""
    return unexpected(exc)
