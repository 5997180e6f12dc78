"""Events of one answer's life, shown by the CLI and turned into Qt signals by the app."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageSaved:
    """The user's message is durable in the store, before anything was sent."""

    conversation_id: int
    message_id: int


@dataclass(frozen=True)
class AttemptStarted:
    provider: str
    model: str
    attempt_id: int
    answer_id: int
    continuing: bool = False  # this attempt continues another provider's partial answer
    # The PDFs this model got as their extracted text, not as PDFs (it does not read them);
    # the provenance says so in wording.pdfs_as_text.
    pdfs_as_text: tuple[str, ...] = ()


@dataclass(frozen=True)
class FirstToken:
    provider: str
    elapsed_s: float


@dataclass(frozen=True)
class TextChunk:
    """New answer text, in order, exactly once across failovers (no repeated text)."""

    text: str


@dataclass(frozen=True)
class Restarted:
    """The backup answers afresh: text shown so far is replaced by the new answer."""

    provider: str


@dataclass(frozen=True)
class AttemptFailed:
    provider: str
    model: str
    error_class: str
    message: str
    status: int | None
    streamed_text: str
    retry_after: float | None = None

    def summary(self) -> str:
        """'anthropic failed after 12 words: overloaded (529)', in the error class's words
        for people ('key rejected', not 'auth')."""
        from chatdesk import wording  # only once something failed

        return wording.attempt_summary(self.provider, self.error_class, self.status,
                                       self.streamed_text)


@dataclass(frozen=True)
class Skipped:
    """A provider left out of this answer without a try: cooling down, no key, key rejected,
    or its model cannot take this conversation (an image it cannot see, too long).
    `notice` is its one line for people ('Skipped Anthropic: down for 2 more minutes')."""

    provider: str
    notice: str


@dataclass(frozen=True)
class Hedged:
    """`provider` gave no token within its learned deadline (`waited_s`): `backup` is asked
    too, while `provider` keeps waiting. Whichever gives a token first answers; if it is
    the backup, its AttemptStarted follows. Consumers may ignore it."""

    provider: str
    backup: str
    waited_s: float
    backup_model: str = ""


@dataclass(frozen=True)
class Switched:
    """The answer goes on with another provider, or (`to_key` set) with the same provider's
    next key: `why` then names the key that failed ('Anthropic key sk-…3f9a rate-limited')."""

    from_provider: str
    to_provider: str
    why: str
    continuing: bool
    from_key: str | None = None  # fingerprints, only when a pool's key was switched
    to_key: str | None = None


@dataclass(frozen=True)
class AnswerFinished:
    conversation_id: int
    message_id: int
    provider: str
    model: str
    content: str
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    refused: bool = False  # the provider refused or blocked it: `content` is its reply
    next_provider: str | None = None  # who would be asked next (for "Ask <next provider>")
    reasoning: str = ""  # the model's thinking, apart from the answer
    pdfs_as_text: tuple[str, ...] = ()  # PDFs its model got as their text (see AttemptStarted)


@dataclass(frozen=True)
class AnswerPending:
    """No provider could answer: the user's message waits, marked pending."""

    conversation_id: int
    message_id: int
    reason: str


@dataclass(frozen=True)
class AnswerStopped:
    """A stop that ends the answer with no failover: cancelled, or a request no one can take."""

    conversation_id: int
    message_id: int | None
    reason: str
    cancelled: bool = False


@dataclass(frozen=True)
class NotSetUp:
    """No provider asked was ever reachable (refused, and none has ever answered): that is
    not an outage. The user's message was taken back out of the history, so nothing is
    pending; `text` is theirs to keep (the app's composer, the CLI's drafts)."""

    conversation_id: int
    text: str
    reason: str  # why, per provider: "ollama: never reachable"
    conversation_removed: bool  # the conversation was made for this message, and is gone


ChatEvent = (
    MessageSaved | AttemptStarted | FirstToken | TextChunk | Restarted | AttemptFailed
    | Skipped | Hedged | Switched | AnswerFinished | AnswerPending | AnswerStopped | NotSetUp
)
