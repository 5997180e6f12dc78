"""Capability-aware failover: a backup that cannot see the conversation's images (or whose
context is too short) is skipped, saying why; one that can gets the images in its own
format; a PDF-blind model gets the PDF's text and the provenance says so; when no model can
take the conversation the message stays pending with a sentence naming why."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from chatdesk import events as ev
from chatdesk import wording
from chatdesk.failover.router import Turn
from chatdesk.parts import Attachment, PartKind
from chatdesk.providers.base import Message
from chatdesk.store import MessageStatus
from tests.fakes.server import ErrorResponse, FakeProvider
from tests.helpers import reset_fakes, serve
from tests.test_chat import Rig, collect, entry, only, rig_factory

PNG = b"\x89PNG\r\n\x1a\n\xfb\xff\xfe-image"
IMAGE = Attachment(PartKind.IMAGE, "shot.png", "image/png", PNG)
DOC = Attachment(PartKind.DOCUMENT, "report.pdf", "application/pdf", b"%PDF-1.4 \xfb\xff",
                 text="Revenue rose by 4%.")
SCANNED = Attachment(PartKind.DOCUMENT, "scan.pdf", "application/pdf", b"%PDF-1.4 scan")
PNG64 = base64.b64encode(PNG).decode()
# Ollama's POST /api/show answer, trimmed to the fields chatdesk reads (docs.ollama.com/api/show:
# "capabilities": ["completion", "vision"], model_info "<arch>.context_length").
SHOW_VISION = {"capabilities": ["completion", "vision"],
               "model_info": {"general.architecture": "gemma3", "gemma3.context_length": 131072}}
SHOW_TEXT_SMALL = {"capabilities": ["completion"],
                   "model_info": {"general.architecture": "llama", "llama.context_length": 2048}}


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    async with rig_factory(tmp_path) as build:
        yield build


@pytest.fixture(scope="module")
def pool() -> Iterator[dict[str, FakeProvider]]:
    fakes = {"main": FakeProvider("anthropic"), "openai": FakeProvider("openai"),
             "gemini": FakeProvider("gemini"),
             "ollama": FakeProvider("ollama", model_info={
                 "gemma3": SHOW_VISION, "tiny": SHOW_TEXT_SMALL})}
    yield from serve(fakes)


@pytest.fixture
def fakes(pool: dict[str, FakeProvider]) -> Iterator[dict[str, FakeProvider]]:
    yield reset_fakes(pool)
    reset_fakes(pool)


def ask(rig: Rig, *history: Message) -> Turn:
    conversation = rig.store.create_conversation()
    question = rig.store.add_message(conversation.id, "user", history[-1].content)
    return Turn(conversation.id, question.id, list(history), None)


def chat_requests(fake: FakeProvider) -> list[dict[str, object]]:
    paths = {"/v1/messages", "/v1/chat/completions", "/api/chat"}
    return [r.json for r in fake.requests
            if (r.path in paths or r.path.endswith(":streamGenerateContent"))
            and isinstance(r.json, dict)]


async def test_an_image_conversation_skips_a_blind_backup_and_reaches_one_that_sees(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main, ollama, gemini = fakes["main"], fakes["ollama"], fakes["gemini"]
    main.script(ErrorResponse(529))
    rig = rigs([entry("anthropic", main), entry("ollama", ollama), entry("gemini", gemini)])
    rig.service.settings.providers["ollama"].model = "llama3.2"  # the catalog: no vision
    turn = ask(rig, Message("user", "What is on my screen?", (IMAGE,)))

    events = await collect(rig.service.router.answer(turn, rig.service.candidates()))

    assert only(events, ev.Skipped) == [
        ev.Skipped("ollama", "Skipped Ollama llama3.2: cannot see images")]
    assert chat_requests(ollama) == []
    [body] = chat_requests(gemini)
    assert body["contents"] == [{"role": "user", "parts": [
        {"inline_data": {"mime_type": "image/png", "data": PNG64}},
        {"text": "What is on my screen?"}]}]
    [done] = only(events, ev.AnswerFinished)
    assert done.provider == "gemini" and done.pdfs_as_text == ()
    # The first provider had the image in its own format too.
    [first] = chat_requests(main)
    assert first["messages"][0]["content"][0]["source"]["data"] == PNG64  # type: ignore[index]


async def test_an_earlier_image_goes_to_the_backup_in_its_own_format(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    # The image is two turns back; Ollama's /api/show says the model sees images.
    main, ollama = fakes["main"], fakes["ollama"]
    main.script(ErrorResponse(529))
    rig = rigs([entry("anthropic", main), entry("ollama", ollama)])
    rig.service.settings.providers["ollama"].model = "gemma3"
    turn = ask(rig, Message("user", "Look at this.", (IMAGE,)),
               Message("assistant", "A bar chart."), Message("user", "Which bar is tallest?"))

    events = await collect(rig.service.router.answer(turn, rig.service.candidates()))

    assert only(events, ev.Skipped) == []
    [body] = chat_requests(ollama)
    assert body["messages"] == [
        {"role": "user", "content": "Look at this.", "images": [PNG64]},
        {"role": "assistant", "content": "A bar chart."},
        {"role": "user", "content": "Which bar is tallest?"}]
    assert only(events, ev.AnswerFinished)[0].provider == "ollama"


async def test_a_setting_overrides_what_the_catalog_and_the_provider_say(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    ollama, gemini = fakes["ollama"], fakes["gemini"]
    rig = rigs([entry("gemini", gemini), entry("ollama", ollama)])
    rig.service.settings.providers["gemini"].vision = False  # the catalog says it sees
    rig.service.settings.providers["ollama"].model = "llama3.2"
    rig.service.settings.providers["ollama"].vision = True  # the catalog says it does not
    turn = ask(rig, Message("user", "And this?", (IMAGE,)))

    events = await collect(rig.service.router.answer(turn, rig.service.candidates()))

    assert only(events, ev.Skipped) == [
        ev.Skipped("gemini", "Skipped Gemini gemini-test: cannot see images")]
    assert chat_requests(gemini) == []
    assert chat_requests(ollama)[0]["messages"][0]["images"] == [PNG64]  # type: ignore[index]


async def test_a_conversation_longer_than_the_context_is_skipped_with_its_size(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    ollama, main = fakes["ollama"], fakes["main"]
    rig = rigs([entry("ollama", ollama), entry("anthropic", main)])
    rig.service.settings.providers["ollama"].model = "tiny"  # /api/show: 2048 tokens
    rig.service.settings.providers["ollama"].max_tokens = 100
    long = "word " * 8_000  # 40,000 characters: about 10,000 tokens

    events = await collect(rig.service.router.answer(
        ask(rig, Message("user", long)), rig.service.candidates()))

    [skipped] = only(events, ev.Skipped)
    assert skipped.notice == ("Skipped Ollama tiny: the conversation (about 10,100 tokens "
                              "with the answer's room) is longer than it takes (2,048 tokens)")
    assert chat_requests(ollama) == [] and len(chat_requests(main)) == 1
    assert only(events, ev.AnswerFinished)[0].provider == "anthropic"


async def test_context_tokens_in_settings_decides_without_asking(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    gemini, main = fakes["gemini"], fakes["main"]
    rig = rigs([entry("gemini", gemini), entry("anthropic", main)])
    rig.service.settings.providers["gemini"].context_tokens = 5_000
    events = await collect(rig.service.router.answer(
        ask(rig, Message("user", "x" * 20_000)), rig.service.candidates()))
    assert [s.provider for s in only(events, ev.Skipped)] == ["gemini"]
    assert only(events, ev.AnswerFinished)[0].provider == "anthropic"


async def test_a_pdf_blind_model_gets_the_pdf_text_and_the_provenance_says_so(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    # An OpenAI-compatible server that is not api.openai.com takes no `file` parts.
    openai = fakes["openai"]
    rig = rigs([entry("openai", openai)])
    turn = ask(rig, Message("user", "Sum it up.", (DOC,)))

    events = await collect(rig.service.router.answer(turn, rig.service.candidates()))

    assert only(events, ev.Skipped) == []
    [started] = only(events, ev.AttemptStarted)
    [done] = only(events, ev.AnswerFinished)
    assert started.pdfs_as_text == done.pdfs_as_text == ("report.pdf",)
    assert wording.pdfs_as_text(done.provider, done.pdfs_as_text) == (
        "OpenAI got report.pdf as its extracted text (it is not known to read PDFs)")
    [body] = chat_requests(openai)
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "Sum it up."},
        {"type": "text", "text": "File: report.pdf (the text of the PDF)\n```\n"
                                 "Revenue rose by 4%.\n```"}]}]


async def test_a_model_that_reads_pdfs_gets_the_pdf_itself(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    main = fakes["main"]
    rig = rigs([entry("anthropic", main)])
    events = await collect(rig.service.router.answer(
        ask(rig, Message("user", "Sum it up.", (DOC,))), rig.service.candidates()))
    [body] = chat_requests(main)
    assert body["messages"][0]["content"][0]["type"] == "document"  # type: ignore[index]
    assert only(events, ev.AnswerFinished)[0].pdfs_as_text == ()


async def test_when_no_model_can_take_it_the_message_waits_with_the_reason(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    ollama, openai = fakes["ollama"], fakes["openai"]
    rig = rigs([entry("ollama", ollama), entry("openai", openai)])
    rig.service.settings.providers["ollama"].model = "llama3.2"
    rig.service.settings.providers["openai"].pdf = False
    turn = ask(rig, Message("user", "What do these say?", (IMAGE, SCANNED)))

    events = await collect(rig.service.router.answer(turn, rig.service.candidates()))

    assert [s.notice for s in only(events, ev.Skipped)] == [
        "Skipped Ollama llama3.2: cannot see images",
        "Skipped OpenAI gpt-test: cannot read PDFs, and scan.pdf has no text to send instead"]
    [pending] = only(events, ev.AnswerPending)
    assert pending.reason.startswith(
        "no provider can take this conversation (ollama llama3.2: cannot see images; "
        "openai gpt-test: cannot read PDFs, and scan.pdf has no text to send instead); "
        "your message is kept")
    assert rig.store.get_message(turn.user_message_id).status == MessageStatus.PENDING
    assert chat_requests(ollama) == chat_requests(openai) == []


async def test_a_short_text_conversation_asks_no_provider_what_its_model_takes(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    ollama = fakes["ollama"]
    rig = rigs([entry("ollama", ollama)])
    await collect(rig.service.router.answer(ask(rig, Message("user", "hi")),
                                            rig.service.candidates()))
    assert [r.path for r in ollama.requests] == ["/api/chat"]


async def test_the_provider_is_asked_once_per_session(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    ollama = fakes["ollama"]
    rig = rigs([entry("ollama", ollama)])
    rig.service.settings.providers["ollama"].model = "gemma3"
    for _ in range(2):
        await collect(rig.service.router.answer(
            ask(rig, Message("user", "and this?", (IMAGE,))), rig.service.candidates()))
    assert [r.path for r in ollama.requests] == ["/api/show", "/api/chat", "/api/chat"]


async def test_a_rejected_image_to_a_model_of_unknown_sight_fails_over_and_is_learnt(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    # An OpenAI-compatible server's model: nothing says whether it sees, so it is tried; its
    # 400 would stop a text answer, but here the image is the likely cause.
    openai, gemini = fakes["openai"], fakes["gemini"]
    openai.script(ErrorResponse(400, {"error": {
        "message": "image input is not supported by this model",
        "type": "invalid_request_error"}}))
    rig = rigs([entry("openai", openai), entry("gemini", gemini)])

    first = await collect(rig.service.router.answer(
        ask(rig, Message("user", "What is it?", (IMAGE,))), rig.service.candidates()))
    again = await collect(rig.service.router.answer(
        ask(rig, Message("user", "And now?", (IMAGE,))), rig.service.candidates()))

    assert [e.provider for e in only(first, ev.AttemptFailed)] == ["openai"]
    assert only(first, ev.AnswerFinished)[0].provider == "gemini"
    assert only(again, ev.Skipped) == [
        ev.Skipped("openai", "Skipped OpenAI gpt-test: cannot see images")]
    assert len(chat_requests(openai)) == 1 and len(chat_requests(gemini)) == 2


async def test_a_bad_request_without_attachments_still_stops(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    openai, gemini = fakes["openai"], fakes["gemini"]
    openai.script(ErrorResponse(400, {"error": {"message": "bad temperature",
                                                "type": "invalid_request_error"}}))
    rig = rigs([entry("openai", openai), entry("gemini", gemini)])
    events = await collect(rig.service.router.answer(ask(rig, Message("user", "hi")),
                                                     rig.service.candidates()))
    assert only(events, ev.AnswerStopped) and chat_requests(gemini) == []


async def test_sent_from_the_service_the_image_reaches_the_backup_that_sees(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    # End to end: ChatService.send stores the attachment, the router carries it over.
    main, ollama, gemini = fakes["main"], fakes["ollama"], fakes["gemini"]
    main.script(ErrorResponse(529))
    rig = rigs([entry("anthropic", main), entry("ollama", ollama), entry("gemini", gemini)])
    rig.service.settings.providers["ollama"].model = "llama3.2"

    events = await collect(rig.service.send("What is this?", attachments=[IMAGE]))

    assert [s.notice for s in only(events, ev.Skipped)] == [
        "Skipped Ollama llama3.2: cannot see images"]
    [body] = chat_requests(gemini)
    assert body["contents"][0]["parts"][0] == {  # type: ignore[index]
        "inline_data": {"mime_type": "image/png", "data": PNG64}}


async def test_a_hedge_partner_must_be_able_to_see_the_image(
    fakes: dict[str, FakeProvider], rigs: Callable[..., Rig],
) -> None:
    from chatdesk.failover.deadline import DeadlineRule
    from tests.failover.test_deadline import teach
    from tests.failover.test_hedge import hang
    from tests.fakes.server import Synth
    from tests.helpers import MODELS

    main, openai, gemini = fakes["main"], fakes["openai"], fakes["gemini"]
    rig = rigs([entry("anthropic", main), entry("openai", openai), entry("gemini", gemini)],
               first_token_timeout_s=3.0, stall_timeout_s=2.0)
    rig.service.deadlines.rule = DeadlineRule(floor_s=0.2)
    rig.service.settings.failover.hedge = True
    rig.service.settings.providers["openai"].vision = False
    teach(rig.store, "anthropic", MODELS["anthropic"], [0.01] * 20)
    main.script(hang())
    gemini.script(Synth(["A cat."]))

    events = await collect(rig.service.send("What is this?", attachments=[IMAGE]))

    [hedged] = only(events, ev.Hedged)
    assert hedged.backup == "gemini"
    assert chat_requests(openai) == []
    assert only(events, ev.AnswerFinished)[0].provider == "gemini"
    assert chat_requests(gemini)[0]["contents"][0]["parts"][0]["inline_data"][  # type: ignore[index]
        "data"] == PNG64
