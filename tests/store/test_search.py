"""Full-text search: safe queries, ranking, snippets, unicode, and FTS kept in sync."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore, build_fts_query, hit_to_json
from chatdesk.store.models import SearchHit
from chatdesk.store.search import LONG_ROW

HOSTILE = [
    '"', '""', 'AND', 'OR', 'NOT', '*', '**', '(', ')', '()', 'NEAR', 'NEAR(a b)', '-x',
    'a OR', 'NOT b', 'a AND', '"unterminated phrase', 'foo"bar', 'content:secret', '^start',
    '+', '{a b}', ':', "'", '*foo', 'foo*', '"a b"*', 'a - b', 'x:y:z', '\x00', '   ', '',
    'AND OR NOT', '"" AND ""', 'a* OR b*', 'col : "x"', '\\', '%', '_', '🙂',
]  # fmt: skip


def fts_rowids(db_path: Path, match: str) -> list[int]:
    """Ask the FTS index directly (a stale index entry shows up here as a wrong rowid)."""
    with closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid", (match,)
        ).fetchall()
    return [r[0] for r in rows]


def fts_vocabulary(db_path: Path) -> dict[str, int]:
    """Every term in the index with the number of rows holding it."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, messages_fts, row)")
        return dict(conn.execute("SELECT term, doc FROM temp.vocab").fetchall())
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hello world", '"hello" "world"'),
        ("prog*", '"prog"*'),
        ('"quick brown" fox', '"quick brown" "fox"'),
        ('"quick bro"*', '"quick bro"*'),
        ('say "hi', '"say" """hi"'),
        ("AND NEAR", '"AND" "NEAR"'),
        ("-x", '"-x"'),
        ("( * ) - _", None),
        ("", None),
    ],
)
def test_build_fts_query(raw: str, expected: str | None) -> None:
    assert build_fts_query(raw) == expected


def test_hostile_queries_never_raise(store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "a b x y z foo bar start secret content and or not near")
    for raw in HOSTILE:
        hits = store.search(raw)
        assert isinstance(hits, list), raw
    assert store.search("") == [] and store.search("   ") == [] and store.search("(") == []


def test_operators_are_searched_as_words(store: HistoryStore) -> None:
    conv = store.create_conversation()
    with_and = store.add_message(conv.id, "user", "salt and pepper")
    store.add_message(conv.id, "user", "salt or pepper")
    assert [h.message_id for h in store.search("AND")] == [with_and.id]
    assert [h.message_id for h in store.search("salt AND pepper")] == [with_and.id]


def test_ranking_snippet_and_fields(store: HistoryStore) -> None:
    conv = store.create_conversation("Fruit talk")
    weak = store.add_message(
        conv.id,
        "user",
        "I once read a long and winding essay that mentioned a banana only in passing, "
        "between many other words about trains, weather, cities and the sea.",
    )
    strong = store.add_message(conv.id, "assistant", "Banana bread needs a ripe banana.")
    store.add_message(conv.id, "user", "Nothing to see here")

    hits = store.search("banana")
    assert [h.message_id for h in hits] == [strong.id, weak.id]
    assert hits[0].rank <= hits[1].rank
    best = hits[0]
    assert (best.conversation_id, best.role, best.conversation_title) == (
        conv.id,
        "assistant",
        "Fruit talk",
    )
    assert "[Banana]" in best.snippet and "[banana]" in best.snippet
    assert "[banana]" in hits[1].snippet and len(hits[1].snippet.split()) <= 14
    assert best.created_at == strong.created_at
    assert hit_to_json(best) == {
        "conversation_id": conv.id,
        "message_id": strong.id,
        "role": "assistant",
        "snippet": best.snippet,
        "created_at": strong.created_at,
    }
    custom = store.search("banana", start="<b>", end="</b>")
    assert "<b>Banana</b>" in custom[0].snippet
    assert len(store.search("banana", limit=1)) == 1


