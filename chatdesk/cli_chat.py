"""`chatdesk ask` and `chatdesk retry`: the answer on stdout, what happened on stderr."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import chatdesk
from chatdesk import events as ev
from chatdesk import wording
from chatdesk.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, _run_async
from chatdesk.cli_keys import unlock_for_sending
from chatdesk.context import AppContext
from chatdesk.providers.errors import ErrorClass
from chatdesk.store import BusyError

if TYPE_CHECKING:
    from chatdesk.chat import ChatService
    from chatdesk.parts import Attachment

log = logging.getLogger("chatdesk")


def _read_attachments(paths: list[str]) -> list[Attachment]:
    """The --attach files, read before anything is saved or sent: a bad one is a usage
    error of one sentence, and nothing else happens."""
    if not paths:
        return []  # (attachment_files, with mimetypes, loads only for files)
    from chatdesk.attachment_files import AttachmentError, read_attachment

    try:
        return [read_attachment(Path(p).expanduser()) for p in paths]
    except AttachmentError as exc:
        raise UsageError(str(exc)) from None


def _saved_prompt(args: argparse.Namespace, ctx: AppContext, text: str) -> str:
    """The text of --prompt NAME with its variables filled in by --var, then `text` (what
    was typed as well) after a blank line. UsageError for a name or value missing."""
    from chatdesk.prompts import fill, parse_values

    found = ctx.store.get_prompt(args.saved_prompt)
    if found is None:
        raise UsageError(wording.no_such("prompt", args.saved_prompt))
    try:
        filled = fill(found.text, parse_values(args.var))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return f"{filled}\n\n{text}" if text else filled


def run_ask(args: argparse.Namespace, ctx: AppContext) -> int:
    text = " ".join(args.prompt).strip()
    attachments = _read_attachments(args.attach)
    if args.var and not args.saved_prompt:
        raise UsageError("--var gives a value to a variable of --prompt NAME: give --prompt")
    if args.saved_prompt:
        text = _saved_prompt(args, ctx, text)
    if not text and not sys.stdin.isatty():
        text = sys.stdin.read().strip()
    if not text:
        raise UsageError("nothing to send: give a PROMPT or pipe text on stdin")
    ctx.require_settings()
    conversation_id = args.conversation
    if args.continue_latest:
        latest = ctx.store.latest_conversation()
        if latest is None:
            raise UsageError("--continue: there is no conversation yet")
        conversation_id = latest.id
    if conversation_id is not None and ctx.store.get_conversation(conversation_id) is None:
        raise UsageError(f"no conversation with id {conversation_id}")
    service = ctx.chat_service()
    from chatdesk.chat import NotSetUpError

    names = args.provider
    try:
        service.candidates(args.provider, args.model)
        if args.preset:
            names = args.provider or service.preset_provider_names(service.preset(args.preset))
        service.require_set_up(names)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except NotSetUpError as exc:
        return _keep_as_draft(ctx, conversation_id, text, exc, bool(attachments))
    if attachments:
        from chatdesk.attachment_limits import AttachmentLimitError

        try:
            service.check_attachments(attachments, conversation_id, providers=args.provider,
                                      model=args.model, preset_name=args.preset)
        except AttachmentLimitError as exc:
            raise UsageError(str(exc)) from None
    unlock_for_sending(ctx, names)
    stream = service.send(text, conversation_id, attachments, providers=args.provider,
                          model=args.model, system=args.system, preset=args.preset)
    if args.saved_prompt:
        stream = _counting_use(stream, ctx, args.saved_prompt)
    return _run_async(_print_answers(stream, service, ctx))


async def _counting_use(stream: AsyncIterator[ev.ChatEvent], ctx: AppContext,
                        name: str) -> AsyncIterator[ev.ChatEvent]:
    """The events of `stream`; once the message is saved, the prompt counts as used."""
    async for event in stream:
        if isinstance(event, ev.MessageSaved):
            ctx.store.record_prompt_use(name)
        yield event


def _keep_as_draft(ctx: AppContext, conversation_id: int | None, text: str,
                   problem: object, had_files: bool = False) -> int:
    """Nothing can answer because nothing is set up: not an outage, so nothing is pending.
    The text is kept as the conversation's draft (the app shows it in its composer)."""
    from chatdesk.draft_file import save_draft

    where = f"conversation {conversation_id}" if conversation_id is not None else "a new chat"
    try:
        path = save_draft(ctx.paths.root, conversation_id, text)
        kept = f"Your message is kept as a draft of {where} (in {path.name}); nothing was sent."
        if had_files:
            kept += " The draft has its text only: attach the files again when you send it."
    except OSError as exc:
        kept = f"Your message could not be kept as a draft ({exc.strerror or exc}); nothing " \
               "was sent."
    print(f"chatdesk: {problem}. {kept}", file=sys.stderr)
    return EXIT_USAGE


