"""The prompt library and presets, for the controller: finding prompts for "/", counting a
use, listing presets and starting a new chat from one."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from chatdesk.prompts import (
    Preset,
    Prompt,
    check_max_tokens,
    check_temperature,
    clean_name,
    find,
    parse_route,
)
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

    def all_prompts(self) -> list[Prompt]:
        try:
            return self.c.store.prompts()
        except StoreError as exc:
            self.c.say(str(exc))
            return []

    def save_prompt(self, old: str | None, name: str, text: str) -> str | None:
        """Save a prompt (`old`: the name it had, None: a new one; a new name renames it).
        The problem in one sentence, or None when it was saved."""
        if self.c.readonly:
            return "This history is open read-only."
        try:
            name = clean_name(name)
            if not text.strip():
                return "A prompt needs some text."
            store = self.c.store
            with store.transaction():
                if old is not None and old == name:
                    store.update_prompt(name, text)
                else:
                    if store.get_prompt(name) is not None:
                        return f"A prompt named {name!r} exists already."
                    store.add_prompt(name, text)
                    if old is not None:
                        store.delete_prompt(old)
        except (ValueError, StoreError) as exc:
            return str(exc)
        return None

    def delete_prompt(self, name: str) -> None:
        try:
            self.c.store.delete_prompt(name)
        except StoreError as exc:
            self.c.say(str(exc))

    def save_preset(self, old: str | None, name: str, system: str, providers: str,
                    temperature: str, max_tokens: str) -> str | None:
        """Save a preset from the dialog's fields: `providers` as "anthropic:claude-…,
        openai" (in order), `temperature` and `max_tokens` blank for the providers' own.
        The problem in one sentence, or None when it was saved."""
        if self.c.readonly:
            return "This history is open read-only."
        try:
            name = clean_name(name)
            routes = tuple(parse_route(r.strip()) for r in providers.split(",") if r.strip())
            known = self.c.settings.providers if self.c.settings is not None else {}
            unknown = [r.provider for r in routes if r.provider not in known]
            if unknown:
                return (f"There is no provider named {unknown[0]!r} in settings "
                        f"(set up: {', '.join(known) or 'none'}).")
            heat = check_temperature(float(temperature)) if temperature.strip() else None
            longest = check_max_tokens(int(max_tokens)) if max_tokens.strip() else None
        except ValueError as exc:
            text = str(exc)
            if text.startswith(("could not convert", "invalid literal")):
                return "The temperature is a number such as 0.7, and the longest answer a " \
                       "whole number of tokens (or leave them blank)."
            return text
        store = self.c.store
        try:
            with store.transaction():
                if old is not None and old == name:
                    found = store.get_preset(name)
                    if found is None:
                        return f"The preset {name!r} is gone (deleted elsewhere)."
                    store.update_preset(Preset(found.id, name, system.strip() or None, routes,
                                               heat, longest, found.created_at,
                                               found.updated_at))
                else:
                    if store.get_preset(name) is not None:
                        return f"A preset named {name!r} exists already."
                    store.add_preset(name, system.strip() or None, routes, heat, longest)
                    if old is not None:
                        store.delete_preset(old)
        except StoreError as exc:
            return str(exc)
        return None

    def delete_preset(self, name: str) -> None:
        try:
            self.c.store.delete_preset(name)
        except StoreError as exc:
            self.c.say(str(exc))

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
