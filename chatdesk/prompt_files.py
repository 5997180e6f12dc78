"""Prompts and presets as a folder of plain Markdown files with a small front matter.

One file each, to keep in git or a synced folder:

    ---
    kind: prompt
    name: Summarize
    variables: topic, length
    ---
    Summarize {{topic}} in {{length}} words.

A preset's front matter has `providers:` (one `- NAME` or `- NAME:MODEL` line each),
`temperature:` and `max_tokens:`; its body is the system prompt. The body is the text as
saved plus one newline, so exporting again writes the same bytes. Importing the same folder
twice changes nothing; a name that exists with other content is reported and kept as it is.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from chatdesk import wording
from chatdesk.prompts import (
    Preset,
    Prompt,
    check_max_tokens,
    check_temperature,
    clean_name,
    parse_route,
    variables,
)
from chatdesk.store import HistoryStore

Kind = Literal["prompt", "preset"]
SUFFIX = {"prompt": ".md", "preset": ".preset.md"}
_FENCE = "---"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_STEM_LENGTH = 80


class FolderError(Exception):
    """The folder cannot be read or written; str() is the sentence."""


@dataclass
class FolderReport:
    """What an export or import did, by name (file names for the files skipped)."""

    written: list[str] = field(default_factory=list)  # export: files whose bytes changed
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # export: files already the same
    conflicts: list[str] = field(default_factory=list)  # sentences, one per conflict
    skipped: list[str] = field(default_factory=list)  # sentences, one per unreadable file


@dataclass(frozen=True)
class _Parsed:
    kind: str
    fields: dict[str, str]
    lists: dict[str, list[str]]
    body: str


# -- writing ---------------------------------------------------------------------------------

def prompt_text(prompt: Prompt) -> str:
    """A prompt's file, as text."""
    head = ["kind: prompt", f"name: {prompt.name}"]
    found = variables(prompt.text)
    if found:
        head.append(f"variables: {', '.join(found)}")
    return _document(head, prompt.text)


def preset_text(preset: Preset) -> str:
    """A preset's file, as text (its body is the system prompt)."""
    head = ["kind: preset", f"name: {preset.name}"]
    if preset.routes:
        head.append("providers:")
        head += [f"- {route}" for route in preset.routes]
    if preset.temperature is not None:
        head.append(f"temperature: {preset.temperature!r}")
    if preset.max_tokens is not None:
        head.append(f"max_tokens: {preset.max_tokens}")
    return _document(head, preset.system_prompt or "")


def _document(head: list[str], body: str) -> str:
    return "\n".join([_FENCE, *head, _FENCE, body]) + "\n"


def safe_stem(name: str) -> str:
    """A file name (without suffix) from a prompt's name: letters, digits, `.`, `_`, `-`."""
    stem = _UNSAFE.sub("-", name).strip("-.")[:_STEM_LENGTH].strip("-.")
    return stem or "untitled"


def export_folder(store: HistoryStore, folder: Path, kind: Kind) -> FolderReport:
    """Write every prompt (or preset) to `folder`, one file each. A file is rewritten only
    when its bytes change; files of other names already there are left alone."""
    items: list[tuple[str, str]] = (
        [(p.name, prompt_text(p)) for p in store.prompts()] if kind == "prompt"
        else [(p.name, preset_text(p)) for p in store.presets()])
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FolderError(f"Could not create {folder}: {exc.strerror or exc}.") from exc
    report = FolderReport()
    taken: set[str] = set()
    for name, text in items:
        path = _target(folder, kind, name, taken)
        taken.add(path.name)
        try:
            if path.exists() and path.read_bytes() == text.encode("utf-8"):
                report.unchanged.append(path.name)
                continue
            _write_atomically(path, text)
        except OSError as exc:
            raise FolderError(f"Could not write {path}: {exc.strerror or exc}.") from exc
        report.written.append(path.name)
    return report


def _target(folder: Path, kind: Kind, name: str, taken: set[str]) -> Path:
    """The file for this item: its safe name, unless that file holds another item (then
    `-2`, `-3`…). A file that holds this item is its file again (re-exports match)."""
    stem = safe_stem(name)
    n = 1
    while True:
        path = folder / f"{stem}{'' if n == 1 else f'-{n}'}{SUFFIX[kind]}"
        if path.name not in taken and (not path.exists() or _holds(path, kind, name)):
            return path
        n += 1


def _holds(path: Path, kind: Kind, name: str) -> bool:
    try:
        parsed = _parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return parsed.kind == kind and parsed.fields.get("name") == name


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".chatdesk-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- reading ---------------------------------------------------------------------------------

