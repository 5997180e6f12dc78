"""Fuzzing the importers: whatever the file, a typed error or an import, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatdesk.store import HistoryStore
from chatdesk.store.errors import StoreError
from chatdesk.transfer.common import ImportCancelled, ImportFormatError
from chatdesk.transfer.jobs import run_import
from chatdesk.transfer.json_guard import MAX_DEPTH
from tests.transfer.test_hostile import dump

FIXTURES = Path(__file__).parent / "fixtures"
WHEN = "2024-01-01T00:00:00.000+00:00"
NATIVE = {
    "format": "chatdesk", "version": 1, "exported_at": WHEN,
    "conversations": [{
        "id": 7, "uid": "c-1", "title": "t", "created_at": WHEN, "updated_at": WHEN,
        "system_prompt": None, "preferred_provider": "openai", "pinned": True,
        "source": "chatgpt", "source_id": "s-1",
        "messages": [
            {"id": 3, "uid": "m-1", "role": "user", "content": "hi", "status": "complete",
             "created_at": WHEN, "updated_at": WHEN, "parent_uid": None, "attempts": []},
            {"id": 4, "uid": "m-2", "role": "assistant", "content": "hello",
             "status": "complete", "created_at": WHEN, "parent_uid": "m-1",
             "provider": "openai", "model": "gpt", "input_tokens": 1, "output_tokens": 2,
             "attempts": [{"provider": "openai", "started_at": WHEN, "outcome": "ok",
                           "http_status": 200, "continued_from": None}]},
        ],
    }],
}  # fmt: skip
SAMPLES: dict[str, Any] = {
    "chatgpt": json.loads((FIXTURES / "chatgpt" / "conversations.json").read_text("utf-8")),
    "claude": json.loads((FIXTURES / "claude" / "conversations.json").read_text("utf-8")),
    "chatdesk": NATIVE,
}
TYPED = (ImportFormatError, ImportCancelled, StoreError)

scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
    | st.sampled_from(["", "user", "assistant", "human", "text", "complete", "ok", WHEN,
                       "m-1", "c-1", "\x00", "\ud7ff\U0001f600", "9" * 40])
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12,
)


def nested(levels: int) -> Any:
    value: Any = "deep"
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def paths(doc: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, (*here, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from paths(value, (*here, i))


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy: Any = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[path[0]] = replaced(doc[path[0]], path[1:], value)
    return copy


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    """A real export with a few fields given wrong values, sometimes cut or garbled."""
    doc = SAMPLES[kind]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(paths(doc))))
        doc = replaced(doc, path, draw(values))
    data = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # deep-ish: around the nesting cap
        path = draw(st.sampled_from(list(paths(doc))))
        doc = replaced(doc, path, nested(draw(st.integers(1, MAX_DEPTH + 20))))
    how = draw(st.sampled_from(["whole", "whole", "cut", "garble"]))
    if how == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "garble":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return data


@contextmanager
def scratch_store() -> Iterator[tuple[HistoryStore, Path]]:
    with tempfile.TemporaryDirectory() as tmp, HistoryStore.open(Path(tmp) / "h.db") as store:
        store.add_message(store.create_conversation("kept").id, "user", "already here")
        yield store, Path(tmp)


def check(store: HistoryStore, folder: Path, kind: str, data: bytes) -> None:
    """Import `data`: it works, or fails with a typed one-line error and changes nothing."""
    path = folder / "conversations.json"
    path.write_bytes(data)
    before = dump(store)
    try:
        run_import(store, kind, path)
    except TYPED as exc:
        assert "\n" not in str(exc)
        assert dump(store) == before


# FUZZ_N=600 runs each longer, by hand.
fuzz = settings(max_examples=int(os.environ.get("FUZZ_N", "40")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@fuzz
@given(st.data())
def test_chatgpt_with_wrong_fields(data: st.DataObject) -> None:
    with scratch_store() as (store, folder):
        check(store, folder, "chatgpt", data.draw(mutated("chatgpt")))


@fuzz
@given(st.data())
def test_claude_with_wrong_fields(data: st.DataObject) -> None:
    with scratch_store() as (store, folder):
        check(store, folder, "claude", data.draw(mutated("claude")))


@fuzz
@given(st.data())
def test_native_with_wrong_fields(data: st.DataObject) -> None:
    with scratch_store() as (store, folder):
        check(store, folder, "chatdesk", data.draw(mutated("chatdesk")))


@settings(max_examples=int(os.environ.get("FUZZ_N", "30")), deadline=None)
@given(st.sampled_from(["chatgpt", "claude", "chatdesk"]),
       values | st.lists(values, max_size=3), st.binary(max_size=40), st.booleans())
def test_any_json_or_bytes(kind: str, doc: Any, raw: bytes, as_bytes: bool) -> None:
    data = raw if as_bytes else json.dumps(doc).encode("utf-8", "surrogatepass")
    with scratch_store() as (store, folder):
        check(store, folder, kind, data)


# -- what the fuzzer found, one concrete file each -----------------------------------------


def with_field(kind: str, path: tuple[Any, ...], value: Any) -> bytes:
    return json.dumps(replaced(SAMPLES[kind], path, value)).encode()


CHATGPT_CAT = (0, "mapping", "9b1e0c4e-0002-4a8e-9d1b-aaaaaaaaaaa2", "message")


def test_found_wrong_types_in_a_chatgpt_message() -> None:
    # Each once raised TypeError or AttributeError out of the importer.
    cases = [
        (*CHATGPT_CAT, "content", "content_type"), (*CHATGPT_CAT, "metadata"),
        (*CHATGPT_CAT, "author"), (*CHATGPT_CAT, "content", "parts"),
    ]
    for path in cases:
        for value in ([None], "text", 5):
            with scratch_store() as (store, folder):
                check(store, folder, "chatgpt", with_field("chatgpt", path, value))


def test_found_wrong_types_in_a_claude_conversation() -> None:
    for path in [(0, "chat_messages"), (0, "chat_messages", 0, "content"),
                 (0, "chat_messages", 0, "attachments"), (0, "chat_messages", 0, "files")]:
        for value in ("x", 5, {"a": 1}):
            with scratch_store() as (store, folder):
                check(store, folder, "claude", with_field("claude", path, value))


def test_found_wrong_types_in_a_native_export() -> None:
    conv = ("conversations", 0)
    message = (*conv, "messages", 1)
    cases = [((*message, "role"), []), ((*message, "status"), {}), ((*conv, "title"), [1]),
             ((*conv, "id"), True), ((*message, "input_tokens"), "many"),
             ((*message, "attempts", 0, "outcome"), ["ok"]),
             ((*message, "attempts", 0, "http_status"), 1.5)]
    for path, value in cases:
        with scratch_store() as (store, folder):
            path_ = folder / "export.json"
            path_.write_bytes(with_field("chatdesk", path, value))
            before = dump(store)
            with pytest.raises(ImportFormatError, match=r"message 2|conversation 1"):
                run_import(store, "chatdesk", path_)
            assert dump(store) == before
