"""The Trash's matters, for the controller: what is in it, restoring, emptying, and the
purge of what has been there for 30 days."""

from __future__ import annotations

import contextlib
import weakref
from typing import TYPE_CHECKING

from chatdesk.store import ConversationSummary, StoreError

if TYPE_CHECKING:
    from chatdesk.ui.controller import ChatController


class TrashActions:
    """Every problem is one sentence on the status bar; the list is told to reload."""

    def __init__(self, controller: ChatController) -> None:
        # Weak: a cycle would leave the controller (and its timers) to the cyclic garbage
        # collector, which may run on any thread, and Qt objects must die on theirs.
        self.c = weakref.proxy(controller)

    def listed(self) -> list[ConversationSummary]:
        try:
            return self.c.store.trashed_conversations()
        except StoreError as exc:
            self.c.say(str(exc))
            return []

    def restore(self, ids: list[int]) -> None:
        try:
            with self.c.store.transaction():
                for conversation_id in ids:
                    self.c.store.restore_conversation(conversation_id)
        except StoreError as exc:
            self.c.say(str(exc))
            return
        self.c.conversationsChanged.emit()

    def empty(self, ids: list[int] | None = None) -> int:
        """Delete for good those of `ids` in the Trash (None: all of it); how many went."""
        try:
            return self.c.store.purge_deleted(ids=ids)
        except StoreError as exc:
            self.c.say(str(exc))
            return 0

    def purge_old(self) -> None:
        """What has been in the Trash for TRASH_DAYS goes for good (once, at start)."""
        with contextlib.suppress(StoreError):  # a busy or read-only file: next start
            self.c.store.purge_trash()
