"""The command line: argument parsing and printing over the core; never imports Qt."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TextIO, TypeVar

import chatdesk
from chatdesk.context import AppContext, ConfigError
from chatdesk.store import (
    TRASH_DAYS,
    Attempt,
    AttemptOutcome,
    HistoryStore,
    MessageStatus,
    StoreError,
    conversation_to_json,
    hit_to_json,
    summary_to_json,
)

log = logging.getLogger("chatdesk")
T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in how the command was called (exit 2)."""


class _Parser(argparse.ArgumentParser):
    # A command's arguments are added when that command is parsed or its help shown
    # (build_parser), so a run pays for its own command's only.
    _fill: Callable[[_Parser], None] | None = None

    def _filled(self) -> None:
        fill, self._fill = self._fill, None
        if fill is not None:
            fill(self)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._filled()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._filled()
        return super().format_usage()

    def format_help(self) -> str:
        self._filled()
        return super().format_help()

    def error(self, message: str) -> NoReturn:  # one line, exit 2, like every other error
        raise UsageError(f"{message} (see: chatdesk {self.prog.partition(' ')[2]} --help)"
                         .replace("chatdesk  ", "chatdesk "))


class _VersionAction(argparse.Action):
    """--version, reading the version only when asked (it costs start-up time)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(f"chatdesk {chatdesk.__version__}")
        parser.exit()


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    """The command line's parser; commands=False leaves out the subcommands, which a start
    of the app with options alone does not need (their parsers cost ~2.5 ms)."""
    p = _Parser(prog="chatdesk", description="A chat client for many AI providers that keeps "
                "working when one of them goes down.")
    p.add_argument("--version", action=_VersionAction, nargs=0, help="print the version and exit")
    p.add_argument("--data-dir", metavar="DIR", help="keep history, settings and logs in DIR")
    p.add_argument("--portable", action="store_true",
                   help="keep everything in chatdesk-data/ beside the executable")
    p.add_argument("--self-test", action="store_true",
                   help="start the app, wait for the first paint, print the startup time, exit")
    if not commands:
        p.set_defaults(command=None)
        return p
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text, fill in _COMMANDS:
        command = sub.add_parser(name, help=help_text)
        command._fill = fill
    return p


def _fill_ask(ask: _Parser) -> None:
    ask.add_argument("prompt", nargs="*", help="the message (default: read stdin)")
    where = ask.add_mutually_exclusive_group()
    where.add_argument("-c", "--conversation", type=int, metavar="ID",
                       help="continue conversation ID")
    where.add_argument("--continue", dest="continue_latest", action="store_true",
                       help="continue the latest conversation")
    ask.add_argument("--provider", action="append", metavar="NAME",
                     help="provider to use (repeat to give a failover order for this message)")
    ask.add_argument("--model", help="model for the first provider")
    ask.add_argument("--system", help="system prompt for this conversation")
    ask.add_argument("--attach", action="append", metavar="FILE", default=[],
                     help="attach an image, PDF or text file (repeat for more)")
    ask.add_argument("--prompt", dest="saved_prompt", metavar="NAME",
                     help="send saved prompt NAME (its {{variables}} filled in by --var); "
                          "text given as well follows it")
    ask.add_argument("--var", action="append", metavar="KEY=VALUE", default=[],
                     help="the value of a variable of --prompt (repeat for each)")
    ask.add_argument("--preset", metavar="NAME",
                     help="answer as preset NAME says (its system prompt, providers, models, "
                          "temperature, max tokens); the conversation keeps it")


def _fill_setup(setup: _Parser) -> None:
    setup.add_argument("--base-url", metavar="URL",
                       help="send the chosen service's requests to URL (a proxy, a gateway)")
    setup.add_argument("--server", metavar="URL",
                       help="look for a local model server at URL instead of the usual ports")


def _fill_history(history: _Parser) -> None:
    hsub = history.add_subparsers(dest="history_command",
                                  metavar="list|show|delete|trash|restore",
                                  parser_class=_Parser, required=True)
    hlist = hsub.add_parser("list", help="conversations, newest first")
    hlist.add_argument("--json", action="store_true")
    hlist.add_argument("--limit", type=int, default=50)
    hshow = hsub.add_parser("show", help="one conversation with every message")
    hshow.add_argument("id", type=int)
    hshow.add_argument("--json", action="store_true")
    hdel = hsub.add_parser("delete", help="move conversations to the Trash (kept 30 days)")
    hdel.add_argument("ids", type=int, nargs="+", metavar="ID")
    htrash = hsub.add_parser("trash", help="deleted conversations, kept 30 days")
    htrash.add_argument("--json", action="store_true")
    htrash.add_argument("--empty", action="store_true",
                        help="delete everything in the Trash for good, now")
    hrestore = hsub.add_parser("restore", help="bring conversations back from the Trash")
    hrestore.add_argument("ids", type=int, nargs="+", metavar="ID")


def _fill_search(search: _Parser) -> None:
    search.add_argument("query", nargs="+")
    search.add_argument("--json", action="store_true")
    search.add_argument("--limit", type=int, default=20)


def _fill_providers(providers: _Parser) -> None:
    providers.add_argument("--json", action="store_true")
    providers.add_argument("--check-status", action="store_true",
                           help="first read each provider's status page; an outage it reports "
                                "marks the provider down")


def _fill_keys(keys: _Parser) -> None:
    ksub = keys.add_subparsers(dest="keys_command",
                               metavar="set|add|list|remove|delete|status",
                               parser_class=_Parser, required=True)
    kset = ksub.add_parser("set", help="store the key of provider NAME (read from stdin)")
    kset.add_argument("name")
    kadd = ksub.add_parser("add", help="add one more key to provider NAME's pool (read from "
                                       "stdin or a hidden prompt): on a rate limit, the next "
                                       "key is tried before the next provider")
    kadd.add_argument("name")
    klist = ksub.add_parser("list", help="the keys of provider NAME, by fingerprint only "
                                         "(sk-…3f9a), with each key's health")
    klist.add_argument("name")
    kremove = ksub.add_parser("remove", help="remove key N (as `keys list NAME` numbers them) "
                                             "of provider NAME")
    kremove.add_argument("name")
    kremove.add_argument("number", type=int, metavar="N")
    kdel = ksub.add_parser("delete", help="remove every stored key of provider NAME")
    kdel.add_argument("name")
    ksub.add_parser("status", help="which store holds each provider's keys (never the key)")


def _fill_import(imp: _Parser) -> None:
    imp.add_argument("kind", choices=["chatgpt", "claude", "deepseek", "openwebui", "chatbox",
                                      "cherry", "chatdesk"],
                     help="whose export PATH is")
    imp.add_argument("path", metavar="PATH", help="the export's .zip, folder or .json file")


def _fill_export(exp: _Parser) -> None:
    exp.add_argument("ids", nargs="*", type=int, metavar="ID", help="the conversations to export")
    exp.add_argument("--all", action="store_true", help="export every conversation")
    exp.add_argument("--format", required=True, choices=["md", "json", "html"])
    exp.add_argument("--output", "-o", required=True, metavar="PATH",
                     help="a file (json, html, one md) or a folder (several md); - for stdout")


def _fill_prompts(prompts: _Parser) -> None:
    """The `prompts` command (its handlers are in cli_prompts)."""
    psub = prompts.add_subparsers(dest="prompts_command", parser_class=_Parser,
                                  metavar="list|show|add|edit|delete|export|import",
                                  required=True)
    plist = psub.add_parser("list", help="every saved prompt, with its uses")
    plist.add_argument("--json", action="store_true")
    psub.add_parser("show", help="print one prompt's text").add_argument("name")
    psub.add_parser("add", help="save a new prompt NAME (its text read from stdin)"
                    ).add_argument("name")
    psub.add_parser("edit", help="replace the text of prompt NAME (read from stdin)"
                    ).add_argument("name")
    psub.add_parser("delete", help="delete prompt NAME").add_argument("name")
    psub.add_parser("export", help="write each prompt to DIR as a Markdown file"
                    ).add_argument("dir", metavar="DIR")
    psub.add_parser("import", help="add the prompts of DIR's Markdown files (a name in "
                    "use with other text is reported, not overwritten)"
                    ).add_argument("dir", metavar="DIR")


def _fill_presets(presets: _Parser) -> None:
    """The `presets` command (its handlers are in cli_prompts)."""
    ssub = presets.add_subparsers(dest="presets_command", parser_class=_Parser,
                                  metavar="list|show|add|edit|delete|export|import",
                                  required=True)
    slist = ssub.add_parser("list", help="every preset")
    slist.add_argument("--json", action="store_true")
    ssub.add_parser("show", help="one preset").add_argument("name")
    for verb, what in (("add", "make a new preset NAME"),
                       ("edit", "change preset NAME (only what is given)")):
        cmd = ssub.add_parser(verb, help=what)
        cmd.add_argument("name")
        cmd.add_argument("--system", metavar="TEXT", help="its system prompt (\"\" for none)")
        cmd.add_argument("--provider", action="append", metavar="NAME[:MODEL]",
                         help="a provider to ask, in order, with its model (repeat for the "
                              "order; given on edit, it replaces the whole order)")
        cmd.add_argument("--temperature", type=float, metavar="T",
                         help="0 to 2 (not given: the model's own)")
        cmd.add_argument("--max-tokens", type=int, metavar="N",
                         help="the longest answer, in tokens (not given: the provider's)")
    ssub.add_parser("delete", help="delete preset NAME (its conversations go on with the "
                    "failover order)").add_argument("name")
    ssub.add_parser("export", help="write each preset to DIR as a Markdown file"
                    ).add_argument("dir", metavar="DIR")
    ssub.add_parser("import", help="add the presets of DIR's Markdown files"
                    ).add_argument("dir", metavar="DIR")


def _fill_usage(use: _Parser) -> None:
    use.add_argument("--since", default="30d", metavar="WHEN",
                     help="from WHEN: Nd or Nw back from now, or an ISO date (default: 30d)")
    use.add_argument("--by", choices=["provider", "model", "key"], default="provider",
                     help="what to total by (default: provider)")
    use.add_argument("--json", action="store_true")


def _fill_browse(browse: _Parser) -> None:
    browse.add_argument("file")


# The commands in the order --help lists them: (name, help, what adds its arguments).
_COMMANDS: list[tuple[str, str, Callable[[_Parser], None] | None]] = [
    ("ask", "send a message and stream the answer", _fill_ask),
    ("retry", "send every pending message now", None),
    ("setup", "first-run set-up: paste an API key or use a model on this computer; it is "
     "tested, then saved", _fill_setup),
    ("history", "list or show conversations", _fill_history),
    ("search", "full-text search of all history", _fill_search),
    ("providers", "providers in failover order, with health", _fill_providers),
    ("keys", "store or remove API keys (the OS keyring, else an encrypted key file)",
     _fill_keys),
    ("import", "import an export or backup of ChatGPT, Claude, DeepSeek, Open WebUI, "
     "Chatbox, Cherry Studio or chatdesk", _fill_import),
    ("export", "export conversations as Markdown, JSON or HTML", _fill_export),
    ("prompts", "the prompt library: saved prompts with {{variables}}, for `ask --prompt` "
     "and / in the app", _fill_prompts),
    ("presets", "presets: a system prompt, a provider order with a model each, a "
     "temperature and max tokens", _fill_presets),
    ("usage", "tokens and cost of the answers, by provider, model or key", _fill_usage),
    ("repair", "save what can be read of a damaged history into a new file (quit the app "
     "first); the damaged file is kept beside it", None),
    ("browse", "open a history file read-only in the app", _fill_browse),
]


def run(argv: list[str] | None = None) -> NoReturn:
    """The `chatdesk` command: main(), ending the process at once after the app has closed."""
    raise SystemExit(main(argv, end_after_app=True))


def _may_name_a_command(argv: list[str]) -> bool:
    """Whether argv may hold a command, or asks for help (which lists them)."""
    return chatdesk.command_word(argv) is not None \
        or any(word in ("-h", "--help", "--") for word in argv)


def main(argv: list[str] | None = None, *, end_after_app: bool = False) -> int:
    try:
        args = build_parser(_may_name_a_command(sys.argv[1:] if argv is None else argv)
                            ).parse_args(argv)
    except UsageError as exc:
        return _fail(exc, EXIT_USAGE)
    if args.command is None or args.command == "browse":
        return _run_app(args, end_after_app)
    if args.command != "ask":  # the app resumes the collector once its engine is up, ask
        chatdesk.end_start_up()  # once the answer's first text is out (cli_chat)
    try:
        # ask and retry refuse a broken settings.toml with one line; others warn and go on.
        ctx = AppContext.create(args.data_dir, args.portable,
                                warn=args.command not in ("ask", "retry"))
    except ConfigError as exc:
        return _fail(exc, EXIT_USAGE)
    if args.command in ("ask", "retry"):
        ctx.prepare_to_send()
    try:
        handler: Callable[[argparse.Namespace, AppContext], int] = COMMANDS[args.command]
        return handler(args, ctx)
    except (UsageError, ConfigError) as exc:
        return _fail(exc, EXIT_USAGE)
    except StoreError as exc:
        return _fail(exc, EXIT_FAILED)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the last guard: one line for people, the traceback in the log
        log.exception("unexpected error")
        return _fail(f"unexpected error: {type(exc).__name__}: {exc} "
                     f"(details in {ctx.paths.log_dir})", EXIT_FAILED)
    finally:
        ctx.close()
        chatdesk.end_start_up()


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    import asyncio  # loaded only by the commands that talk to providers

    return asyncio.run(coroutine)


def _fail(error: object, code: int) -> int:
    print(f"chatdesk: {error}", file=sys.stderr)
    return code


def _run_app(args: argparse.Namespace, end_after_app: bool = False) -> int:
    from chatdesk.display import display_problem

    problem = display_problem()
    if problem:
        return _fail(problem, EXIT_FAILED)
    try:
        from chatdesk.app import run_app  # Qt is loaded only here
    except ImportError as exc:
        return _fail(f"the desktop app cannot start: {exc}. The command line still works "
                     "(see: chatdesk --help)", EXIT_FAILED)
    code = run_app(args)
    if end_after_app:
        from chatdesk.app import end_process

        end_process(code)
    return code


def _print_json(data: Any, out: TextIO | None = None) -> None:
    json.dump(data, out or sys.stdout, ensure_ascii=False, indent=2)
    (out or sys.stdout).write("\n")


# -- ask / retry (in cli_chat, loaded only when used) ------------------------------------

def cmd_ask(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.cli_chat import run_ask

    return run_ask(args, ctx)


def cmd_retry(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.cli_chat import run_retry

    return run_retry(args, ctx)


def cmd_setup(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.cli_setup import run_setup

    return run_setup(args, ctx)


# -- history / search -----------------------------------------------------------------

def cmd_history(args: argparse.Namespace, ctx: AppContext) -> int:
    store = ctx.store
    if args.history_command == "list":
        summaries = store.list_conversations(limit=max(1, args.limit))
        if args.json:
            _print_json([summary_to_json(s) for s in summaries])
            return EXIT_OK
        if not summaries:
            print("No conversations yet. Start one with: chatdesk ask \"hello\"", file=sys.stderr)
        for s in summaries:
            title = (s.title or "(untitled)").replace("\n", " ")
            print(f"{s.id:>6}  {s.updated_at[:16].replace('T', ' ')}  "
                  f"{s.message_count:>4} msg  {'* ' if s.pinned else ''}{title}")
        return EXIT_OK
    if args.history_command in ("delete", "trash", "restore"):
        return _trash(args, store)
    conversation = store.get_conversation(args.id)
    if conversation is None:
        return _fail(f"no conversation with id {args.id}", EXIT_FAILED)
    messages = store.messages(conversation.id)
    if args.json:
        _print_json(conversation_to_json(conversation, messages,
                                         store.attachment_infos(m.id for m in messages)))
        return EXIT_OK
    files = store.attachment_infos(m.id for m in messages)
    print(f"# {conversation.title or '(untitled)'}  (conversation {conversation.id}, "
          f"{conversation.created_at[:16].replace('T', ' ')})")
    for m in messages:
        who = "you" if m.role == "user" else m.role
        if m.role == "tool":
            from chatdesk.wording import tool_heading

            who = tool_heading(m.model)
        elif m.role == "assistant":
            who = f"{m.provider or 'assistant'} · {m.model or '?'}"
        status = "" if m.status == MessageStatus.COMPLETE else f" [{m.status}]"
        print(f"\n── {who}{status}  {m.created_at[11:16]}")
        if m.role == "assistant":
            for attempt in store.attempts(m.id):
                if attempt.outcome != AttemptOutcome.OK:
                    print(f"   ({_attempt_line(attempt)})")
            if m.reasoning:
                from chatdesk.wording import REASONING_HEADING

                print(REASONING_HEADING)
                print("\n".join(f"  │ {line}" for line in m.reasoning.splitlines()))
                print()
        print(m.content)
        if m.id in files:
            from chatdesk.wording import attachment_line

            print("\n".join(attachment_line(a.name, str(a.kind), a.size) for a in files[m.id]))
    return EXIT_OK


def _trash(args: argparse.Namespace, store: HistoryStore) -> int:
    """`history delete`, `history trash [--empty]` and `history restore`."""
    if args.history_command == "trash":
        store.purge_trash()
        if args.empty:
            gone = store.purge_deleted()
            print(f"Emptied the Trash: {gone} conversation{'s' if gone != 1 else ''} "
                  "deleted for good.", file=sys.stderr)
            return EXIT_OK
        trashed = store.trashed_conversations()
        if args.json:
            _print_json([{**summary_to_json(s), "deleted_at": s.deleted_at} for s in trashed])
            return EXIT_OK
        if not trashed:
            print("The Trash is empty.", file=sys.stderr)
        for s in trashed:
            print(f"{s.id:>6}  deleted {(s.deleted_at or '')[:16].replace('T', ' ')}  "
                  f"{s.message_count:>4} msg  {s.title or '(untitled)'}")
        return EXIT_OK
    wanted = set(args.ids)
    if args.history_command == "delete":
        known = {i for i in wanted if store.get_conversation(i) is not None}
    else:
        known = {s.id for s in store.trashed_conversations(limit=1_000_000)} & wanted
    if known != wanted:
        where = "in the Trash" if args.history_command == "restore" else "to delete"
        missing = ", ".join(str(i) for i in sorted(wanted - known))
        return _fail(f"no conversation {missing} {where}; nothing was changed", EXIT_FAILED)
    with store.transaction():
        for conversation_id in sorted(known):
            if args.history_command == "delete":
                store.delete_conversation(conversation_id)
            else:
                store.restore_conversation(conversation_id)
    count = f"{len(known)} conversation{'s' if len(known) != 1 else ''}"
    print(f"Moved {count} to the Trash; `chatdesk history restore` brings "
          f"{'them' if len(known) != 1 else 'it'} back within {TRASH_DAYS} days."
          if args.history_command == "delete" else f"Restored {count}.", file=sys.stderr)
    return EXIT_OK


def _attempt_line(attempt: Attempt) -> str:
    """'anthropic failed after 5 words: overloaded' for an attempt that did not finish."""
    from chatdesk import wording
    from chatdesk.states import LOST_HEDGE

    if attempt.outcome == AttemptOutcome.CANCELLED and attempt.error_class == LOST_HEDGE:
        return f"{attempt.provider}: {attempt.error_message or wording.lost_hedge('another')}"
    if attempt.outcome == AttemptOutcome.CANCELLED:
        return f"{attempt.provider}: stopped by you"
    return wording.attempt_summary(attempt.provider, attempt.error_class, attempt.http_status,
                                   attempt.streamed_text or "")


def cmd_search(args: argparse.Namespace, ctx: AppContext) -> int:
    hits = ctx.store.search(" ".join(args.query), limit=max(1, args.limit))
    if args.json:
        _print_json([hit_to_json(h) for h in hits])
        return EXIT_OK
    if not hits:
        print("No matches.", file=sys.stderr)
    for h in hits:
        snippet = h.snippet.replace("\n", " ")
        if h.attachment is not None:
            snippet = f"({h.attachment}) {snippet}"
        print(f"{h.conversation_id:>6}:{h.message_id:<7} {h.role:<9} {snippet}")
    return EXIT_OK


# -- providers / keys -----------------------------------------------------------------

def cmd_providers(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk import wording
    if args.check_status:
        _run_async(_check_status_pages(ctx))
    if args.json:
        _print_json(ctx.provider_rows())
        return EXIT_OK
    for s in ctx.provider_statuses():
        error = f"  last error: {s.last_error}" if s.last_error else ""
        if s.keys_words:
            error = f"  {s.keys_words}{error}"
        if s.not_set_up:
            error = f"  not set up: {s.not_set_up}{error}"
        print(f"{s.name:<14} {s.type:<9} {wording.health_cli(s.state, s.seconds_left):<20} "
              f"{s.model:<24} {s.base_url}{error}")
    return EXIT_OK


async def _check_status_pages(ctx: AppContext) -> None:
    from chatdesk.failover.status_page import StatusPageError, StatusWatcher
    from chatdesk.providers.registry import new_http_client

    async with new_http_client() as client:
        watcher = StatusWatcher(ctx.health(), ctx.settings.ordered_providers(), client)
        for name, result in (await watcher.check_once()).items():
            if isinstance(result, StatusPageError):
                print(f"{name}: {result}", file=sys.stderr)
            else:
                print(f"{name}: status page says {result.description} ({result.indicator})",
                      file=sys.stderr)


def cmd_keys(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.cli_keys import KeysUsageError, run_keys
    from chatdesk.secrets import KeyStoreError

    try:
        return run_keys(args, ctx)
    except (KeysUsageError, KeyStoreError) as exc:
        return _fail(exc, EXIT_USAGE)


# -- prompts / presets (in cli_prompts, loaded only when used) --------------------------

def cmd_prompts(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.cli_prompts import run_prompts

    return run_prompts(args, ctx)


def cmd_presets(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.cli_prompts import run_presets

    return run_presets(args, ctx)


# -- import / export (in cli_transfer, loaded only when used) ----------------------------

def cmd_import(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.cli_transfer import run_import

    return run_import(args, ctx)


def cmd_export(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.cli_transfer import run_export

    return run_export(args, ctx)


# -- usage (in cli_usage, loaded only when used) -----------------------------------------

def cmd_usage(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.cli_usage import run_usage

    return run_usage(args, ctx)


# -- repair ------------------------------------------------------------------------------

def cmd_repair(args: argparse.Namespace, ctx: AppContext) -> int:
    from chatdesk.store.repair import repair_history

    path = ctx.paths.history_db
    report = repair_history(path)
    if report.damaged is None:
        print(f"{path.name} reads as sound; there is nothing to repair.", file=sys.stderr)
        return EXIT_OK
    lost = (f"; {report.unreadable} damaged stretch(es) could not be read"
            if report.unreadable else "")
    print(f"Repaired {path.name}: recovered {report.conversations} conversation(s) and "
          f"{report.messages} message(s){lost}. The damaged file is kept beside it as "
          f"{report.damaged.name}.", file=sys.stderr)
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, AppContext], int]] = {
    "ask": cmd_ask,
    "retry": cmd_retry,
    "setup": cmd_setup,
    "history": cmd_history,
    "search": cmd_search,
    "providers": cmd_providers,
    "keys": cmd_keys,
    "import": cmd_import,
    "export": cmd_export,
    "repair": cmd_repair,
    "prompts": cmd_prompts,
    "presets": cmd_presets,
    "usage": cmd_usage,
}
