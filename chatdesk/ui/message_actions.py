"""What a message's buttons ask of the history, for the controller: its versions, a branch
from it, and "Ask <next provider>" under a refusal."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from chatdesk import wording
from chatdesk.store import StoreError
from chatdesk.versions import Versions, all_versions

if TYPE_CHECKING:
    from chatdesk.chat import ChatService
    from chatdesk.ui.controller import ChatController


class MessageActions:
    """Acts on the conversation the controller shows; every problem is one sentence on the
    status bar, and nothing is changed by half (the store's transactions)."""

    def __init__(self, controller: ChatController) -> None:
        # Weak: a cycle would leave the controller (and its timers) to the cyclic garbage
        # collector, which may run on any thread, and Qt objects must die on theirs.
        self.c = weakref.proxy(controller)

    def versions(self, conversation_id: int | None) -> dict[int, Versions]:
        """The versions of the conversation's main-line messages that have others."""
        if conversation_id is None:
            return {}
        try:
            store = self.c.store
            if not store.has_alternates(conversation_id):  # the usual case: read nothing more
                return {}
            return all_versions(store.messages(conversation_id, include_alternates=True))
        except StoreError:
            return {}  # the history is busy: the arrows come back when it is read again

    def costs(self, conversation_id: int | None) -> dict[int, float | None]:
        """What each answer of the conversation cost, by message id (None: no price known;
        answers of imported conversations are not counted)."""
        settings = self.c.settings
        if conversation_id is None or settings is None:
            return {}
        from chatdesk.usage import answer_costs

        try:
            return dict(answer_costs(self.c.store, settings, conversation_id))
        except StoreError:
            return {}

    def _can_change(self) -> bool:
        if self.c.readonly:
            self.c.say("This history is open read-only: nothing in it can be changed.")
            return False
        if self.c.busy:
            self.c.say("Wait for the answer being written (or stop it) first.")
            return False
        return self.c.conversation_id is not None and self.c.bridge is not None

    def _changeable(self) -> tuple[ChatService, int] | None:
        """The chat service and the conversation shown, if it may be changed now."""
        if not self._can_change():
            return None
        service = self.c.engine_service()
        conversation_id = self.c.conversation_id
        if service is None or conversation_id is None:
            return None
        return service, conversation_id

    def show_version(self, message_id: int) -> bool:
        """Put that version of a message (and what followed it) on the main line."""
        found = self._changeable()
        if found is None:
            return False
        service, conversation_id = found
        try:
            changed = service.show_version(conversation_id, message_id)
        except (StoreError, LookupError) as exc:
            self.c.say(wording.not_done(exc))
            return False
        if changed:
            self.c.open_conversation(conversation_id, keep_place=message_id)
        return changed

    def branch_from(self, message_id: int) -> int | None:
        """A new conversation with the messages up to this one; it is opened."""
        found = self._changeable()
        if found is None:
            return None
        service, conversation_id = found
        try:
            branch = service.branch_from(conversation_id, message_id)
        except (StoreError, LookupError) as exc:
            self.c.say(wording.not_done(exc))
            return None
        self.c.conversationsChanged.emit()
        self.c.open_conversation(branch)
        self.c.say("Branched into a new conversation; the original is unchanged.")
        return branch

    def file_bytes(self, sha256: str) -> bytes | None:
        """An attachment's bytes from the history (None, and a sentence, if they cannot be
        read)."""
        try:
            data = self.c.store.attachment_data(sha256)
        except StoreError as exc:
            self.c.say(str(exc))
            return None
        if data is None:
            self.c.say("That attachment is no longer in the history.")
        return data

    def save_file(self, sha256: str, path: str) -> bool:
        """Write an attachment to a file the user chose; one sentence if it cannot be."""
        data = self.file_bytes(sha256)
        if data is None:
            return False
        target = Path(path)
        try:
            target.write_bytes(data)
        except OSError as exc:
            from chatdesk.transfer.jobs import write_problem

            self.c.say(f"{target.name} was not saved: {write_problem(exc)}.")
            return False
        self.c.say(f"Saved {target.name}.")
        return True

    def private_copy(self, sha256: str, name: str) -> Path | None:
        """A copy of an attachment only this user can read, for opening it in another
        program (the history keeps the original); None, and a sentence, if it cannot be."""
        data = self.file_bytes(sha256)
        if data is None:
            return None
        import tempfile

        from chatdesk.transfer.markdown import safe_file_name

        try:
            folder = Path(tempfile.mkdtemp(prefix="chatdesk-open-"))  # mode 0700
            target = folder / safe_file_name(name)
            target.write_bytes(data)
        except OSError as exc:
            from chatdesk.transfer.jobs import write_problem

            self.c.say(f"{name} could not be opened: {write_problem(exc)}.")
            return None
        return target

    def next_provider(self, after: str) -> str | None:
        """The provider set up that comes after `after` in the failover order (wrapping
        round), other than it; None when there is none."""
        names = self.c.set_up_names()
        if after not in names:
            return names[0] if names else None
        at = names.index(after)
        rest = names[at + 1:] + names[:at]
        return rest[0] if rest else None

    def ask_other(self, message_id: int) -> bool:
        """Ask the next provider for the answer a provider refused (the last answer)."""
        if not self._can_change():
            return False
        try:
            answer = self.c.store.get_message(message_id)
        except StoreError as exc:
            self.c.say(str(exc))
            return False
        other = self.next_provider(answer.provider) if answer and answer.provider else None
        if other is None:
            self.c.say("No other provider is set up to ask.")
            return False
        return self.c.regenerate(preferred=other)
