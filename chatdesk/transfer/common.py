"""What every importer shares: the imported dataclasses, tree flattening, and the merge."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chatdesk import wording
from chatdesk.attachment_files import AttachmentError, attachment_from_bytes
from chatdesk.parts import Attachment, PartKind
from chatdesk.store.models import derive_title, now_iso
from chatdesk.transfer.formats import PRODUCTS

if TYPE_CHECKING:
    from chatdesk.prompt_files import FolderReport
    from chatdesk.store import HistoryStore
    from chatdesk.store.bulk import BulkWriter


@dataclass(frozen=True)
class ImportedAttachment:
    """A file of an imported message: its name and how to get it (read from the export
    when the message is stored, so an import never holds every file at once). `load`
    raises AttachmentError, whose sentence the import summary lists."""

    name: str
    load: Callable[[], Attachment]


@dataclass(slots=True)  # not frozen: a frozen init costs ~1 µs a message in a 1M import
class ImportedMessage:
    """One message of an export, as chatdesk will store it. Times are ISO 8601 UTC.
    `missing_files`: files the export names but does not hold (a placeholder in the text)."""

    source_id: str
    role: str  # system | user | assistant | tool
    content: str
    created_at: str | None
    model: str | None
    parent_source_id: str | None
    is_alternate: bool
    provider: str | None
    attachments: tuple[ImportedAttachment, ...] = ()
    missing_files: int = 0
    # the model's thinking before this answer (kept and shown, never sent back to models)
    reasoning: str | None = None


@dataclass(frozen=True)
class ImportedConversation:
    """One conversation; `messages` lists every parent before its children."""

    source_id: str
    title: str | None
    created_at: str | None
    updated_at: str | None
    messages: list[ImportedMessage]
    system_prompt: str | None = None
    preset: str | None = None  # the name of an ImportedPreset the conversation follows
    pinned: bool = False


@dataclass(frozen=True)
class ImportedPreset:
    """A preset an export's project (or assistant) becomes: its name and instructions."""

    name: str
    system_prompt: str | None


@dataclass(frozen=True)
class SideOutcome:
    """What became of one kind of thing an export holds beside its conversations
    (projects, memories, settings…): how many were imported, how many not, and why not."""

    kind: str  # plural, as the summary says it: "projects", "memories"
    imported: int = 0
    skipped: int = 0
    why: str = ""  # why the skipped ones were not imported (a clause, no full stop)
    became: str = ""  # what the imported ones became ("presets", "tags")
    presets: tuple[str, ...] = ()  # the names of the presets the imported ones became
    already: int = 0  # of those, how many were here already (an import done before)


@dataclass(frozen=True)
class ImportReport:
    source: str
    conversations_added: int
    conversations_updated: int
    messages_added: int
    skipped_empty: int
    files: list[str] = field(default_factory=list)
    attachments_added: int = 0
    # files an export names without holding them: the message keeps a placeholder
    attachments_missing: int = 0
    # one sentence per attachment that was left out (damaged, unreadable, unsupported)
    notes: list[str] = field(default_factory=list)
    # the export's other kinds of things, each imported or said why not
    side: list[SideOutcome] = field(default_factory=list)


@dataclass
class MessageParts:
    """What one message of an export becomes: Markdown text, the thinking before it (never
    sent back to models), the files the export holds, and how many it only names."""

    content: str = ""
    reasoning: str | None = None
    attachments: list[ImportedAttachment] = field(default_factory=list)
    missing_files: int = 0


def extracted_text_file(name: str, text: str) -> ImportedAttachment:
    """An upload kept as the text a service extracted from it (exports hold no bytes): a
    text file of its name, or "report.pdf.txt" when the name is not a text file's."""
    data = text.encode("utf-8")

    def load() -> Attachment:
        try:
            made: Attachment | None = attachment_from_bytes(name, data)
        except AttachmentError:
            made = None
        if made is None or made.kind is not PartKind.TEXT_FILE:
            made = attachment_from_bytes(f"{name}.txt", data, "text/plain")
        return made

    return ImportedAttachment(name, load)


class FileLeftOut(AttachmentError):
    """A file of an export that is not imported; str() is the sentence the summary lists."""


class ImportFormatError(Exception):
    """The export cannot be read; str() is one line naming the file and the place."""


