"""`chatdesk setup`: pick a provider or a local server, paste its key, test it, save it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from chatdesk import wording
from chatdesk.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, _run_async
from chatdesk.context import AppContext, KeyChanges, SettingsChangeError
from chatdesk.onboarding import KEY_PROVIDERS, WHY_A_SECOND, KeyProvider, with_provider

if TYPE_CHECKING:
    from chatdesk.chat import ChatService
    from chatdesk.local_servers import FoundServer, LocalServer
    from chatdesk.settings import ProviderSettings


def _say(text: str = "") -> None:
    print(text, file=sys.stderr)


def _ask(prompt: str) -> str:
    """One line from the user (a terminal, or stdin when it is piped); EOF ends set-up."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise UsageError("set-up ended before a choice was made; nothing was saved")
    if not sys.stdin.isatty():
        sys.stderr.write("\n")
    return line.strip()


def _servers(args: argparse.Namespace) -> list[LocalServer]:
    from chatdesk.local_servers import LocalServer, default_servers

    if not args.server:
        return default_servers()
    url = args.server.rstrip("/")
    v1 = url if url.endswith("/v1") else f"{url}/v1"
    return [LocalServer("local", f"The server at {url}", "ollama", url.removesuffix("/v1")),
            LocalServer("local", f"The server at {url}", "openai", v1)]


def run_setup(args: argparse.Namespace, ctx: AppContext) -> int:
    ctx.require_settings()
    service = ctx.chat_service()
    try:
        return _run_async(_setup(args, ctx, service))
    finally:
        _run_async(service.aclose())


async def _setup(args: argparse.Namespace, ctx: AppContext, service: ChatService) -> int:
    from chatdesk.local_servers import probe

    ready = [p.name for p in ctx.settings.ordered_providers() if service.set_up(p).ok]
    if ready:
        _say(f"Set up already: {', '.join(ready)}. Another one is added as a backup.")
    _say("Looking for model servers on this computer…")
    found = await probe(_servers(args))
    _say("Choose how chatdesk gets its answers:")
    choices: list[KeyProvider | FoundServer] = [*KEY_PROVIDERS, *found]
    for number, choice in enumerate(choices, 1):
        if isinstance(choice, KeyProvider):
            _say(f"  {number:>2}) {choice.label:<34} paste a key (get one at {choice.key_url})")
        else:
            models = ", ".join(choice.models[:3]) or "no models yet"
            more = f" and {len(choice.models) - 3} more" if len(choice.models) > 3 else ""
            _say(f"  {number:>2}) {choice.server.label + ' on this computer':<34} "
                 f"{models}{more}")
    if not found:
        _say("  (No model server answered on this computer: Ollama, LM Studio, llama.cpp, "
             "vLLM or Jan.)")
    answer = _ask(f"Number (1-{len(choices)}): ")
    if not answer.isdigit() or not 1 <= int(answer) <= len(choices):
        raise UsageError(f"{answer!r} is not one of the numbers 1 to {len(choices)}; "
                         "nothing was saved")
    choice = choices[int(answer) - 1]
    key: str | None
    if isinstance(choice, KeyProvider):
        entry = choice.entry(args.base_url)
        _say(f"Get a key at {choice.key_url}, then paste it here.")
        key = _read_key(choice.label)
    else:
        entry = choice.entry(_pick_model(choice))
        key = None
    return await _test_and_save(ctx, service, entry, key, ready)


def _pick_model(found: FoundServer) -> str | None:
    if len(found.models) <= 1:
        return None
    for number, model in enumerate(found.models, 1):
        _say(f"  {number:>2}) {model}")
    answer = _ask(f"Model (1-{len(found.models)}, Enter for {found.models[0]}): ")
    if not answer:
        return None
    if answer.isdigit() and 1 <= int(answer) <= len(found.models):
        return found.models[int(answer) - 1]
    raise UsageError(f"{answer!r} is not one of the numbers 1 to {len(found.models)}; "
                     "nothing was saved")


def _read_key(label: str) -> str:
    from chatdesk.cli_keys import KeysUsageError, read_key

    try:
        return read_key(label)
    except KeysUsageError:
        raise UsageError("no key given: paste it at the prompt; nothing was saved") from None


async def _test_and_save(ctx: AppContext, service: ChatService, entry: ProviderSettings,
                         key: str | None, keep: list[str]) -> int:
    _say(f"Testing {entry.name} ({entry.model}) with one tiny request…")
    try:
        outcome = await service.test_provider(entry, key)
    except Exception as exc:
        _say(f"chatdesk: {wording.provider_failure(exc, entry.name, entry.effective_base_url())}"
             " Nothing was saved.")
        return EXIT_FAILED
    _say(outcome)
    settings = with_provider(ctx.settings, entry, keep)
    if key:
        from chatdesk.cli_keys import KeysUsageError, prepare_lasting_store

        try:
            prepare_lasting_store(ctx)  # no keyring: the encrypted key file, as `keys set`
        except KeysUsageError as exc:
            _say(f"chatdesk: {exc}. Nothing was saved.")
            return EXIT_USAGE
    try:
        ctx.save_settings(settings, KeyChanges(typed={entry.name: key} if key else {}))
    except SettingsChangeError as exc:
        _say(f"chatdesk: {exc}")
        return EXIT_FAILED
    from chatdesk.secrets import KeyPlace

    where = {KeyPlace.KEYRING: "the system keyring", KeyPlace.FILE: "the encrypted key file",
             KeyPlace.SESSION: "memory"}[ctx.keys.place()]
    _say(f"Saved {entry.name} in {ctx.paths.settings_file.name}"
         + (f", its key in {where}." if key else "."))
    _say('Ask something: chatdesk ask "hello"   (or open the app: chatdesk)')
    _say(WHY_A_SECOND + " Run chatdesk setup again to add one.")
    return EXIT_OK
