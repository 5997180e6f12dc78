"""Hostile and wrong files: deep nesting, huge strings, valid JSON of the wrong shape."""

from __future__ import annotations

import io
import json
import math
import random
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer.common import ImportFormatError
from chatdesk.transfer.export_stream import _ijson
from chatdesk.transfer.jobs import run_import
from chatdesk.transfer.json_guard import MAX_DEPTH, JsonGuard, TooDeep

KINDS = ("chatgpt", "claude", "chatdesk")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(tmp_path / "history.db") as s:
        s.add_message(s.create_conversation("kept").id, "user", "already here")
        yield s


def dump(store: HistoryStore) -> list[str]:
    """Every statement that rebuilds the file, sorted: a failed import leaves the same rows
    and schema, though its short transactions re-create the index trigger, which moves it
    in SQLite's listing of the schema."""
    return sorted(store.db.conn.iterdump())


def wrap(kind: str, inner: bytes) -> bytes:
    """`inner` inside a conversation of that kind of export."""
    if kind == "chatgpt":
        return b'[{"id": "c1", "mapping": {"n1": ' + inner + b"}}]"
    if kind == "claude":
        return b'[{"uuid": "c1", "chat_messages": ' + inner + b"}]"
    return (b'{"format": "chatdesk", "version": 1, "conversations": [{"uid": "u", '
            b'"created_at": "2024-01-01T00:00:00.000+00:00", "messages": [], "x": ' + inner
            + b"}]}")


def deep(levels: int) -> bytes:
    return b'[{"a": ' * (levels // 2) + b"1" + b"}]" * (levels // 2)


@pytest.mark.parametrize("kind", KINDS)
def test_deep_nesting_is_refused_while_streaming(
    kind: str, tmp_path: Path, store: HistoryStore
) -> None:
    # ~200 KB, 50,000 levels: unguarded, ijson's bookkeeping alone would need tens of GB.
    path = tmp_path / "conversations.json"
    path.write_bytes(wrap(kind, deep(50_000)))
    assert 190_000 < path.stat().st_size < 260_000
    before = dump(store)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ImportFormatError, match=f"nest more than {MAX_DEPTH} levels") as e:
            run_import(store, kind, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 10  # generous: this is about not hanging
    assert peak < 20_000_000, f"peak {peak:,} bytes"
    assert "nothing was imported" in str(e.value) and "\n" not in str(e.value)
    assert dump(store) == before


@pytest.mark.parametrize("kind", KINDS)
def test_nesting_up_to_the_cap_is_read(kind: str, tmp_path: Path, store: HistoryStore) -> None:
    path = tmp_path / "conversations.json"
    path.write_bytes(wrap(kind, b"[" + deep(MAX_DEPTH - 12) + b"]"))
    run_import(store, kind, path)  # nothing importable in it, but not refused either


def test_the_guard_follows_strings_escapes_and_every_read_size() -> None:
    doc = json.dumps([{'"[{': ["\\", '\\"]]]]', {"}": "[[[["}], "x": "y" * 300}] * 3).encode()
    for size in (1, 2, 3, 7, 64, len(doc)):
        guard = JsonGuard(io.BytesIO(doc))
        got = b""
        while chunk := guard.read(size):
            got += chunk
        assert got == doc and guard.depth == 0
    over = b"[" * (MAX_DEPTH + 1)
    assert JsonGuard(io.BytesIO(b"[" * MAX_DEPTH)).read(1 << 20)
    guard = JsonGuard(io.BytesIO(b'["[[[", ' + over))
    with pytest.raises(TooDeep):
        while guard.read(5):
            pass


def depths(doc: bytes) -> tuple[list[int], int]:
    """The nesting depth after each byte of `doc`, and the deepest: one byte at a time."""
    depth = peak = 0
    inside = escaped = False
    after = []
    for byte in doc:
        char = chr(byte)
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif char in "[{":
            depth += 1
            peak = max(peak, depth)
        elif char in "]}":
            depth -= 1
        after.append(depth)
    return after, peak


def nested(rng: random.Random, room: int) -> object:
    """A JSON value nesting up to `room` levels, its strings full of marks and escapes."""
    if room == 0 or rng.random() < 0.3:
        return rng.choice(["", "[", '"', "\\", '"]}{', "x" * rng.randint(0, 40), 1, None])
    if rng.random() < 0.5:
        return [nested(rng, room - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "[", '"{"']) + str(i): nested(rng, room - 1)
            for i in range(rng.randint(0, 3))}