class ImportCancelled(Exception):
    def __init__(self) -> None:
        super().__init__("The import was cancelled; nothing was imported.")


# -- small helpers the readers share ---------------------------------------------------


def iso_from_unix(value: Any) -> str | None:
    """A unix time (float seconds) in the stored format, or None if there is none."""
    if value.__class__ is not float and (isinstance(value, bool)
                                         or not isinstance(value, (int, float))):
        return None
    if value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        return None


def iso_from_text(value: Any) -> str | None:
    """An ISO 8601 text (`2024-05-01T10:00:00.123456Z`) in the stored format, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def fence(text: str, language: str | None = None) -> str:
    """A fenced code block that survives backticks inside the text."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    marks = "`" * (longest + 1)
    return f"{marks}{language or ''}\n{text.rstrip(chr(10))}\n{marks}"


def quoted(text: str, heading: str) -> str:
    """A Markdown blockquote headed by `heading` (the renderer shows raw HTML as text)."""
    lines = [f"> **{heading}**", ">"]
    lines += [f"> {line}" if line.strip() else ">" for line in text.strip().splitlines()]
    return "\n".join(lines)


def document(name: str, language: str | None, text: str, version: int | None = None) -> str:
    """A document the model wrote (a ChatGPT canvas, a Claude artifact) as the transcript
    shows it: a bold heading with its name (and version, from the second on), then its
    text fenced in its language."""
    heading = f"**Document: {name.strip() or 'untitled'}**"
    if version is not None and version > 1:
        heading += f" (version {version})"
    return f"{heading}\n\n{fence(text, language)}"


def sources_list(links: Sequence[tuple[str, str]]) -> str:
    """The web pages an answer cites, as a numbered list under **Sources** ('' for none);
    `links` are (title, url), each url once, in the order given."""
    seen: set[str] = set()
    lines: list[str] = []
    for title, url in links:
        if url and url not in seen:
            seen.add(url)
            lines.append(f"{len(lines) + 1}. [{title.strip() or url}]({url})")
    return "**Sources**\n\n" + "\n".join(lines) if lines else ""


@dataclass(slots=True)
class RawNode:
    """A reader's message before flattening; `role` None means "not shown" (a link only)."""

    key: str
    parent: str | None
    role: str | None
    content: str
    created_at: str | None
    model: str | None = None
    provider: str | None = None
    attachments: list[ImportedAttachment] = field(default_factory=list)
    missing_files: int = 0
    reasoning: str | None = None


def flatten(
    nodes: dict[str, RawNode], leaf: str | None, start: str | None
) -> list[ImportedMessage]:
    """Tree to list: parents first; the path root→`leaf` is the main line, the rest alternates.

    Without a usable `leaf`, the newest leaf ends the main line. Hidden nodes are dropped
    and their children hang from the nearest shown ancestor. A missing time is the parent's;
    every other time is kept as the export has it, even one earlier than its parent's
    (skewed clocks): the store orders a conversation by its tree, not by the clock.
    """
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    for key, node in nodes.items():
        if node.parent in nodes and node.parent != key:
            children.setdefault(node.parent, []).append(key)
        else:
            roots.append(key)
    if leaf not in nodes:  # no usable pointer to the end: take the newest leaf
        leaves = [(n.created_at or "", i, k) for i, (k, n) in enumerate(nodes.items())
                  if k not in children]  # fmt: skip
        leaf = max(leaves)[2] if leaves else None
    main: set[str] = set()
    step = leaf
    while step is not None and step not in main:
        main.add(step)
        step = nodes[step].parent if nodes[step].parent in nodes else None
    out: list[ImportedMessage] = []
    seen: set[str] = set()
    stack: list[tuple[str, str | None, str | None]] = [(k, None, start) for k in reversed(roots)]
    unreached = iter(nodes)  # a loop of parents (a damaged tree) has no root: start one
    while stack or len(seen) < len(nodes):
        if not stack:
            first = next(k for k in unreached if k not in seen)
            stack.append((first, None, start))
        key, parent_id, parent_time = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        node = nodes[key]
        when = node.created_at or parent_time
        if node.role is not None and (node.content.strip() or node.attachments
                                      or node.reasoning):
            # (positional: keywords cost a 1M-message import ~0.5 s)
            out.append(ImportedMessage(
                key, node.role, node.content, when, node.model, parent_id, key not in main,
                node.provider, tuple(node.attachments), node.missing_files,
                node.reasoning or None))
            parent_id = key
        below = children.get(key)
        if below is None:
            continue
        if len(below) == 1:  # most nodes: one child, no generator for it
            stack.append((below[0], parent_id, when))
        else:
            stack.extend([(c, parent_id, when) for c in reversed(below)])
    return out


_DECORATION = re.compile(
    r"\[(?:image|file|attachment): [^\]\n]*\]|\*\*Attachment: [^\n]*\*\*\s*(`{3,})[\s\S]*?\1"
)


