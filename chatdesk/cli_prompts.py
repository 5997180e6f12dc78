"""`chatdesk prompts …` and `chatdesk presets …`: the prompt library and presets on the CLI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chatdesk import wording
from chatdesk.cli import EXIT_FAILED, EXIT_OK, UsageError, _print_json
from chatdesk.context import AppContext
from chatdesk.prompt_files import FolderError, FolderReport, Kind, export_folder, import_folder
from chatdesk.prompts import (
    Preset,
    check_max_tokens,
    check_temperature,
    clean_name,
    parse_route,
    preset_to_json,
    prompt_to_json,
    variables,
)
from chatdesk.store import HistoryStore
from chatdesk.store.prompts import NameTakenError


def _read_text(what: str) -> str:
    """A prompt's text from stdin (all of it, as given, less one final newline)."""
    if sys.stdin is None or sys.stdin.isatty():
        print(f"Type the text of {what}, then Ctrl+D:", file=sys.stderr)
    text = (sys.stdin.read() if sys.stdin is not None else "").removesuffix("\n")
    if not text.strip():
        raise UsageError(f"no text for {what}: pipe it on stdin")
    return text


def _name(raw: str) -> str:
    try:
        return clean_name(raw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _folder(args: argparse.Namespace, store: HistoryStore, kind: Kind, export: bool) -> int:
    folder = Path(args.dir).expanduser()
    try:
        report = export_folder(store, folder, kind) if export \
            else import_folder(store, folder, kind)
    except FolderError as exc:
        print(f"chatdesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return _report(report, kind, folder, export)


def _report(report: FolderReport, kind: Kind, folder: Path, export: bool) -> int:
    if export:
        count, same = len(report.written), len(report.unchanged)
        wrote = f"Wrote {count} file{'s' if count != 1 else ''} to {folder}"
        if same:
            wrote += f"; {same} {'was' if same == 1 else 'were'} up to date already"
        print(wrote + ".", file=sys.stderr)
        return EXIT_OK
    for sentence in report.conflicts + report.skipped:
        print(f"chatdesk: {sentence}", file=sys.stderr)
    print(wording.folder_import_summary(kind, len(report.added), len(report.unchanged),
                                        len(report.conflicts), len(report.skipped)),
          file=sys.stderr)
    return EXIT_FAILED if report.conflicts or report.skipped else EXIT_OK


def run_prompts(args: argparse.Namespace, ctx: AppContext) -> int:
    store = ctx.store
    command = args.prompts_command
    if command == "list":
        prompts = store.prompts()
        if args.json:
            _print_json([prompt_to_json(p) for p in prompts])
            return EXIT_OK
        if not prompts:
            print("No prompts yet. Save one with: echo 'Summarize {{text}}' | "
                  "chatdesk prompts add summarize", file=sys.stderr)
        for p in prompts:
            found = variables(p.text)
            line = p.text.strip().splitlines()[0] if p.text.strip() else ""
            print(f"{p.name:<24} {p.uses:>4} use{'s' if p.uses != 1 else ' '}  "
                  f"{('{' + ', '.join(found) + '}  ') if found else ''}{line[:60]}")
        return EXIT_OK
    if command in ("export", "import"):
        return _folder(args, store, "prompt", command == "export")
    name = _name(args.name)
    if command == "add":
        text = _read_text(f"prompt {name!r}")
        try:
            store.add_prompt(name, text)
        except NameTakenError as exc:
            raise UsageError(f"{exc} Change it with: chatdesk prompts edit {name!r}".replace(
                "'", '"')) from None
        print(f"Saved prompt {name!r}.", file=sys.stderr)
        return EXIT_OK
    found_prompt = store.get_prompt(name)
    if found_prompt is None:
        raise UsageError(wording.no_such("prompt", name))
    if command == "show":
        sys.stdout.write(found_prompt.text + "\n")
    elif command == "edit":
        store.update_prompt(name, _read_text(f"prompt {name!r}"))
        print(f"Saved prompt {name!r}.", file=sys.stderr)
    elif command == "delete":
        store.delete_prompt(name)
        print(f"Deleted prompt {name!r}.", file=sys.stderr)
    return EXIT_OK


def _preset_values(args: argparse.Namespace, ctx: AppContext, base: Preset) -> Preset:
    """`base` with what the options give (a provider must be in settings.toml)."""
    routes = base.routes
    try:
        if args.provider:
            routes = tuple(parse_route(r) for r in args.provider)
        temperature = check_temperature(args.temperature) \
            if args.temperature is not None else base.temperature
        max_tokens = check_max_tokens(args.max_tokens) \
            if args.max_tokens is not None else base.max_tokens
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    unknown = [r.provider for r in routes if r.provider not in ctx.settings.providers]
    if args.provider and unknown:
        known = ", ".join(ctx.settings.providers) or "none"
        raise UsageError(f"no provider named {unknown[0]!r} in settings.toml "
                         f"(configured: {known})")
    system = base.system_prompt if args.system is None else (args.system or None)
    return Preset(base.id, base.name, system, routes, temperature, max_tokens,
                  base.created_at, base.updated_at)


def _print_preset(preset: Preset) -> None:
    order = ", ".join(str(r) for r in preset.routes) or "the failover order"
    temperature = "the model's own" if preset.temperature is None else f"{preset.temperature:g}"
    tokens = "the provider's" if preset.max_tokens is None else str(preset.max_tokens)
    print(f"{preset.name}\n  providers:   {order}\n  temperature: {temperature}\n"
          f"  max tokens:  {tokens}")
    if preset.system_prompt:
        print("  system prompt:")
        print("\n".join(f"    {line}" for line in preset.system_prompt.splitlines()))


def run_presets(args: argparse.Namespace, ctx: AppContext) -> int:
    store = ctx.store
    command = args.presets_command
    if command == "list":
        presets = store.presets()
        if args.json:
            _print_json([preset_to_json(p) for p in presets])
            return EXIT_OK
        if not presets:
            print("No presets yet. Make one with: chatdesk presets add NAME --provider "
                  "NAME:MODEL", file=sys.stderr)
        for p in presets:
            order = ", ".join(str(r) for r in p.routes) or "(failover order)"
            print(f"{p.name:<24} {order}")
        return EXIT_OK
    if command in ("export", "import"):
        return _folder(args, store, "preset", command == "export")
    name = _name(args.name)
    if command == "add":
        empty = Preset(0, name, None, (), None, None, "", "")
        made = _preset_values(args, ctx, empty)
        try:
            store.add_preset(name, made.system_prompt, made.routes, made.temperature,
                             made.max_tokens)
        except NameTakenError as exc:
            raise UsageError(f"{exc} Change it with: chatdesk presets edit \"{name}\"") \
                from None
        print(f"Saved preset {name!r}.", file=sys.stderr)
        return EXIT_OK
    found = store.get_preset(name)
    if found is None:
        raise UsageError(wording.no_such("preset", name))
    if command == "show":
        _print_preset(found)
    elif command == "edit":
        store.update_preset(_preset_values(args, ctx, found))
        print(f"Saved preset {name!r}.", file=sys.stderr)
    elif command == "delete":
        store.delete_preset(name)
        print(f"Deleted preset {name!r}.", file=sys.stderr)
    return EXIT_OK
