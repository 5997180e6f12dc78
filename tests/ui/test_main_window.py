"""The main window against loopback fake providers: sending, failover, search, browse, undo."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QListView

from chatdesk.context import KeyChanges
from chatdesk.store import HistoryStore, ReadOnlyError, StoreError, to_iso
from chatdesk.ui.bridge import ChatBridge
from chatdesk.ui.composer import Composer
from chatdesk.ui.conversation_model import ConversationListModel
from chatdesk.ui.main_window import MainWindow
from tests.fakes.server import ErrorResponse, FakeProvider, Stream, Synth
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


def send(qtbot: Any, window: MainWindow, text: str) -> None:
    assert window.composer is not None
    window.composer.edit.setFocus()
    qtbot.keyClicks(window.composer.edit, text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)


def wait_idle(qtbot: Any, window: MainWindow, timeout: int = 10000) -> None:
    assert window.controller.bridge is not None
    qtbot.waitUntil(lambda: not window.controller.bridge.busy, timeout=timeout)


def rows(window: MainWindow) -> list[Any]:
    return window.transcript.tmodel.rows


def test_type_and_send_streams_the_answer_and_saves_it(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth(["Hello", " there,", " friend."], delay_s=0.3))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    assert window.windowTitle() == "New chat — chatdesk"
    assert QApplication.focusWidget() is window.composer.edit

    send(qtbot, window, "hi there")
    # The answer streams in: the live row shows the first words before the end.
    qtbot.waitUntil(lambda: len(rows(window)) == 2 and rows(window)[1].live
                    and rows(window)[1].content.startswith("Hello"), timeout=5000)
    assert window.controller.bridge.busy
    assert window.composer.stop_button.isVisibleTo(window)
    assert window.composer.text() == ""
    wait_idle(qtbot, window)

    conv = window.controller.conversation_id
    assert conv is not None
    stored = ctx.store.messages(conv)
    assert [(m.role, m.content, m.status) for m in stored] == [
        ("user", "hi there", "complete"), ("assistant", "Hello there, friend.", "complete")]
    assert (stored[1].provider, stored[1].model) == ("anthropic", "claude-test")
    shown = rows(window)
    assert [r.content for r in shown] == ["hi there", "Hello there, friend."]
    assert not shown[1].live
    assert "claude-test" in window.transcript.delegate.header_text(shown[1])
    # The sidebar lists the new conversation, selected; the composer has the focus again.
    assert window.sidebar.current_conversation_id() == conv
    assert QApplication.focusWidget() is window.composer.edit


def test_a_send_before_the_engine_is_attached_keeps_the_text(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    # The app paints the window before it loads the chat engine: a send in that moment
    # must neither lose the text nor reach the network.
    fake_anthropic.script(Synth(["Hi."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx, attach=False)
    assert window.controller.bridge is None and not window.readonly and window.composer is not None
    send(qtbot, window, "early words")
    assert window.composer.text() == "early words"
    assert fake_anthropic.requests == [] and ctx.store.list_conversations() == []

    window.attach_bridge(ChatBridge(ctx.chat_service))
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert [m.content for m in ctx.store.messages(window.controller.conversation_id)] == [
        "early words", "Hi."]
    with pytest.raises(RuntimeError):
        window.attach_bridge(ChatBridge(ctx.chat_service))


def test_provider_failing_mid_answer_shows_the_failover_inline(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    fake_anthropic.script(Stream("stream_error_overloaded_midstream.sse"))
    fake_openai.script(Synth(["Gravity", " of the Moon."], delay_s=0.3))
    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
    window = make_window(ctx)
    send(qtbot, window, "What causes tides?")
    model = window.transcript.tmodel
    # While the backup streams, the live row already says what happened.
    qtbot.waitUntil(lambda: model.live_row is not None and bool(model.live_row.notices)
                    and model.live_row.provider == "openai", timeout=5000)
    assert "Anthropic overloaded" in model.live_row.notices[0].text
    wait_idle(qtbot, window)

    answer = rows(window)[-1]
    stored = ctx.store.get_message(answer.id)
    assert stored is not None and stored.provider == "openai" and stored.status == "complete"
    assert stored.content == answer.content and "Gravity of the Moon." in answer.content
    notices = model.notices(answer)  # rebuilt from the attempts table
    assert len(notices) == 1
    assert notices[0].text.startswith("Anthropic overloaded after")
    assert "OpenAI gpt-test" in notices[0].text
    assert notices[0].detail == "The tides are caused by"
    html = window.transcript.delegate.row_html(answer, notices)
    assert "toggle:" in html and "The tides are caused by" not in html
    # Clicking the notice shows the failed attempt's text; clicking again hides it.
    row = len(rows(window)) - 1
    window.transcript.activate(("link", row, f"toggle:{notices[0].attempt_id}"))
    assert notices[0].expanded
    assert "The tides are caused by" in window.transcript.delegate.row_html(answer, notices)
    window.transcript.activate(("link", row, f"toggle:{notices[0].attempt_id}"))
    assert not notices[0].expanded
    # Reopening the conversation shows the same notice from the store.
    window.open_conversation(window.controller.conversation_id)
    again = window.transcript.tmodel
    assert again.notices(again.rows[-1])[0].text == notices[0].text


def test_enter_typed_before_the_hits_arrive_opens_the_first_one(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    target = ctx.store.create_conversation("Animals")
    ctx.store.add_message(target.id, "user", "Tell me about the quokka")
    other = ctx.store.create_conversation("Other")
    window = make_window(ctx)
    window.open_conversation(other.id)
    search = window.findChild(QLineEdit, "searchField")
    search.setFocus()
    qtbot.keyClicks(search, "quokka")
    qtbot.keyClick(search, Qt.Key.Key_Return)  # at once: the search is still on its way
    qtbot.waitUntil(lambda: window.controller.conversation_id == target.id, timeout=3000)
    assert not window.sidebar.searching


def test_search_finds_a_message_and_jumps_to_it(qtbot: Any, make_ctx: Any, make_window: Any,
                                                fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    store = ctx.store
    target = store.create_conversation("Animals")
    with store.transaction():
        for i in range(60):
            store.add_message(target.id, "user" if i % 2 == 0 else "assistant",
                              f"filler message number {i} " * 8)
    hit = store.add_message(target.id, "user", "Tell me about the quokka of Rottnest")
    with store.transaction():
        for i in range(20):
            store.add_message(target.id, "assistant", f"more filler {i} " * 10)
    other = store.create_conversation("Other")
    store.add_message(other.id, "user", "nothing to see here")
    window = make_window(ctx)
    window.open_conversation(other.id)

    search = window.findChild(QLineEdit, "searchField")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.focusWidget() is search
    qtbot.keyClicks(search, "quokk")
    results = window.findChild(QListView, "searchResults")
    qtbot.waitUntil(lambda: window.sidebar.results_model.rowCount() == 1, timeout=3000)
    assert results.isVisibleTo(window)
    assert window.sidebar.results_note.text() == "1 message"
    qtbot.keyClicks(search, "zz")
    qtbot.waitUntil(lambda: window.sidebar.results_model.rowCount() == 0, timeout=3000)
    assert window.sidebar.results_note.text() == "No messages match “quokkzz”."
    qtbot.keyClick(search, Qt.Key.Key_Backspace)
    qtbot.keyClick(search, Qt.Key.Key_Backspace)
    qtbot.waitUntil(lambda: window.sidebar.results_model.rowCount() == 1, timeout=3000)
    index = window.sidebar.results_model.index(0)
    qtbot.mouseClick(results.viewport(), Qt.MouseButton.LeftButton,
                     pos=results.visualRect(index).center())

    assert window.controller.conversation_id == target.id
    assert window.sidebar.current_conversation_id() == target.id
    current = window.transcript.currentIndex()
    assert current.isValid() and rows(window)[current.row()].id == hit.id
    qtbot.wait(50)
    rect = window.transcript.visualRect(current)
    assert window.transcript.viewport().rect().intersects(rect)  # scrolled into view
    # Clearing the search shows the conversation list again.
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == "" and window.sidebar.list.isVisibleTo(window)
    assert not window.sidebar.results_note.isVisibleTo(window)


def test_browse_mode_is_read_only(qtbot: Any, make_ctx: Any, make_window: Any,
                                  fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Kept")
    ctx.store.add_message(conv.id, "user", "a searchable wombat")
    path = ctx.paths.history_db
    ctx.close()
    store = HistoryStore.open_readonly(path)
    try:
        window = make_window(store=store, browse_path=path)
        assert window.controller.bridge is None  # no ChatService, no network
        assert window.composer is None and window.findChildren(Composer) == []
        assert window.picker is None
        assert window.readonly_banner.isVisibleTo(window)
        assert window.readonly_banner.label.text() == (
            f"Read-only: {path.name} — browsing only; nothing can be sent or changed")
        sidebar = window.sidebar
        assert not sidebar.new_button.isVisibleTo(window)
        row = sidebar.model.row_of(conv.id)
        index = sidebar.model.index(row)
        assert sidebar.context_actions(index) == []
        assert not sidebar.model.flags(index) & Qt.ItemFlag.ItemIsEditable
        assert not sidebar.model.setData(index, "Renamed")
        # Reading and searching work.
        sidebar.list.setCurrentIndex(index)
        assert window.controller.conversation_id == conv.id
        assert rows(window)[0].content == "a searchable wombat"
        assert window.transcript.tmodel.actions(0) == ["copy"]
        sidebar.search.setText("wombat")
        sidebar.run_search()
        qtbot.waitUntil(lambda: sidebar.results_model.rowCount() == 1, timeout=3000)
        qtbot.keyClick(sidebar.list, Qt.Key.Key_Delete)
        assert store.get_conversation(conv.id) is not None
        with pytest.raises(ReadOnlyError):
            store.rename_conversation(conv.id, "x")
    finally:
        store.close()


def test_escape_stops_the_answer_and_keeps_the_partial_text(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth([f"word{i} " for i in range(40)], delay_s=0.15))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    send(qtbot, window, "count slowly")
    qtbot.waitUntil(lambda: len(rows(window)) == 2 and "word1" in rows(window)[1].content,
                    timeout=5000)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Escape)
    wait_idle(qtbot, window, 5000)
    assert fake_anthropic.wait_for_disconnect(timeout=3)
    answer = ctx.store.messages(window.controller.conversation_id)[1]
    assert answer.status == "partial"
    assert answer.content.startswith("word0 word1") and "word39" not in answer.content
    shown = rows(window)[1]
    assert shown.status == "partial" and not shown.live and shown.content == answer.content
    assert "stopped" in window.transcript.delegate.header_text(shown)
    assert window.composer.send_button.isVisibleTo(window)


def test_enter_sends_shift_enter_breaks_the_line_and_ctrl_n_starts_over(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    edit = window.composer.edit
    qtbot.keyClicks(edit, "line one")
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(edit, "line two")
    assert window.composer.text() == "line one\nline two"
    assert not window.controller.bridge.busy and window.controller.conversation_id is None
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    conv = window.controller.conversation_id
    assert conv is not None
    assert ctx.store.messages(conv)[0].content == "line one\nline two"

    qtbot.keyClick(edit, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.controller.conversation_id is None and rows(window) == []
    assert window.sidebar.current_conversation_id() is None
    assert window.focusWidget() is edit
    send(qtbot, window, "a second chat")
    wait_idle(qtbot, window)
    assert window.controller.conversation_id not in (None, conv)
    assert ctx.store.count_conversations() == 2


def test_the_sidebar_groups_conversations_by_date(make_ctx: Any,
                                                  fake_anthropic: FakeProvider) -> None:
    from datetime import datetime

    store = make_ctx([("anthropic", fake_anthropic)]).store
    today = date(2025, 6, 15)

    def at(day: date) -> str:
        return to_iso(datetime(day.year, day.month, day.day, 12, 0).astimezone())

    ages = {"today": 0, "yesterday": 1, "week": 5, "month": 20, "april": 50, "december": 180}
    ids = {name: store.create_conversation(name, created_at=at(today - timedelta(days=age))).id
           for name, age in ages.items()}
    store.set_pinned(ids["december"], True)
    model = ConversationListModel(store, today=lambda: today)
    model.reload()
    assert model.headers() == ["Pinned", "Today", "Yesterday", "Previous 7 days",
                               "Previous 30 days", "April 2025"]
    titles = [model.index(i).data() for i in range(model.rowCount())]
    assert titles == ["Pinned", "december", "Today", "today", "Yesterday", "yesterday",
                      "Previous 7 days", "week", "Previous 30 days", "month", "April 2025",
                      "april"]
    header = model.index(0)
    assert not model.flags(header) & Qt.ItemFlag.ItemIsSelectable


def test_the_sidebar_loads_long_histories_in_pages(make_ctx: Any,
                                                   fake_anthropic: FakeProvider) -> None:
    store = make_ctx([("anthropic", fake_anthropic)]).store
    with store.transaction():
        ids = [store.create_conversation(f"c{i}").id for i in range(450)]
    model = ConversationListModel(store, today=date.today, page_size=200)
    model.reload()
    assert model.loaded_conversations == 200 and model.total_conversations == 450
    assert model.canFetchMore()
    model.fetchMore()
    assert model.loaded_conversations == 400
    assert model.row_of(ids[0], fetch=True) >= 0  # the oldest, found by loading the rest
    assert model.loaded_conversations == 450 and not model.canFetchMore()


def test_a_page_that_cannot_be_read_ends_the_list(qtbot: Any, make_ctx: Any,
                                                   fake_anthropic: FakeProvider,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A damaged file: looking for a conversation past what can be read stops, with the
    sentence kept, instead of asking the store again for ever."""
    store = make_ctx([("anthropic", fake_anthropic)]).store
    with store.transaction():
        ids = [store.create_conversation(f"c{i}").id for i in range(30)]
    model = ConversationListModel(store, today=date.today, page_size=10)
    model.reload()
    original = store.list_conversations

    def damaged(limit: int = 100, offset: int = 0, **kw: Any) -> Any:
        if offset >= 10:
            raise StoreError("history.db is damaged (database disk image is malformed)")
        return original(limit=limit, offset=offset, **kw)

    monkeypatch.setattr(store, "list_conversations", damaged)
    assert model.row_of(ids[0], fetch=True) == -1
    assert not model.canFetchMore() and model.error is not None
    assert "damaged" in model.error and model.loaded_conversations == 10


