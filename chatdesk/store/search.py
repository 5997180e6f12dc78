"""Full-text search: turning what a person typed into a safe FTS5 query, and running it."""

from __future__ import annotations

import re
import sqlite3

from chatdesk.store.models import SearchHit

MAX_TERMS = 64
SNIPPET_TOKENS = 12
# FTS5's snippet() and highlight() take time in the square of a row's matches, so a row
# longer than this gets its snippet from a small window around its first match instead.
LONG_ROW = 4_000
_SCAN = 65_536  # characters tested at a time when looking for that first match
_FINE = 512  # then narrowed to a piece this long, shown with this much on either side
_OVERLAP = 256  # pieces overlap so that a word or phrase cut at the edge is still found

# A "quoted phrase" (optionally followed by * for a prefix match) or any run of non-space.
# Compiled at first use (re's cache): not on every start.
_PART = r'"([^"]*)"(\*?)|(\S+)'
_WORD_CHAR = r"[^\W_]"  # what the unicode61 tokenizer keeps: letters and digits
_TOKENIZER = "unicode61 remove_diacritics 2"  # as schema.py's messages_fts


def _terms(raw: str) -> list[str]:
    parts: list[str] = []
    for match in re.finditer(_PART, raw.replace("\x00", " ")):
        phrase, phrase_star, bare = match.groups()
        if bare is not None:
            text = bare.rstrip("*")
            prefix = len(text) < len(bare)
        else:
            text, prefix = phrase, bool(phrase_star)
        if not re.search(_WORD_CHAR, text):
            continue
        parts.append('"' + text.replace('"', '""') + '"' + ("*" if prefix else ""))
        if len(parts) >= MAX_TERMS:
            break
    return parts


def build_fts_query(raw: str) -> str | None:
    """A MATCH expression that can never be an FTS5 syntax error, or None if nothing to find.

    Every term becomes an FTS5 string, so operators (AND, OR, NOT, NEAR), parentheses,
    column filters and `-` are searched as plain words. "double quotes" keep a phrase
    together; a `*` right after a word or phrase asks for a prefix match (`progr*`).
    Terms are ANDed.
    """
    return " ".join(_terms(raw)) or None


# The best `pool` matches of each full-text index are picked by the index alone, before
# any join (joining every match costs most of a search on a large history); ties in rank
# go to the newest row, so the same search gives the same order every time. Rows of
# trashed conversations come back marked, so a pool that lost too many can be widened.
_TEXT_POOL_SQL = """
SELECT f.rowid AS message_id, m.conversation_id, m.role, m.created_at,
       c.title AS conversation_title, f.rank, NULL AS attachment, NULL AS blob_id,
       c.deleted_at IS NOT NULL AS trashed, f.rowid AS pool_row
FROM (SELECT rowid, rank FROM messages_fts WHERE messages_fts MATCH :query
      ORDER BY rank, rowid DESC LIMIT :pool) AS f
JOIN messages AS m ON m.id = f.rowid
JOIN conversations AS c ON c.id = m.conversation_id
ORDER BY f.rank, f.rowid DESC
"""
_BLOB_POOL_SQL = """
SELECT m.id AS message_id, m.conversation_id, m.role, m.created_at,
       c.title AS conversation_title, f.rank, p.name AS attachment, b.id AS blob_id,
       c.deleted_at IS NOT NULL AS trashed, f.rowid AS pool_row
FROM (SELECT rowid, rank FROM blobs_fts WHERE blobs_fts MATCH :query
      ORDER BY rank, rowid DESC LIMIT :pool) AS f
JOIN blobs AS b ON b.id = f.rowid
JOIN message_parts AS p ON p.sha256 = b.sha256
JOIN messages AS m ON m.id = p.message_id
JOIN conversations AS c ON c.id = m.conversation_id
ORDER BY f.rank, m.id DESC
"""
POOL_SPARE = 32  # matches picked beyond `limit` at first, for trashed or merged ones


def _best_rows(conn: sqlite3.Connection, sql: str, match: str,
               limit: int) -> list[sqlite3.Row]:
    """The best `limit` rows of one index outside the Trash, widening the pool until
    enough are left or the index has no more matches."""
    pool = limit + POOL_SPARE
    while True:
        rows = conn.execute(sql, {"query": match, "pool": pool}).fetchall()
        kept = [row for row in rows if not row["trashed"]]
        picked = len({row["pool_row"] for row in rows})  # index rows the pool took
        if len({row["message_id"] for row in kept}) >= limit or picked < pool:
            return kept
        pool *= 4


_SNIPPET_SQL = """
SELECT snippet(messages_fts, 0, :start, :end, :ellipsis, :tokens)
FROM messages_fts WHERE messages_fts MATCH :query AND rowid = :id
"""
_BLOB_SNIPPET_SQL = """
SELECT snippet(blobs_fts, 0, :start, :end, :ellipsis, :tokens)
FROM blobs_fts WHERE blobs_fts MATCH :query AND rowid = :id
"""