def _parse(text: str) -> _Parsed:
    """The front matter and body of a file; ValueError (why) when it is not one of ours."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != _FENCE:
        raise ValueError("it does not start with a front matter (a line of ---)")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == _FENCE)
    except StopIteration:
        raise ValueError("its front matter has no closing line of ---") from None
    fields: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines[1:end]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        stripped = line.strip()
        if stripped.startswith("- ") or stripped == "-":
            if current is None:
                raise ValueError(f"the list item {stripped!r} belongs to no key")
            lists[current].append(stripped[1:].strip())
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"the front matter line {line.strip()!r} is not KEY: VALUE")
        key, value = key.strip(), value.strip()
        if value:
            fields[key] = value
            current = None
        else:
            current = key
            lists[key] = []
    body = "\n".join(lines[end + 1:]).removesuffix("\n")
    return _Parsed(fields.get("kind", ""), fields, lists, body)


def _read_prompt(parsed: _Parsed) -> tuple[str, str]:
    name = clean_name(parsed.fields.get("name", ""))
    if not parsed.body.strip():
        raise ValueError("its text is empty")
    return name, parsed.body


def _read_preset(parsed: _Parsed) -> Preset:
    name = clean_name(parsed.fields.get("name", ""))
    routes = tuple(parse_route(r) for r in parsed.lists.get("providers", []))
    try:
        temperature = float(parsed.fields["temperature"]) \
            if "temperature" in parsed.fields else None
        max_tokens = int(parsed.fields["max_tokens"]) if "max_tokens" in parsed.fields else None
    except ValueError:
        raise ValueError("its temperature or max_tokens is not a number") from None
    return Preset(0, name, parsed.body or None, routes, check_temperature(temperature),
                  check_max_tokens(max_tokens), "", "")


def import_folder(store: HistoryStore, folder: Path, kind: Kind) -> FolderReport:
    """Add the prompts (or presets) of a folder's files; the same content under the same
    name is already here, other content under a name in use is a conflict, kept as it is.
    Files of the other kind are passed over without a word; files not ours are reported."""
    if not folder.is_dir():
        raise FolderError(f"There is no folder {folder}.")
    report = FolderReport()
    try:
        paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".md")
    except OSError as exc:
        raise FolderError(f"Could not read {folder}: {exc.strerror or exc}.") from exc
    with store.transaction():
        for path in paths:
            try:
                parsed = _parse(path.read_text(encoding="utf-8"))
                if parsed.kind not in ("prompt", "preset"):
                    raise ValueError("its front matter says no kind: prompt or kind: preset")
                if parsed.kind != kind:
                    continue
                if kind == "prompt":
                    merge_prompt(store, path.name, *_read_prompt(parsed), report)
                else:
                    merge_preset(store, path.name, _read_preset(parsed), report)
            except UnicodeDecodeError:
                report.skipped.append(wording.not_a_library_file(path.name, "it is not UTF-8"))
            except OSError as exc:
                report.skipped.append(wording.not_a_library_file(
                    path.name, f"it could not be read ({exc.strerror or exc})"))
            except ValueError as exc:
                report.skipped.append(wording.not_a_library_file(
                    path.name, str(exc).rstrip(".")[:1].lower() + str(exc).rstrip(".")[1:]))
    return report


def merge_prompt(store: HistoryStore, file_name: str, name: str, text: str,
                 report: FolderReport) -> None:
    """Add one prompt unless its name is taken: the same text is noted as unchanged, other
    text as a conflict (a sentence naming `file_name`), and the one there is kept. (For any
    importer: the native JSON import may take prompts the same way.)"""
    found = store.get_prompt(name)
    if found is None:
        store.add_prompt(name, text)
        report.added.append(name)
    elif found.text == text:
        report.unchanged.append(name)
    else:
        report.conflicts.append(wording.import_conflict("prompt", name, file_name))


def merge_preset(store: HistoryStore, file_name: str, preset: Preset,
                 report: FolderReport) -> None:
    """`merge_prompt` for a preset (its content: system prompt, order, tuning)."""
    found = store.get_preset(preset.name)
    if found is None:
        store.add_preset(preset.name, preset.system_prompt, preset.routes, preset.temperature,
                         preset.max_tokens)
        report.added.append(preset.name)
    elif found.same_content(preset):
        report.unchanged.append(preset.name)
    else:
        report.conflicts.append(wording.import_conflict("preset", preset.name, file_name))