def test_delete_then_undo(qtbot: Any, make_ctx: Any, make_window: Any,
                          fake_anthropic: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    import chatdesk.ui.main_window as main_window

    ctx = make_ctx([("anthropic", fake_anthropic)])
    keep = ctx.store.create_conversation("Keep me")
    gone = ctx.store.create_conversation("Delete me")
    ctx.store.add_message(gone.id, "user", "bye")
    window = make_window(ctx)
    window.open_conversation(gone.id)
    sidebar = window.sidebar
    index = sidebar.model.index(sidebar.model.row_of(gone.id))
    actions = {a.text(): a for a in sidebar.context_actions(index)}
    assert set(actions) == {"Rename", "Pin", "Delete"}
    actions["Delete"].trigger()

    assert ctx.store.get_conversation(gone.id) is None
    assert sidebar.model.row_of(gone.id) == -1 and sidebar.model.row_of(keep.id) >= 0
    assert window.controller.conversation_id is None
    banner = window.undo_banner
    assert banner.isVisibleTo(window) and "Delete me" in banner.label.text()
    assert banner.action.text() == "Undo"
    qtbot.mouseClick(banner.action, Qt.MouseButton.LeftButton)
    assert ctx.store.get_conversation(gone.id) is not None
    assert sidebar.model.row_of(gone.id) >= 0 and window.controller.conversation_id == gone.id
    assert not banner.isVisibleTo(window)

    # The offer goes away by itself.
    monkeypatch.setattr(main_window, "UNDO_MS", 150)
    sidebar.delete_conversation(keep.id)
    assert banner.isVisibleTo(window)
    qtbot.waitUntil(lambda: not banner.isVisibleTo(window), timeout=2000)
    assert ctx.store.get_conversation(keep.id) is None


def test_rename_and_pin_from_the_sidebar(qtbot: Any, make_ctx: Any, make_window: Any,
                                         fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    first = ctx.store.create_conversation("First")
    ctx.store.create_conversation("Second")
    window = make_window(ctx)
    model = window.sidebar.model
    index = model.index(model.row_of(first.id))
    assert model.setData(index, "  Renamed  ")
    assert ctx.store.get_conversation(first.id).title == "Renamed"
    actions = {a.text(): a for a in window.sidebar.context_actions(index)}
    actions["Pin"].trigger()
    assert ctx.store.get_conversation(first.id).pinned
    assert model.headers()[0] == "Pinned" and model.summary(1).id == first.id


def test_a_pending_message_is_sent_when_a_provider_is_back(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(ErrorResponse(529))
    ctx = make_ctx([("anthropic", fake_anthropic)], cooldown_s=0.2)
    window = make_window(ctx)
    send(qtbot, window, "please answer later")
    wait_idle(qtbot, window)
    user = ctx.store.messages(window.controller.conversation_id)[0]
    assert user.status == "pending"
    assert rows(window)[0].status == "pending"
    assert "Pending" in window.transcript.delegate.header_text(rows(window)[0])
    assert not window.controller.retry_pending_if_ready()  # still cooling down
    # At the cooldown's end the window probes the provider, finds it back and sends.
    qtbot.waitUntil(lambda: not ctx.store.pending_messages(), timeout=5000)
    wait_idle(qtbot, window)
    stored = ctx.store.messages(window.controller.conversation_id)
    assert stored[0].status == "complete"
    assert (stored[-1].role, stored[-1].status) == ("assistant", "complete")
    assert rows(window)[0].status == "complete"
    assert rows(window)[-1].content == stored[-1].content
    assert "Sent 1 pending message" in window.statusBar().currentMessage()


def test_a_success_sends_what_was_pending(qtbot: Any, make_ctx: Any, make_window: Any,
                                          fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(ErrorResponse(503))
    ctx = make_ctx([("anthropic", fake_anthropic)], cooldown_s=0.1)
    window = make_window(ctx)
    send(qtbot, window, "first, pending")
    wait_idle(qtbot, window)
    pending_conv = window.controller.conversation_id
    qtbot.wait(400)
    window.new_chat()
    send(qtbot, window, "second")
    qtbot.waitUntil(lambda: not ctx.store.pending_messages() and not window.controller.bridge.busy,
                    timeout=10000)
    answered = ctx.store.messages(pending_conv)
    assert answered[-1].role == "assistant" and answered[-1].status == "complete"


def test_edit_and_resend_replaces_the_last_exchange(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth(["One."]), Synth(["Two."]), Synth(["Three."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    send(qtbot, window, "first try")
    wait_idle(qtbot, window)
    assert window.transcript.tmodel.actions(0) == ["copy", "edit", "branch"]
    assert window.transcript.tmodel.actions(1) == ["copy", "regenerate", "branch"]

    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Up)  # Up in an empty box edits
    assert window.composer.editing and window.composer.text() == "first try"
    window.composer.set_text("second try")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    stored = ctx.store.messages(window.controller.conversation_id)
    assert [(m.role, m.content) for m in stored] == [("user", "second try"),
                                                      ("assistant", "Two.")]
    assert [r.content for r in rows(window)] == ["second try", "Two."]
    assert not window.composer.editing

    window.composer.set_text("draft kept")
    window.transcript.actionRequested.emit("regenerate", stored[1].id)
    wait_idle(qtbot, window)
    again = ctx.store.messages(window.controller.conversation_id)
    assert [(m.role, m.content) for m in again] == [("user", "second try"),
                                                     ("assistant", "Three.")]
    assert [r.content for r in rows(window)] == ["second try", "Three."]
    assert window.composer.text() == "draft kept"
    # Nothing written or received was deleted: the earlier exchanges are alternates.
    kept = ctx.store.messages(window.controller.conversation_id, include_alternates=True)
    assert [(m.content, m.is_alternate) for m in kept] == [
        ("first try", True), ("One.", True), ("second try", True), ("Two.", True),
        ("second try", False), ("Three.", False)]
    assert ctx.store.list_conversations()[0].message_count == 2
    window.jump_to_message(window.controller.conversation_id, kept[1].id)  # a search hit on "One."
    assert "earlier version" in window.statusBar().currentMessage()


def test_the_picker_pins_the_provider_and_lists_models(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
    conv = ctx.store.create_conversation("Pick")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    picker = window.picker
    assert picker.current_provider() == "anthropic"
    assert picker.current_model() == "claude-test"
    picker.provider_combo.setCurrentIndex(picker.provider_combo.findData("openai"))
    assert ctx.store.get_conversation(conv.id).preferred_provider == "openai"
    assert picker.current_model() == "gpt-test"
    combo = picker.model_combo
    qtbot.waitUntil(lambda: combo.findText("gpt-4o-mini") >= 0, timeout=5000)
    combo.setEditText("gpt-4o-mini")
    send(qtbot, window, "hello")
    wait_idle(qtbot, window)
    assert fake_anthropic.requests == []
    chat = [r for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert chat[-1].json["model"] == "gpt-4o-mini"
    answer = ctx.store.messages(conv.id)[-1]
    assert (answer.provider, answer.model) == ("openai", "gpt-4o-mini")
    # Another conversation shows its own (default) provider; coming back shows openai.
    window.new_chat()
    assert picker.current_provider() == "anthropic"
    window.open_conversation(conv.id)
    assert picker.current_provider() == "openai"


def test_links_open_only_on_click_and_only_for_web_and_mail(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtGui import QDesktopServices

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toString()) or True))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Links")
    ctx.store.add_message(conv.id, "assistant",
                          "See [the docs](https://example.com/docs) and "
                          "![pic](https://example.com/tracker.png).\n\n```sh\necho hi\n```",
                          provider="anthropic", model="m")
    window = make_window(ctx)
    window.open_conversation(conv.id)
    qtbot.wait(50)
    assert opened == []  # showing the message loads nothing and opens nothing
    view = window.transcript
    found = find_anchor(view, 0, "https://example.com/docs")
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=found)
    assert opened == ["https://example.com/docs"]
    view.activate(("link", 0, "file:///etc/passwd"))
    view.activate(("link", 0, "javascript:alert(1)"))
    assert opened == ["https://example.com/docs"]
    copy = find_anchor(view, 0, "copy:0")
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=copy)
    assert QApplication.clipboard().text() == "echo hi"


def find_anchor(view: Any, row: int, href: str) -> QPoint:
    """A point of the viewport over the link `href` in a row (scanning the row)."""
    index = view.tmodel.index(row)
    rect = view.visualRect(index)
    for y in range(rect.top(), rect.bottom(), 3):
        for x in range(rect.left(), rect.right(), 5):
            point = QPoint(x, y)
            if view.delegate.anchor_at(index, rect, point) == href:
                return point
    raise AssertionError(f"no link {href} in row {row}")


def test_window_state_is_remembered(qtbot: Any, make_ctx: Any, make_window: Any,
                                    fake_anthropic: FakeProvider, data_dir: Path) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    conv = ctx.store.create_conversation("Remember me")
    window = make_window(ctx, size=(700, 500))
    window.open_conversation(conv.id)
    window.splitter.setSizes([200, 500])
    saved = (window.width(), window.height())
    window.close()
    assert (data_dir / "window.ini").is_file()
    again = make_window(ctx)
    assert again.controller.conversation_id == conv.id
    assert again.splitter.sizes()[0] == 200
    assert (again.width(), again.height()) == saved


def test_unsent_text_is_kept_per_conversation_and_across_restarts(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        data_dir: Path) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    other = ctx.store.create_conversation("Other")
    window = make_window(ctx)
    composer = window.composer
    assert composer is not None
    qtbot.keyClicks(composer.edit, "half a thought")
    window.open_conversation(other.id)
    assert composer.text() == ""
    qtbot.keyClicks(composer.edit, "about the other one")
    window.new_chat()  # issue 12: a new chat starts empty; the old text is one undo away
    assert composer.text() == ""
    composer.edit.undo()
    assert composer.text() == "half a thought"

    # Written to window.ini a moment after typing, without a clean close (a crash).
    ini = data_dir / "window.ini"
    qtbot.waitUntil(lambda: ini.is_file() and "half a thought" in ini.read_text(),
                    timeout=3000)
    assert "about the other one" in ini.read_text()
    window.close()
    again = make_window(ctx)
    assert again.controller.conversation_id is None and again.composer.text() == "half a thought"
    again.open_conversation(other.id)
    assert again.composer.text() == "about the other one"


def test_an_edit_gives_back_the_text_that_was_in_the_box(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        data_dir: Path) -> None:
    fake_anthropic.script(Synth(["One."]), Synth(["Two."]))
    window = make_window(make_ctx([("anthropic", fake_anthropic)]))
    send(qtbot, window, "first try")
    wait_idle(qtbot, window)
    composer = window.composer
    qtbot.keyClicks(composer.edit, "my next question")
    qtbot.keyClick(composer.edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert composer.editing and composer.text() == "first try"
    qtbot.keyClick(composer.edit, Qt.Key.Key_Escape)
    assert not composer.editing and composer.text() == "my next question"
    window.edit_last()
    window.controller.save_drafts()  # quitting mid-edit keeps the text from before it
    ini = QSettings(str(data_dir / "window.ini"), QSettings.Format.IniFormat)
    assert ini.value(f"drafts/{window.controller.conversation_id}") == "my next question"
    qtbot.keyClick(composer.edit, Qt.Key.Key_Escape)

    window.edit_last()
    composer.set_text("second try")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert [r.content for r in rows(window)] == ["second try", "Two."]
    assert composer.text() == "my next question"


def test_closing_while_streaming_stops_cleanly(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        run: Any) -> None:
    fake_anthropic.script(Synth([f"w{i} " for i in range(50)], delay_s=0.1))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    window = make_window(ctx)
    send(qtbot, window, "long answer please")
    qtbot.waitUntil(lambda: len(rows(window)) == 2 and "w2" in rows(window)[1].content,
                    timeout=5000)
    conv = window.controller.conversation_id
    window.close()
    run(window.controller.bridge.shutdown())
    assert fake_anthropic.wait_for_disconnect(timeout=3)
    answer = ctx.store.messages(conv)[1]
    assert answer.status == "partial" and answer.content.startswith("w0 w1 w2")


def test_ctrl_comma_opens_the_settings_and_a_save_takes_effect(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    from chatdesk.ui import settings_dialog

    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
    window = make_window(ctx)
    opened: list[Any] = []

    def fake_exec(dialog: Any) -> int:
        opened.append(dialog)
        failover = dataclasses.replace(ctx.settings.failover, order=["openai", "anthropic"])
        # What Save does with the dialog's settings:
        assert dialog.controller.save_settings(
            dataclasses.replace(ctx.settings, failover=failover), KeyChanges()) is None
        return 1

    monkeypatch.setattr(settings_dialog.SettingsDialog, "exec", fake_exec)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert len(opened) == 1 and opened[0].controller is window.controller
    combo = window.picker.provider_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["openai", "anthropic"]
    assert window.health_bar.names() == ["openai", "anthropic"]


def test_a_broken_settings_file_still_opens_the_history(
        qtbot: Any, make_window: Any, data_dir: Path) -> None:
    from chatdesk.context import AppContext

    data_dir.mkdir(parents=True)
    with HistoryStore.open(data_dir / "history.db") as store:
        conv = store.create_conversation("Still here")
        store.add_message(conv.id, "user", "old message")
    (data_dir / "settings.toml").write_text("[failover\norder = 3\n", encoding="utf-8")
    ctx = AppContext.create(str(data_dir), warn=False)
    try:
        window = make_window(ctx)
        assert window.notice_banner.isVisibleTo(window)
        assert "settings.toml line 1" in window.notice_banner.label.text()
        window.open_conversation(conv.id)
        assert rows(window)[0].content == "old message"
        window.composer.set_text("new text")
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
        assert not window.controller.bridge.busy
        assert window.composer.text() == "new text"  # kept, not lost
        assert [m.content for m in ctx.store.messages(conv.id)] == ["old message"]
        assert "before sending" in window.notice_banner.label.text()
    finally:
        ctx.close()


def test_switching_away_and_back_while_an_answer_streams(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth([f"part{i} " for i in range(16)], delay_s=0.1))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    other = ctx.store.create_conversation("Elsewhere")
    ctx.store.add_message(other.id, "user", "quiet here")
    window = make_window(ctx)
    send(qtbot, window, "stream please")
    qtbot.waitUntil(lambda: len(rows(window)) == 2 and "part1" in rows(window)[1].content,
                    timeout=5000)
    streaming = window.controller.conversation_id
    window.open_conversation(other.id)
    qtbot.wait(300)
    assert [r.content for r in rows(window)] == ["quiet here"]  # nothing leaked in
    window.open_conversation(streaming)
    live = window.transcript.tmodel.live_row
    assert live is not None and live.content == window.controller.live_answer[1]
    assert live.content.startswith("part0 part1")
    wait_idle(qtbot, window)
    final = ctx.store.messages(streaming)[1].content
    assert rows(window)[1].content == final and final.endswith("part15 ")


def test_an_answer_a_crash_cut_off_is_offered_with_send_again(
        qtbot: Any, make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.store.test_claims import left_by_a_killed_ask

    ctx = make_ctx([("anthropic", fake_anthropic)])
    user, _, _ = left_by_a_killed_ask(ctx.store, monkeypatch)
    window = make_window(ctx)
    window.controller.recover_interrupted()  # what attaching the engine does in the app
    banner = window.notice_banner
    assert banner.isVisible() and "cut off" in banner.label.text()
    assert banner.action.isVisible() and banner.action.text() == "Send again"
    fake_anthropic.script(Synth(["Whole."]))
    banner.action.click()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    assert [m.content for m in ctx.store.messages(user.conversation_id)] == ["question", "Whole."]


def test_opening_the_window_shows_no_other_window(make_ctx: Any, make_window: Any,
                                                  fake_anthropic: FakeProvider) -> None:
    # A widget made visible before it has a parent is shown as a top-level window: on X11
    # it flashes on screen and costs a native window made and destroyed before the first frame.
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QWidget

    shown: list[str] = []

    class Shows(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Show and isinstance(obj, QWidget) and obj.isWindow():
                shown.append(f"{type(obj).__name__} {obj.objectName()}")
            return False

    watcher = Shows()
    app = QApplication.instance()
    app.installEventFilter(watcher)
    try:
        make_window(make_ctx([("anthropic", fake_anthropic)]), attach=False)
    finally:
        app.removeEventFilter(watcher)
    assert shown == ["MainWindow mainWindow"]


def test_the_remembered_zoom_is_the_font_the_widgets_are_made_in(
        make_ctx: Any, make_window: Any, fake_anthropic: FakeProvider, data_dir: Path) -> None:
    # Set after the widgets were made, the zoom sent every one of them a FontChange and a
    # new layout before the first frame.
    import shiboken6
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QWidget

    from chatdesk.ui import zoom

    ctx = make_ctx([("anthropic", fake_anthropic)])
    state = QSettings(str(data_dir / "window.ini"), QSettings.Format.IniFormat)
    state.setValue("window/zoom", 1.25)
    state.sync()
    told: list[QObject] = []

    class FontChanges(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.ApplicationFontChange:
                told.append(obj)
            return False

    watcher = FontChanges()
    app = QApplication.instance()
    app.installEventFilter(watcher)
    try:
        window = make_window(ctx, attach=False)
    finally:
        app.removeEventFilter(watcher)
        zoom_after = app.font().pixelSize()
        zoom.apply_zoom(app, zoom.DEFAULT)  # the app font is shared with the other tests
    assert window.zoom == 1.25 and zoom_after == zoom.body_px(1.25)
    assert not [o for o in told if shiboken6.isValid(o) and isinstance(o, QWidget)
                and o.window() is window]
