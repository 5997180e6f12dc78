"""The transcript's list model: one row per message, the live answer, and failover notices."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QTimer

from chatdesk import wording
from chatdesk.parts import AttachmentInfo
from chatdesk.pending import NextTry, fold_unanswered
from chatdesk.store import Attempt, MessageHead, MessageStatus, MessageText, StoredMessage
from chatdesk.ui.conversation_model import parse_time
from chatdesk.ui.transcript_texts import TextLoader, TextPages
from chatdesk.versions import Versions
from chatdesk.wording import display_name as display_name  # the delegate imports it here
from chatdesk.wording import failure_text

if TYPE_CHECKING:
    from chatdesk import events as ev


class TranscriptRole(IntEnum):
    """The data roles of TranscriptModel beyond Qt's own."""

    MESSAGE = Qt.ItemDataRole.UserRole + 201  # the MessageRow
    MESSAGE_ID = Qt.ItemDataRole.UserRole + 202
LIVE_REFRESH_MS = 50  # the live row is re-rendered at most this often
MAX_LIVE_REFRESH_MS = 400
WINDOW = 160  # rows the view sees after opening a conversation or jumping into it
TEXT_RETRY_MS = 1000  # a row whose text could not be read is drawn again this much later
_Index = QModelIndex | QPersistentModelIndex


def live_refresh_ms(build_ms: float) -> int:
    """How long to wait before showing more of an answer: 50 ms, longer once the live row
    costs more to rebuild, so that rebuilding it takes at most about a quarter of the UI
    thread however long the answer grows."""
    return int(min(MAX_LIVE_REFRESH_MS, max(LIVE_REFRESH_MS, 4 * build_ms)))


@dataclass
class Notice:
    """One failed attempt shown inline; clicking it shows what that provider had written.
    A "provenance" or "skipped" notice is one plain line about who answered and who not."""

    attempt_id: int
    text: str
    detail: str
    expanded: bool = False
    kind: str = "failure"  # "failure" | "provenance" | "skipped"


def _seconds_between(start: str, end: str | None) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() \
            if end else None
    except ValueError:
        return None


def answer_seconds(attempts: list[Attempt]) -> float | None:
    """How long the answer took: from its first try's start to the end of the one that
    answered (failovers included); None when no try answered."""
    ended = next((a.ended_at for a in reversed(attempts) if a.outcome == "ok"), None)
    return _seconds_between(attempts[0].started_at, ended) if attempts else None


def provenance_notice(answer: MessageRow, folded: list[Attempt],
                      own: list[Attempt]) -> Notice:
    """'Answered by OpenAI (gpt-4o) after Anthropic and Gemini were down — 3 min later':
    the facts of the "Not answered" rows a late answer replaced."""
    down = list(dict.fromkeys(a.provider for a in folded if a.outcome == "failed"))
    ended = next((a.ended_at for a in reversed(own) if a.outcome == "ok"), None)
    later = _seconds_between(folded[0].started_at, ended) if folded else None
    return Notice(0, wording.answered_after(answer.provider, answer.model, down, later), "",
                  kind="provenance")


def notices_from_attempts(attempts: list[Attempt]) -> list[Notice]:
    """A notice per failed attempt, saying what happened next."""
    notices: list[Notice] = []
    for i, attempt in enumerate(attempts):
        if attempt.outcome != "failed":
            continue
        nxt = attempts[i + 1] if i + 1 < len(attempts) else None
        text = failure_text(attempt.provider, attempt.error_class, attempt.http_status,
                            attempt.streamed_text)
        if (nxt is not None and nxt.provider == attempt.provider and attempt.key_fingerprint
                and nxt.key_fingerprint and nxt.key_fingerprint != attempt.key_fingerprint):
            # The same provider's next key of its pool took over: name both keys.
            notices.append(Notice(attempt.id, wording.key_switched(wording.key_failure(
                attempt.provider, attempt.key_fingerprint, attempt.error_class,
                attempt.http_status), nxt.key_fingerprint), attempt.streamed_text))
            continue
        if nxt is None:
            text += " — no other provider could answer"
        else:
            who = f"{display_name(nxt.provider)} {nxt.model or ''}".strip()
            continued = nxt.continued_from == attempt.id
            if nxt.outcome == "running":
                text += f" — switching to {who}…"
            elif nxt.outcome == "ok":
                text += f" — {who} continued the answer" if continued else f" — answered by {who}"
            else:
                text += f" — switched to {who}"
        notices.append(Notice(attempt.id, text, attempt.streamed_text))
    return notices