class _Snippets:
    """Snippets of the hits of one search, each made in bounded time whatever the row."""

    def __init__(self, conn: sqlite3.Connection, raw: str, params: dict[str, object]) -> None:
        self.conn, self.params = conn, params
        self.any_term = " OR ".join(_terms(raw))
        self._window: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()

    def of(self, message_id: int, blob_id: int | None = None) -> str:
        """The snippet of a message's text, or of an attachment's (`blob_id`)."""
        table, column, snippet_sql, row_id = (
            ("messages", "content", _SNIPPET_SQL, message_id) if blob_id is None
            else ("blobs", "text", _BLOB_SNIPPET_SQL, blob_id))
        size = self.conn.execute(f"SELECT length({column}) FROM {table} WHERE id = ?",
                                 (row_id,)).fetchone()[0] or 0
        if size <= LONG_ROW:
            row = self.conn.execute(snippet_sql, {**self.params, "id": row_id}).fetchone()
            return str(row[0]) if row else ""
        (content,) = self.conn.execute(f"SELECT {column} FROM {table} WHERE id = ?",
                                       (row_id,)).fetchone()
        return self._long(str(content))

    def _window_db(self) -> sqlite3.Connection:
        if self._window is None:
            self._window = sqlite3.connect(":memory:")
            self._window.execute(f"CREATE VIRTUAL TABLE w USING fts5(t, tokenize='{_TOKENIZER}')")
        return self._window

    def _load(self, text: str) -> sqlite3.Connection:
        """The window table holding `text` alone."""
        db = self._window_db()
        db.execute("DELETE FROM w")
        db.execute("INSERT INTO w(rowid, t) VALUES (1, ?)", (text,))
        return db

    def _matches(self, text: str) -> bool:
        found = self._load(text).execute("SELECT 1 FROM w WHERE w MATCH ?", (self.any_term,))
        return found.fetchone() is not None

    def _first_match(self, content: str, lo: int, hi: int, step: int) -> int | None:
        """The start of the first piece of `step` characters in content[lo:hi] with a match."""
        pos = lo
        while pos < hi:
            if self._matches(content[pos:min(pos + step + _OVERLAP, len(content))]):
                return pos
            pos = _cut(content, pos + step)
        return None

    def _long(self, content: str) -> str:
        coarse = self._first_match(content, 0, len(content), _SCAN)
        fine = None if coarse is None else self._first_match(
            content, coarse, min(coarse + _SCAN + _OVERLAP, len(content)), _FINE)
        at = fine if fine is not None else (coarse or 0)
        lo = _cut(content, max(0, at - _FINE))
        hi = _cut(content, min(len(content), at + 2 * _FINE + _OVERLAP), after=True)
        row = self._load(content[lo:hi]).execute(
            "SELECT snippet(w, 0, :start, :end, :ellipsis, :tokens) FROM w WHERE w MATCH :any",
            {**self.params, "any": self.any_term}).fetchone()
        ellipsis = str(self.params["ellipsis"])
        snippet = str(row[0]) if row else " ".join(content[lo:hi].split()[:SNIPPET_TOKENS])
        if lo > 0 and not snippet.startswith(ellipsis):
            snippet = ellipsis + snippet
        if (hi < len(content) or not row) and not snippet.endswith(ellipsis):
            snippet += ellipsis
        return snippet


def _cut(text: str, pos: int, after: bool = False) -> int:
    """pos moved to a space or line break within 64 characters, so no word is cut in two."""
    if pos <= 0 or pos >= len(text):
        return max(0, min(pos, len(text)))
    if after:
        found = [i for i in (text.find(" ", pos, pos + 64), text.find("\n", pos, pos + 64))
                 if i >= 0]
        return min(found) if found else pos
    found_at = max(text.rfind(" ", pos - 64, pos), text.rfind("\n", pos - 64, pos))
    return found_at + 1 if found_at > pos - 64 else pos


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
    """Best match first, one hit per message (words in its attachments' text count as
    its own); messages of soft-deleted conversations are left out.

    Snippets are made for the hits returned only, each in time that does not grow with
    the number of matches in its message.
    """
    match = build_fts_query(query)
    if match is None or limit <= 0:
        return []
    best: dict[int, sqlite3.Row] = {}  # one hit per message: its best match, text first
    for sql in (_TEXT_POOL_SQL, _BLOB_POOL_SQL):
        for row in _best_rows(conn, sql, match, limit):
            held = best.get(row["message_id"])
            if held is None or row["rank"] < held["rank"]:
                best[row["message_id"]] = row
    rows = sorted(best.values(), key=lambda row: (row["rank"], -row["message_id"]))[:limit]
    snippets = _Snippets(conn, query, {
        "query": match, "start": start, "end": end, "ellipsis": ellipsis,
        "tokens": max(1, min(tokens, 64)),
    })
    try:
        return [
            SearchHit(
                conversation_id=row["conversation_id"],
                message_id=row["message_id"],
                role=row["role"],
                snippet=snippets.of(row["message_id"], row["blob_id"]),
                created_at=row["created_at"],
                conversation_title=row["conversation_title"],
                rank=row["rank"],
                attachment=row["attachment"],
            )
            for row in rows
        ]
    finally:
        snippets.close()
