"""ChatController without a window: which conversation is shown, what reaches the widgets,
when pending messages are retried, drafts, settings and deletions."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from chatdesk import events as ev
from chatdesk.context import AppContext, KeyChanges
from chatdesk.ui.bridge import ChatBridge
from chatdesk.ui.controller import ChatController, OpenedConversation
from tests.fakes.server import ErrorResponse, FakeProvider, Synth
from tests.ui.conftest import qt_warning_marks

pytestmark = qt_warning_marks()


class Recorder:
    """Everything one controller emits, by signal name."""

    def __init__(self, controller: ChatController) -> None:
        self.seen: dict[str, list[Any]] = {}
        for name in ("conversationOpened", "conversationAdopted", "chatEvent",
                     "conversationsChanged", "statusChanged", "notice", "message",
                     "settingsChanged", "providersChanged", "conversationDeleted",
                     "messagesSetAside"):
            getattr(controller, name).connect(
                lambda *args, name=name: self.seen.setdefault(name, []).append(args))

    def of(self, name: str) -> list[Any]:
        return [args[0] if len(args) == 1 else args for args in self.seen.get(name, [])]


@pytest.fixture
def make_controller(qtbot: Any, qloop: Any, data_dir: Path, run: Callable[..., Any]
                    ) -> Iterator[Callable[..., tuple[ChatController, Recorder]]]:
    bridges: list[ChatBridge] = []
    controllers: list[ChatController] = []

    def make(ctx: AppContext, attach: bool = True) -> tuple[ChatController, Recorder]:
        state = QSettings(str(data_dir / "window.ini"), QSettings.Format.IniFormat)
        controller = ChatController(ctx.store, ctx, state=state)
        controllers.append(controller)
        recorder = Recorder(controller)
        if attach:
            bridge = ChatBridge(ctx.chat_service)
            controller.attach_bridge(bridge)
            bridges.append(bridge)
        return controller, recorder

    yield make
    for bridge in bridges:
        run(bridge.shutdown())
    # A controller (and its timers) must die on this thread: left to the cyclic garbage
    # collector it may go on a fake server's thread, and Qt warns.
    for controller in controllers:
        controller.close()
    controllers.clear()
    gc.collect()


def idle(qtbot: Any, controller: ChatController) -> None:
    qtbot.waitUntil(lambda: not controller.busy, timeout=10000)


def test_a_new_chat_gets_its_id_when_its_message_is_saved(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth(["Hello", " there."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    controller, seen = make_controller(ctx)
    controller.open_conversation(None)
    assert controller.send("hi")
    conversation_id = controller.conversation_id
    assert conversation_id is not None  # at once, before any answer
    assert seen.of("conversationAdopted") == [conversation_id]
    assert seen.of("conversationsChanged")
    idle(qtbot, controller)
    kinds = [type(e) for e in seen.of("chatEvent")]
    assert kinds[0] is ev.MessageSaved and kinds[-1] is ev.AnswerFinished
    assert [m.content for m in ctx.store.messages(conversation_id)] == ["hi", "Hello there."]


def test_events_of_another_conversation_do_not_reach_the_one_shown(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth([f"part{i} " for i in range(10)], delay_s=0.05))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    quiet = ctx.store.create_conversation("quiet")
    controller, seen = make_controller(ctx)
    controller.open_conversation(None)
    assert controller.send("stream")
    streaming = controller.conversation_id
    qtbot.waitUntil(lambda: controller.live_answer is not None
                    and "part1" in controller.live_answer[1], timeout=5000)
    controller.open_conversation(quiet.id)
    before = len(seen.of("chatEvent"))
    qtbot.wait(200)
    assert len(seen.of("chatEvent")) == before  # the quiet conversation hears nothing
    controller.open_conversation(streaming)
    opened: OpenedConversation = seen.of("conversationOpened")[-1]
    assert opened.live is not None and opened.live[1].startswith("part0 part1")
    idle(qtbot, controller)
    assert isinstance(seen.of("chatEvent")[-1], ev.AnswerFinished)


def test_a_broken_settings_file_keeps_the_text_and_says_why(
        qtbot: Any, make_controller: Any, data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "settings.toml").write_text("[failover\n", encoding="utf-8")
    ctx = AppContext.create(str(data_dir), warn=False)
    try:
        controller, seen = make_controller(ctx)
        assert not controller.send("hi")
        assert "before sending; your text is kept" in seen.of("notice")[-1]
        assert ctx.store.count_conversations() == 0
    finally:
        ctx.close()


def test_an_edit_of_an_answer_is_refused_in_a_sentence(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider) -> None:
    fake_anthropic.script(Synth(["An answer."]), Synth(["Again."]))
    ctx = make_ctx([("anthropic", fake_anthropic)])
    controller, seen = make_controller(ctx)
    controller.open_conversation(None)
    controller.send("question")
    idle(qtbot, controller)
    answer = ctx.store.messages(controller.conversation_id)[1]
    assert not controller.send("x", replacing=answer.id)
    assert seen.of("message")[-1][0].endswith(".")
    mine = ctx.store.messages(controller.conversation_id)[0]
    assert controller.send("question, again", replacing=mine.id)
    assert seen.of("messagesSetAside") == [(mine.id, answer.id)]
    idle(qtbot, controller)


def test_pending_messages_wait_for_a_usable_provider_and_for_an_import(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)], cooldown_s=60)
    controller, _ = make_controller(ctx)
    assert not controller.retry_pending_if_ready()  # nothing waits
    fake_anthropic.script(ErrorResponse(529))
    controller.open_conversation(None)
    controller.send("later")
    idle(qtbot, controller)
    assert ctx.store.pending_messages()
    assert not controller.retry_pending_if_ready()  # anthropic cools down
    ctx.health().reset("anthropic")
    controller.set_import_running(True)
    assert not controller.retry_pending_if_ready()  # the import holds the write lock
    controller.set_import_running(False)
    fake_anthropic.script(Synth(["Now."]))
    assert controller.retry_pending_if_ready()
    idle(qtbot, controller)
    assert not ctx.store.pending_messages()


def test_drafts_follow_their_conversation_and_a_sent_one_is_forgotten(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider,
        data_dir: Path) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    one = ctx.store.create_conversation("one")
    controller, seen = make_controller(ctx)
    controller.open_conversation(one.id)
    controller.set_draft("half a thought")
    controller.open_conversation(None)
    assert seen.of("conversationOpened")[-1].draft == ""
    controller.set_draft("a new chat's draft")
    controller.open_conversation(one.id)
    assert seen.of("conversationOpened")[-1].draft == "half a thought"
    controller.save_drafts()
    ini = QSettings(str(data_dir / "window.ini"), QSettings.Format.IniFormat)
    assert ini.value(f"drafts/{one.id}") == "half a thought"
    assert ini.value("drafts/new") == "a new chat's draft"
    fake_anthropic.script(Synth(["ok"]))
    controller.open_conversation(None)
    assert controller.send("a new chat's draft")
    idle(qtbot, controller)
    controller.open_conversation(None)
    assert seen.of("conversationOpened")[-1].draft == ""  # not brought back by the next chat


def test_a_sent_draft_is_gone_from_window_ini_at_once_not_a_second_later(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider,
        data_dir: Path) -> None:
    # Issue 12: a draft already sent came back in the next new chat (and went out again
    # with the new text) when chatdesk ended before the draft timer wrote window.ini.
    ctx = make_ctx([("anthropic", fake_anthropic)])
    controller, _seen = make_controller(ctx)
    controller.open_conversation(None)
    controller.set_draft("already sent")
    controller.save_drafts()
    fake_anthropic.script(Synth(["ok"]))
    assert controller.send("already sent")
    ini = QSettings(str(data_dir / "window.ini"), QSettings.Format.IniFormat)
    assert ini.value("drafts/new") is None
    idle(qtbot, controller)


def test_saved_settings_reach_every_listener(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
    controller, seen = make_controller(ctx)
    failover = dataclasses.replace(ctx.settings.failover, order=["openai", "anthropic"])
    new = dataclasses.replace(ctx.settings, failover=failover)
    assert controller.save_settings(new, KeyChanges()) is None
    assert seen.of("settingsChanged") == [new]
    providers, _current = seen.of("providersChanged")[-1]
    assert [name for name, _model in providers] == ["openai", "anthropic"]
    assert [s.name for s in seen.of("statusChanged")[-1]] == ["openai", "anthropic"]


def test_deleting_the_conversation_shown_opens_a_new_chat(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    gone = ctx.store.create_conversation("Going")
    controller, seen = make_controller(ctx)
    controller.open_conversation(gone.id)
    controller.delete_conversation(gone.id)
    assert controller.conversation_id is None
    assert seen.of("conversationDeleted") == [(gone.id, "Going")]
    controller.restore_conversation(gone.id)
    assert controller.conversation_id == gone.id


def test_before_the_engine_is_up_nothing_is_sent_and_probes_say_so(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic)])
    controller, _ = make_controller(ctx, attach=False)
    assert not controller.send("early")
    assert controller.run_job(lambda s: s.list_models("anthropic"), print, print) is None
    assert ctx.store.count_conversations() == 0


def test_the_chosen_provider_is_asked_first_and_an_unchosen_one_is_not_remembered(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider,
        fake_openai: FakeProvider) -> None:
    ctx = make_ctx([("anthropic", fake_anthropic), ("openai", fake_openai)])
    controller, _ = make_controller(ctx)
    controller.open_conversation(None)
    controller.choose_provider("openai")  # in the picker, before the first message
    fake_openai.script(Synth(["From openai."]))
    assert controller.send("hi")
    idle(qtbot, controller)
    chosen = ctx.store.get_conversation(controller.conversation_id)
    assert chosen is not None and chosen.preferred_provider == "openai"
    assert fake_anthropic.requests == []

    controller.open_conversation(None)
    fake_anthropic.script(Synth(["From anthropic."]))
    assert controller.send("hello")
    idle(qtbot, controller)
    unchosen = ctx.store.get_conversation(controller.conversation_id)
    # It follows the failover order, also after the order changes later.
    assert unchosen is not None and unchosen.preferred_provider is None


def test_answers_a_crash_cut_off_are_offered_again_not_sent_by_themselves(
        qtbot: Any, make_ctx: Any, make_controller: Any, fake_anthropic: FakeProvider,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.store.test_claims import left_by_a_killed_ask

    ctx = make_ctx([("anthropic", fake_anthropic)])
    user, cut, _ = left_by_a_killed_ask(ctx.store, monkeypatch)
    controller, seen = make_controller(ctx)
    offers: list[str] = []
    controller.resendOffered.connect(offers.append)
    controller.open_conversation(user.conversation_id)

    assert controller.recover_interrupted() == 1  # what the window does once the engine is up
    assert controller.bridge is not None and controller.bridge._service is None  # not built
    assert offers == ["An answer was cut off when chatdesk stopped last time."]
    assert not controller.retry_pending_if_ready()  # asked first, never sent by itself
    fake_anthropic.script(Synth(["A whole answer."]))
    assert controller.resend_interrupted()
    idle(qtbot, controller)
    heads = seen.of("conversationOpened")[-1].messages  # without their text
    texts = ctx.store.message_texts([m.id for m in heads])
    shown = [texts[m.id].content for m in heads]
    assert shown == ["question", "A whole answer."]
    kept = ctx.store.get_message(cut.id)
    assert kept is not None and kept.is_alternate and kept.finish_reason == "interrupted"
    assert len(fake_anthropic.requests) == 1


def test_a_recovered_provider_is_probed_at_its_cooldown_end_and_the_pending_message_goes(
        qtbot: Any, make_ctx: Any, make_controller: Any) -> None:
    import time

    with FakeProvider("anthropic") as fake:
        ctx = make_ctx([("anthropic", fake)], cooldown_s=2)
    # It answered before (a loopback server never reached is "not set up", not down).
    ctx.health().record_success("anthropic")
    port = fake.port  # stopped: the provider is down
    controller, _ = make_controller(ctx)
    controller.open_conversation(None)
    controller.send("are you back?")
    idle(qtbot, controller)
    [waiting] = ctx.store.pending_messages()
    down_until = ctx.health().get("anthropic").down_until
    assert down_until is not None and down_until > time.time()
    with FakeProvider("anthropic", port=port) as back:  # the outage ends
        # No timer polls for pending messages here: only the probe at the cooldown's end.
        qtbot.waitUntil(lambda: not ctx.store.pending_messages(), timeout=8000)
        noticed = time.time()
        idle(qtbot, controller)
        assert [(r.method, r.path) for r in back.requests] == [
            ("GET", "/v1/models"), ("POST", "/v1/messages")]  # a free probe, then the message
    assert noticed - down_until < 5
    messages = ctx.store.messages(waiting.conversation_id)
    assert (messages[0].status, messages[-1].role, messages[-1].status) == (
        "complete", "assistant", "complete")
    assert ctx.health().get("anthropic").state == "up"


def test_a_probe_that_fails_cools_down_again_and_the_next_end_is_probed(
        qtbot: Any, make_ctx: Any, make_controller: Any) -> None:
    with FakeProvider("anthropic") as fake:
        ctx = make_ctx([("anthropic", fake)], cooldown_s=0.5)
    ctx.health().record_success("anthropic")  # it worked before: this is an outage
    controller, _ = make_controller(ctx)
    controller.open_conversation(None)
    controller.send("anyone?")
    idle(qtbot, controller)
    # Still down at the end of each cooldown: each probe fails and doubles it; never stuck.
    qtbot.waitUntil(lambda: ctx.health().get("anthropic").failures >= 3, timeout=8000)
    state = ctx.health().get("anthropic")
    assert state.state == "down" and state.last_error_class == "connection_failed"
    assert ctx.store.pending_messages()
