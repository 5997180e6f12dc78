"""`chatdesk import` and `chatdesk export`: progress and one-line outcomes."""

from __future__ import annotations

import argparse
import sys

from chatdesk.cli import EXIT_FAILED, EXIT_OK, UsageError, _fail
from chatdesk.context import AppContext

_IMPORTED_FROM = {"chatgpt": "ChatGPT", "claude": "Claude", "chatdesk": "a chatdesk export"}


def run_import(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.transfer.common import ImportCancelled, ImportFormatError, write_conversations
    from chatdesk.transfer.progress import ProgressBar

    bar = ProgressBar("Importing")
    try:
        with bar:
            if args.kind == "chatdesk":
                from chatdesk.transfer.native import import_native

                report = import_native(ctx.store, args.path, bar)
            else:
                if args.kind == "chatgpt":
                    from chatdesk.transfer.chatgpt import read_chatgpt as read
                else:
                    from chatdesk.transfer.claude import read_claude as read
                report = write_conversations(ctx.store, read(args.path), args.kind, bar)
    except ImportFormatError as exc:
        return _fail(exc, EXIT_FAILED)
    except (ImportCancelled, KeyboardInterrupt):
        return _fail("import cancelled; nothing was imported", 130)
    added, updated = report.conversations_added, report.conversations_updated
    already = max(0, bar.done - added - updated - report.skipped_empty)
    print(f"Imported {added:,} conversation{'' if added == 1 else 's'} "
          f"({report.messages_added:,} messages) from {_IMPORTED_FROM[args.kind]}; "
          + (f"{updated:,} updated with new messages; " if updated else "")
          + f"{report.skipped_empty:,} empty skipped; {already:,} already there", file=sys.stderr)
    return EXIT_OK


def run_export(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.transfer import html, markdown, native
    from chatdesk.transfer.progress import ProgressBar

    if args.all == bool(args.ids):
        raise UsageError("give the IDs of the conversations to export, or --all (not both)")
    try:
        ids = native.select_conversations(ctx.store, None if args.all else args.ids)
    except native.ExportError as exc:
        return _fail(exc, EXIT_FAILED)
    if args.format == "md" and len(ids) > 1 and (
            args.output == "-" or args.output.lower().endswith(".md")):
        raise UsageError("several conversations are exported as one .md file each: give "
                         "--output a folder")
    exporter = {"md": markdown.export_markdown, "json": native.export_native,
                "html": html.export_html}[args.format]
    try:
        with ProgressBar("Exporting") as bar:
            summary = exporter(ctx.store, ids, args.output, bar)
    except native.ExportError as exc:
        return _fail(exc, EXIT_FAILED)
    except BrokenPipeError:
        raise
    except OSError as exc:
        return _fail(f"could not write {args.output}: {_os_reason(exc)}", EXIT_FAILED)
    where = f" to {summary.path}" if summary.path is not None else ""
    n = summary.conversations
    print(f"Exported {n:,} conversation{'' if n == 1 else 's'} ({summary.messages:,} messages)"
          f"{where}", file=sys.stderr)
    return EXIT_OK


def _os_reason(exc: OSError) -> str:
    import errno

    return {
        errno.ENOSPC: "the disk is full; free some space and try again",
        errno.ENOENT: "its folder does not exist; create it or choose another place",
        errno.EACCES: "you are not allowed to write there; choose another place",
        errno.EPERM: "you are not allowed to write there; choose another place",
        errno.EROFS: "the disk is read-only; choose another place",
        errno.EEXIST: "a file of that name is in the way; choose another place",
        errno.ENOTDIR: "part of the path is a file, not a folder; choose another place",
        errno.EISDIR: "it is a folder; give a file name",
    }.get(exc.errno or 0, str(exc.strerror or exc))
