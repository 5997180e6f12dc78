"""Which product an export or backup comes from, told by its shape, and the command for it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The kinds `chatdesk import KIND PATH` takes, and the names the summaries use.
PRODUCTS = {
    "chatgpt": "ChatGPT",
    "claude": "Claude",
    "deepseek": "DeepSeek",
    "openwebui": "Open WebUI",
    "chatbox": "Chatbox",
    "cherry": "Cherry Studio",
    "chatdesk": "chatdesk",
}
# What the file is, as a person calls it.
_WHAT = {
    "chatgpt": "a ChatGPT export",
    "claude": "a Claude export",
    "deepseek": "a DeepSeek export",
    "openwebui": "an Open WebUI export",
    "chatbox": "a Chatbox backup",
    "cherry": "a Cherry Studio backup",
    "chatdesk": "a chatdesk export",
}


def kind_of_conversation(item: dict[str, Any]) -> str | None:
    """The product whose conversation `item` (one element of an export's list) is."""
    if "chat_messages" in item:
        return "claude"
    mapping = item.get("mapping")
    if isinstance(mapping, dict):
        # DeepSeek copies ChatGPT's tree, but its nodes hold `fragments` and its times
        # are ISO texts (`inserted_at`); ChatGPT's have `content` and unix `create_time`
        if "inserted_at" in item or _any_node_has(mapping, "fragments"):
            return "deepseek"
        return "chatgpt"
    chat = item.get("chat")
    if isinstance(chat, dict) and ("history" in chat or "messages" in chat):
        return "openwebui"
    history = item.get("history")  # an Open WebUI chat body saved without its envelope
    if isinstance(history, dict) and isinstance(history.get("messages"), dict):
        return "openwebui"
    return None


def kind_of_document(keys: Iterable[str], first: dict[str, Any] | None = None) -> str | None:
    """The product whose whole-file JSON object has these top-level `keys`."""
    names = set(keys)
    if "format" in names and "conversations" in names:
        return "chatdesk"
    if "chat_messages" in names:
        return "claude"  # one Claude conversation saved on its own
    if "indexedDB" in names or "localStorage" in names:
        return "cherry"
    if "__exported_items" in names or "chat-sessions" in names or "chat-sessions-list" in names:
        return "chatbox"
    if any(n.startswith("session:") for n in names):
        return "chatbox"
    if first is not None:
        return kind_of_conversation(first)
    return None


def wrong_kind(found: str, asked: str) -> str:
    """'this is a DeepSeek export, not a ChatGPT one — use `chatdesk import deepseek`'."""
    return (f"this is {_WHAT[found]}, not {_WHAT[asked].split(' ', 1)[0]} "
            f"{PRODUCTS[asked]} one — use `chatdesk import {found}`")


def why_not(kind: str, index: int, item: dict[str, Any], lacks: str,
            noun: str = "conversation") -> str | None:
    """Why `item` (the index-th of an export's list; 0: the whole file) is not one of
    `kind`'s, or None: another product's is named with its command, anything else said to
    lack `lacks` ("`mapping` (the messages of a ChatGPT conversation)")."""
    found = kind_of_document(item, item) if index == 0 else kind_of_conversation(item)
    if found == kind:
        return None
    if found is not None:
        return wrong_kind(found, kind)
    which = ("it has" if index == 0 else f"its {noun}s have" if index == 1
             else f"{noun} {index:,} has")
    return f"this is not {_WHAT[kind]}: {which} no {lacks}"


def _any_node_has(mapping: dict[str, Any], key: str) -> bool:
    for node in list(mapping.values())[:4]:
        message = node.get("message") if isinstance(node, dict) else None
        if isinstance(message, dict) and key in message:
            return True
    return False