def test_prefix_and_phrase(store: HistoryStore) -> None:
    conv = store.create_conversation()
    a = store.add_message(conv.id, "user", "the quick brown fox programming")
    b = store.add_message(conv.id, "user", "brown and quick, a programmer")
    assert {h.message_id for h in store.search("program*")} == {a.id, b.id}
    assert store.search("program") == []
    assert [h.message_id for h in store.search('"quick brown"')] == [a.id]
    assert {h.message_id for h in store.search("quick brown")} == {a.id, b.id}


def test_unicode_and_diacritics(store: HistoryStore) -> None:
    conv = store.create_conversation()
    fr = store.add_message(conv.id, "user", "Une crème brûlée au Café de Flore")
    ru = store.add_message(conv.id, "user", "Привет, как дела?")
    jp = store.add_message(conv.id, "user", "これは 日本語 です")
    assert [h.message_id for h in store.search("creme brulee")] == [fr.id]
    assert [h.message_id for h in store.search("CAFÉ")] == [fr.id]
    assert [h.message_id for h in store.search("cafe")] == [fr.id]
    assert [h.message_id for h in store.search("ПРИВЕТ")] == [ru.id]
    assert [h.message_id for h in store.search("日本語")] == [jp.id]
    assert "[crème]" in store.search("creme")[0].snippet


def test_triggers_follow_update_and_delete(store: HistoryStore, db_path: Path) -> None:
    conv = store.create_conversation()
    msg = store.add_message(conv.id, "user", "apple orchard")
    other = store.add_message(conv.id, "user", "apple pie")
    store.update_message_content(msg.id, "cherry orchard")
    assert fts_rowids(db_path, "apple") == [other.id]
    assert fts_rowids(db_path, "cherry") == [msg.id]
    store.set_message_status(msg.id, "failed")  # not a content change: index untouched
    assert fts_rowids(db_path, "cherry") == [msg.id]
    store.delete_message(other.id)
    assert fts_rowids(db_path, "apple") == []
    assert store.search("apple") == []
    store.delete_conversation(conv.id)
    store.purge_deleted()
    assert fts_rowids(db_path, "cherry") == []
    assert fts_vocabulary(db_path) == {}


def test_streaming_flushes_keep_fts_exact(store: HistoryStore, db_path: Path) -> None:
    conv = store.create_conversation()
    ans = store.add_message(conv.id, "assistant", "", status="partial")
    words = [f"word{i}" for i in range(60)]
    for n in range(1, len(words) + 1):
        store.update_message_content(ans.id, " ".join(words[:n]))
    store.finish_message(
        ans.id, content="finalized " + " ".join(words[10:]), status="complete",
        provider="ollama", model="llama",
    )  # fmt: skip
    vocab = fts_vocabulary(db_path)
    assert set(vocab) == {"finalized", *words[10:]}  # nothing left from earlier flushes
    assert set(vocab.values()) == {1}
    assert [h.message_id for h in store.search("word59")] == [ans.id]
    assert store.search("word3") == []
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")


# -- snippets of long messages (issue 11, item 4) ---------------------------------------


def _search_in_thread(db_path: Path, query: str, seconds: float) -> list[SearchHit] | None:
    """The hits, or None if the search had not returned after `seconds` (it then runs on)."""
    result: list[list[SearchHit]] = []

    def run() -> None:
        with HistoryStore.open(db_path) as own:
            result.append(own.search(query))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    return result[0] if result else None


def test_a_message_with_500k_matches_gets_a_bounded_snippet(
    store: HistoryStore, db_path: Path
) -> None:
    conv = store.create_conversation()
    huge = store.add_message(conv.id, "assistant", "needle hay " * 500_000)  # 5.5 MB
    small = store.add_message(conv.id, "user", "one needle")
    # FTS5's snippet() over this row takes hours (the square of its matches); bounded, ~0.1 s.
    hits = _search_in_thread(db_path, "needle", seconds=60)
    assert hits is not None, "search of a message with 500,000 matches did not return"
    assert {h.message_id for h in hits} == {huge.id, small.id}
    snippet = next(h.snippet for h in hits if h.message_id == huge.id)
    assert snippet.startswith("[needle] hay [needle]") and snippet.endswith("…")
    assert len(snippet) < 200
    assert next(h.snippet for h in hits if h.message_id == small.id) == "one [needle]"