async def _print_answers(stream: AsyncIterator[ev.ChatEvent], service: ChatService,
                         ctx: AppContext) -> int:
    printer = _AnswerPrinter()
    try:
        async for event in stream:
            if isinstance(event, ev.NotSetUp):
                printer._end_line()
                kept_in = None if event.conversation_removed else event.conversation_id
                return _keep_as_draft(ctx, kept_in, event.text,
                                      wording.nothing_set_up("cli", event.reason))
            printer.show(event)
            if isinstance(event, ev.AnswerFinished):
                printer._end_line()
                for notice in service.budget_notices():  # 80 % or spent: once a month
                    print(f"chatdesk: {notice.text}", file=sys.stderr)
    except BusyError as exc:
        log.warning("history busy: %s", exc)
        printer._end_line()
        name = service.store.path.name
        print(f"chatdesk: {wording.history_busy(name, printer.saved)}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        chatdesk.end_start_up()  # no text came
        await service.aclose()
    return printer.exit_code


class _AnswerPrinter:
    """Answer text to stdout as it arrives; what happened, one line each, to stderr."""

    def __init__(self) -> None:
        self.exit_code = EXIT_OK
        self.at_line_start = True
        self.restarted = False  # the text printed so far was dropped by the backup
        self.shown = False  # answer text was printed since the attempt began
        self.advice = ""  # what the user can do about the last failure
        self.saved = False  # the user's message is in the history (MessageSaved came)

    def _out(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()
        self.at_line_start = text.endswith("\n")
        # Start-up's pause of the cyclic collector lasts until the answer's first text is
        # out: until then ~15 passes (~1 % of ask's work) found nothing to free.
        chatdesk.end_start_up()

    def _end_line(self) -> None:
        if not self.at_line_start:
            self._out("\n")

    def show(self, event: ev.ChatEvent) -> None:
        err = sys.stderr
        if isinstance(event, ev.TextChunk):
            self._out(event.text)
            self.shown = True
        elif isinstance(event, ev.MessageSaved):
            self.saved = True
        elif isinstance(event, ev.AttemptFailed):
            log.warning("%s", event.summary())
            if event.error_class in (ErrorClass.AUTH, ErrorClass.NO_KEY):
                self.advice = f" ({wording.fix_key(event.provider)})"
        elif isinstance(event, ev.Restarted):
            self.restarted = True
        elif isinstance(event, ev.AttemptStarted) and event.pdfs_as_text:
            print(wording.pdfs_as_text(event.provider, event.pdfs_as_text), file=err)
        elif isinstance(event, ev.Hedged):
            # Nothing was printed yet (no token came): stdout stays the one whole answer.
            print(wording.hedging(event.provider, event.backup, event.waited_s), file=err)
        elif isinstance(event, ev.Switched) and event.to_key:  # the same provider's next key
            if not self.at_line_start and err.isatty():
                err.write("\n")
            print(wording.key_switched(event.why, event.to_key), file=err)
            self.advice = ""
        elif isinstance(event, ev.Switched):
            if event.continuing:
                # stdout must stay the one whole answer: break the line on stderr only.
                if not self.at_line_start and err.isatty():
                    err.write("\n")
                how = "continuing on"
            else:
                self._end_line()
                how = "answering afresh on" if self.restarted else "switching to"
            print(f"{event.why} — {how} {event.to_provider}{self.advice}", file=err)
            if self.restarted and self.shown and sys.stdout.isatty():
                # On a terminal the abandoned text stays on screen: mark where the real
                # answer starts. A pipe gets only text (the separator is not the answer).
                print(wording.restart_separator(event.to_provider), file=err)
            self.restarted = False
            self.shown = False
            self.advice = ""
        elif isinstance(event, ev.AnswerFinished) and event.refused:
            self._end_line()
            sentence = wording.refused(event.provider, event.finish_reason,
                                       event.conversation_id, event.next_provider)
            print(f"chatdesk: {sentence}", file=err)
            self.exit_code = EXIT_FAILED
        elif isinstance(event, ev.AnswerFinished):
            self._end_line()
            print(f"answered by {event.provider} · {event.model} "
                  f"(conversation {event.conversation_id})", file=err)
        elif isinstance(event, ev.AnswerPending):
            self._end_line()
            print(f"chatdesk: {event.reason}. Your message is saved as pending in "
                  f"conversation {event.conversation_id}; `chatdesk retry` sends it.", file=err)
            self.exit_code = EXIT_FAILED
        elif isinstance(event, ev.AnswerStopped):
            self._end_line()
            print(f"chatdesk: {event.reason}", file=err)
            self.exit_code = EXIT_FAILED


def run_retry(args: argparse.Namespace, ctx: AppContext) -> int:
    ctx.require_settings()
    service = ctx.chat_service()
    # First what a killed chatdesk left: its claims free, its messages pending again.
    recovered = service.recover()
    if recovered.made_pending:
        count = len(recovered.made_pending)
        print(f"chatdesk: {count} message{'s' if count != 1 else ''} left unanswered when "
              "chatdesk stopped; sending again.", file=sys.stderr)
    pending = ctx.store.pending_messages()
    if not pending:
        print("No pending messages.", file=sys.stderr)
        return EXIT_OK
    unlock_for_sending(ctx)
    return _run_async(_retry(service, len(pending)))


async def _retry(service: ChatService, count: int) -> int:
    printer = _AnswerPrinter()
    sent = failed = 0
    try:
        async for event in service.retry_pending():
            if isinstance(event, ev.MessageSaved):
                print(f"sending pending message {event.message_id} "
                      f"(conversation {event.conversation_id})", file=sys.stderr)
            printer.show(event)
            if isinstance(event, ev.AnswerFinished):
                sent += 1
                for notice in service.budget_notices():
                    print(f"chatdesk: {notice.text}", file=sys.stderr)
            elif isinstance(event, ev.AnswerPending | ev.AnswerStopped):
                failed += 1
    finally:
        await service.aclose()
    # Counted afresh: a message waiting behind an earlier one that failed again was not
    # tried, but is still pending.
    still = len(service.store.pending_messages())
    print(f"{sent} sent, {still} still pending", file=sys.stderr)
    # A refusal is an answer sent, but not the one asked for: it fails the run, as in `ask`.
    return EXIT_FAILED if failed or still or printer.exit_code else EXIT_OK