@dataclass(eq=False, slots=True)
class MessageRow:
    """What the delegate paints for one message. `version` changes whenever it must re-render.

    Its text (`content`, `reasoning`) may be left in the store (a row loaded from a
    MessageHead): it is read, with its page's, when first asked for, and let go again
    once many other rows were read since (TextPages)."""

    id: int
    role: str
    _content: str | None  # None: still in the store (see `content`)
    status: str
    provider: str | None = None
    model: str | None = None
    _created_at: str | None = None  # None: still in the store, with the text
    notices: list[Notice] | None = None  # None: not read from the store yet (lazy)
    live: bool = False
    sending: bool = False  # a pending message being sent again now
    folded: Sequence[int] = ()  # "Not answered" rows this answer replaced
    skipped: Sequence[str] = ()  # providers left out of this answer
    pending_reason: str = ""  # why no provider answered this pending message (this session)
    pending_note: str = ""  # when it is tried next
    versions: Versions | None = None  # the other versions of this message, if it has any
    _input_tokens: int | None = None
    _output_tokens: int | None = None
    seconds: float | None = None  # how long the answer took (read with its attempts)
    _reasoning: str | None = None  # the model's thinking, shown collapsed
    reasoning_open: bool = False
    files: Sequence[AttachmentInfo] | None = None  # its attachments; None: not read yet (lazy)
    cost_usd: float | None = None  # what the answer cost (None: not known)
    version: int = 0
    page: int = -1  # a huge message: where the plain-text part shown begins (-1: none)
    estimate: tuple[int, int, int] | None = field(default=None, repr=False)  # (w, ver, h)
    given_height: int = field(default=-1, repr=False)  # what the view was last told
    texts: TextPages | None = field(default=None, repr=False)  # where its text is read
    text_read: bool = field(default=False, repr=False)  # its text came from `texts`

    @classmethod
    def from_stored(cls, m: StoredMessage | MessageHead,
                    texts: TextPages | None = None) -> MessageRow:
        notices: list[Notice] | None = None if m.role == "assistant" else []
        row = cls(m.id, m.role, None, m.status, m.provider, m.model, notices=notices,
                  texts=texts)
        if isinstance(m, StoredMessage):
            row.set_text(MessageText(m.content, m.reasoning, m.created_at, m.input_tokens,
                                     m.output_tokens))
        return row

    @property
    def content(self) -> str:
        if self._content is None and self.texts is not None:
            self.texts.read(self)
        return self._content if self._content is not None else ""

    @content.setter
    def content(self, text: str) -> None:
        self._content, self.text_read = text, False  # its own now: kept

    @property
    def reasoning(self) -> str | None:
        if self._content is None and self.texts is not None:
            self.texts.read(self)
        return self._reasoning

    @reasoning.setter
    def reasoning(self, text: str | None) -> None:
        self._reasoning, self.text_read = text, False

    @property
    def created_at(self) -> str:
        if self._content is None and self.texts is not None:
            self.texts.read(self)
        return self._created_at or ""

    @property
    def input_tokens(self) -> int | None:
        if self._content is None and self.texts is not None:
            self.texts.read(self)
        return self._input_tokens

    @property
    def output_tokens(self) -> int | None:
        if self._content is None and self.texts is not None:
            self.texts.read(self)
        return self._output_tokens

    def has_text(self) -> bool:
        return self._content is not None

    def set_text(self, text: MessageText | None) -> None:
        """Its text, time and token counts (None: let go of them, read again when asked)."""
        if text is None:
            self._content = self._reasoning = self._created_at = None
            self._input_tokens = self._output_tokens = None
            return
        self._content, self._reasoning = text.content, text.reasoning or None
        self._created_at = text.created_at
        self._input_tokens, self._output_tokens = text.input_tokens, text.output_tokens

    @property
    def pending(self) -> bool:
        return self.role == "user" and self.status == MessageStatus.PENDING