def test_the_guard_keeps_the_depth_exactly_near_the_cap_and_far_below_it() -> None:
    rng = random.Random(18)
    for round_ in range(60):
        # deep chains (near the cap, and past it) with wide random values along the way
        levels = rng.choice([5, MAX_DEPTH - 70, MAX_DEPTH - 3, MAX_DEPTH - 1, MAX_DEPTH + 1])
        value: object = nested(rng, 6)
        for _ in range(max(0, levels - 6)):
            value = [nested(rng, 2), value] if rng.random() < 0.5 else {"k[": value}
        doc = json.dumps(value).encode()
        truth, peak = depths(doc)
        size = rng.choice([1, 5, 64, 1000, 1 << 16])
        guard = JsonGuard(io.BytesIO(doc))
        read = 0
        try:
            while chunk := guard.read(size):
                read += len(chunk)
                assert guard.depth == truth[read - 1], (round_, read)
        except TooDeep:
            assert peak > MAX_DEPTH, round_
        else:
            assert peak <= MAX_DEPTH and read == len(doc), round_


def reads_for(length: int) -> int:
    guard = JsonGuard(io.BytesIO(b'[{"mapping": {}, "title": "' + b"ab\\n" * (length // 4)
                                 + b'"}]'))
    (item,) = _ijson.items(guard, "item")
    assert len(item["title"]) == length // 4 * 3
    return guard.reads


def test_one_long_string_is_read_in_a_few_ever_larger_reads() -> None:
    # The compiled backend rescans an unfinished string at every read: reads of a fixed
    # size make one string cost the square of its length; doubling ones keep it linear.
    small, large = reads_for(1 << 19), reads_for(1 << 22)
    assert large <= small + math.log2(8) + 2
    assert large < 20


@pytest.mark.parametrize(
    ("kind", "doc", "expected"),
    [
        ("chatgpt", [{"foo": "bar"}], "not a ChatGPT export: its conversations have no `mapping`"),
        ("chatgpt", [{"mapping": {}}, {"foo": 1}], "conversation 2 has no `mapping`"),
        ("claude", [{"foo": "bar"}], "not a Claude export: its conversations have no `chat_"),
        ("claude", [{"chat_messages": []}, {}], "conversation 2 has no `chat_messages`"),
        ("chatdesk", {"foo": "bar"}, "its format is not 'chatdesk'"),
        ("chatdesk", {"format": "chatdesk", "version": 1}, "it has no list of conversations"),
        ("chatdesk", {"format": "chatdesk", "version": 1, "conversations": {}},
         "it has no list of conversations"),
    ],
)
def test_valid_json_of_another_shape_is_refused(
    kind: str, doc: object, expected: str, tmp_path: Path, store: HistoryStore
) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    before = dump(store)
    with pytest.raises(ImportFormatError, match="nothing was imported") as caught:
        run_import(store, kind, path)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert dump(store) == before


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_export_is_still_an_export(
    kind: str, tmp_path: Path, store: HistoryStore
) -> None:
    path = tmp_path / "conversations.json"
    empty = {"format": "chatdesk", "version": 1, "conversations": []}
    path.write_text(json.dumps(empty if kind == "chatdesk" else []), encoding="utf-8")
    report = run_import(store, kind, path)
    assert report.conversations_added == report.messages_added == 0

