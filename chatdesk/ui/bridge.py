"""ChatBridge: runs the chat engine's coroutines on the asyncio loop and emits their events."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from chatdesk.wording import unexpected

if TYPE_CHECKING:
    from chatdesk import events as ev
    from chatdesk.chat import ChatService

log = logging.getLogger("chatdesk.ui.bridge")

class ChatBridge(QObject):
    """Runs the chat engine's coroutines on the asyncio loop (qasync) for the controller: one
    answer at a time, whose events come out in order on `chatEvent`, and side jobs (model
    lists, the settings dialog's probes, status pages) that never block the window."""

    chatEvent = Signal(object)  # every ChatEvent of the answer running, in order
    failed = Signal(str)  # an unexpected problem, as a sentence for people
    busyChanged = Signal(bool)
    runFinished = Signal(str, int)  # kind ("send" | "retry" | "resend"), answers finished

    def __init__(self, service_factory: Callable[[], ChatService],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = service_factory
        self._service: ChatService | None = None
        self._task: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._status_task: asyncio.Task[None] | None = None
        self._retired: list[ChatService] = []  # services replaced while an answer was running
        self._closing: set[asyncio.Task[None]] = set()

    # -- state ----------------------------------------------------------------------------

    @property
    def service(self) -> ChatService:
        if self._service is None:
            self._service = self._factory()
        return self._service

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def replace_service(self, factory: Callable[[], ChatService]) -> None:
        """Use a new ChatService (settings or keys changed); the old one is closed when idle."""
        self._factory = factory
        old, self._service = self._service, None
        if old is not None:
            self._retired.append(old)
        status_task, watching = self._status_task, False
        if status_task is not None and not status_task.done():
            watching = True  # the watcher uses the old service's client and provider list
            status_task.cancel()
            self._status_task = None
        if not self.busy:
            self._close_retired()
        if watching:
            self.watch_status_pages()

    def _close_retired(self) -> None:
        while self._retired:
            task = self.spawn(self._retired.pop().aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    # -- commands -------------------------------------------------------------------------

    def start(self, stream: AsyncIterator[ev.ChatEvent], kind: str) -> bool:
        """Run one answer's (or a retry's) events; False while another one is running."""
        if self.busy:
            return False
        self._task = asyncio.ensure_future(self._run(stream, kind))
        self.busyChanged.emit(True)
        return True

    def stop(self) -> bool:
        """Cancel the running answer; the router keeps the partial text in the store."""
        if not self.busy:
            return False
        assert self._task is not None
        self._task.cancel()
        return True

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a side job (it must word its own failures); cancelled at shutdown."""
        task = asyncio.ensure_future(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
        return task

    def watch_status_pages(self) -> None:
        """Read the providers' status pages now and then (in the background); a reported
        major outage marks a provider down before any message fails there."""
        if self._status_task is None or self._status_task.done():
            self._status_task = self.spawn(self._watch_status_pages())

    async def _watch_status_pages(self) -> None:
        await self.service.watch_status_pages()

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

    async def _run(self, stream: AsyncIterator[ev.ChatEvent], kind: str) -> None:
        # Here, not at the top: the stream's ChatService has loaded them, and the window's
        # start-up does not pay for their 13 dataclasses (~5 ms).
        from chatdesk import events as ev

        finished = 0
        conversation_id, answer_id = 0, None  # of the answer running, for a stop
        try:
            async for event in stream:
                if isinstance(event, ev.MessageSaved):
                    conversation_id, answer_id = event.conversation_id, None
                elif isinstance(event, ev.AttemptStarted):
                    answer_id = event.answer_id
                elif isinstance(event, ev.AnswerFinished):
                    finished += 1
                self.chatEvent.emit(event)
        except asyncio.CancelledError:
            self.chatEvent.emit(ev.AnswerStopped(
                conversation_id, answer_id, "You stopped the answer; the text so far is kept.",
                cancelled=True))
        except Exception as exc:
            log.exception("sending failed")
            self.failed.emit(unexpected(exc))
        finally:
            self._task = None
            self._close_retired()
            self.busyChanged.emit(False)
            self.runFinished.emit(kind, finished)


def install_asyncgen_hooks(loop: asyncio.AbstractEventLoop) -> None:
    """Let the loop finalize async generators dropped half-way (network streams are).

    asyncio's own run_forever installs these hooks; qasync's does not, and without them a
    collected generator is closed synchronously ("async generator ignored GeneratorExit").
    """
    firstiter = getattr(loop, "_asyncgen_firstiter_hook", None)
    finalizer = getattr(loop, "_asyncgen_finalizer_hook", None)
    if firstiter is not None and finalizer is not None:
        sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=finalizer)
