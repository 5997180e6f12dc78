"""What a failure says to people: one sentence saying what happened and what to do.

Every place that words a failure for people takes its words from here — the CLI's stderr
lines, the transcript's notices, the settings dialog, the router's reasons, the missing-key
sentences — so that one failure reads the same everywhere. Sentences start with a capital
and end with a period; `clause` turns one into a part of a longer line. Provider text is
redacted before it is shown.

Qt-free and cheap to import: besides the standard library it loads only the error taxonomy
(no httpx) and the redaction of chatdesk.secrets.
"""

from __future__ import annotations

import math
from typing import Literal
from urllib.parse import urlsplit

from chatdesk.providers import errors
from chatdesk.secrets import redact
from chatdesk.states import HealthState

Where = Literal["cli", "app"]

_BRANDS = {"anthropic": "Anthropic", "openai": "OpenAI", "gemini": "Gemini", "ollama": "Ollama",
           "openrouter": "OpenRouter", "mistral": "Mistral", "groq": "Groq",
           "deepseek": "DeepSeek", "azure": "Azure"}
_DETAIL_LENGTH = 160  # characters of a provider's own message shown in a sentence


# -- names and phrases ---------------------------------------------------------------------

def branch_title(title: str | None) -> str:
    """The title of a conversation branched from one titled `title`."""
    return f"{title or 'New chat'} (branch)"


def display_name(provider: str | None) -> str:
    """'openai' → 'OpenAI', 'anthropic-2' → 'Anthropic-2'; other names as the user wrote them."""
    if not provider:
        return "assistant"
    head, sep, tail = provider.partition("-")
    return _BRANDS.get(head, head) + sep + tail


def answer_usage(input_tokens: int | None, output_tokens: int | None,
                 seconds: float | None, cost_usd: float | None = None, *,
                 spoken: bool = False) -> str:
    """An answer's cost, quietly: '1,204 → 356 tokens · 4.2 s · $0.0083' ('' when nothing is
    known; no price for a free or unpriced answer). Spoken: '1,204 tokens in, 356 out, 4.2
    seconds, 0.0083 dollars'."""
    bits: list[str] = []
    if input_tokens is not None or output_tokens is not None:
        tin = "?" if input_tokens is None else f"{input_tokens:,}"
        tout = "?" if output_tokens is None else f"{output_tokens:,}"
        bits.append(f"{tin} tokens in, {tout} out" if spoken else f"{tin} → {tout} tokens")
    if seconds is not None and seconds >= 0:
        shown = "under 0.1" if seconds < 0.05 else \
            f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"
        bits.append(f"{shown} seconds" if spoken else
                    (f"{shown} s" if seconds < 60 else duration(seconds)))
    if cost_usd:
        money = f"{cost_usd:.4f}" if cost_usd < 0.1 else f"{cost_usd:.2f}"
        bits.append(f"{money} dollars" if spoken else f"${money}")
    return ", ".join(bits) if spoken else " · ".join(bits)


def reasoning_toggle(reasoning: str, shown: bool) -> str:
    """The line that opens or closes an answer's reasoning: '▸ Thought process (212 words)'."""
    words = len(reasoning.split())
    return f"{'▾' if shown else '▸'} Thought process ({words:,} word{'s' if words != 1 else ''})"


def refused_note(provider: str | None) -> str:
    """Under a refusal: what it is (the provider's reply, not the answer asked for)."""
    return (f"{display_name(provider)} declined to answer; its reply is below. Another "
            "provider may answer it.")


# Tool turns (imported): a tool's name as people know it; code interpreters' results are
# their "Output".
_TOOL_NAMES = {"browser": "web browsing", "web": "web search", "web.run": "web search",
               "web_search": "web search", "web_fetch": "a web page", "dalle.text2im": "DALL·E",
               "myfiles_browser": "file search", "file_search": "file search",
               "bio": "memory", "python": "Python",
               "repl": "the analysis tool", "container.exec": "the code runner"}
CODE_INTERPRETERS = frozenset({"python", "python_user_visible", "container.exec", "repl"})
TOOL_CODE = "Code"
TOOL_OUTPUT = "Output"


def tool_name(tool: str | None) -> str:
    """'dalle.text2im' → 'DALL·E'; unknown tools by their own name; no name: 'a tool'."""
    return _TOOL_NAMES.get(tool or "", tool or "a tool")


def tool_heading(tool: str | None) -> str:
    """The heading of what a tool gave back: 'Output' (code run), 'Result of web search'."""
    if tool in CODE_INTERPRETERS:
        return TOOL_OUTPUT
    return f"Result of {tool_name(tool)}"


