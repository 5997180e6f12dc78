"""Imported tool turns in the transcript: drawn as the code's output or the tool's result under
a quiet heading that names it, never as a "Not answered" row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatdesk.store import HistoryStore
from chatdesk.transfer.chatgpt import read_chatgpt
from chatdesk.transfer.common import write_conversations
from chatdesk.ui.transcript import TranscriptView
from chatdesk.ui.transcript_model import spoken_provenance
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()
CHATGPT = Path(__file__).parents[1] / "transfer" / "fixtures" / "toolturns" / "chatgpt" / \
    "conversations.json"


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with HistoryStore.open(tmp_path / "history.db") as s:
        write_conversations(s, read_chatgpt(CHATGPT), "chatgpt")
        yield s


def test_a_code_run_shows_as_code_then_its_output(qtbot: Any, store: HistoryStore) -> None:
    view = TranscriptView(store)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    [summary] = store.list_conversations()
    view.show_conversation(store.messages(summary.id))
    model, delegate = view.tmodel, view.delegate
    tools = [r for r in model.all_rows if r.role == "tool"]
    assert len(tools) == 6
    headers = [delegate.header_text(r) for r in tools]
    assert [h.split(" · ")[0] for h in headers] == [
        "Output", "Output", "Result of web browsing", "Result of web browsing",
        "Result of web search", "Output"]
    for row in tools:
        assert "Not answered" not in delegate.row_html(row, [])
        assert "<b>" not in delegate.header_text(row)  # quieter than who wrote an answer
        assert "Tool" not in spoken_provenance(row)
    assert spoken_provenance(tools[0]).startswith("Output, ")
    output = delegate.document_for(tools[0], model).toPlainText()
    assert output.startswith("Output · ") and "[1, 4, 9, 16, 25]" in output
    html = delegate.row_html(tools[0], [])
    assert "<pre" in html and ">output<" in html  # a code block labelled as output
    # the code it ran, just above, is the model's turn, as code in its language
    code_row = model.all_rows[model.all_rows.index(tools[0]) - 1]
    assert code_row.role == "assistant"
    code = delegate.document_for(code_row, model).toPlainText()
    assert code.startswith("OpenAI · o4-mini-high") and "print(squares)" in code
    assert ">python<" in delegate.row_html(code_row, [])
    quote = delegate.row_html(tools[3], [])
    assert "https://docs.python.org/3/whatsnew/3.13.html" in quote
    assert model.actions(model.all_rows.index(tools[0])) == []  # its blocks have Copy
    from chatdesk.ui.delegate import FOOTER_H, OUTER_Y, PAD

    doc = delegate.document_for(tools[0], model)  # no footer under it: no empty band
    assert delegate.row_height(tools[0], model) == int(doc.size().height()) + 2 * (PAD + OUTER_Y)
    assert delegate.row_height(code_row, model) == int(
        delegate.document_for(code_row, model).size().height()) + 2 * (PAD + OUTER_Y) + FOOTER_H
