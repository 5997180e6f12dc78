"""`chatdesk import` and `chatdesk export`: progress and one-line outcomes."""

from __future__ import annotations

import argparse
import sys

from chatdesk.cli import EXIT_FAILED, EXIT_OK, UsageError, _fail
from chatdesk.context import AppContext
from chatdesk.transfer import jobs
from chatdesk.transfer.common import ImportCancelled, ImportFormatError
from chatdesk.transfer.native import ExportError, select_conversations
from chatdesk.transfer.progress import ProgressBar


def run_import(args: argparse.Namespace, ctx: AppContext) -> int:
    bar = ProgressBar("Importing")
    try:
        with bar:
            report = jobs.run_import(ctx.store, args.kind, args.path, bar)
    except ImportFormatError as exc:
        return _fail(exc, EXIT_FAILED)
    except (ImportCancelled, KeyboardInterrupt):
        return _fail("import cancelled; nothing was imported", 130)
    print(jobs.import_summary(report, args.kind, bar.done), file=sys.stderr)
    return EXIT_OK


def run_export(args: argparse.Namespace, ctx: AppContext) -> int:
    if args.all == bool(args.ids):
        raise UsageError("give the IDs of the conversations to export, or --all (not both)")
    try:
        ids = select_conversations(ctx.store, None if args.all else args.ids)
    except ExportError as exc:
        return _fail(exc, EXIT_FAILED)
    if args.format == "md" and len(ids) > 1 and (
            args.output == "-" or args.output.lower().endswith(".md")):
        raise UsageError("several conversations are exported as one .md file each: give "
                         "--output a folder")
    try:
        with ProgressBar("Exporting") as bar:
            summary = jobs.run_export(ctx.store, ids, args.format, args.output, bar)
    except ExportError as exc:
        return _fail(exc, EXIT_FAILED)
    except BrokenPipeError:
        raise
    except OSError as exc:
        return _fail(f"could not write {args.output}: {jobs.write_problem(exc)}", EXIT_FAILED)
    print(jobs.export_summary(summary), file=sys.stderr)
    return EXIT_OK
