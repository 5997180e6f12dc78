"""A conversation's facts in one line, as the app's conversation panel says them."""

from __future__ import annotations

from datetime import UTC, datetime

from chatdesk.states import MessageStatus
from chatdesk.store import Conversation, StoredMessage
from chatdesk.wording import display_name


def conversation_summary(conversation: Conversation, messages: list[StoredMessage]) -> str:
    """"Started 3 Dec 2026 · 12 messages · answered by Anthropic, OpenAI · 3,410 tokens"."""
    try:
        started = datetime.fromisoformat(conversation.created_at.replace("Z", "+00:00"))
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        local = started.astimezone()
        bits = [f"Started {local.day} {local:%b %Y}"]
    except ValueError:
        bits = []
    shown = [m for m in messages if not m.is_alternate]
    bits.append(f"{len(shown):,} message{'s' if len(shown) != 1 else ''}")
    answered_by = list(dict.fromkeys(
        display_name(m.provider) for m in shown
        if m.role == "assistant" and m.provider and m.status == MessageStatus.COMPLETE))
    if answered_by:
        bits.append("answered by " + ", ".join(answered_by))
    tokens = sum((m.input_tokens or 0) + (m.output_tokens or 0) for m in shown)
    if tokens:
        bits.append(f"{tokens:,} tokens")
    pending = sum(1 for m in shown if m.status == MessageStatus.PENDING)
    if pending:
        bits.append(f"{pending} waiting to be sent")
    return " · ".join(bits)
