"""Paints transcript rows: a cached QTextDocument per message, made the first time it is seen."""

from __future__ import annotations

import html
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6 import QtWidgets  # QStyle through it: its ~20 enums are built at first use
from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from chatdesk import wording
from chatdesk.parts import PartKind
from chatdesk.store import MessageStatus
from chatdesk.ui import design
from chatdesk.ui.bounds import (
    MAX_ROW_HEIGHT,
    PLAIN_PAGE,
    page_end,
    preview_cut,
    shown_text,
    size_label,
)
from chatdesk.ui.conversation_model import parse_time
from chatdesk.ui.resources import icon
from chatdesk.ui.thumbnails import ThumbnailCache
from chatdesk.ui.transcript_model import MessageRow, Notice, TranscriptRole, display_name

# Documents kept (the rows painted last); older ones are rebuilt when scrolled back to. A
# row is at least ~80 px tall, so even a 2,160 px viewport shows ~27: this holds those
# and a few around them. Each costs ~40-100 KB: 600 of them took ~45 MB; 64 instead of 32
# left ~1.5 MB more after paging a long conversation (the heap's holes are not given back).
CACHE_SIZE = 32
OUTER_X, OUTER_Y, PAD = 16, 5, 10
FOOTER_H = 30  # under each message: its action buttons, versions and usage
BUTTON = 26  # an action button's side; its icon is 16 px
BUTTON_GAP = 2
_ICONS = {"copy": "copy", "edit": "edit", "regenerate": "retry", "branch": "branch",
          "prev": "chevron-left", "next": "chevron-right"}
THUMB_SCHEME = "thumb:"
# Links to a row's own attachments: "chatdesk-attachment:view:<sha256>" (a picture) or
# "…:file:<sha256>" (open or save). A scheme no message text can mean anything by: the
# view acts on one only if the sha256 is among that row's files.
ATTACHMENT_LINK = "chatdesk-attachment:"
THUMB_MAX = (240, 180)  # a picture in a message: at most this, opened full size on a click
ACTION_TIPS = {
    "copy": "Copy the message (Ctrl+C)",
    "edit": "Edit and send again (Ctrl+E)",
    "regenerate": "Ask again for this answer (Ctrl+R)",
    "branch": "Branch from here: a new conversation with the messages up to this one",
    "prev": "Previous version (Alt+Left)",
    "next": "Next version (Alt+Right)",
}
_Index = QModelIndex | QPersistentModelIndex


def render_markdown(text: str, dark: bool) -> str:
    # Imported at the first message shown: markdown-it and pygments take ~35 ms of start-up.
    from chatdesk.ui.render import render_markdown as render

    return render(text, dark)


LIST_INDENT_PX = 22


class SafeDocument(QTextDocument):
    """A QTextDocument that never loads anything: no remote or local images, no stylesheets;
    only the thumbnails of the message's own attachments ("thumb:<sha256>"), from `images`."""

    def __init__(self, images: Callable[[str], QImage | None] | None = None) -> None:
        super().__init__()
        self.setIndentWidth(LIST_INDENT_PX)  # Qt's 40 px a level sends nested lists far right
        self._images = images

    def loadResource(self, type: int, name: Any) -> Any:  # noqa: A002 - Qt's name
        text = name.toString() if hasattr(name, "toString") else str(name)
        if type == QTextDocument.ResourceType.ImageResource.value and self._images \
                and text.startswith(THUMB_SCHEME):
            return self._images(text[len(THUMB_SCHEME):])
        return None


@dataclass(frozen=True)
class TextSelection:
    """Text selected in one message: positions in its row's document."""

    message_id: int
    anchor: int
    position: int

    def cursor(self, doc: QTextDocument) -> QTextCursor:
        last = max(0, doc.characterCount() - 1)  # the document may have changed since
        cursor = QTextCursor(doc)
        cursor.setPosition(min(self.anchor, last))
        cursor.setPosition(min(self.position, last), QTextCursor.MoveMode.KeepAnchor)
        return cursor


