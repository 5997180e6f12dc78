"""The texts of a long transcript's rows, read from the store a page at a time when shown."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chatdesk.store import MessageText

log = logging.getLogger("chatdesk.ui.transcript")

PAGE_ROWS = 32  # rows whose text one read brings (the rows around the one asked for)
KEEP_ROWS = 512  # rows read last that keep their text (the view's window is at most 480)

# by message id, as HistoryStore.message_texts gives them
TextLoader = Callable[[Sequence[int]], "dict[int, MessageText]"]


class TextRow(Protocol):
    """A row whose text may be left in the store (MessageRow)."""

    id: int
    text_read: bool  # its text came from the store: it may be let go again

    def set_text(self, text: MessageText | None) -> None: ...
    def has_text(self) -> bool: ...


class TextPages:
    """Reads the text (with its time and token counts) of rows loaded without it, PAGE_ROWS
    at a time around the row asked for (paging a transcript asks for its neighbours next),
    and lets go of the text of the rows read longest ago beyond KEEP_ROWS: a 5,000-message
    conversation holds the text of a few hundred rows, not of all of them. Rows given their
    text otherwise (a stored message refreshed, the live answer) keep it."""

    def __init__(self, loader: TextLoader, rows: Callable[[], Sequence[TextRow]],
                 failed: Callable[[Sequence[TextRow]], None] = lambda _rows: None) -> None:
        self._loader = loader
        self._rows = rows  # the model's rows, in order
        self._failed = failed  # these rows could not be read: drawn without text, redraw them
        self._kept: OrderedDict[int, TextRow] = OrderedDict()

    def read(self, row: TextRow) -> bool:
        """Give `row` (and the rows of its page still without text) their text; False when
        the store could not be read (the row stays without, and is asked for again)."""
        from chatdesk.store import StoreError

        rows = self._rows()
        try:
            pos = rows.index(row)
        except ValueError:  # a row no longer shown (a reloaded conversation): alone
            page: Sequence[TextRow] = [row]
        else:
            start = pos - pos % PAGE_ROWS
            page = [r for r in rows[start:start + PAGE_ROWS] if not r.has_text()]
            if row not in page:
                page.append(row)
        try:
            texts = self._loader([r.id for r in page])
        except StoreError as exc:
            log.warning("the text of message %d could not be read: %s", row.id, exc)
            self._failed(page)
            return False
        from chatdesk.store import MessageText

        gone = MessageText("", None, "", None, None)  # deleted meanwhile: nothing to show
        for r in page:
            r.set_text(texts.get(r.id, gone))
            r.text_read = True
            self._kept[r.id] = r
            self._kept.move_to_end(r.id)
        while len(self._kept) > KEEP_ROWS:
            _, old = self._kept.popitem(last=False)
            if old.text_read:  # not given another text since (the live answer's)
                old.set_text(None)
        return True

    def clear(self) -> None:
        self._kept.clear()
