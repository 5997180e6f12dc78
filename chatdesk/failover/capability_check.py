"""Whether a provider's model can take this conversation, and the conversation as it gets it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chatdesk import capabilities, wording
from chatdesk.capabilities import Capabilities
from chatdesk.parts import PartKind
from chatdesk.providers.base import Message, Provider, as_extracted_text

if TYPE_CHECKING:
    from chatdesk.settings import ProviderSettings

# The cheap token estimate (docs/capabilities.md): text is about 4 characters a token in
# the languages people write most; an image costs about what Anthropic's vision guide says
# a full-size one does (1,600 tokens; OpenAI's and Gemini's cost less); a PDF counts as
# its extracted text. The answer's max_tokens is added: the context holds both.
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1_600
# Below this many tokens no model's context decides anything, so a text-only conversation
# this short asks no provider what its model takes (no extra request before the answer).
ASK_ABOVE_TOKENS = 8_192
ASK_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Fit:
    """How one model takes the conversation: the history as it gets it (a PDF it cannot
    read replaced by its text), which PDFs went as text, or why it cannot take it at all."""

    history: list[Message]
    pdfs_as_text: tuple[str, ...] = ()
    unfit: str | None = None  # a clause for people: "cannot see images"
    # What the model is sent without being known to take it (unknown: it is tried): a 400
    # then means "it cannot", learnt for the session (`CapabilityBook.learn_cannot`).
    unproven: Capabilities = Capabilities()

    @property
    def ok(self) -> bool:
        return self.unfit is None


def estimate_tokens(history: list[Message], system: str | None) -> int:
    """About how many tokens the conversation takes (see CHARS_PER_TOKEN)."""
    chars = len(system or "")
    images = 0
    for message in history:
        chars += len(message.content)
        for attachment in message.attachments:
            if attachment.kind is PartKind.IMAGE:
                images += 1
            else:
                chars += len(attachment.text or "") + len(attachment.name) + 40
    return chars // CHARS_PER_TOKEN + images * IMAGE_TOKENS


def _host(provider: Provider) -> str:
    try:
        return (urlsplit(provider.base_url).hostname or "").lower()
    except ValueError:
        return ""


def overrides(settings: ProviderSettings) -> Capabilities:
    return capabilities.from_settings(settings.vision, settings.pdf, settings.context_tokens)


@dataclass
class CapabilityBook:
    """What each model takes, for this session: the shipped catalog, what providers report
    (asked once per provider entry and model, only when a conversation needs to know),
    and each entry's settings over both."""

    ask_timeout_s: float = ASK_TIMEOUT_S
    _reported: dict[tuple[str, str, str], Capabilities] = field(default_factory=dict)

    def known(self, settings: ProviderSettings, model: str, provider: Provider) -> Capabilities:
        """The capabilities to act on for `model` of this entry, from what is known now."""
        return capabilities.merged(
            capabilities.catalog(settings.type, model, _host(provider)),
            self._reported.get((settings.name, provider.base_url, model)), overrides(settings))

    async def of(self, settings: ProviderSettings, model: str, provider: Provider,
                 ask: bool = True) -> Capabilities:
        """Like `known`; `ask`: the provider may be asked (once per session) what it
        reports first."""
        key = (settings.name, provider.base_url, model)
        if ask and key not in self._reported:
            reported = await provider.report_capabilities(model, self.ask_timeout_s)
            if reported is not None:  # None: not reachable now; ask again next time
                self._reported[key] = reported
        return self.known(settings, model, provider)

    async def fit(self, settings: ProviderSettings, model: str, provider: Provider,
                  history: list[Message], system: str | None, max_tokens: int) -> Fit:
        """Whether this model can take the conversation, and how (asking the provider what
        it takes when the conversation needs to know)."""
        caps = await self.of(settings, model, provider, ask=_needs_asking(history, system))
        return judge(caps, history, system, max_tokens)

    def fit_now(self, settings: ProviderSettings, model: str, provider: Provider,
                history: list[Message], system: str | None, max_tokens: int) -> Fit:
        """Like `fit`, from what is known now, without asking (a hedge's look-ahead)."""
        return judge(self.known(settings, model, provider), history, system, max_tokens)

    def learn_cannot(self, settings: ProviderSettings, model: str, provider: Provider,
                     cannot: Capabilities) -> None:
        """Note for this session what a model turned out not to take (see Fit.unproven)."""
        key = (settings.name, provider.base_url, model)
        self._reported[key] = cannot.over(self._reported.get(key) or Capabilities())


def _needs_asking(history: list[Message], system: str | None) -> bool:
    """Whether what the model takes matters to this conversation: it has an image or a
    PDF, or is long enough for a context to decide."""
    return any(a.kind is not PartKind.TEXT_FILE for m in history for a in m.attachments) \
        or estimate_tokens(history, system) > ASK_ABOVE_TOKENS


def judge(caps: Capabilities, history: list[Message], system: str | None,
          max_tokens: int) -> Fit:
    """Whether a model that takes `caps` can take the conversation, and how."""
    images = any(a.kind is PartKind.IMAGE for m in history if m.role == "user"
                 for a in m.attachments)
    pdfs = any(a.kind is PartKind.DOCUMENT for m in history for a in m.attachments)
    tokens = estimate_tokens(history, system)
    if images and caps.vision is False:
        return Fit(history, unfit=wording.CANNOT_SEE_IMAGES)
    as_text: list[str] = []
    if pdfs and caps.pdf is not True:
        # Not known to read PDFs: its text is safe to send, the PDF may not be. A PDF
        # without text still goes as a PDF unless the model is known not to read it.
        history, as_text, unreadable = _pdfs_as_text(history, strict=caps.pdf is False)
        if unreadable:
            return Fit(history, unfit=wording.cannot_read_pdf(unreadable))
    if caps.context_tokens is not None and tokens + max_tokens > caps.context_tokens:
        return Fit(history, unfit=wording.too_long_for(tokens + max_tokens,
                                                        caps.context_tokens))
    native_pdf = any(a.kind is PartKind.DOCUMENT for m in history for a in m.attachments)
    unproven = Capabilities(vision=False if images and caps.vision is None else None,
                            pdf=False if native_pdf and caps.pdf is None else None)
    return Fit(history, tuple(as_text), unproven=unproven)


def _pdfs_as_text(history: list[Message],
                  strict: bool) -> tuple[list[Message], list[str], str | None]:
    """(the history with each PDF replaced by its extracted text, the PDFs so replaced,
    the name of a PDF that has no text to send instead, if any and `strict`; else such a
    PDF stays a PDF)."""
    sent: list[Message] = []
    names: list[str] = []
    for message in history:
        if not any(a.kind is PartKind.DOCUMENT for a in message.attachments):
            sent.append(message)
            continue
        parts = []
        for attachment in message.attachments:
            if attachment.kind is PartKind.DOCUMENT:
                if (attachment.text or "").strip():
                    attachment = as_extracted_text(attachment)
                    names.append(attachment.name)
                elif strict:
                    return history, [], attachment.name
            parts.append(attachment)
        sent.append(Message(message.role, message.content, tuple(parts)))
    return sent, names, None