@dataclass
class _LiveDocument:
    """The document of an answer being written. Its settled part (render.settled_boundary) is
    rendered and laid out once, part by part; a refresh replaces only the text after it, so
    it costs the same however long the answer grows. When the answer ends, the same document
    gets its final header (finish) rather than being rendered again whole."""

    doc: SafeDocument
    dark: bool
    notices: str  # the failover notices it was started with
    text: str = ""  # the settled text
    next_code: int = 0  # the number of the next code block (copy:N links count on)
    tail_at: int = -1  # where the text after the settled part begins in doc

    def fits(self, dark: bool, notices: str, content: str) -> bool:
        """Whether this document can go on showing `content` (or must be started again)."""
        return dark == self.dark and notices == self.notices and content.startswith(self.text)

    def update(self, content: str, final: bool = False) -> None:
        """Show `content`; until `final`, code blocks being written or highlighted show
        plain, and a part holding one stays in the tail (it is drawn again next time)."""
        from chatdesk.ui.render import settled_boundary

        cursor = QTextCursor(self.doc)
        if self.tail_at >= 0:
            cursor.setPosition(self.tail_at)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
        cut = settled_boundary(content, len(self.text))
        waiting, next_code = "", self.next_code
        if cut > len(self.text):
            part, next_code, done = self._render(content[len(self.text):cut], next_code, final)
            if done:
                self._append(cursor, part)
                self.text, self.next_code = content[:cut], next_code
            else:
                waiting = part
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self.tail_at = cursor.position()
        tail = content[cut:]
        if waiting or tail:  # a part cut at settled_boundary renders as if with the rest
            self._append(cursor, waiting + (self._render(tail, next_code, final)[0]
                                            if tail else ""))

    def _render(self, text: str, first_code: int, final: bool) -> tuple[str, int, bool]:
        from chatdesk.ui.render import render_live_part, render_markdown_part

        if final:
            return (*render_markdown_part(text, self.dark, first_code), True)
        return render_live_part(text, self.dark, first_code)

    def finish(self, content: str, header: str) -> None:
        """The whole answer, under its final header (the first block's text)."""
        self.update(content, final=True)
        cursor = QTextCursor(self.doc)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertHtml(header)

    @staticmethod
    def _append(cursor: QTextCursor, html_text: str) -> None:
        # insertHtml merges the first paragraph it inserts into the block at the cursor: a
        # paragraph holding only a zero-width space takes that role, so the part's own first
        # block keeps its format and the part lays out as it does in a whole document.
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertHtml("<p>&#8203;</p>" + html_text)


@dataclass
class _Entry:
    row: MessageRow  # the very row object: SQLite may reuse a deleted message's id
    version: int
    doc: SafeDocument


