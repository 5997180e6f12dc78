"""chatdesk's own JSON export: a lossless, idempotent round trip, and refusing broken files."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer.common import ImportCancelled, ImportFormatError
from chatdesk.transfer.native import (
    ExportError,
    export_native,
    import_native,
    select_conversations,
    write_native,
)


def seed_history(store: HistoryStore) -> dict[str, int]:
    """A history with everything an export must carry: failovers, branches, statuses,
    imported ids, pins, a deleted conversation and gaps in the ids. Returns some ids."""
    tides = store.create_conversation("Tides & <b>moons</b>", system_prompt="Be brief.",
                                      preferred_provider="openai")
    q = store.add_message(tides.id, "user", "How do **tides** work?\n\n<script>x</script>")
    a = store.add_message(tides.id, "assistant", "", status="partial",
                          provider="anthropic", model="claude-x")
    first = store.start_attempt(a.id, "anthropic", "claude-x")
    store.finish_attempt(first, outcome="failed", error_class="overloaded",
                         error_message="Anthropic is overloaded", http_status=529,
                         streamed_text="Mostly the")
    second = store.start_attempt(a.id, "openai", "gpt-x", continued_from=first)
    store.finish_attempt(second, outcome="ok", streamed_text=" Moon's gravity.")
    store.finish_message(a.id, content="Mostly the Moon's gravity. See "
                         "[NOAA](https://oceanservice.noaa.gov/).\n\n```python\nprint('</script>')"
                         "\n```", status="complete", provider="openai", model="gpt-x",
                         input_tokens=12, output_tokens=30, finish_reason="stop")
    store.add_message(tides.id, "assistant", "An earlier answer", parent_id=q.id,
                      is_alternate=True, provider="ollama", model="llama")
    store.set_pinned(tides.id, True)

    gone = store.create_conversation("gone")  # deleted and purged: a gap in the ids
    store.add_message(gone.id, "user", "bye")

    cut = store.create_conversation(None)
    store.add_message(cut.id, "user", "Привет, мир! café ☕")
    store.add_message(cut.id, "assistant", "Half an ans", status="failed",
                      provider="gemini", model="gemini-x")
    store.add_message(cut.id, "user", "still there?", status="pending")
    store.delete_conversation(gone.id)
    store.purge_deleted()

    imported = store.create_conversation("From ChatGPT", source="chatgpt", source_id="cg-1",
                                         created_at="2024-01-02T03:04:05.678+00:00")
    root = store.add_message(imported.id, "user", "hi", source_id="n1",
                             created_at="2024-01-02T03:04:05.678+00:00")
    store.add_message(imported.id, "assistant", "hello", source_id="n2", parent_id=root.id,
                      provider="openai", model="gpt-4o",
                      created_at="2024-01-02T03:04:06.000+00:00")
    empty = store.create_conversation("Nothing yet")
    return {"tides": tides.id, "cut": cut.id, "imported": imported.id, "empty": empty.id}


def export_json(store: HistoryStore, tmp_path: Path, name: str) -> dict[str, Any]:
    path = tmp_path / name
    export_native(store, select_conversations(store, None), str(path))
    return json.loads(path.read_text(encoding="utf-8"))


def counts(store: HistoryStore) -> tuple[int, int, int]:
    db = store.db
    return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                 for t in ("conversations", "messages", "attempts"))


@pytest.fixture
def source(tmp_path: Path) -> HistoryStore:
    with HistoryStore.open(tmp_path / "a" / "history.db") as store:
        seed_history(store)
        yield store


def test_round_trip_is_lossless(source: HistoryStore, tmp_path: Path) -> None:
    first = export_json(source, tmp_path, "one.json")
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        report = import_native(target, tmp_path / "one.json")
        second = export_json(target, tmp_path, "two.json")
    assert report.conversations_added == 4 and report.messages_added == 8
    assert first.pop("exported_at") and second.pop("exported_at")
    assert first == second
    # What the round trip carries, checked on the data rather than assumed.
    assert first["format"] == "chatdesk" and first["version"] == 2
    tides = next(c for c in first["conversations"] if c["title"] == "Tides & <b>moons</b>")
    assert tides["id"] == 1 and tides["pinned"] is True and tides["system_prompt"] == "Be brief."
    answer = tides["messages"][1]
    assert [a["outcome"] for a in answer["attempts"]] == ["failed", "ok"]
    assert answer["attempts"][0]["http_status"] == 529
    assert answer["attempts"][1]["continued_from"] == 0
    assert (answer["input_tokens"], answer["output_tokens"], answer["finish_reason"]) == (
        12, 30, "stop")
    alternate = tides["messages"][2]
    assert alternate["is_alternate"] is True
    assert alternate["parent_uid"] == tides["messages"][0]["uid"]
    statuses = [m["status"] for c in first["conversations"] for m in c["messages"]]
    assert {"failed", "pending", "complete"} <= set(statuses)
    assert "gone" not in {c["title"] for c in first["conversations"]}


def test_the_export_is_a_superset_of_history_show(source: HistoryStore, tmp_path: Path) -> None:
    data = export_json(source, tmp_path, "x.json")
    for conv in data["conversations"]:
        assert {"id", "title", "created_at", "messages"} <= conv.keys()
        for m in conv["messages"]:
            assert {"id", "role", "content", "provider", "model", "status",
                    "created_at"} <= m.keys()


def test_importing_twice_adds_nothing(source: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    export_native(source, select_conversations(source, None), str(path))
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        import_native(target, path)
        before = counts(target)
        again = import_native(target, path)
        assert counts(target) == before
    assert (again.conversations_added, again.conversations_updated, again.messages_added) == (
        0, 0, 0)


def test_into_a_busy_history_ids_move_but_links_hold(source: HistoryStore,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    export_native(source, select_conversations(source, None), str(path))
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        for n in range(6):  # take the ids the export uses
            conv = target.create_conversation(f"mine {n}")
            target.add_message(conv.id, "user", f"my text {n}")
        import_native(target, path)
        convs = {c.title: c for c in target.list_conversations(limit=50)}
        tides = convs["Tides & <b>moons</b>"]
        assert tides.id > 6
        msgs = target.messages(tides.id, include_alternates=True)
        question, answer, alternate = msgs
        assert alternate.parent_id == question.id and alternate.is_alternate
        first, second = target.attempts(answer.id)
        assert second.continued_from == first.id and first.error_class == "overloaded"
        assert target.get_conversation(1).title == "mine 0"  # untouched


def test_new_messages_of_a_known_conversation_are_added(source: HistoryStore,
                                                        tmp_path: Path) -> None:
    ids = select_conversations(source, None)
    export_native(source, ids, str(tmp_path / "old.json"))
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        import_native(target, tmp_path / "old.json")
        cut = [c for c in target.list_conversations() if c.title.startswith("Привет")][0]
        assert source.get_conversation(3).title == cut.title
        source.add_message(3, "assistant", "Yes, here.", provider="openai", model="gpt-x",
                           created_at="2099-01-01T00:00:00.000+00:00")
        export_native(source, ids, str(tmp_path / "new.json"))
        report = import_native(target, tmp_path / "new.json")
        assert (report.conversations_added, report.conversations_updated,
                report.messages_added) == (0, 1, 1)
        assert target.messages(cut.id)[-1].content == "Yes, here."
        assert target.get_conversation(cut.id).updated_at.startswith("2099")


def test_a_conversation_imported_on_both_sides_is_kept_once(source: HistoryStore,
                                                            tmp_path: Path) -> None:
    export_native(source, select_conversations(source, None), str(tmp_path / "x.json"))
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        mine = target.create_conversation("From ChatGPT", source="chatgpt", source_id="cg-1")
        target.add_message(mine.id, "user", "hi")
        import_native(target, tmp_path / "x.json")
        titles = [c.title for c in target.list_conversations()]
    assert titles.count("From ChatGPT") == 1


def test_a_cut_off_file_imports_nothing(source: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    export_native(source, select_conversations(source, None), str(path))
    whole = path.read_bytes()
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        for cut in (len(whole) // 3, len(whole) - 5):  # inside a conversation; after the last
            broken = tmp_path / f"cut{cut}.json"
            broken.write_bytes(whole[:cut])
            with pytest.raises(ImportFormatError) as info:
                import_native(target, broken)
            assert "\n" not in str(info.value) and broken.name in str(info.value)
            assert "cut off" in str(info.value)
            assert counts(target) == (0, 0, 0)


@pytest.mark.parametrize("text, why", [
    ('[{"mapping": {}}]', "chatdesk import chatgpt"),
    ('{"format": "other", "version": 1, "conversations": []}', "format"),
    ('{"format": "chatdesk", "version": 9, "conversations": []}', "version 9"),
    ('{"format": "chatdesk", "version": 1, "conversations": [{"title": "no uid"}]}', "uid"),
    ('{"format": "chatdesk", "version": 1, "conversations": [{"uid": "u", "created_at": "t",'
     ' "messages": [{"uid": "m", "role": "robot", "content": "", "status": "complete",'
     ' "created_at": "t"}]}]}', "role"),
    ("not json at all", "damaged"),
    ("", "empty"),
    # Half a UTF-16 pair, then a digit (hypothesis found it): once a UnicodeDecodeError.
    ('{"format": "chatdesk", "version": 1, "conversations": [{"\\ud8000\\udc00": 1}]}',
     "not valid Unicode"),
])
def test_files_that_are_not_chatdesk_exports_are_refused(tmp_path: Path, text: str,
                                                         why: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        with pytest.raises(ImportFormatError) as info:
            import_native(target, path)
        assert counts(target) == (0, 0, 0)
    assert why in str(info.value) and "\n" not in str(info.value)


def test_a_wrong_format_found_at_the_end_still_imports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"conversations": [{"uid": "u1", "created_at": "2024-01-01", '
                    '"messages": []}], "format": "something-else"}', encoding="utf-8")
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        with pytest.raises(ImportFormatError):
            import_native(target, path)
        assert counts(target) == (0, 0, 0)


def test_cancelling_imports_nothing(source: HistoryStore, tmp_path: Path) -> None:
    export_native(source, select_conversations(source, None), str(tmp_path / "x.json"))
    seen: list[int] = []
    with HistoryStore.open(tmp_path / "b" / "history.db") as target:
        with pytest.raises(ImportCancelled):
            import_native(target, tmp_path / "x.json", progress=lambda d, t: seen.append(d),
                          cancel=lambda: len(seen) >= 2)
        assert counts(target) == (0, 0, 0)


def test_export_is_written_one_conversation_at_a_time(source: HistoryStore) -> None:
    writes: list[str] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return super().write(text)

    out = Recorder()
    ids = select_conversations(source, None)
    assert write_native(source, ids, out) == (4, 8)
    assert len(writes) >= len(ids) + 2
    assert max(len(w) for w in writes) < len(out.getvalue()) / 2
    json.loads(out.getvalue())


def test_unknown_ids_are_refused_before_anything_is_written(source: HistoryStore) -> None:
    with pytest.raises(ExportError, match="no conversation with id 99"):
        select_conversations(source, [1, 99])
    with pytest.raises(ExportError):
        select_conversations(source, [2])  # deleted (and purged)
    assert select_conversations(source, [3, 1, 3]) == [3, 1]