def spoken_provenance(row: MessageRow) -> str:
    """Who wrote a message, and its state, in words: "Anthropic, claude-sonnet-4-5, 11:40"."""
    if row.role == "user":
        bits = ["You"]
    elif row.role == "tool":
        bits = [wording.tool_heading(row.model)]
    elif row.provider is None:
        bits = [row.role.capitalize()]
    else:
        bits = [display_name(row.provider)] + ([row.model] if row.model else [])
    if row.status != MessageStatus.COMPLETE:
        bits.append(str(row.status))
    if row.versions is not None:
        bits.append(f"version {row.versions.current + 1} of {len(row.versions.ids)}")
    if row.files:
        bits.append(f"{len(row.files)} attached: " + ", ".join(f.name for f in row.files))
    usage = wording.answer_usage(row.input_tokens, row.output_tokens, row.seconds,
                                 row.cost_usd, spoken=True)
    if row.role == "assistant" and usage:
        bits.append(usage)
    if row.created_at:
        try:
            bits.append(parse_time(row.created_at).strftime("%H:%M"))
        except ValueError:
            pass
    return ", ".join(bits)


class TranscriptModel(QAbstractListModel):
    """Messages of one conversation, seen by the view through a window of rows.

    All rows are kept (`all_rows`, cheap dataclasses), but the view only sees
    `all_rows[lo:hi]`: QListView lays out every row it sees whenever one row's height
    changes, so a window of a few hundred rows keeps that cheap in a conversation of any
    length. The view grows the window at either end as the user scrolls. Stored rows read
    their attempts only when first shown; while an answer streams, only its row changes, and
    at most every LIVE_REFRESH_MS (or `refresh_interval()`, which the view ties to what the
    row costs to draw).
    """

    def __init__(self, attempts_loader: Callable[[int], list[Attempt]] | None = None,
                 files_loader: Callable[[list[int]], dict[int, list[AttachmentInfo]]] | None
                 = None, texts_loader: TextLoader | None = None) -> None:
        super().__init__()
        self._files_loader = files_loader
        self._texts_loader = texts_loader
        self._texts = TextPages(texts_loader or (lambda _ids: {}), lambda: self.all_rows,
                                self._text_failed)
        # Rows whose text the store could not give (busy): drawn empty, drawn again soon.
        self._unread: set[int] = set()
        self._text_retry = QTimer(self)
        self._text_retry.setSingleShot(True)
        self._text_retry.setInterval(TEXT_RETRY_MS)
        self._text_retry.timeout.connect(self._redraw_unread)
        self.all_rows: list[MessageRow] = []
        self.lo = self.hi = 0
        self.readonly = False
        self.busy = False  # an answer is running somewhere: no Edit / Regenerate
        self._attempts_loader = attempts_loader
        self._live_row: MessageRow | None = None
        self._live_attempt: int | None = None
        self._question: int | None = None  # the user message being answered
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(LIVE_REFRESH_MS)
        self._refresh.timeout.connect(self._refresh_live)
        self.refresh_interval: Callable[[], int] = lambda: LIVE_REFRESH_MS
        self.next_try: NextTry | None = None
        self.clock: Callable[[], float] = time.time
        # The provider after a given one in the failover order, set up (the controller's).
        self.next_provider: Callable[[str], str | None] = lambda _name: None
        self._next_of: dict[str, str | None] = {}  # ask_other's answers, by provider
        self._skipped: list[str] = []  # skipped notices waiting for the answer's row

    # -- loading and the window -------------------------------------------------------------

    def load(self, messages: Sequence[StoredMessage | MessageHead],
             versions: dict[int, Versions] | None = None) -> None:
        """Show these messages; those without their text (MessageHead) have it read from
        the store when shown (`texts_loader`)."""
        self.beginResetModel()
        shown, folded = fold_unanswered([m for m in messages if m.role != "system"])
        self._texts.clear()
        texts = self._texts if self._texts_loader is not None else None
        self.all_rows = [MessageRow.from_stored(m, texts) for m in shown]
        versions = versions or {}
        # One query for the whole conversation: which of its messages have files.
        files = self._files_loader([r.id for r in self.all_rows]) \
            if self._files_loader is not None else {}
        for row in self.all_rows:
            row.folded = folded.get(row.id, ())
            row.versions = versions.get(row.id)
            row.files = files.get(row.id, ())
        self._tick_rows(self.all_rows)
        self.hi = len(self.all_rows)
        self.lo = max(0, self.hi - WINDOW)
        self._live_row, self._live_attempt = None, None
        self._refresh.stop()
        self.endResetModel()

    def _text_failed(self, rows: Sequence[object]) -> None:
        self._unread.update(id(r) for r in rows)
        self._text_retry.start()

    def _redraw_unread(self) -> None:
        unread, self._unread = self._unread, set()
        for pos in range(self.lo, self.hi):
            if id(self.all_rows[pos]) in unread:
                self._changed_at(pos)  # its document and estimate are made again

    @property
    def rows(self) -> list[MessageRow]:
        """The rows the view sees, in order (a copy)."""
        return self.all_rows[self.lo:self.hi]

    def row(self, i: int) -> MessageRow:
        return self.all_rows[self.lo + i]

    @property
    def at_end(self) -> bool:
        return self.hi >= len(self.all_rows)

    def position_of(self, message_id: int) -> int:
        for i in range(len(self.all_rows) - 1, -1, -1):
            if self.all_rows[i].id == message_id:
                return i
        return -1

    def row_of(self, message_id: int) -> int:
        """The view row of a message, -1 if it is not in the window."""
        pos = self.position_of(message_id)
        return pos - self.lo if self.lo <= pos < self.hi else -1

    def show_around(self, pos: int) -> None:
        """Move the window so that it holds all_rows[pos]."""
        self.beginResetModel()
        self.lo = max(0, min(pos - WINDOW // 2, len(self.all_rows) - WINDOW))
        self.hi = min(len(self.all_rows), self.lo + WINDOW)
        self.endResetModel()

    def show_end(self) -> None:
        if not self.at_end:
            self.show_around(len(self.all_rows) - 1)

    def grow_up(self, n: int) -> int:
        k = min(n, self.lo)
        if k > 0:
            self.beginInsertRows(QModelIndex(), 0, k - 1)
            self.lo -= k
            self.endInsertRows()
        return k

    def grow_down(self, n: int) -> int:
        k = min(n, len(self.all_rows) - self.hi)
        if k > 0:
            size = self.hi - self.lo
            self.beginInsertRows(QModelIndex(), size, size + k - 1)
            self.hi += k
            self.endInsertRows()
        return k

    def trim_top(self, n: int) -> None:
        k = min(n, self.hi - self.lo)
        if k > 0:
            self.beginRemoveRows(QModelIndex(), 0, k - 1)
            self.lo += k
            self.endRemoveRows()

    def trim_bottom(self, n: int) -> None:
        k = min(n, self.hi - self.lo)
        if k > 0:
            size = self.hi - self.lo
            self.beginRemoveRows(QModelIndex(), size - k, size - 1)
            self.hi -= k
            self.endRemoveRows()

    def _append(self, row: MessageRow) -> None:
        """A new last message: in the window too if the window shows the end."""
        if self.at_end:
            size = self.hi - self.lo
            self.beginInsertRows(QModelIndex(), size, size)
            self.all_rows.append(row)
            self.hi += 1
            self.endInsertRows()
        else:
            self.all_rows.append(row)

    def _add_answer(self, row: MessageRow) -> None:
        """A new answer goes where the store puts it: last, or, for an earlier pending
        message answered late, before the next message of the user."""
        asked = self.position_of(self._question) if self._question is not None else -1
        pos = next((i for i in range(asked + 1, len(self.all_rows))
                    if asked >= 0 and self.all_rows[i].role == "user"), None)
        if pos is None:
            self._append(row)
        elif pos < self.lo:
            self.all_rows.insert(pos, row)
            self.lo, self.hi = self.lo + 1, self.hi + 1
        elif pos < self.hi:
            self.beginInsertRows(QModelIndex(), pos - self.lo, pos - self.lo)
            self.all_rows.insert(pos, row)
            self.hi += 1
            self.endInsertRows()
        else:
            self.all_rows.insert(pos, row)

    # -- rows -------------------------------------------------------------------------------

    def notices(self, row: MessageRow) -> list[Notice]:
        """The lines under an answer's header, read from the store the first time: who
        answered after whom (a late answer), its earlier failed tries, the providers
        skipped, then its own failed attempts."""
        if row.notices is None:
            loader = self._attempts_loader
            own = loader(row.id) if loader else []
            notices: list[Notice] = []
            if row.folded and loader is not None:
                folded = [a for message_id in row.folded for a in loader(message_id)]
                notices.append(provenance_notice(row, folded, own))
                # The failed tries stay visible (SPEC), inside the answer they led to.
                notices += [Notice(a.id, wording.earlier_try(failure_text(
                    a.provider, a.error_class, a.http_status, a.streamed_text)),
                    a.streamed_text) for a in folded if a.outcome == "failed"]
            notices += [Notice(-1 - i, text, "", kind="skipped")
                        for i, text in enumerate(row.skipped)]
            row.notices = notices + notices_from_attempts(own)
            row.seconds = answer_seconds(own)
        return row.notices

    def files(self, row: MessageRow) -> Sequence[AttachmentInfo]:
        """The files attached to a message, read from the store the first time."""
        if row.files is None:
            loader = self._files_loader
            row.files = loader([row.id]).get(row.id, ()) if loader is not None else ()
        return row.files

    def set_costs(self, costs: dict[int, float | None]) -> None:
        """What the answers cost, once known. Only the footer shows it: the rows in the
        window are repainted, their documents kept."""
        for row in self.all_rows:
            row.cost_usd = costs.get(row.id)
        if self.hi > self.lo:
            self.dataChanged.emit(self.index(0), self.index(self.hi - self.lo - 1), [])

    def files_changed(self, sha256: str) -> None:
        """The rows in the window that show this file must be drawn again."""
        for pos in range(self.lo, self.hi):
            files = self.all_rows[pos].files
            if files and any(f.sha256 == sha256 for f in files):
                self._changed_at(pos)

    def set_versions(self, versions: dict[int, Versions]) -> None:
        """The versions of the shown messages changed (an edit or regenerate kept one)."""
        for pos, row in enumerate(self.all_rows):
            found = versions.get(row.id)
            if found != row.versions:
                row.versions = found
                self._changed_at(pos)

    def toggle_reasoning(self, row_index: int) -> None:
        row = self.row(row_index)
        row.reasoning_open = not row.reasoning_open
        self._changed_at(self.lo + row_index)

    # -- pending messages: the next try ---------------------------------------------------

    def set_next_try(self, next_try: NextTry | None) -> None:
        self.next_try = next_try
        self.tick()

    def tick(self) -> bool:
        """Bring the pending rows' "Next try in …" up to date; whether any row waits."""
        return self._tick_rows(self.all_rows, notify=True)

    def _tick_rows(self, rows: list[MessageRow], notify: bool = False) -> bool:
        nt, now, any_pending = self.next_try, self.clock(), False
        note = wording.next_try(nt.provider if nt else None,
                                nt.seconds_left(now) if nt else None)
        for pos, row in enumerate(rows):
            if not row.pending:
                continue
            any_pending = True
            if row.pending_note != note and not row.sending:
                row.pending_note = note
                if notify:
                    self._changed_at(pos)
        return any_pending

    def upsert(self, message: StoredMessage, live: bool = False) -> None:
        """Add a stored message at the end, or refresh its row from the store."""
        fresh = MessageRow.from_stored(message)
        fresh.live = live
        pos = self.position_of(message.id)
        if pos < 0:
            self._append(fresh)
        else:
            old = self.all_rows[pos]
            fresh.version = old.version + 1
            fresh.folded, fresh.skipped = old.folded, old.skipped
            fresh.versions, fresh.reasoning_open = old.versions, old.reasoning_open
            fresh.files, fresh.cost_usd = old.files, old.cost_usd
            if fresh.pending:
                fresh.pending_reason = old.pending_reason
                self._tick_rows([fresh])
            self.all_rows[pos] = fresh
            self._changed_at(pos)
        if live:
            self._live_row = fresh
        elif self._live_row is not None and self._live_row.id == message.id:
            self._live_row = None

    def remove_from(self, message_id: int) -> None:
        """Drop a message and every row after it (edit-and-resend, regenerate)."""
        pos = self.position_of(message_id)
        if pos < 0:
            return
        if pos <= self.lo:
            self.beginResetModel()
            del self.all_rows[pos:]
            self.hi = len(self.all_rows)
            self.lo = max(0, self.hi - WINDOW)
            self.endResetModel()
            return
        if pos < self.hi:
            self.beginRemoveRows(QModelIndex(), pos - self.lo, self.hi - self.lo - 1)
            del self.all_rows[pos:]
            self.hi = pos
            self.endRemoveRows()
        else:
            del self.all_rows[pos:]

    def mark_sending(self, message_id: int) -> None:
        """Show a pending user message as being sent now (it stays pending in the store until
        it is answered)."""
        self._question = message_id
        pos = self.position_of(message_id)
        if pos >= 0 and self.all_rows[pos].status == MessageStatus.PENDING:
            self.all_rows[pos].sending = True
            self._changed_at(pos)

    def rows_from(self, message_id: int) -> list[MessageRow]:
        pos = self.position_of(message_id)
        return self.all_rows[pos:] if pos >= 0 else []

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.touch_last_rows()

    def touch_last_rows(self) -> None:
        """The last user/assistant rows offer Edit/Regenerate: repaint them."""
        if self.hi > self.lo and self.at_end:
            first = self.index(max(0, self.hi - self.lo - 2))
            self.dataChanged.emit(first, self.index(self.hi - self.lo - 1), [])

    def actions(self, row_index: int) -> list[str]:
        """The buttons under a view row, in order: copy; edit / regenerate on the last
        exchange; "ask-other" under a refusal that is the last answer; "branch"; and the
        version arrows "prev" / "next" when the message has other versions."""
        row = self.row(row_index)
        if row.live or row.role == "tool":  # a tool turn's code blocks have their own Copy
            return []
        names = ["copy"] if row.content else []
        if self.readonly or self.busy:
            return names
        last = self.all_rows[-1] is row and self.last_user_row() is not None
        if row is self.last_user_row():
            names.append("edit")
        if row.role == "assistant" and last:
            names.append("regenerate")
            if row.status == MessageStatus.REFUSED and self.ask_other(row) is not None:
                names.append("ask-other")
        if row.role in ("user", "assistant") and not row.pending:
            names.append("branch")
        if row.versions is not None:
            names += ["prev", "next"]
        return names

    def ask_other(self, row: MessageRow) -> str | None:
        """Who "Ask …" under a refusal asks: the next provider set up, if any. Asked once
        per provider until the providers' status changes (a row is painted often, and the
        answer reads their health)."""
        if not row.provider:
            return None
        if row.provider not in self._next_of:
            self._next_of[row.provider] = self.next_provider(row.provider)
        return self._next_of[row.provider]

    def providers_changed(self, *_: object) -> None:
        """The providers' status or settings changed: who comes next is asked again."""
        self._next_of.clear()
        self.touch_last_rows()

    def last_user_row(self) -> MessageRow | None:
        return next((r for r in reversed(self.all_rows) if r.role == "user"), None)

    # -- the live answer ------------------------------------------------------------------

    @property
    def live_row(self) -> MessageRow | None:
        return self._live_row

    def mark_live(self, answer_id: int, text: str) -> None:
        """After reopening a conversation mid-answer: that row is live and shows `text`."""
        pos = self.position_of(answer_id)
        if pos < 0:
            return
        row = self.all_rows[pos]
        row.live, row.content = True, text
        self._live_row = row
        self._changed_at(pos)

    def note_skipped(self, event: ev.Skipped) -> None:
        """A provider left out: its notice goes on the answer's row once there is one."""
        row = self._live_row
        if row is None:
            self._skipped.append(event.notice)
            return
        row.skipped = [*row.skipped, event.notice]
        self.notices(row).append(Notice(-len(row.skipped), event.notice, "", kind="skipped"))
        self._refresh_live()

    def note_pending(self, event: ev.AnswerPending) -> None:
        """No provider answered: the message's row says why (until it is answered)."""
        self._skipped = []
        pos = self.position_of(event.message_id)
        if pos >= 0:
            self.all_rows[pos].pending_reason = event.reason
            self._changed_at(pos)

    def begin_answer(self, event: ev.AttemptStarted) -> None:
        self._live_attempt = event.attempt_id
        pos = self.position_of(event.answer_id)
        skipped, self._skipped = self._skipped, []
        if event.pdfs_as_text:  # the answer's provenance says what its model was given
            skipped.append(wording.pdfs_as_text(event.provider, event.pdfs_as_text))
        if pos < 0:
            notices = [Notice(-1 - i, text, "", kind="skipped") for i, text in enumerate(skipped)]
            row = MessageRow(event.answer_id, "assistant", "", MessageStatus.PARTIAL,
                             event.provider, event.model, "", notices=notices, live=True,
                             skipped=skipped)
            self._add_answer(row)
        else:
            row = self.all_rows[pos]
            row.provider, row.model, row.live = event.provider, event.model, True
            for text in skipped:
                row.skipped = [*row.skipped, text]
                self.notices(row).append(Notice(-len(row.skipped), text, "", kind="skipped"))
            self._changed_at(pos)
        self._live_row = row

    def fold_into(self, answer_id: int) -> None:
        """A late answer replaces the "Not answered" rows of its message: they leave the
        transcript and their facts join the answer's provenance."""
        pos = self.position_of(answer_id)
        if pos < 0:
            return
        first = pos
        while first > 0 and self.all_rows[first - 1].role != "user":
            first -= 1
        gone = [r for r in self.all_rows[first:pos] if r.role == "assistant"
                and r.provider is None and r.status == MessageStatus.FAILED]
        if not gone:
            return
        answer = self.all_rows[pos]
        answer.folded = [*answer.folded, *(r.id for r in gone)]
        answer.notices = None
        for row in gone:
            self._remove_row(self.all_rows.index(row))
        self._changed_at(self.position_of(answer_id))

    def _remove_row(self, pos: int) -> None:
        if self.lo <= pos < self.hi:
            self.beginRemoveRows(QModelIndex(), pos - self.lo, pos - self.lo)
            del self.all_rows[pos]
            self.hi -= 1
            self.endRemoveRows()
        else:
            del self.all_rows[pos]
            if pos < self.lo:
                self.lo, self.hi = self.lo - 1, self.hi - 1

    def append_text(self, text: str) -> None:
        row = self._live_row
        if row is None:
            return
        row.content += text
        if not self._refresh.isActive():
            self._refresh.start(self.refresh_interval())

    def restart_text(self) -> None:
        if self._live_row is not None:
            self._live_row.content = ""
            self._refresh_live()

    def add_failure(self, event: ev.AttemptFailed) -> None:
        row = self._live_row
        if row is None:
            return
        notices = self.notices(row)
        text = failure_text(event.provider, event.error_class, event.status,
                            event.streamed_text) + " — trying the next provider…"
        notices.append(Notice(self._live_attempt or -len(notices) - 1, text,
                              event.streamed_text))
        self._refresh_live()

    def note_switch(self, event: ev.Switched) -> None:
        row = self._live_row
        if row is None or not row.notices:
            return
        last = row.notices[-1]
        if event.to_key:  # the same provider's next key: the notice names both keys
            last.text = wording.key_switched(event.why, event.to_key) + "…"
            self._refresh_live()
            return
        head = last.text.split(" — ")[0]
        how = ", continuing the answer" if event.continuing else ""
        last.text = f"{head} — switching to {display_name(event.to_provider)}{how}…"
        self._refresh_live()

    def end_live(self) -> None:
        self._refresh.stop()
        if self._live_row is not None:
            self._live_row.live = False
            self._refresh_live()
        self._live_row, self._live_attempt = None, None

    def _refresh_live(self) -> None:
        self._refresh.stop()
        row = self._live_row
        if row is not None:
            pos = self.position_of(row.id)
            if pos >= 0:
                self._changed_at(pos)

    # -- notices --------------------------------------------------------------------------

    def toggle_notice(self, row_index: int, attempt_id: int) -> bool:
        row = self.row(row_index)
        for notice in self.notices(row):
            if notice.attempt_id == attempt_id:
                notice.expanded = not notice.expanded
                self._changed_at(self.lo + row_index)
                return notice.expanded
        return False

    def show_page(self, row_index: int, start: int) -> None:
        """A huge message shows its text from `start` on as plain text (-1: its first part
        rendered, as at first)."""
        row = self.row(row_index)
        row.page = max(-1, min(start, len(row.content)))
        self._changed_at(self.lo + row_index)

    def _changed_at(self, pos: int) -> None:
        """all_rows[pos] must be drawn again; only a row in the window tells the view."""
        self.all_rows[pos].version += 1
        if self.lo <= pos < self.hi:
            index = self.index(pos - self.lo)
            self.dataChanged.emit(index, index, [])

    # -- Qt model API ---------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.hi - self.lo

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        i = index.row()
        if not index.isValid() or i >= self.hi - self.lo:
            return None
        row = self.all_rows[self.lo + i]
        if role == TranscriptRole.MESSAGE:
            return row
        if role == TranscriptRole.MESSAGE_ID:
            return row.id
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            from chatdesk.ui.bounds import RENDER_LIMIT  # a 50 MB string is copied per call

            return row.content if len(row.content) <= RENDER_LIMIT \
                else row.content[:RENDER_LIMIT] + "…"
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:  # what a screen reader adds
            return spoken_provenance(row)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
