"""`chatdesk keys …` and unlocking the encrypted key file for the commands that send."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from chatdesk import wording
from chatdesk.context import AppContext, ConfigError
from chatdesk.keyfile import PASSPHRASE_VAR
from chatdesk.secrets import (
    PLACE_LABELS,
    KeyFileState,
    KeyPlace,
    KeyStoreError,
    WrongPassphraseError,
    fingerprint,
    source_label,
)
from chatdesk.settings import ProviderSettings

EXIT_OK, EXIT_USAGE = 0, 2
PROMPT_TRIES = 3


class KeysUsageError(Exception):
    """A keys command cannot go on; the message is one sentence (exit 2)."""


def run_keys(args: argparse.Namespace, ctx: AppContext) -> int:
    if args.keys_command == "status":
        if os.environ.get(PASSPHRASE_VAR) is not None and \
                ctx.keys.key_file_state() == KeyFileState.LOCKED:
            # Pools in the key file are counted and named only when it opens without asking.
            with contextlib.suppress(KeysUsageError):
                unlock(ctx)
        book = ctx.key_book()
        for name, where in ctx.key_status():
            health = book.health(ctx.settings.providers[name])
            if len(health) > 1:  # a pool: how many keys are usable, named by fingerprint
                usable = sum(h.usable for h in health)
                where += (f" · {wording.keys_usable(usable, len(health))} ("
                          + ", ".join(h.fingerprint for h in health) + ")")
            print(f"{name:<14} {where}")
        problem = ctx.keys.key_file_problem()
        if problem:
            print(f"chatdesk: {problem}", file=sys.stderr)
        return EXIT_OK
    found = ctx.settings.providers.get(args.name)
    if found is None:
        known = ", ".join(ctx.settings.providers) or "none"
        raise KeysUsageError(f"no provider named {args.name!r} in settings.toml "
                             f"(configured: {known})")
    provider = found
    keys = ctx.keys
    if args.keys_command == "delete":
        if args.name in keys.key_file_names():
            unlock(ctx)
        if keys.delete(args.name):
            print(f"Removed the API key of {args.name}.", file=sys.stderr)
        else:
            print(f"No store held a key for {args.name}.", file=sys.stderr)
        return EXIT_OK
    if args.keys_command == "list":
        return _list(ctx, provider)
    if args.keys_command == "remove":
        return _remove(ctx, provider, args.number)
    key = read_key(args.name)
    prepare_lasting_store(ctx)
    if args.keys_command == "add":
        try:
            number = keys.add_to_pool(args.name, key)
        except KeyStoreError as exc:
            raise KeysUsageError(_clause(str(exc))) from None
        ctx.health().reset(args.name)  # a new key: the provider may be asked again
        print(f"Added key {number} of {args.name} ({fingerprint(key)}) to the "
              f"{_where(ctx)}.", file=sys.stderr)
        return EXIT_OK
    keys.set(args.name, key, provider)
    ctx.health().reset(args.name)
    print(f"Saved the API key of {args.name} in the {_where(ctx)}.", file=sys.stderr)
    return EXIT_OK


def _where(ctx: AppContext) -> str:
    """Where new keys go, as people read it: 'system keyring', 'encrypted key file PATH'."""
    keys = ctx.keys
    where = PLACE_LABELS[keys.place()]
    if keys.place() == KeyPlace.FILE:
        where += f" {keys.key_file_path}"
    return where


def _list(ctx: AppContext, provider: ProviderSettings) -> int:
    """One line per key of the pool: its number, fingerprint, where it is and its health."""
    if provider.name in ctx.keys.key_file_names():
        unlock(ctx, f"the keys of {provider.name} are")
    health = ctx.key_book().health(provider)
    if not health:
        print(f"{provider.name} has no key.", file=sys.stderr)
        return EXIT_OK
    for number, key in enumerate(health, 1):
        state = "usable" if key.usable else (
            f"{wording.error_label(key.last_error_class)}, "
            f"{wording.duration(key.seconds_left)} left")
        print(f"{number:>2}  {key.fingerprint:<12} {source_label(key.source):<22} {state}")
    return EXIT_OK


def _remove(ctx: AppContext, provider: ProviderSettings, number: int) -> int:
    """Take key `number` (as `keys list` numbers them) out of the provider's stored pool."""
    keys = ctx.keys
    if provider.name in keys.key_file_names():
        unlock(ctx)
    pool = keys.pool(provider)
    if 1 <= number <= len(pool) and not pool[number - 1].stored:
        raise KeysUsageError(
            f"key {number} of {provider.name} ({pool[number - 1].fingerprint}) comes from "
            f"{source_label(pool[number - 1].source)}: unset that variable or take it out of "
            "api_key_env instead")
    try:
        gone = keys.remove_from_pool(provider.name, number)
    except KeyStoreError as exc:
        raise KeysUsageError(_clause(str(exc))) from None
    ctx.key_book().forget(provider.name, gone)
    print(f"Removed key {number} of {provider.name} ({gone}).", file=sys.stderr)
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
        key = _hidden(f"API key for {name} (input hidden): ")
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
        passphrase = _hidden(f"Passphrase of {keys.key_file_path} (input hidden): ")
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
        passphrase = _hidden("New passphrase (at least 8 characters, hidden): ")
        again = _hidden("The same passphrase again: ")
        if passphrase != again:
            raise KeysUsageError("the two passphrases differ; nothing was saved")
    try:
        keys.create_key_file(passphrase)
    except KeyStoreError as exc:
        raise KeysUsageError(f"{_clause(str(exc))}; nothing was saved") from None


def _clause(sentence: str) -> str:
    sentence = sentence.strip().rstrip(".")
    return sentence[:1].lower() + sentence[1:]


def _hidden(prompt: str) -> str:
    """A line typed without echo (getpass, loaded only when a key or passphrase is asked)."""
    import getpass

    return getpass.getpass(prompt)
