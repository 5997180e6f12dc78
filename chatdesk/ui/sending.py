"""What the main window does with the ChatBridge: send, edit, regenerate, stop, retry."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer

from chatdesk.failover.health import HealthBook
from chatdesk.store import StoreError

if TYPE_CHECKING:
    from chatdesk.ui.main_window import MainWindow

log = logging.getLogger("chatdesk.ui")


class SendingMixin:
    """MainWindow's sending behaviour, kept apart from its layout. Everything here goes
    through the bridge; the store is only touched to drop an edited exchange."""

    def send_text(self: MainWindow, text: str) -> bool:
        """Send what the composer holds (replacing the last exchange when editing)."""
        if self.bridge is None or self.composer is None or self.bridge.busy:
            return False
        if self.ctx is not None and self.ctx.settings_error is not None:
            problem = str(self.ctx.settings_error).rstrip(".")
            self.notice_banner.show_text(f"{problem}. Fix settings.toml (Chat ▸ Settings…) "
                                         "before sending; your text is kept.")
            return False
        try:
            self.bridge.service  # noqa: B018 - build it now, before anything is deleted
        except Exception as exc:
            log.exception("the chat service cannot start")
            self.notice_banner.show_text(f"Sending is not possible: {exc}")
            return False
        if self.composer.editing and not self._set_aside_from(self.composer.editing_id):
            return False
        provider = self.picker.current_provider() if self.picker else None
        order = [p.name for p in self.ctx.settings.ordered_providers()] if self.ctx else []
        providers = [provider, *[n for n in order if n != provider]] if provider else None
        model = self.picker.current_model() if self.picker else None
        self._awaiting_new = self.conversation_id is None
        self.transcript.scroll_to_end()
        if not self.bridge.send(text, self.conversation_id, providers=providers, model=model):
            self._awaiting_new = False
            return False
        if self.composer.editing:
            self.composer.end_edit()  # the box gets back the draft it held before the edit
        else:
            self.composer.clear()
        self.forget_draft(self.conversation_id)
        self.composer.focus()
        return True

    def _set_aside_from(self: MainWindow, message_id: int | None) -> bool:
        """Take a message and everything after it out of this conversation. They are kept as
        alternates: what was written and received is never deleted by an edit."""
        if message_id is None:
            return True
        doomed = self.transcript.tmodel.rows_from(message_id)
        try:
            self.store.set_alternate([row.id for row in doomed])
        except StoreError as exc:
            self.show_status(str(exc))
            return False
        self.transcript.tmodel.remove_from(message_id)
        return True

    def stop(self: MainWindow) -> None:
        if self.bridge is not None and self.bridge.stop():
            self.show_status("Stopping…")

    def edit_last(self: MainWindow) -> None:
        row = self.transcript.tmodel.last_user_row()
        if self.composer is None or row is None or (self.bridge and self.bridge.busy):
            return
        self.composer.begin_edit(row.id, row.content)

    def regenerate(self: MainWindow) -> None:
        row = self.transcript.tmodel.last_user_row()
        if self.composer is None or row is None or self.bridge is None or self.bridge.busy:
            return
        text = row.content
        if self.composer.editing:
            self.composer.cancel_edit()
        self.composer.begin_edit(row.id, text)
        if not self.send_text(text):
            self.composer.end_edit()  # the box gets back what it held

    def _transcript_action(self: MainWindow, name: str, _message_id: int) -> None:
        if name == "edit":
            self.edit_last()
        elif name == "regenerate":
            self.regenerate()

    def _on_event(self: MainWindow, event: Any) -> None:
        from chatdesk import events as ev  # loaded with the chat engine, after start-up

        b = self.bridge
        assert b is not None
        if isinstance(event, ev.MessageSaved) and self._awaiting_new \
                and self.conversation_id is None:
            self._awaiting_new = False
            self.conversation_id = event.conversation_id
            self.transcript.tmodel.conversation_id = event.conversation_id
            if self._new_chat_provider:
                self._set_preferred(event.conversation_id, self._new_chat_provider)
            self.sidebar.reload()
            self.sidebar.select_conversation(event.conversation_id)
        if b.conversation_id == self.conversation_id and self.conversation_id is not None:
            self.transcript.apply_event(event)
        if isinstance(event, ev.AnswerPending):
            self.show_status("Every provider failed. Your message is kept as pending and is "
                             "sent by itself when a provider is back.", 15000)
        elif isinstance(event, ev.AnswerStopped) and not event.cancelled:
            self.notice_banner.show_text(event.reason)
        elif isinstance(event, ev.AnswerStopped):
            self.show_status(event.reason)

    def _busy_changed(self: MainWindow, busy: bool) -> None:
        if self.composer is not None:
            self.composer.set_busy(busy)
        self.stop_action.setEnabled(busy)
        self.transcript.tmodel.set_busy(busy)

    def _run_finished(self: MainWindow, kind: str, finished: int) -> None:
        self.sidebar.reload()
        self.refresh_health()
        if kind == "retry" and finished:
            self.show_status(f"Sent {finished} pending message{'s' if finished != 1 else ''}.")
        if finished:
            QTimer.singleShot(0, self.maybe_retry_pending)

    def maybe_retry_pending(self: MainWindow) -> bool:
        """Send pending messages if there are any and some provider may be tried now."""
        b = self.bridge
        if b is None or b.busy or self.ctx is None or self.ctx.settings_error is not None:
            return False
        try:
            if not self.store.pending_messages():
                return False
            book = HealthBook(self.store, self.ctx.settings.failover.cooldown_s)
            ready = any(book.available(p.name) and p.name not in self._missing_keys
                        for p in self.ctx.settings.ordered_providers())
        except StoreError as exc:
            self.show_status(str(exc))
            return False
        return ready and b.retry_pending()