def test_long_message_snippet_is_around_its_first_match(store: HistoryStore) -> None:
    conv = store.create_conversation()
    filler = "lorem ipsum dolor " * (LONG_ROW // 6)
    middle = store.add_message(conv.id, "user", filler + "Une crème brûlée " + filler)
    end = store.add_message(conv.id, "user", filler * 20 + "the very last words")
    snippet = store.search("creme")[0].snippet
    assert snippet.startswith("…") and snippet.endswith("…") and "[crème]" in snippet
    assert len(snippet.split()) <= 14
    assert [h.message_id for h in store.search('"last words"')] == [end.id]
    assert store.search('"last words"')[0].snippet.endswith("very [last words]")
    assert "[brûlée]" in store.search("brul*")[0].snippet
    both = store.search("lorem creme")  # terms far apart: the first one found is shown
    assert [h.message_id for h in both] == [middle.id]
    assert "[lorem]" in both[0].snippet


@pytest.mark.parametrize("cut", [0, 1, 3, 5])
def test_a_word_cut_at_a_window_edge_is_still_found(store: HistoryStore, cut: int) -> None:
    conv = store.create_conversation()
    text = "x" * (LONG_ROW - cut) + " " * 70 + "pivot " + "y " * 40_000
    store.add_message(conv.id, "user", text)
    assert "[pivot]" in store.search("pivot")[0].snippet


def reference_order(db_path: Path, match: str) -> list[int]:
    """Every live match of text and attachments, best first, ties newest first: the order
    search must give, worked out by joining every match (slow, but plainly right)."""
    with closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute(
            "SELECT m.id, bm25(messages_fts) FROM messages_fts"
            " JOIN messages m ON m.id = messages_fts.rowid"
            " JOIN conversations c ON c.id = m.conversation_id"
            " WHERE messages_fts MATCH ? AND c.deleted_at IS NULL"
            " UNION ALL SELECT m.id, bm25(blobs_fts) FROM blobs_fts"
            " JOIN blobs b ON b.id = blobs_fts.rowid JOIN message_parts p ON p.sha256 = b.sha256"
            " JOIN messages m ON m.id = p.message_id"
            " JOIN conversations c ON c.id = m.conversation_id"
            " WHERE blobs_fts MATCH ? AND c.deleted_at IS NULL", (match, match)).fetchall()
    best: dict[int, float] = {}
    for message_id, rank in rows:
        best[message_id] = min(rank, best.get(message_id, rank))
    return sorted(best, key=lambda m: (best[m], -m))


def test_the_best_hits_survive_a_trash_full_of_better_ones(
        store: HistoryStore, db_path: Path) -> None:
    from chatdesk.parts import Attachment, PartKind

    trashed = store.create_conversation("old")
    for i in range(300):  # short messages rank best: these would fill any small pool
        store.add_message(trashed.id, "user", f"otter {i}")
    store.delete_conversation(trashed.id)
    live = store.create_conversation("live")
    kept = []
    for i in range(30):
        filler = " ".join(["river"] * (i % 5 + 3))
        kept.append(store.add_message(live.id, "user", f"an otter by the {filler} {i}").id)
    note = store.add_message(live.id, "user", "see the file")
    store.add_attachments(note.id, [Attachment(PartKind.TEXT_FILE, "otters.txt", "text/plain",
                                               b"otter otter", "otter otter")])
    wanted = reference_order(db_path, '"otter"')
    assert len(wanted) == 31 and note.id in wanted
    for limit in (1, 5, 20, 31, 100):
        got = [h.message_id for h in store.search("otter", limit=limit)]
        assert got == wanted[:limit]
    assert {h.conversation_id for h in store.search("otter", limit=100)} == {live.id}


def test_ties_in_rank_come_newest_first_and_the_same_every_time(store: HistoryStore) -> None:
    conv = store.create_conversation("same")
    ids = [store.add_message(conv.id, "user", "exactly the same words").id for _ in range(50)]
    first = [h.message_id for h in store.search("same words", limit=10)]
    assert first == sorted(ids, reverse=True)[:10]
    assert all([h.message_id for h in store.search("same words", limit=10)] == first
               for _ in range(5))