def first_user_title(messages: list[ImportedMessage]) -> str | None:
    """A title from the words of the first main-line user message (placeholders left out)."""
    for m in messages:
        if m.role == "user" and not m.is_alternate:
            return derive_title(_DECORATION.sub(" ", m.content)) or derive_title(m.content)
    return None


# -- writing: through the store's bulk writer ----------------------------------------


class PendingAttachments:
    """The files of messages a bulk writer has queued, stored once those messages are
    written: the writer commits what it has (hidden from readers until the import ends,
    and thrown away with it if the import fails), then each message's files are added,
    one message's bytes in memory at a time."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store
        self._waiting: list[tuple[int, Sequence[ImportedAttachment]]] = []
        self.added = 0
        self.notes: list[str] = []

    def add(self, message_id: int, attachments: Sequence[ImportedAttachment]) -> None:
        if attachments:
            self._waiting.append((message_id, attachments))

    def write(self, writer: BulkWriter) -> None:
        if not self._waiting:
            return
        writer.flush(commit=True)
        for message_id, items in self._waiting:
            loaded: list[Attachment] = []
            for item in items:
                try:
                    loaded.append(item.load())
                except FileLeftOut as exc:
                    self.notes.append(str(exc))
                except AttachmentError as exc:
                    self.notes.append(wording.import_file_refused(item.name, str(exc)))
            if loaded:
                self.store.add_attachments(message_id, loaded)
                self.added += len(loaded)
        self._waiting.clear()


class _Merge:
    """Adds an export's conversations to a BulkWriter: new ones whole, known ones by what
    is new in them (a conversation deleted here is left alone)."""

    def __init__(self, writer: BulkWriter, source: str, files: PendingAttachments) -> None:
        self.writer = writer
        self.source = source
        self.files = files
        self.known = writer.imported_conversations(source)
        self.added = self.updated = self.messages_added = self.missing_files = 0
        self.presets_of: list[tuple[int, str]] = []  # (new conversation, its preset's name)

    def add(self, conv: ImportedConversation) -> None:
        known = self.known.get(conv.source_id)
        if known is None:
            self._add_new(conv)
        elif not known[1]:  # a conversation the user deleted here is left alone
            self._add_to(known[0], conv)

    def _add_new(self, conv: ImportedConversation) -> None:
        first = conv.messages[0].created_at if conv.messages else None
        created = conv.created_at or first or now_iso()
        title = (conv.title or "").strip() or first_user_title(conv.messages)
        cid = self.writer.add_conversation(
            created_at=created, title=title, system_prompt=conv.system_prompt,
            pinned=conv.pinned, source=self.source, source_id=conv.source_id,
        )  # fmt: skip
        latest = self._add_messages(cid, conv.messages, {}, created)
        self.writer.touch_conversation(cid, max(latest, conv.updated_at or "", created))
        self.known[conv.source_id] = (cid, False)
        if conv.preset:
            self.presets_of.append((cid, conv.preset))
        self.added += 1

    def _add_to(self, cid: int, conv: ImportedConversation) -> None:
        """An imported conversation seen again: add what is new, follow the new main line."""
        stored = self.writer.imported_messages(cid)
        ids = {sid: mid for sid, (mid, _) in stored.items()}
        new = [m for m in conv.messages if m.source_id not in ids]
        flips = [
            (ids[m.source_id], m.is_alternate)
            for m in conv.messages
            if m.source_id in ids and stored[m.source_id][1] != m.is_alternate
        ]
        if not new and not flips:
            return
        self.writer.set_alternates(flips)
        latest = self._add_messages(cid, new, ids, conv.created_at or now_iso())
        self.writer.touch_conversation(cid, latest)
        self.updated += 1

    def _add_messages(
        self, cid: int, messages: list[ImportedMessage], ids: dict[str, int], default: str
    ) -> str:
        """Add the messages, parents first; returns the latest message time (or `default`)."""
        latest = ""
        add = self.writer.add_message
        added = 0
        for m in messages:
            if m.source_id in ids:
                continue  # a duplicate id inside one export: keep the first
            when = m.created_at or default
            latest = when if when > latest else latest
            parent = ids.get(m.parent_source_id) if m.parent_source_id else None
            ids[m.source_id] = add(
                cid, m.role, m.content, when, parent_id=parent, provider=m.provider,
                model=m.model, source_id=m.source_id, is_alternate=m.is_alternate,
                reasoning=m.reasoning,
            )  # fmt: skip
            self.files.add(ids[m.source_id], m.attachments)
            self.missing_files += m.missing_files
            added += 1
        self.messages_added += added
        return latest or default


def write_conversations(
    store: HistoryStore,
    conversations: Iterable[ImportedConversation],
    source: str,
    progress: Callable[[int, int | None], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ImportReport:
    """Store an export's conversations all at once: all of it, or (on error) nothing.

    Importing the same export again adds nothing; a newer export of the same account adds
    only the messages that are new (and follows its main line). `progress(done, total)`
    counts conversations (total is None unless `conversations` has a length); `cancel()`
    returning True stops with `ImportCancelled` and nothing written.
    """
    total = len(conversations) if isinstance(conversations, Sized) else None
    skipped = done = 0
    last_report = time.monotonic()
    try:
        with store.bulk_writer() as writer:
            files = PendingAttachments(store)
            merge = _Merge(writer, source, files)
            for conv in conversations:
                if cancel is not None and cancel():
                    raise ImportCancelled()
                done += 1
                if conv.messages:
                    merge.add(conv)
                else:
                    skipped += 1
                if progress is not None and time.monotonic() - last_report > 0.1:
                    last_report = time.monotonic()
                    progress(done, total)
            files.write(writer)  # the export is still open: `close()` comes after
    finally:
        close = getattr(conversations, "close", None)
        if callable(close):
            close()
    notes = files.notes
    presets = list(getattr(conversations, "presets", []))
    side = list(getattr(conversations, "side", []))
    if presets or merge.presets_of:
        merged = _merge_presets(store, source, presets, merge.presets_of)
        notes += merged.conflicts + merged.skipped
        side = [_counted(outcome, merged.unchanged, merged.conflicts) for outcome in side]
    if progress is not None:
        progress(done, total if total is not None else done)
    return ImportReport(
        source=source,
        conversations_added=merge.added,
        conversations_updated=merge.updated,
        messages_added=merge.messages_added,
        skipped_empty=skipped,
        files=list(getattr(conversations, "files", [])),
        attachments_added=files.added,
        attachments_missing=merge.missing_files,
        notes=notes,
        side=side,
    )


def _counted(outcome: SideOutcome, unchanged: list[str], conflicts: list[str]) -> SideOutcome:
    """`outcome` with its presets that were here already, or whose name was taken (a
    note says so), no longer counted as imported."""
    if not outcome.presets:
        return outcome
    already = sum(1 for name in outcome.presets if name in unchanged)
    taken = sum(1 for name in outcome.presets if any(repr(name) in c for c in conflicts))
    return replace(outcome, imported=max(0, outcome.imported - already - taken),
                   already=already)


def _merge_presets(store: HistoryStore, source: str, presets: list[ImportedPreset],
                   presets_of: list[tuple[int, str]]) -> FolderReport:
    """The export's presets by the folder import's rules (a name taken with other content
    stays as it is, and is said), then which preset each new conversation follows."""
    from chatdesk.prompt_files import FolderReport, merge_preset
    from chatdesk.store.prompts import Preset

    report = FolderReport()
    with store.transaction():
        for item in presets:
            merge_preset(store, f"The {PRODUCTS.get(source, source)} export", Preset(
                0, item.name, item.system_prompt, (), None, None, "", ""), report)
        for conversation_id, name in presets_of:
            if store.get_preset(name) is not None:
                store.set_conversation_preset(conversation_id, name)
    return report
