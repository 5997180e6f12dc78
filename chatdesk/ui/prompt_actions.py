"""The prompt library and presets, for the controller: finding prompts for "/", counting a
use, listing presets and starting a new chat from one."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from chatdesk.prompts import Preset, Prompt, find
from chatdesk.store import StoreError

if TYPE_CHECKING:
    from chatdesk.ui.controller import ChatController


class PromptActions:
    """Every problem is one sentence on the status bar; nothing here holds SQL."""

    def __init__(self, controller: ChatController) -> None:
        self.c = weakref.proxy(controller)  # weak, as TrashActions: no cycle with Qt objects

    def find(self, query: str) -> list[Prompt]:
        """The saved prompts that match what follows "/", best first."""
        try:
            return find(self.c.store.prompts(), query)
        except StoreError as exc:
            self.c.say(str(exc))
            return []

    def used(self, name: str) -> None:
        """A prompt was inserted into the composer: one more use."""
        if self.c.readonly:
            return
        try:
            self.c.store.record_prompt_use(name)
        except StoreError as exc:
            self.c.say(str(exc))

    def presets(self) -> list[Preset]:
        try:
            return self.c.store.presets()
        except StoreError as exc:
            self.c.say(str(exc))
            return []

    def first_route(self, name: str) -> tuple[str, str | None] | None:
        """The provider a preset asks first, and its model, if settings still have it."""
        settings = self.c.settings
        try:
            preset = self.c.store.get_preset(name)
        except StoreError:
            return None
        if preset is None or settings is None:
            return None
        route = next((r for r in preset.routes if r.provider in settings.providers), None)
        return (route.provider, route.model) if route else None

    def new_chat_from(self, name: str) -> bool:
        """Show a new, empty chat that follows preset `name` (its first message records it);
        False, with a sentence, if the preset is gone."""
        try:
            preset = self.c.store.get_preset(name)
        except StoreError as exc:
            self.c.say(str(exc))
            return False
        if preset is None:
            self.c.say(f"There is no preset named {name!r} any more.")
            return False
        if not self.c.open_conversation(None, fresh=True):
            return False
        self.c.start_new_chat_with(preset)
        order = ", ".join(str(r) for r in preset.routes) or "the failover order"
        self.c.say(f"A new chat with preset {preset.name}: {order}.")
        return True