def tool_error_heading(tool: str | None) -> str:
    """The heading of a tool's error: 'Error from web search'."""
    return f"Error from {tool_name(tool)}"


def pool_note(provider_name: str, fingerprints: list[str]) -> str:
    """Under a provider's key in settings, when it has a pool of keys."""
    shown = ", ".join(fingerprints[:4]) + (", …" if len(fingerprints) > 4 else "")
    return (f"{len(fingerprints)} keys ({shown}), tried in turn on a rate limit or a "
            f"rejected key; a key typed here replaces the first. Add or remove keys with "
            f"`chatdesk keys add {provider_name}` / `keys remove {provider_name} N`.")


def error_label(error_class: str | None) -> str:
    """The error class in words: 'key rejected', not 'auth'; unknown classes spelled out."""
    known = errors.BY_KIND.get(error_class or "")
    if known is not None:
        return known.label
    return (error_class or "error").replace("_", " ")


def duration(seconds: float) -> str:
    """'42 s', '4 min 10 s'."""
    whole = int(round(seconds))
    return f"{whole // 60} min {whole % 60} s" if whole >= 60 else f"{whole} s"


def countdown(seconds: float) -> str:
    """A time left that ticks each second: '42 s', '89 s', '2 min', '4 min 10 s'."""
    s = max(0, math.ceil(seconds))
    if s < 90:
        return f"{s} s"
    minutes, rest = divmod(s, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def clock_time(seconds: float) -> str:
    """A time left as a clock shows it: '0:42', '2:13', '1:05:00'."""
    s = max(0, math.ceil(seconds))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def ago(seconds: float) -> str:
    """How long ago: 'just now', '42 s ago', '5 min ago', '3 h ago', '2 days ago'."""
    s = max(0, int(seconds))
    if s < 10:
        return "just now"
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86400:
        return f"{s // 3600} h ago"
    days = s // 86400
    return f"{days} day{'s' if days != 1 else ''} ago"


_HEALTH_WORDS: dict[str, str] = {
    HealthState.UNKNOWN: "not tried yet", HealthState.UP: "up", HealthState.SLOW: "slow",
    HealthState.HALF_OPEN: "trying again", HealthState.KEY_REJECTED: "key rejected",
    HealthState.NO_KEY: "no key",
}


def health_words(state: str, seconds_left: float, ever_failed: bool = False) -> str:
    """The short words after a provider's name in the status bar: 'down 2:13', 'up'."""
    if state == HealthState.DOWN:
        return f"down {clock_time(seconds_left)}" if seconds_left > 0 else "trying again"
    if state == HealthState.UNKNOWN and ever_failed:
        return "not answered yet"
    return _HEALTH_WORDS.get(state, str(state))  # StrEnum members hash as their values


def not_set_up_tooltip(name: str, why_not: str) -> str:
    """Why a provider is never asked, and how to change that."""
    return (f"{display_name(name)} is not set up ({why_not}), so messages never go to it. "
            "Set it up in Settings (Ctrl+,).")


def health_cli(state: str, seconds_left: float) -> str:
    """A provider's state in `chatdesk providers`: 'down (59 s)', 'key-rejected (4 min)'."""
    waiting = state in (HealthState.DOWN, HealthState.KEY_REJECTED) and seconds_left > 0
    return f"{state} ({countdown(seconds_left)})" if waiting else str(state)


def health_error(error_class: str | None, last_error: str | None) -> str:
    """A provider's last failure as a sentence, redacted: 'Key rejected: invalid x-api-key.'"""
    label = error_label(error_class) if error_class else "Error"
    detail = _detail(last_error or "")
    if not detail or detail.lower() == label.lower():
        return _sentence(label)
    return _sentence(f"{label}: {detail}")


def health_tooltip(name: str, state: str, seconds_left: float, failures: int,
                   last_error: str | None, *, last_error_class: str | None = None,
                   success_ago_s: float | None = None,
                   failure_ago_s: float | None = None) -> str:
    """What a provider's state means and what happens next; when it last answered and
    last failed (and why). `*_ago_s`: how long ago, None for never."""
    shown = display_name(name)
    if state == HealthState.UNKNOWN:
        text = (f"{shown} has not answered yet; a message is sent to it when its turn "
                "comes in the failover order.")
    elif state == HealthState.UP:
        text = f"{shown} is up."
    elif state == HealthState.SLOW:
        text = (f"{shown} is up but slow: its last answers took much longer than usual "
                "to start.")
    elif state == HealthState.DOWN and seconds_left > 0:
        text = (f"{shown} is down: it is skipped for {countdown(seconds_left)} more, then "
                "checked again.")
    elif state in (HealthState.DOWN, HealthState.HALF_OPEN):
        text = f"{shown} is being checked again: the next message tries it."
    elif state == HealthState.KEY_REJECTED:
        text = (f"{shown} rejected its API key: fix it in Settings (or with chatdesk keys "
                f"set {name}); it is tried again in {countdown(seconds_left)}.")
    elif state == HealthState.NO_KEY:
        text = (f"{shown} has no API key: add one in Settings or set its environment "
                "variable.")
    else:
        text = f"{shown}: {state}."
    if failures > 1 and state == HealthState.DOWN:
        text += f"\nFailed {failures} times in a row."
    text += "\nLast success: " + ("never." if success_ago_s is None else ago(success_ago_s) + ".")
    if failure_ago_s is not None or last_error:
        when = ago(failure_ago_s) if failure_ago_s is not None else "some time ago"
        text += f"\nLast failure: {when}. {health_error(last_error_class, last_error)}"
    return text


def providers_usable(usable: int, total: int) -> str:
    """The status bar's one line when it is too narrow for each provider: '2 of 4 usable'."""
    if total == 0:
        return "No providers"
    if usable == total:
        return f"{'All ' if total > 1 else ''}{total} provider{'s' if total > 1 else ''} usable"
    return f"{usable} of {total} providers usable"


def clause(sentence: str) -> str:
    """A sentence as a part of a longer line: no final period, a lower-case start (unless
    the first word is a name in capitals, such as 'API')."""
    text = sentence.strip().removesuffix(".")
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def _sentence(text: str) -> str:
    text = text.strip()
    if not text.endswith((".", "!", "?")):
        text += "."
    return text[:1].upper() + text[1:]


def _detail(message: str) -> str:
    """A provider's own message, redacted, on one line and bounded."""
    return redact(" ".join(message.split()))[:_DETAIL_LENGTH].rstrip(" .")


def _words(streamed_text: str) -> str:
    words = len(streamed_text.split())
    return f" after {words} word{'s' if words != 1 else ''}" if words else ""


# -- one failed attempt --------------------------------------------------------------------

def attempt_summary(provider: str, error_class: str | None, status: int | None,
                    streamed_text: str) -> str:
    """'anthropic failed after 12 words: overloaded (529)' (the CLI's failover lines)."""
    detail = error_label(error_class)
    if status:
        detail += f" ({status})"
    if error_class == errors.ErrorClass.CERTIFICATE:
        detail += f" (set ca_bundle for {provider} or SSL_CERT_FILE)"
    return f"{provider} failed{_words(streamed_text)}: {detail}"


def failure_text(provider: str, error_class: str | None, status: int | None,
                 streamed_text: str) -> str:
    """'Anthropic overloaded (529) after 12 words' (the transcript's failover notices)."""
    text = f"{display_name(provider)} {error_label(error_class)}"
    if status:
        text += f" ({status})"
    return text + _words(streamed_text)


# -- hedging (a provider slow to start, another asked too) -------------------------------

def _secs(seconds: float) -> str:
    """'2.5', '60', '0.3': seconds as a short number."""
    return f"{round(seconds, 1) or round(seconds, 3):g}"


def hedging(provider: str, backup: str, waited_s: float) -> str:
    """'Anthropic has not started answering after 3 s; also asking OpenAI.'"""
    return (f"{display_name(provider)} has not started answering after {_secs(waited_s)} s; "
            f"also asking {display_name(backup)}.")


def lost_hedge(winner: str) -> str:
    """Why an attempt that lost a hedge was cancelled (its stored error message)."""
    return f"Cancelled: the answer went to {display_name(winner)}."


def no_first_token(seconds: float, winner: str) -> str:
    """The failure a provider that lost a hedge is recorded with in its health."""
    return f"no answer within {_secs(seconds)} s; {display_name(winner)} answered first"


# -- keys --------------------------------------------------------------------------------

def fix_key(provider_name: str) -> str:
    """'fix the key with: chatdesk keys set NAME', the hint after a key problem."""
    return f"fix the key with: chatdesk keys set {provider_name}"


def missing_key(provider_name: str, env_var: str | None = None, secure_store: bool = True,
                where: Where = "cli") -> str:
    """A provider needs a key and has none: where to put one. `env_var` is the variable
    the key may also come from. `keys set` and the key field work with or without a secure
    keyring (without one, the key goes to the encrypted key file or this session's memory),
    so `secure_store` no longer changes the words. `where` is who reads it: the command line,
    or the app's settings."""
    what = f"No API key for {provider_name}"
    if where == "app":
        return f"{what}: type it above and try again."
    todo = f"add one with `chatdesk keys set {provider_name}`"
    return f"{what}: {todo}" + (f" or set {env_var}." if env_var else ".")


def key_file_locked(provider_name: str) -> str:
    """The key is in the encrypted key file, which nobody unlocked (the app asks at start;
    the CLI has said how to unlock it before sending)."""
    return (f"The key of {provider_name} is in the encrypted key file, which is locked: "
            "unlock it with its passphrase and try again.")


def insecure_http(provider_name: str, host: str) -> str:
    """A key that would travel in clear was not sent: the line that allows it anyway."""
    return (f"The key of {provider_name} was not sent: its base URL is plain http:// to "
            f"{host}, where anyone on the network could read it. Use https://, or, to send "
            f"it anyway, set `allow_insecure_http = true` under [providers.{provider_name}] "
            "in settings.toml.")


def key_unusable(provider_name: str, error_class: str | None) -> str:
    """Why a provider marked `no-key` is skipped: 'a2: key rejected (fix the key with: …)'."""
    rejected = error_class or errors.ErrorClass.AUTH
    return f"{provider_name}: {error_label(rejected)} ({fix_key(provider_name)})"


# -- attachments (issue 15) ------------------------------------------------------------------

def file_size(size: int) -> str:
    """A size as people read it: 812 bytes, 14 KB, 4.2 MB."""
    if size < 1000:
        return f"{size} byte{'s' if size != 1 else ''}"
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if size < scale * 1000 or unit == "GB":
            value = size / scale
            whole = abs(value - round(value)) < 0.05 or value >= 100
            return f"{value:.0f} {unit}" if whole else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def attachment_unreadable(name: str, reason: str) -> str:
    return f"Could not attach {name}: {reason}. Nothing was sent."


def attachment_too_large(name: str, size: int, cap: int) -> str:
    return (f"Could not attach {name}: it is {file_size(size)}, more than the "
            f"{file_size(cap)} a file may have. Nothing was sent.")


def attachment_unsupported(name: str, what: str) -> str:
    return (f"Could not attach {name}: it is {what}, and chatdesk attaches images (PNG, "
            "JPEG, GIF, WebP), PDFs and text files. Nothing was sent.")


def attachment_broken(name: str, what: str, reason: str) -> str:
    return f"Could not attach {name}: it is not a readable {what} ({reason}). Nothing was sent."


def attachment_not_utf8(name: str) -> str:
    return (f"Could not attach {name}: it is not UTF-8 text, which is what text files are "
            "sent as; save it as UTF-8 and try again. Nothing was sent.")


_KIND_WORDS = {"image": "image", "document": "PDF", "text_file": "text file"}


def attachment_line(name: str, kind: str, size: int) -> str:
    """An attachment under its message in `history show`."""
    return f"  [attached: {name} · {_KIND_WORDS.get(kind, kind)} · {file_size(size)}]"


def attachment_limit(provider_name: str, problem: str) -> str:
    """A file a provider would refuse: said before anything is sent."""
    return f"{display_name(provider_name)} cannot take this message: {problem}. Nothing was sent."


# -- attachments in exports and imports (issue 15) ---------------------------------------------

def import_file_refused(name: str, sentence: str) -> str:
    """A file of an export that chatdesk could not keep, from the sentence that refused it
    when attaching ("Could not attach x: it is empty. Nothing was sent.")."""
    reason = sentence.removeprefix(f"Could not attach {name}: ").removesuffix(
        " Nothing was sent.").rstrip(".")
    return f"{name} was left out of the import: {reason}."


def import_file_damaged(name: str) -> str:
    return (f"{name} was left out of the import: its bytes in the export do not match their "
            "SHA-256, so the export is damaged there.")


def import_file_absent(name: str) -> str:
    return f"{name} was left out of the import: the export lists it but does not hold its bytes."


def import_files(added: int, missing: int) -> str:
    """The attachments clause of an import summary ('' when there were none)."""
    words = []
    if added:
        words.append(f"{added:,} attachment{'' if added == 1 else 's'}")
    if missing:
        words.append(f"{missing:,} file{' was' if missing == 1 else 's were'} not in the "
                     "export (a placeholder in the message names each)")
    return "; ".join(words)


def export_file_too_large(name: str, size: int, cap: int) -> str:
    """What an HTML export shows instead of a file too large to embed in the page."""
    return (f"{name} ({file_size(size)}) is not embedded: the page embeds files up to "
            f"{file_size(cap)}; the JSON export keeps it.")


# -- the router's reasons and stops ----------------------------------------------------------

def cooling_down(provider_name: str, seconds_left: float) -> str:
    """Why a provider that failed a moment ago is skipped: 'a1 cooling down (42 s left)'."""
    return f"{provider_name} cooling down ({duration(seconds_left)} left)"


# -- key pools (issue 16): keys are named by fingerprint ('sk-…3f9a'), never shown ---------

def key_failure(provider_name: str, key: str, error_class: str | None,
                status: int | None) -> str:
    """'Anthropic key sk-…3f9a rate-limited (429)': one key of a pool failed."""
    text = f"{display_name(provider_name)} key {key} {error_label(error_class)}"
    return text + (f" ({status})" if status else "")


def key_switched(failure: str, to_key: str) -> str:
    """'Anthropic key sk-…3f9a rate-limited (429) — trying key sk-…91c2' (stderr and the
    transcript's notice)."""
    return f"{failure} — trying key {to_key}"


def keys_cooling(provider_name: str, seconds_left: float) -> str:
    """Why a provider whose every key is unusable is skipped: 'a1: every key cooling down
    or rejected (42 s left)'."""
    return (f"{provider_name}: every key cooling down or rejected "
            f"({duration(seconds_left)} left)")


def skipped_keys(provider_name: str, seconds_left: float) -> str:
    """'Skipped Anthropic: every key unusable for 2 more minutes'."""
    return f"Skipped {display_name(provider_name)}: every key unusable for {_more(seconds_left)}"


def keys_usable(usable: int, total: int) -> str:
    """The status bar's count for a provider with a pool: '2 of 3 keys usable'."""
    return f"{usable} of {total} keys usable"


def nothing_set_up(where: Where = "cli", detail: str = "") -> str:
    """No provider can be asked because none is set up (not an outage: nothing is pending).
    `detail` says why for the providers named, e.g. 'anthropic: no key found'."""
    why = f" ({detail})" if detail else ""
    if where == "app":
        return f"Nothing is set up to answer yet{why}: choose an option above. Your text is kept."
    return (f"no provider is set up yet{why}; run `chatdesk setup` to paste an API key or "
            "use a model on this computer")


def every_provider_failed(reasons: list[str]) -> str:
    """Why a message is left pending: each provider's reason, in order."""
    detail = "; ".join(reasons) if reasons else "no provider is configured"
    return f"every provider failed ({detail})"


def skipped(provider_name: str, state: str, seconds_left: float,
            error_class: str | None) -> str:
    """The one-line notice of a provider left out of an answer: 'Skipped Anthropic: down
    for 2 more minutes (overloaded)', 'Skipped OpenAI: key rejected'."""
    who = display_name(provider_name)
    if state == HealthState.DOWN:
        why = " (outage reported on its status page)" \
            if error_class == errors.ErrorClass.STATUS_PAGE else \
            f" ({error_label(error_class)})" if error_class else ""
        return f"Skipped {who}: down for {_more(seconds_left)}{why}"
    if state == HealthState.NO_KEY:
        return f"Skipped {who}: {error_label(error_class or errors.ErrorClass.AUTH)}"
    return f"Skipped {who}: no API key"


# -- what a model can take (chatdesk/failover/capability_check.py) ---------------------------

CANNOT_SEE_IMAGES = "cannot see images"


def cannot_read_pdf(name: str) -> str:
    """Why a PDF-blind model is left out: its PDF has no text to send instead."""
    return f"cannot read PDFs, and {name} has no text to send instead"


def too_long_for(tokens: int, context_tokens: int) -> str:
    """Why a model is left out for the conversation's length."""
    return (f"the conversation (about {tokens:,} tokens with the answer's room) is longer "
            f"than it takes ({context_tokens:,} tokens)")


def unfit_reason(provider_name: str, model: str, why: str) -> str:
    """A pending message's reason for one model: 'ollama llama3.2: cannot see images'."""
    return f"{provider_name} {model}: {why}"


def skipped_unfit(provider_name: str, model: str, why: str) -> str:
    """The notice of a model left out for what it cannot take:
    'Skipped Ollama llama3.2: cannot see images'."""
    return f"Skipped {display_name(provider_name)} {model}: {why}"


def no_provider_can_take(reasons: list[str]) -> str:
    """Why a message is left pending when no provider's model can take the conversation."""
    return ("no provider can take this conversation (" + "; ".join(reasons) + "); your "
            "message is kept: add a provider whose model can, or correct what a provider "
            "entry's model takes in settings (vision, pdf, context_tokens)")


def pdfs_as_text(provider_name: str, names: tuple[str, ...] | list[str]) -> str:
    """The provenance of an answer from a model that got PDFs as their text:
    'Ollama got report.pdf as its extracted text (it is not known to read PDFs)'."""
    which = ", ".join(names)
    its = "its" if len(names) == 1 else "their"
    return (f"{display_name(provider_name)} got {which} as {its} extracted text "
            "(it is not known to read PDFs)")


def _more(seconds: float) -> str:
    """'42 more seconds', '2 more minutes' (a skipped notice stays: no ticking count)."""
    s = max(1, math.ceil(seconds))
    if s < 90:
        return f"{s} more second{'s' if s != 1 else ''}"
    return f"{round(s / 60)} more minutes"


def next_try(provider_name: str | None, seconds_left: float | None) -> str:
    """Under a pending message: 'Next try in 0:42 — when Anthropic's cooldown ends'."""
    if provider_name is None or seconds_left is None:
        return ("No provider will be tried by itself: fix a key in Settings, or press "
                "Send now to try anyway")
    if seconds_left <= 0:
        return f"Next try: now — {display_name(provider_name)} may be tried again"
    s = math.ceil(seconds_left)
    return (f"Next try in {s // 60}:{s % 60:02d} — when {display_name(provider_name)}'s "
            "cooldown ends")


def names_and(names: list[str]) -> str:
    """'Anthropic', 'Anthropic and Gemini', 'Anthropic, Gemini and Groq'."""
    shown = [display_name(n) for n in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def answered_after(provider: str | None, model: str | None, down: list[str],
                   seconds_later: float | None) -> str:
    """The provenance of a pending message's late answer: 'Answered by OpenAI (gpt-4o) after
    Anthropic and Gemini were down — 3 min later'."""
    who = display_name(provider) + (f" ({model})" if model else "")
    text = f"Answered by {who}"
    if down:
        text += f" after {names_and(down)} {'was' if len(down) == 1 else 'were'} down"
    else:
        text += " after no provider could answer"
    if seconds_later is not None and seconds_later >= 1:
        minutes = round(seconds_later / 60)
        text += (f" — {minutes} min later" if minutes >= 1
                 else f" — {int(seconds_later)} s later")
    return text


def earlier_try(failure: str) -> str:
    """A failed try from before a pending message was answered: 'Anthropic overloaded (529)
    — an earlier try'."""
    return f"{failure} — an earlier try"


def pending_reason(reason: str) -> str:
    """AnswerPending's reason as the sentence under the pending message."""
    return _sentence(reason)


PENDING_EXPLAINED = ("Not answered yet — your message is kept and sent by itself when a "
                     "provider is back")


# -- replies that are not answers, and answers restarted ------------------------------------

def refused(provider_name: str, finish_reason: str | None, conversation_id: int,
            next_provider: str | None) -> str:
    """Why `ask` exits 1 after a refusal or safety block, and how to ask someone else."""
    who = display_name(provider_name)
    if finish_reason in (None, "refusal", "stop"):
        what = f"{who} refused to answer"
    else:
        what = f"{who} blocked the answer ({finish_reason})"
    target = next_provider or "NAME"
    how = f'chatdesk ask -c {conversation_id} --provider {target} "…"'
    if next_provider:
        return f"{what}; its reply is kept, marked refused. To ask {next_provider}: {how}"
    return f"{what}; its reply is kept, marked refused. To ask another provider: {how}"


def restart_separator(provider_name: str) -> str:
    """The line a terminal shows where a backup's fresh answer starts (the text above it
    was abandoned)."""
    return f"──── the answer from {provider_name} starts below; the text above was abandoned ────"


REASONING_HEADING = "reasoning (not part of the answer):"


INTERRUPTED = "chatdesk stopped before this answer finished (it was closed or crashed)"


def interrupted_found(count: int) -> str:
    """What the app says at start-up about messages whose answer a crash cut off."""
    if count == 1:
        return "An answer was cut off when chatdesk stopped last time."
    return f"{count} answers were cut off when chatdesk stopped last time."


def stopped(provider_name: str, message: str, advice_text: str) -> str:
    """A failure that ends the answer without failover: what the provider said, and advice."""
    return f"{provider_name}: {redact(message).strip().rstrip('.')}. {advice_text}".rstrip()


def advice(error: errors.ProviderError) -> str:
    """What the user can do about a failure, or "" when failing over says enough."""
    name = error.provider
    if isinstance(error, errors.InsecureHttp):
        return f"Use https:// for {name or 'this provider'}, or allow plain HTTP in settings.toml."
    if isinstance(error, errors.AuthError | errors.MissingKey):
        if name is None:
            return "Check the API key of this provider in the settings."
        return f"Check the API key of {name}: chatdesk keys set {name}."
    if isinstance(error, errors.CertificateError):
        return (f"Set ca_bundle for {name or 'this provider'} in settings.toml, or "
                "SSL_CERT_FILE, to a PEM file with the CA that signed its certificate.")
    if isinstance(error, errors.NotFound):
        return "Check the model and base URL of this provider in settings."
    if isinstance(error, errors.ContextTooLong):
        return ("The conversation is too long for this model: start a new one or pick a "
                "model with a larger context.")
    if isinstance(error, errors.BadRequest):
        return "The provider refused this request; sending it elsewhere would not help."
    return ""


# -- a provider's failure as one sentence (the settings dialog's tests, model listings) ---------

def provider_failure(exc: BaseException, provider_name: str, base_url: str | None = None) -> str:
    """One sentence for a failed request to one provider: what happened, what to check."""
    if not isinstance(exc, errors.ProviderError):
        reason = _detail(str(exc)) or "unknown reason"
        return f"The request could not be made ({reason}): check the settings and the network."
    code = f" ({exc.status})" if exc.status else ""
    detail = _detail(exc.message)
    about = f" ({detail})" if detail else ""
    host = (urlsplit(base_url).netloc or base_url) if base_url else provider_name
    if isinstance(exc, errors.InsecureHttp):
        return insecure_http(provider_name, host)
    if isinstance(exc, errors.CertificateError):
        return (f"The certificate of {host} could not be verified{about}: set ca_bundle for "
                "this provider or SSL_CERT_FILE.")
    if isinstance(exc, errors.TlsError):
        return (f"The TLS handshake with {host} failed{about}: check that the base URL is "
                "https:// on a port that speaks TLS.")
    if isinstance(exc, errors.MissingKey):
        return missing_key(provider_name)
    if isinstance(exc, errors.AuthError):
        return f"Key rejected{code}: check the API key for {provider_name}."
    if isinstance(exc, errors.QuotaExceeded):
        return f"Out of quota{code}: check the billing of this account."
    if isinstance(exc, errors.RateLimited):
        return f"Rate-limited{code}: the key works, but the provider asks to wait a moment."
    if isinstance(exc, errors.Overloaded):
        return f"The provider is overloaded{code}; try again in a minute."
    if isinstance(exc, errors.NotFound):
        return f"Not found{code}: check the model name and the base URL."
    if isinstance(exc, errors.ConnectionFailed | errors.ConnectTimeout):
        return f"Could not connect to {host}: check the base URL and the network."
    if isinstance(exc, errors.ProviderTimeout):
        return (f"No answer in time ({exc.describe()}); the provider may be slow or down, "
                "so try again in a minute.")
    if isinstance(exc, errors.ContextTooLong):
        return (f"The conversation is too long for this model{code}: pick a model with a "
                "larger context.")
    if exc.status is not None and 300 <= exc.status < 400:
        return _sentence(detail)  # a redirect: the message says which base URL to check
    if isinstance(exc, errors.BadRequest):
        return (f"The provider refused the request{code}{about}: check the model and the "
                f"settings of {provider_name}.")
    if isinstance(exc, errors.MalformedStream):
        return (f"The answer could not be read{about}: check that the base URL is the "
                "provider's API.")
    if isinstance(exc, errors.TruncatedStream):
        return f"The answer was cut short{about}: try again in a moment."
    if isinstance(exc, errors.ServerError):
        return f"The provider had a server error{code}{about}: try again in a minute."
    return _sentence(f"{exc.describe()}{about}: try again in a minute")


def models_failure(provider_name: str, exc: BaseException, base_url: str | None = None) -> str:
    """The model list of a provider could not be read: why, and what to check."""
    if not isinstance(exc, errors.ProviderError):
        return unexpected(exc)
    return (f"Could not list the models of {provider_name}: "
            f"{clause(provider_failure(exc, provider_name, base_url))}.")


def not_done(exc: BaseException) -> str:
    """A problem that stopped an action before anything was sent (the history could not be
    written, the message to edit is gone…): its own words, as one sentence."""
    return _sentence(" ".join(redact(str(exc)).split()) or "That could not be done")


def unexpected(exc: BaseException) -> str:
    """What an unexpected error says to people: its message, and where the details are."""
    text = redact(str(exc)).strip() or "an unexpected error happened"
    return _sentence(text) + " Details are in the log."


def history_busy(file_name: str, message_saved: bool) -> str:
    """The history file stayed locked by another process (an import, another window) for
    longer than chatdesk waits: what happened to the user's text, and what to do."""
    if not message_saved:
        return (f"{file_name} is busy (another chatdesk window or command, such as an import, "
                "is writing to it), so your message was not saved and NOT sent: run the same "
                "command again in a moment.")
    return (f"{file_name} is busy (another chatdesk window or command, such as an import, "
            "is writing to it), so the end of this answer could not be saved: what is shown "
            "above is all of it; the history keeps the part saved before.")


# -- prompts and presets (issue 16) ----------------------------------------------------------

def missing_values(names: list[str]) -> str:
    """A prompt was used without a value for some of its variables."""
    listed = ", ".join(names)
    flags = " ".join(f"--var {n}=…" for n in names)
    return (f"The prompt needs a value for {listed}; give {'them' if len(names) > 1 else 'it'} "
            f"with {flags}.")


def var_malformed(pair: str) -> str:
    return f"--var takes KEY=VALUE, not {pair!r}."


def route_malformed(text: str) -> str:
    return f"A provider of a preset is NAME or NAME:MODEL, not {text!r}."


def name_empty() -> str:
    return "A name cannot be empty."


def name_too_long(limit: int) -> str:
    return f"A name can be at most {limit} characters long."


def temperature_out_of_range(low: float, high: float) -> str:
    return f"The temperature must be from {low:g} to {high:g}."


def max_tokens_too_small() -> str:
    return "--max-tokens must be a whole number of at least 1."


def no_such(kind: str, name: str) -> str:
    """A prompt or preset named on the command line does not exist."""
    return f"There is no {kind} named {name!r} (see: chatdesk {kind}s list)."


def import_conflict(kind: str, name: str, file_name: str) -> str:
    """A file of the folder names a prompt or preset that exists with other content."""
    return (f"{file_name}: a {kind} named {name!r} exists already with other content; it was "
            "kept as it is (rename one of them, or delete yours first, to import this one).")


def not_a_library_file(file_name: str, why: str) -> str:
    return f"{file_name} was skipped: {why}."


def folder_import_summary(kind: str, added: int, unchanged: int, conflicts: int,
                          skipped: int) -> str:
    plural = f"{kind}s"
    parts = [f"Imported {added} {kind if added == 1 else plural}",
             f"{unchanged} already here"]
    if conflicts:
        parts.append(f"{conflicts} kept as they were (name taken)")
    if skipped:
        parts.append(f"{skipped} file{'s' if skipped != 1 else ''} skipped")
    return ", ".join(parts) + "."
# -- usage, cost and budgets (issue 16) ----------------------------------------------------

def dollars(amount: float | None) -> str:
    """'$20.00', '$0.0042' for a fraction of a cent, 'unknown' for no price."""
    if amount is None:
        return "unknown"
    if 0 < abs(amount) < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def budget_reason(provider_name: str, budget_usd: float) -> str:
    """Why an entry over its budget is left out: 'openai: this month's budget of $20.00 is
    spent'."""
    return f"{provider_name}: this month's budget of {dollars(budget_usd)} is spent"


def skipped_budget(provider_name: str, budget_usd: float) -> str:
    """The notice of an entry left out for its budget: 'Skipped OpenAI: this month's budget
    of $20.00 is spent'."""
    return f"Skipped {display_name(provider_name)}: this month's budget of " \
           f"{dollars(budget_usd)} is spent"


def budget_near(provider_name: str, spent_usd: float, budget_usd: float,
                next_month: str) -> str:
    """The warning at 80 % of a month's budget, given once that month."""
    share = int(spent_usd / budget_usd * 100) if budget_usd else 0
    return (f"{display_name(provider_name)} has used {dollars(spent_usd)} of this month's "
            f"{dollars(budget_usd)} budget ({share} %); once it is spent, chatdesk skips "
            f"{display_name(provider_name)} until {next_month}.")


def budget_reached(provider_name: str, budget_usd: float, next_month: str) -> str:
    """The notice when a month's budget is spent, given once that month."""
    return (f"{display_name(provider_name)} has spent this month's budget of "
            f"{dollars(budget_usd)}; chatdesk skips it until {next_month} (raise "
            "monthly_budget_usd in settings.toml to go on).")
