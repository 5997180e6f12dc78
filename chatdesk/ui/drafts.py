"""Unsent text per conversation, kept across switches, quits and crashes (in window.ini)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

NEW_CHAT = "new"  # the key of the draft of a chat not yet sent


def draft_key(conversation_id: int | None) -> str:
    return NEW_CHAT if conversation_id is None else str(conversation_id)


class DraftBook:
    """The drafts of one window; `state` (window.ini) keeps them between runs."""

    def __init__(self, state: QSettings | None) -> None:
        self._state = state
        self._drafts: dict[str, str] = {}

    def get(self, conversation_id: int | None) -> str:
        return self._drafts.get(draft_key(conversation_id), "")

    def put(self, conversation_id: int | None, text: str) -> None:
        key = draft_key(conversation_id)
        if text.strip():
            self._drafts[key] = text
        else:
            self._drafts.pop(key, None)

    def forget(self, conversation_id: int | None) -> None:
        self._drafts.pop(draft_key(conversation_id), None)

    def load(self) -> None:
        s = self._state
        if s is None:
            return
        s.beginGroup("drafts")
        try:
            for key in s.childKeys():
                text = s.value(key)
                if isinstance(text, str) and text.strip() \
                        and (key == NEW_CHAT or key.isdigit()):
                    self._drafts[key] = text
        finally:
            s.endGroup()

    def add_kept(self, kept: dict[str, str]) -> None:
        """Drafts the command line kept (draft_file): after the app's own, if it has one."""
        for key, text in kept.items():
            mine = self._drafts.get(key, "")
            self._drafts[key] = f"{mine}\n\n{text}" if mine.strip() and mine != text else text

    def write(self, sync: bool = True) -> None:
        s = self._state
        if s is None:
            return
        s.remove("drafts")
        for key, text in self._drafts.items():
            s.setValue(f"drafts/{key}", text)
        if sync:
            s.sync()
