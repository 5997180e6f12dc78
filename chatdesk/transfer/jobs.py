"""Import and export as whole jobs, and the sentences that report them (CLI and app alike)."""

from __future__ import annotations

import errno
import importlib
import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from chatdesk import wording
from chatdesk.transfer.formats import PRODUCTS

if TYPE_CHECKING:
    from chatdesk.store import HistoryStore
    from chatdesk.transfer.common import ImportReport, SideOutcome
    from chatdesk.transfer.native import ExportSummary

Progress = Callable[[int, int | None], None]

# The names used in the summary ("… from ChatGPT; …").
SOURCES = {**PRODUCTS, "chatdesk": "a chatdesk export"}
# Each kind's reader: a module of chatdesk.transfer and its function, imported when used.
_READERS = {
    "chatgpt": "chatgpt:read_chatgpt",
    "claude": "claude:read_claude",
    "deepseek": "deepseek:read_deepseek",
    "openwebui": "openwebui:read_openwebui",
    "chatbox": "chatbox:read_chatbox",
    "cherry": "cherry:read_cherry",
}

_NOT_ALLOWED = "you are not allowed to write there; choose another place"
_WRITE_PROBLEMS = {
    errno.ENOSPC: "the disk is full; free some space and try again",
    errno.ENOENT: "its folder does not exist; create it or choose another place",
    errno.EACCES: _NOT_ALLOWED,
    errno.EPERM: _NOT_ALLOWED,
    errno.EROFS: "the disk is read-only; choose another place",
    errno.EEXIST: "a file of that name is in the way; choose another place",
    errno.ENOTDIR: "part of the path is a file, not a folder; choose another place",
    errno.EISDIR: "it is a folder; give a file name",
}


def run_import(store: HistoryStore, kind: str, path: Path | str,
               progress: Progress | None = None,
               cancel: Callable[[], bool] | None = None) -> ImportReport:
    """Import an export of `kind` (a key of SOURCES) in one transaction."""
    if kind == "chatdesk":
        from chatdesk.transfer.native import import_native

        return import_native(store, Path(path), progress, cancel)
    from chatdesk.transfer.common import write_conversations

    if kind not in _READERS:
        raise ValueError(f"unknown export kind {kind!r}")
    if not available(kind):
        from chatdesk.transfer.common import ImportFormatError

        raise ImportFormatError(f"importing from {SOURCES[kind]} is not in this version of "
                                "chatdesk yet; nothing was imported")
    module, function = _READERS[kind].split(":")
    read = getattr(importlib.import_module(f"chatdesk.transfer.{module}"), function)
    return write_conversations(store, read(Path(path)), kind, progress, cancel)


def available(kind: str) -> bool:
    """Whether this version has the reader of `kind` (the app offers only those)."""
    if kind == "chatdesk":
        return True
    reader = _READERS.get(kind)
    return reader is not None and importlib.util.find_spec(
        f"chatdesk.transfer.{reader.split(':')[0]}") is not None


def run_export(store: HistoryStore, ids: Sequence[int], fmt: str, output: str,
               progress: Progress | None = None) -> ExportSummary:
    """Export conversations `ids` as md, json or html to `output` ("-" for stdout)."""
    from chatdesk.transfer import html, markdown, native

    exporter = {"md": markdown.export_markdown, "json": native.export_native,
                "html": html.export_html}[fmt]
    return exporter(store, list(ids), output, progress)


def import_summary(report: ImportReport, kind: str, read: int) -> str:
    """'Imported 3 conversations (12 messages) from ChatGPT; 2 attachments; 0 empty
    skipped; 0 already there', where `read` is how many conversations the export held;
    then one line per attachment that was left out, saying why."""
    added, updated = report.conversations_added, report.conversations_updated
    already = max(0, read - added - updated - report.skipped_empty)
    files = wording.import_files(report.attachments_added, report.attachments_missing)
    return (f"Imported {added:,} conversation{'' if added == 1 else 's'} "
            f"({report.messages_added:,} messages) from {SOURCES[kind]}; "
            + (f"{updated:,} updated with new messages; " if updated else "")
            + (f"{files}; " if files else "")
            + f"{report.skipped_empty:,} empty skipped; {already:,} already there"
            + "".join(f"\n{side_line(side)}" for side in report.side)
            + "".join(f"\n{note}" for note in report.notes))


def side_line(side: SideOutcome) -> str:
    """'Projects: 2 imported as presets; 1 not imported — it has no instructions'."""
    said = []
    if side.imported:
        said.append(f"{side.imported:,} imported" + (f" as {side.became}" if side.became else ""))
    if side.already:
        said.append(f"{side.already:,} already there")
    if side.skipped:
        said.append(f"{side.skipped:,} not imported" + (f" — {side.why}" if side.why else ""))
    return f"{side.kind[:1].upper()}{side.kind[1:]}: " + ("; ".join(said) or "none")


def export_summary(summary: ExportSummary) -> str:
    n = summary.conversations
    where = f" to {summary.path}" if summary.path is not None else ""
    return (f"Exported {n:,} conversation{'' if n == 1 else 's'} "
            f"({summary.messages:,} messages){where}")


def write_problem(exc: OSError) -> str:
    """Why a file could not be written, and what to do, in words."""
    return _WRITE_PROBLEMS.get(exc.errno or 0, str(exc.strerror or exc))