class MessageDelegate(QStyledItemDelegate):
    """Rows are sized from an estimate until first painted, so a conversation of thousands of
    messages opens without rendering them; a painted row's real height replaces the estimate
    (sizeHintChanged). Documents are cached by message id and version and re-laid out, not
    re-rendered, when the width changes."""

    def __init__(self, parent: QWidget | None = None,
                 render: Callable[[str, bool], str] = render_markdown) -> None:
        super().__init__(parent)
        self._render = render
        self._cache: OrderedDict[int, _Entry] = OrderedDict()
        self.dark = False
        self.width = 600
        self.renders = 0  # documents built so far (tests check laziness with it)
        self.live_build_ms = 0.0  # what the last update of a live row's document took
        self.selection: TextSelection | None = None  # text selected in one message
        self._live: dict[int, _LiveDocument] = {}  # by message id; one answer at a time
        self._metrics: tuple[int, float] | None = None
        # Attachments' thumbnails (the view's cache); None: pictures are shown as files
        self.thumbnails: ThumbnailCache | None = None
        self._model: Any = None  # the transcript model (see document_for)
        self.hover_button: tuple[int, str] | None = None  # (message id, action) under the mouse
        self.focus_button: tuple[int, str] | None = None  # ... that the keyboard is on

    # -- geometry -------------------------------------------------------------------------

    def set_width(self, width: int) -> None:
        self.width = max(200, width)

    def set_dark(self, dark: bool) -> None:
        if dark != self.dark:
            self.dark = dark
            self.clear()

    def clear(self) -> None:
        self._cache.clear()
        self._live.clear()
        self._metrics = None

    def drop_documents(self) -> None:
        """Forget the documents of the rows shown until now (another conversation is
        shown: its rows are new objects, so none of them would be used again). The answer
        being written keeps its document."""
        self._cache.clear()

    def text_width(self) -> int:
        """The width of an answer's text: the column (design.COLUMN_MAX_PX at most)."""
        return max(120, min(design.COLUMN_MAX_PX, self.width - 2 * OUTER_X) - 2 * PAD)

    def user_text_width(self) -> int:
        """The widest your message's text gets: its bubble is at most 85 % of the column."""
        return max(100, int((self.text_width() + 2 * PAD) * design.USER_BUBBLE_MAX) - 2 * PAD)

    def column_rect(self, item_rect: QRect, row: MessageRow | None = None) -> QRect:
        """The text column inside a row's item rectangle (centred), above its footer."""
        inner = self.text_width() + 2 * PAD
        left = item_rect.left() + max(OUTER_X, (item_rect.width() - inner) // 2)
        return QRect(left, item_rect.top() + OUTER_Y, inner,
                     item_rect.height() - 2 * OUTER_Y - footer_height(row))

    def bubble_rect(self, item_rect: QRect, row: MessageRow | None = None) -> QRect:
        """Where the row's box is drawn: the column for an answer; for your message, a
        bubble on the column's right, as wide as its text needs."""
        column = self.column_rect(item_rect, row)
        if row is None or row.role != "user":
            return column
        ideal = math.ceil(self.document_for(row).idealWidth()) + 2 * PAD
        width = max(4 * PAD, min(self.user_text_width() + 2 * PAD, ideal))
        return QRect(column.right() + 1 - width, column.top(), width, column.height())

    def doc_origin(self, item_rect: QRect, row: MessageRow | None = None) -> QPoint:
        box = self.bubble_rect(item_rect, row)
        return QPoint(box.left() + PAD, box.top() + PAD)

    # -- documents ------------------------------------------------------------------------

    def has_document(self, row: MessageRow) -> bool:
        entry = self._cache.get(row.id)
        return entry is not None and entry.row is row and entry.version == row.version

    def cached_count(self) -> int:
        return len(self._cache)

    def document(self, index: _Index) -> SafeDocument:
        row = _row(index)
        if row is None:
            raise LookupError(f"no message at row {index.row()}")
        return self.document_for(row, index.model())

    def document_for(self, row: MessageRow, model: Any = None, *,
                     touch: bool = True) -> SafeDocument:
        # Geometry asks for a row's document without its model (bubble_rect): the model
        # last seen stands in, or a document built then would lack the row's notices/files.
        if model is None:
            model = self._model
        else:
            self._model = model
        entry = self._cache.get(row.id)
        if entry is None or entry.row is not row or entry.version != row.version:
            entry = _Entry(row, row.version, self._build(row, model))
            self._cache[row.id] = entry
            self._cache.move_to_end(row.id)
            while len(self._cache) > CACHE_SIZE:
                self._keep_height(self._cache.popitem(last=False)[1])
        elif touch:
            self._cache.move_to_end(row.id)
        width = self.user_text_width() if row.role == "user" else self.text_width()
        if entry.doc.textWidth() != width:
            entry.doc.setTextWidth(width)
        return entry.doc

    def _keep_height(self, entry: _Entry) -> None:
        """A document let go: its row keeps the height it was measured at (as its
        estimate), so the rows around do not move when it is out of the cache."""
        row = entry.row
        width = self.user_text_width() if row.role == "user" else self.text_width()
        if entry.version == row.version and entry.doc.textWidth() == width:
            height = int(entry.doc.size().height()) + 2 * PAD + 2 * OUTER_Y + footer_height(row)
            row.estimate = (self.text_width(), row.version, height)

    def _build(self, row: MessageRow, model: Any) -> SafeDocument:
        self.renders += 1
        notices = model.notices(row) if model is not None and hasattr(model, "notices") else []
        if row.live and row.content:
            started = time.perf_counter()
            doc = self._live_document(row, notices)
            self.live_build_ms = (time.perf_counter() - started) * 1000
            return doc
        live = self._live.pop(row.id, None)
        if live is not None and row.content and not row.reasoning \
                and row.status != MessageStatus.REFUSED \
                and live.fits(self.dark, self.notices_html(notices), row.content):
            live.finish(row.content, self.header_html(row))  # a long answer: no stall at its end
            return live.doc
        cut = preview_cut(row.content) if row.content else None
        if cut is not None:
            return self._bounded_document(row, notices, cut, model)
        doc = self._new_document()
        doc.setHtml(self.row_html(row, notices, model))
        return doc

    def _bounded_document(self, row: MessageRow, notices: list[Notice], cut: int,
                          model: Any = None) -> SafeDocument:
        """A huge message: its first part rendered, or one part of it as plain text, and
        links to the rest. Its size bounds neither the time to build this nor to paint it."""
        doc = self._new_document()
        if row.page < 0:
            doc.setHtml(self.head_html(row, notices) + self.files_html(row, model)
                        + self._render(row.content[:cut], self.dark)
                        + self.more_html(row, 0, cut) + self.pending_html(row))
            return doc
        line, char = self._line_metrics()
        end = page_end(row.content, row.page, max(10, int(self.text_width() / char)),
                       max(1, MAX_ROW_HEIGHT // line - 10))
        doc.setHtml(self.head_html(row, notices) + self.more_html(row, row.page, end))
        cursor = QTextCursor(doc)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        cursor.insertText(row.content[row.page:end])
        if end < len(row.content):
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            cursor.insertHtml(self.more_html(row, row.page, end))
        return doc

    def more_html(self, row: MessageRow, start: int, end: int) -> str:
        """The links around the part of a huge message shown (content[start:end])."""
        muted = "#9aa4b0" if self.dark else "#5a6570"
        total = len(row.content)
        links: list[tuple[str, int]] = []
        if row.page < 0:
            links.append((f"Show all ({size_label(total)})", 0))
            note = "Long message: only its first part is shown; Copy copies all of it."
            if total > PLAIN_PAGE:
                note += " The rest is shown as plain text, part by part."
        else:
            if end < total:
                links.append((f"Next part ▸ ({size_label(total - end)} left)", end))
            if start > 0:
                links.append(("◂ Back to the start", 0))
            links.append(("Show less", -1))
            note = (f"characters {start + 1:,}–{end:,} of {total:,} ({size_label(total)}),"
                    " as plain text")
        shown = " · ".join(f"<a href='page:{at}'>{label}</a>" for label, at in links)
        return (f"<p style='margin-top:6px; margin-bottom:6px'>{shown}"
                f"<span style='color:{muted}; font-size:small'> · {note}</span></p>")

    def _new_document(self) -> SafeDocument:
        doc = SafeDocument(self.thumbnail)
        doc.setDocumentMargin(0)
        doc.setUndoRedoEnabled(False)
        doc.setTextWidth(self.text_width())
        return doc

    def _live_document(self, row: MessageRow, notices: list[Notice]) -> SafeDocument:
        notices_html = self.notices_html(notices)
        live = self._live.get(row.id)
        if live is None or not live.fits(self.dark, notices_html, row.content):
            doc = self._new_document()  # a new answer, a new notice, or a restart
            doc.setHtml(self.head_html(row, notices))
            live = _LiveDocument(doc, self.dark, notices_html)
            self._live = {row.id: live}
        live.update(row.content)
        return live.doc

    def row_html(self, row: MessageRow, notices: list[Notice], model: Any = None) -> str:
        """The whole row as HTML: header, failover notices, the message."""
        html_text = self.head_html(row, notices) + self.files_html(row, model)
        if row.content or row.status == MessageStatus.REFUSED:
            return html_text + self._render(row.content, self.dark) + self.pending_html(row)
        if row.live:
            muted = "#9aa4b0" if self.dark else "#5a6570"
            return html_text + f"<p style='color:{muted}'>…</p>"
        return html_text

    def head_html(self, row: MessageRow, notices: list[Notice]) -> str:
        """The header line (none in your own message's bubble unless it waits), the
        failover notices, a refusal's note and the answer's reasoning, collapsed."""
        header = "" if row.role == "user" and not row.pending else \
            f"<p style='margin-top:0px; margin-bottom:4px'>{self.header_html(row)}</p>"
        return header + self.notices_html(notices) + self.refusal_html(row) \
            + self.reasoning_html(row)

    def thumbnail(self, sha256: str) -> QImage | None:
        """The picture in a document: its thumbnail, or a placeholder until it is made."""
        return self.thumbnails.image(sha256) if self.thumbnails is not None else None

    def files_html(self, row: MessageRow, model: Any) -> str:
        """A message's attachments: pictures as thumbnails that open full size, other files
        as a line with their name and size that opens or saves them."""
        files = model.files(row) if model is not None and hasattr(model, "files") else []
        if not files:
            return ""
        t = self._tokens()
        pictures, others = [], []
        for f in files:
            name = html.escape(f.name)
            if f.kind == PartKind.IMAGE and self.thumbnails is not None:
                size = self.thumbnails.size(f.sha256)
                if size is not None:
                    pictures.append(
                        f"<a href='{ATTACHMENT_LINK}view:{f.sha256}'>"
                        f"<img src='{THUMB_SCHEME}{f.sha256}' "
                        f"width='{size.width()}' height='{size.height()}' alt='{name}'></a>")
                    continue
            mark = {PartKind.DOCUMENT: "PDF", PartKind.TEXT_FILE: "text file"}.get(
                f.kind, "picture")
            others.append(f"<a href='{ATTACHMENT_LINK}file:{f.sha256}'"
                          f" style='color:{t.link}'>{name}</a>"
                          f"<span style='color:{t.muted}'> · {mark} · {size_label(f.size)}"
                          " · click to open or save</span>")
        out = ""
        if pictures:
            out += "<p style='margin-top:0px; margin-bottom:6px'>" + "&nbsp;".join(pictures) \
                + "</p>"
        if others:
            out += "".join(f"<p style='margin-top:0px; margin-bottom:4px; font-size:small'>"
                           f"{line}</p>" for line in others)
        return out

    def _tokens(self) -> design.Palette:
        return design.DARK if self.dark else design.LIGHT

    def refusal_html(self, row: MessageRow) -> str:
        """A refusal is the provider's reply, not an answer: a note in the answer's place."""
        if row.status != MessageStatus.REFUSED:
            return ""
        t = self._tokens()
        return (f"<table width='100%' cellspacing='0' cellpadding='6' style='margin-bottom:6px'>"
                f"<tr><td bgcolor='{t.danger_bg}' style='font-size:small; color:{t.danger}'>"
                f"{html.escape(wording.refused_note(row.provider))}</td></tr></table>")

    def reasoning_html(self, row: MessageRow) -> str:
        """The model's thinking: one line that opens it; open, its text in muted type."""
        if not row.reasoning or row.live:
            return ""
        t = self._tokens()
        toggle = (f"<p style='margin-top:0px; margin-bottom:6px; font-size:small'>"
                  f"<a href='reasoning:' style='color:{t.muted}; text-decoration:none'>"
                  f"{html.escape(wording.reasoning_toggle(row.reasoning, row.reasoning_open))}"
                  f"</a></p>")
        if not row.reasoning_open:
            return toggle
        return toggle + (f"<p style='margin-top:0px; margin-bottom:8px; color:{t.muted};"
                         f" white-space:pre-wrap'>{html.escape(row.reasoning)}</p>")

    def pending_html(self, row: MessageRow) -> str:
        """Under a pending message: why it waits, when it is tried next, and "Send now". All
        wrapped text in a table cell, so no sentence is ever cut off at any width."""
        if not row.pending or row.sending:
            return ""
        fg, bg = ("#e3b341", "#3a3220") if self.dark else ("#7d5200", "#fff5d6")
        link = "#6cb6ff" if self.dark else "#0969da"
        lines = [f"<b>{html.escape(wording.PENDING_EXPLAINED)}.</b>"]
        if row.pending_reason:
            lines.append(html.escape(wording.pending_reason(row.pending_reason)))
        if row.pending_note:
            lines.append(f"{html.escape(row.pending_note)} · <a href='sendnow:{row.id}' "
                         f"style='color:{link}'><b>Send now</b></a>")
        return (f"<table width='100%' cellspacing='0' cellpadding='6' style='margin-top:2px'>"
                f"<tr><td bgcolor='{bg}' style='font-size:small; color:{fg}'>"
                f"{'<br>'.join(lines)}</td></tr></table>")

    def header_html(self, row: MessageRow) -> str:
        """Who wrote the row and when, as the inline HTML of the row's first paragraph."""
        muted = "#9aa4b0" if self.dark else "#5a6570"
        return f"<span style='color:{muted}; font-size:small'>{self.header_text(row)}</span>"

    def notices_html(self, notices: list[Notice]) -> str:
        """Failover notices as one tinted box; an expanded one shows the failed attempt."""
        plain = [n for n in notices if n.kind != "failure"]
        notices = [n for n in notices if n.kind == "failure"]
        muted_line = "#9aa4b0" if self.dark else "#5a6570"
        head = "".join(f"<p style='margin-top:0px; margin-bottom:4px; color:{muted_line};"
                       f" font-size:small'>{html.escape(n.text)}</p>" for n in plain)
        if not notices:
            return head
        fg, bg = ("#e3b341", "#3a3220") if self.dark else ("#7d5200", "#fff5d6")
        muted = "#b8ad94" if self.dark else "#6b5a33"
        lines = []
        for notice in notices:
            arrow = "▾" if notice.expanded else "▸"
            lines.append(f"<a href='toggle:{notice.attempt_id}' style='color:{fg};"
                         f" text-decoration:none'>{arrow} {html.escape(notice.text)}</a>")
            if notice.expanded:
                shown = notice.detail or "(it had not written anything yet)"
                lines.append(f"<span style='color:{muted}'>What it wrote before failing:</span>"
                             f"<pre style='margin:0px; color:{muted};"
                             f" white-space:pre-wrap'>{html.escape(shown)}</pre>")
        return head + (
            f"<table width='100%' cellspacing='0' cellpadding='6' style='margin-bottom:6px'>"
            f"<tr><td bgcolor='{bg}' style='font-size:small'>{'<br>'.join(lines)}</td>"
            f"</tr></table>")

    def header_text(self, row: MessageRow) -> str:
        when = ""
        if row.created_at:
            try:
                when = parse_time(row.created_at).strftime("%H:%M")
            except ValueError:
                when = ""
        if row.role == "user":
            bits = ["<b>You</b>"]
            if row.status == MessageStatus.PENDING and row.sending:
                bits.append("sending now…")
            elif row.status == MessageStatus.PENDING:
                bits.append("<span style='color:#d29922'>Pending</span>")
        elif row.role == "tool":  # an imported tool turn: what it is, quietly, in its name
            bits = [html.escape(wording.tool_heading(row.model))]
        elif row.provider is None and not row.live:
            bits = ["<b>Not answered</b>"]
        else:
            who = html.escape(display_name(row.provider))
            model = f" · {html.escape(row.model)}" if row.model else ""
            bits = [f"<b>{who}</b>{model}"]
            if row.live:
                bits.append("answering…")
            elif row.status == MessageStatus.PARTIAL:
                bits.append("<span style='color:#d29922'>stopped — partial answer</span>")
            elif row.status == "failed" and row.provider is not None:
                bits.append("<span style='color:#da3633'>failed</span>")
            elif row.status == MessageStatus.REFUSED:
                bits.append(f"<span style='color:{self._tokens().danger}'>declined to answer"
                            "</span>")
        if when:
            bits.append(when)
        return " · ".join(bits)

    # -- sizing ---------------------------------------------------------------------------

    def estimate_height(self, row: MessageRow) -> int:
        """A cheap guess from the text length, used until the row is painted."""
        width = self.text_width()
        if row.estimate is not None and row.estimate[:2] == (width, row.version):
            return row.estimate[2]
        line, char = self._line_metrics()
        per_line = max(10, int(width / char))
        lines = 0
        for part in shown_text(row.content, row.page).split("\n"):
            lines += 1 + len(part) // per_line
        height = 2 * PAD + 2 * OUTER_Y + footer_height(row) + int(line * 1.4) + lines * line
        row.estimate = (width, row.version, height)
        return height

    def _line_metrics(self) -> tuple[int, float]:
        """The line spacing and (a little more than) the average character width, in px."""
        if self._metrics is None:
            metrics = QFontMetrics(QFont())
            self._metrics = (metrics.lineSpacing(), max(1.0, metrics.averageCharWidth() * 1.05))
        return self._metrics

    def row_height(self, row: MessageRow, model: Any = None) -> int:
        # The answer being written (or just finished) is measured as it is drawn: from an
        # estimate, each refresh drew the rows twice (again when its paint found the height).
        if self.has_document(row) or (row.content and row.id in self._live):
            # Measured, not used: the layout asks for every row, which must not keep the
            # rows painted long ago in the cache.
            doc = self.document_for(row, model, touch=False)
            return int(doc.size().height()) + 2 * PAD + 2 * OUTER_Y + footer_height(row)
        return self.estimate_height(row)

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        row = _row(index)  # the view asks for every row on each layout: keep this lean
        if row is None:
            return QSize(0, 0)
        height = self.row_height(row, index.model())
        row.given_height = height
        return QSize(self.width, height)

    # -- painting -------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        row = _row(index)
        if row is None:
            return
        model = index.model()
        doc = self.document_for(row, model)
        box = self.bubble_rect(option.rect, row)
        palette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill: QColor | None = None
        if row.role == "user":
            fill = QColor(self._tokens().user_bubble)
        if option.state & QtWidgets.QStyle.StateFlag.State_Selected:
            fill = QColor(palette.color(QPalette.ColorRole.Highlight))
            fill.setAlpha(48)
        if fill is not None:
            painter.setPen(QColor(0, 0, 0, 0))
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(box), design.RADIUS_CARD, design.RADIUS_CARD)
        origin = QPoint(box.left() + PAD, box.top() + PAD)
        painter.translate(origin)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette = palette
        ctx.palette.setColor(QPalette.ColorRole.Text, palette.color(QPalette.ColorRole.Text))
        ctx.clip = QRectF(0, 0, doc.textWidth(), doc.size().height())
        selection = self.selection
        if selection is not None and selection.message_id == row.id \
                and selection.anchor != selection.position:
            selected = QAbstractTextDocumentLayout.Selection()
            selected.cursor = selection.cursor(doc)
            look = QTextCharFormat()
            look.setBackground(palette.brush(QPalette.ColorRole.Highlight))
            look.setForeground(palette.brush(QPalette.ColorRole.HighlightedText))
            selected.format = look
            ctx.selections = [selected]
        view = option.widget
        if isinstance(view, QAbstractItemView):  # a long answer: draw only what shows
            shown = QRectF(option.rect.intersected(view.viewport().rect()))
            ctx.clip = ctx.clip.intersected(shown.translated(-QPointF(origin)))
        if not ctx.clip.isEmpty():  # an empty clip would mean no clip: draw everything
            doc.documentLayout().draw(painter, ctx)
        painter.restore()
        if hasattr(model, "actions"):
            self._paint_footer(painter, option, row, model.actions(index.row()), model)
        real = int(doc.size().height()) + 2 * PAD + 2 * OUTER_Y + footer_height(row)
        if row.given_height != real:
            row.given_height = real
            self.sizeHintChanged.emit(index)

    # -- the footer: action buttons, versions, usage ------------------------------------------

    def footer_text(self, row: MessageRow) -> str:
        """The quiet words at the footer's right end: an answer's tokens and time."""
        if row.role == "assistant" and not row.live:
            return wording.answer_usage(row.input_tokens, row.output_tokens, row.seconds,
                                        row.cost_usd)
        return ""

    def button_label(self, name: str, row: MessageRow, model: Any = None) -> str:
        """A text button's label ("Ask OpenAI"); "" for an icon button."""
        if name == "ask-other" and model is not None and hasattr(model, "ask_other"):
            return f"Ask {display_name(model.ask_other(row))}"
        return ""

    def button_tip(self, name: str, row: MessageRow, model: Any = None) -> str:
        if name == "ask-other":
            return f"{self.button_label(name, row, model)} for an answer instead"
        return ACTION_TIPS.get(name, name)

    def button_rects(self, item_rect: QRect, row: MessageRow, actions: list[str],
                     font: QFont | None = None, model: Any = None) -> list[tuple[str, QRect]]:
        """Where a row's buttons sit, in its footer: from the column's left under an answer,
        ending at the bubble's right under your message. The version count sits between
        "prev" and "next"."""
        metrics = QFontMetrics(font or QFont())
        widths: list[tuple[str, int]] = []
        for name in actions:
            label = self.button_label(name, row, model)
            widths.append((name, metrics.horizontalAdvance(label) + 2 * PAD if label
                           else BUTTON))
            if name == "prev" and row.versions is not None:
                widths.append(("count", metrics.horizontalAdvance(row.versions.label) + 8))
        total = sum(w for _, w in widths) + BUTTON_GAP * max(0, len(widths) - 1)
        box = self.bubble_rect(item_rect, row)
        top = box.bottom() + 1 + (FOOTER_H - BUTTON) // 2
        x = box.right() + 1 - total if row.role == "user" else box.left() + PAD - 5
        rects: list[tuple[str, QRect]] = []
        for name, width in widths:
            rects.append((name, QRect(x, top, width, BUTTON)))
            x += width + BUTTON_GAP
        return rects

    def link_rects(self, item_rect: QRect, actions: list[str], font: QFont | None,
                   row: MessageRow, model: Any = None) -> list[tuple[str, QRect]]:
        """The clickable buttons of a row (the version count is not one)."""
        return [(n, r) for n, r in self.button_rects(item_rect, row, actions, font, model)
                if n != "count"]

    def _paint_footer(self, painter: QPainter, option: QStyleOptionViewItem, row: MessageRow,
                      actions: list[str], model: Any) -> None:
        t = self._tokens()
        hovered = bool(option.state & QtWidgets.QStyle.StateFlag.State_MouseOver)
        focused = bool(option.state & QtWidgets.QStyle.StateFlag.State_HasFocus)
        # Always shown: the last answer's buttons, version arrows, "Ask …"; the others
        # on the row under the mouse or the keyboard's current row.
        always = {"prev", "next", "count", "ask-other"}
        if "regenerate" in actions:
            always |= set(actions)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        small = footer_font(option.font)
        painter.setFont(small)
        rects = self.button_rects(option.rect, row, actions, small, model)
        box = self.bubble_rect(option.rect, row)
        end = rects[-1][1].right() + 12 if rects else box.left() + PAD
        for name, rect in rects:
            if name not in always and not (hovered or focused or self._focus_on(row, name)):
                continue
            if name == "count":
                assert row.versions is not None
                painter.setPen(QColor(t.muted))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, row.versions.label)
                continue
            lit = self.hover_button == (row.id, name) or self._focus_on(row, name)
            if lit:
                painter.setPen(QColor(0, 0, 0, 0))
                painter.setBrush(QColor(t.selected))
                painter.drawRoundedRect(QRectF(rect), design.RADIUS_CONTROL,
                                        design.RADIUS_CONTROL)
            if self._focus_on(row, name):
                ring = QColor(t.accent)
                painter.setPen(ring)
                painter.setBrush(QColor(0, 0, 0, 0))
                painter.drawRoundedRect(QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5),
                                        design.RADIUS_CONTROL, design.RADIUS_CONTROL)
            label = self.button_label(name, row, model)
            if label:
                painter.setPen(QColor(t.link))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)
                continue
            if name not in _ICONS:
                continue
            painter.setOpacity(1.0 if lit else 0.7)
            icon(_ICONS[name]).paint(painter, rect.adjusted(5, 5, -5, -5))
            painter.setOpacity(1.0)
        text = self.footer_text(row)
        if text:
            painter.setPen(QColor(t.muted))
            column = self.column_rect(option.rect, row)
            area = QRect(end, column.bottom() + 1, column.right() - end - PAD, FOOTER_H)
            painter.drawText(area, int(Qt.AlignmentFlag.AlignVCenter
                                       | Qt.AlignmentFlag.AlignRight),
                             QFontMetrics(small).elidedText(text, Qt.TextElideMode.ElideRight,
                                                            max(0, area.width())))
        painter.restore()

    def _focus_on(self, row: MessageRow, name: str) -> bool:
        return self.focus_button == (row.id, name)

    def position_at(self, index: _Index, item_rect: QRect, pos: QPoint) -> int:
        """The text position in a row's document nearest to a point of the view's viewport
        (the point may lie outside the row: a drag that left it)."""
        row = _row(index)
        if row is None:
            return 0
        doc = self.document_for(row, index.model())
        local = QPointF(pos - self.doc_origin(item_rect, row))
        height = doc.size().height()
        if local.y() < 0:
            return 0
        if local.y() >= height:
            return max(0, doc.characterCount() - 1)
        hit = doc.documentLayout().hitTest(local, Qt.HitTestAccuracy.FuzzyHit)
        return max(0, hit)

    def anchor_at(self, index: _Index, item_rect: QRect, pos: QPoint) -> str | None:
        """The href under a point of the view's viewport, if any."""
        row = _row(index)
        if row is None:
            return None
        doc = self.document_for(row, index.model())
        local = pos - self.doc_origin(item_rect, row)
        return doc.documentLayout().anchorAt(QPointF(local)) or None


def footer_height(row: MessageRow | None) -> int:
    """An imported tool turn has no footer: its code blocks have their own Copy."""
    return 0 if row is not None and row.role == "tool" else FOOTER_H


def footer_font(base: QFont) -> QFont:
    """The footer's small type (the version count, "Ask …", usage), from the view's font."""
    small = QFont(base)
    small.setPixelSize(max(10, round(QFontMetrics(base).height() * 0.8)))
    return small


def _row(index: _Index) -> MessageRow | None:
    model = index.model()
    if hasattr(model, "row") and 0 <= index.row() < model.rowCount():
        row = model.row(index.row())
        return row if isinstance(row, MessageRow) else None
    value = index.data(TranscriptRole.MESSAGE)
    return value if isinstance(value, MessageRow) else None
