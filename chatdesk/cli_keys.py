"""`chatdesk keys …` and unlocking the encrypted key file for the commands that send."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from chatdesk.context import AppContext, ConfigError
from chatdesk.keyfile import PASSPHRASE_VAR
from chatdesk.secrets import (
    PLACE_LABELS,
    KeyFileState,
    KeyPlace,
    KeyStoreError,
    WrongPassphraseError,
)

EXIT_OK, EXIT_USAGE = 0, 2
PROMPT_TRIES = 3


class KeysUsageError(Exception):
    """A keys command cannot go on; the message is one sentence (exit 2)."""


def run_keys(args: argparse.Namespace, ctx: AppContext) -> int:
    if args.keys_command == "status":
        for name, where in ctx.key_status():
            print(f"{name:<14} {where}")
        problem = ctx.keys.key_file_problem()
        if problem:
            print(f"chatdesk: {problem}", file=sys.stderr)
        return EXIT_OK
    provider = ctx.settings.providers.get(args.name)
    if provider is None:
        known = ", ".join(ctx.settings.providers) or "none"
        raise KeysUsageError(f"no provider named {args.name!r} in settings.toml "
                             f"(configured: {known})")
    keys = ctx.keys
    if args.keys_command == "delete":
        if args.name in keys.key_file_names():
            unlock(ctx)
        if keys.delete(args.name):
            print(f"Removed the API key of {args.name}.", file=sys.stderr)
        else:
            print(f"No store held a key for {args.name}.", file=sys.stderr)
        return EXIT_OK
    key = read_key(args.name)
    prepare_lasting_store(ctx)
    keys.set(args.name, key, provider)
    ctx.health().reset(args.name)
    where = PLACE_LABELS[keys.place()]
    if keys.place() == KeyPlace.FILE:
        where += f" {keys.key_file_path}"
    print(f"Saved the API key of {args.name} in the {where}.", file=sys.stderr)
    return EXIT_OK


def prepare_lasting_store(ctx: AppContext) -> None:
    """Before the CLI stores a key: a key kept in memory would die with this process, so
    without a keyring the CLI always keeps keys in the encrypted key file (created, or
    unlocked, here). Raises KeysUsageError."""
    keys = ctx.keys
    if keys.place() != KeyPlace.KEYRING:
        if keys.key_file_state() == KeyFileState.ABSENT:
            _create_key_file(ctx)
        else:
            unlock(ctx)
        keys.choose_key_file()


def read_key(name: str) -> str:
    if sys.stdin.isatty():
        key = getpass.getpass(f"API key for {name} (input hidden): ")
    else:
        key = sys.stdin.readline()
    key = key.strip()
    if not key:
        raise KeysUsageError("no key given: type it at the prompt or pipe it on stdin")
    return key


def unlock(ctx: AppContext, why: str | None = None) -> None:
    """Unlock the key file with CHATDESK_KEYS_PASSPHRASE, else a hidden prompt (three tries);
    KeysUsageError when neither can be had or the passphrase is wrong."""
    keys = ctx.keys
    state = keys.key_file_state()
    if state == KeyFileState.UNLOCKED:
        return
    if state == KeyFileState.DAMAGED:
        raise KeysUsageError(_clause(keys.key_file_problem() or "the key file is damaged"))
    from_env = os.environ.get(PASSPHRASE_VAR)
    if from_env is not None:
        try:
            keys.unlock_key_file(from_env)
        except KeyStoreError as exc:
            raise KeysUsageError(f"{PASSPHRASE_VAR}: {_clause(str(exc))}") from None
        return
    if not sys.stdin.isatty():
        raise KeysUsageError(
            f"{why or 'the keys are'} in the encrypted key file {keys.key_file_path}, which is "
            f"locked: set {PASSPHRASE_VAR} to its passphrase, or run this in a terminal to "
            "type it")
    for attempt in range(PROMPT_TRIES):
        passphrase = getpass.getpass(f"Passphrase of {keys.key_file_path} (input hidden): ")
        try:
            keys.unlock_key_file(passphrase)
            return
        except WrongPassphraseError as exc:
            if attempt == PROMPT_TRIES - 1:
                raise KeysUsageError(_clause(str(exc))) from None
            print(f"chatdesk: {exc}", file=sys.stderr)
        except KeyStoreError as exc:
            raise KeysUsageError(_clause(str(exc))) from None


def unlock_for_sending(ctx: AppContext, names: list[str] | None = None) -> None:
    """Before ask/retry: unlock the key file if a provider's key is only there. When it
    cannot be unlocked, go on if another provider has a key (say why in one line), else stop
    (ConfigError, exit 2)."""
    keys = ctx.keys
    providers = ([ctx.settings.providers[n] for n in names if n in ctx.settings.providers]
                 if names else ctx.settings.ordered_providers())
    locked = [p.name for p in providers if keys.lookup(p).source == "locked"]
    if not locked:
        return
    try:
        unlock(ctx, f"the key{'s' if len(locked) > 1 else ''} of {', '.join(locked)} "
                    f"{'are' if len(locked) > 1 else 'is'}")
    except KeysUsageError as exc:
        usable = [p for p in providers if keys.lookup(p).key or not keys.needs_key(p)]
        if not usable:
            raise ConfigError(str(exc)) from None
        print(f"chatdesk: {exc}; trying the other providers.", file=sys.stderr)


def _create_key_file(ctx: AppContext) -> None:
    keys = ctx.keys
    passphrase = os.environ.get(PASSPHRASE_VAR)
    if passphrase is None:
        if not sys.stdin.isatty():
            raise KeysUsageError(
                "there is no system keyring here, so the key goes to a new encrypted key file "
                f"{keys.key_file_path}: set {PASSPHRASE_VAR} to the passphrase it should have, "
                "or run this in a terminal to type one")
        print(f"No system keyring here: the key goes to an encrypted key file, "
              f"{keys.key_file_path}, locked with a passphrase you choose now.", file=sys.stderr)
        passphrase = getpass.getpass("New passphrase (at least 8 characters, hidden): ")
        again = getpass.getpass("The same passphrase again: ")
        if passphrase != again:
            raise KeysUsageError("the two passphrases differ; nothing was saved")
    try:
        keys.create_key_file(passphrase)
    except KeyStoreError as exc:
        raise KeysUsageError(f"{_clause(str(exc))}; nothing was saved") from None


def _clause(sentence: str) -> str:
    sentence = sentence.strip().rstrip(".")
    return sentence[:1].lower() + sentence[1:]
