"""The files that go with the next message of each conversation, for the controller: read
(and refused, in one sentence) when they are attached, not when the message is sent."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from chatdesk.attachment_files import AttachmentError, attachment_from_bytes, read_attachment
from chatdesk.parts import Attachment

if TYPE_CHECKING:
    from chatdesk.ui.controller import ChatController

MAX_FILES = 20  # per message: more is a mistake (a folder dropped), not a question


class OutgoingFiles:
    """Kept per conversation (None: the new chat) while the window is open, like its text;
    `controller.filesChanged` shows the shown conversation's."""

    def __init__(self, controller: ChatController) -> None:
        # Weak: a cycle would leave the controller to the garbage collector's thread.
        self.c = weakref.proxy(controller)
        self._files: dict[int | None, list[Attachment]] = {}

    def of(self, conversation_id: int | None) -> list[Attachment]:
        return list(self._files.get(conversation_id, ()))

    def shown(self) -> list[Attachment]:
        return self.of(self.c.conversation_id)

    def _changed(self) -> None:
        self.c.filesChanged.emit(self.shown())

    def _add(self, attachment: Attachment) -> bool:
        files = self._files.setdefault(self.c.conversation_id, [])
        if any(f.sha256 == attachment.sha256 for f in files):
            self.c.say(f"{attachment.name} is attached already.")
            return False
        if len(files) >= MAX_FILES:
            self.c.say(f"A message takes at most {MAX_FILES} files; {attachment.name} was "
                       "not attached.")
            return False
        files.append(attachment)
        return True

    def add_paths(self, paths: list[str]) -> int:
        """Attach files by path; each one that cannot be is named in one sentence, and the
        others are attached all the same. How many were attached."""
        added, problems = 0, []
        for path in paths:
            try:
                attachment = read_attachment(Path(path))
            except AttachmentError as exc:
                problems.append(str(exc))
                continue
            added += self._add(attachment)
        if problems:
            self.c.say(" ".join(problems), 12000)
        if added:
            self._changed()
        return added

    def add_image(self, data: bytes, name: str = "pasted image.png") -> bool:
        """Attach a pasted image (PNG bytes)."""
        try:
            attachment = attachment_from_bytes(name, data)
        except AttachmentError as exc:
            self.c.say(str(exc))
            return False
        if self._add(attachment):
            self._changed()
            return True
        return False

    def remove(self, index: int) -> None:
        files = self._files.get(self.c.conversation_id, [])
        if 0 <= index < len(files):
            del files[index]
            self._changed()

    def sent(self, conversation_id: int | None, adopted: int | None = None) -> None:
        """The files went with a message: they are no longer waiting (a new chat's, which
        got `adopted` as its id, neither)."""
        self._files.pop(conversation_id, None)
        if adopted is not None:
            self._files.pop(None, None)
        self._changed()

    def forget(self, conversation_id: int | None) -> None:
        self._files.pop(conversation_id, None)
