"""Conversation history on SQLite: schema, migrations, repository and search."""

from chatdesk.states import AttemptOutcome, HealthState, MessageStatus
from chatdesk.store.claims import Recovered
from chatdesk.store.errors import (
    BusyError,
    NewerSchemaError,
    NotFoundError,
    ReadOnlyError,
    StoreError,
)
from chatdesk.store.history import TRASH_DAYS, HistoryStore
from chatdesk.store.models import (
    Attempt,
    Conversation,
    ConversationSummary,
    HealthRow,
    KeyHealthRow,
    MessageHead,
    MessageText,
    SearchHit,
    StoredMessage,
    attachment_to_json,
    conversation_to_json,
    hit_to_json,
    message_to_json,
    now_iso,
    summary_to_json,
    to_iso,
)
from chatdesk.store.schema import schema_version
from chatdesk.store.search import build_fts_query

__all__ = [
    "TRASH_DAYS",
    "Attempt",
    "AttemptOutcome",
    "BusyError",
    "Conversation",
    "ConversationSummary",
    "HealthRow",
    "HealthState",
    "HistoryStore",
    "KeyHealthRow",
    "MessageHead",
    "MessageText",
    "MessageStatus",
    "NewerSchemaError",
    "NotFoundError",
    "ReadOnlyError",
    "Recovered",
    "SearchHit",
    "StoreError",
    "StoredMessage",
    "attachment_to_json",
    "build_fts_query",
    "conversation_to_json",
    "hit_to_json",
    "message_to_json",
    "now_iso",
    "schema_version",
    "summary_to_json",
    "to_iso",
]
