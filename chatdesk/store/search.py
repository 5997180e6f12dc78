"""Full-text search: turning what a person typed into a safe FTS5 query, and running it."""

from __future__ import annotations

import re
import sqlite3

from chatdesk.store.models import SearchHit

MAX_TERMS = 64
SNIPPET_TOKENS = 12

# A "quoted phrase" (optionally followed by * for a prefix match) or any run of non-space.
_PART = re.compile(r'"([^"]*)"(\*?)|(\S+)')
_WORD_CHAR = re.compile(r"[^\W_]")  # what the unicode61 tokenizer keeps: letters and digits


def build_fts_query(raw: str) -> str | None:
    """A MATCH expression that can never be an FTS5 syntax error, or None if nothing to find.

    Every term becomes an FTS5 string, so operators (AND, OR, NOT, NEAR), parentheses,
    column filters and `-` are searched as plain words. "double quotes" keep a phrase
    together; a `*` right after a word or phrase asks for a prefix match (`progr*`).
    Terms are ANDed.
    """
    parts: list[str] = []
    for match in _PART.finditer(raw.replace("\x00", " ")):
        phrase, phrase_star, bare = match.groups()
        if bare is not None:
            text = bare.rstrip("*")
            prefix = len(text) < len(bare)
        else:
            text, prefix = phrase, bool(phrase_star)
        if not _WORD_CHAR.search(text):
            continue
        parts.append('"' + text.replace('"', '""') + '"' + ("*" if prefix else ""))
        if len(parts) >= MAX_TERMS:
            break
    return " ".join(parts) or None


_SEARCH_SQL = """
SELECT m.id AS message_id, m.conversation_id, m.role, m.created_at,
       c.title AS conversation_title,
       snippet(messages_fts, 0, :start, :end, :ellipsis, :tokens) AS snippet,
       bm25(messages_fts) AS rank
FROM messages_fts
JOIN messages AS m ON m.id = messages_fts.rowid
JOIN conversations AS c ON c.id = m.conversation_id
WHERE messages_fts MATCH :query AND c.deleted_at IS NULL
ORDER BY rank, m.created_at DESC, m.id DESC
LIMIT :limit
"""


def search_messages(
    conn: sqlite3.Connection,
    query: str,
    limit: int,
    *,
    start: str = "[",
    end: str = "]",
    ellipsis: str = "…",
    tokens: int = SNIPPET_TOKENS,
) -> list[SearchHit]:
    """Best match first; messages of soft-deleted conversations are left out."""
    match = build_fts_query(query)
    if match is None or limit <= 0:
        return []
    params = {
        "query": match,
        "limit": limit,
        "start": start,
        "end": end,
        "ellipsis": ellipsis,
        "tokens": max(1, min(tokens, 64)),
    }
    rows = conn.execute(_SEARCH_SQL, params).fetchall()
    return [
        SearchHit(
            conversation_id=row["conversation_id"],
            message_id=row["message_id"],
            role=row["role"],
            snippet=row["snippet"],
            created_at=row["created_at"],
            conversation_title=row["conversation_title"],
            rank=row["rank"],
        )
        for row in rows
    ]
