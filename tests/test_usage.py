"""Usage and cost (issue 16): prices, overrides, totals, `chatdesk usage`, monthly budgets."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from chatdesk.cli import main
from chatdesk.failover.budget import BudgetBook
from chatdesk.pricing import FREE, Tokens, cost_usd, price_for, shipped_prices
from chatdesk.settings import ModelPrice, ProviderSettings, Settings, parse_settings
from chatdesk.store import HistoryStore, to_iso
from chatdesk.usage import (
    By,
    SinceError,
    answer_costs,
    answers_since,
    by_day,
    conversation_cost,
    grand_total,
    parse_since,
    totals,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

SETTINGS = """
[failover]
order = ["anthropic", "openai", "gemini", "ollama", "router"]

[providers.anthropic]
type = "anthropic"

[providers.openai]
type = "openai"
monthly_budget_usd = 20

[providers.gemini]
type = "gemini"

[providers.ollama]
type = "ollama"

[providers.router]
type = "openai"
base_url = "https://openrouter.ai/api/v1"
model = "some/unpriced-model"
"""


def settings(text: str = SETTINGS, path: Path = Path("settings.toml")) -> Settings:
    return parse_settings(text, path)


def answer(store: HistoryStore, conversation: int, provider: str, model: str, at: datetime,
           inp: int | None, out: int | None, cached: int | None = None,
           reasoning: int | None = None) -> int:
    message = store.add_message(conversation, "assistant", "", created_at=to_iso(at))
    store.finish_message(message.id, content="an answer", status="complete", provider=provider,
                         model=model, input_tokens=inp, output_tokens=out,
                         cached_input_tokens=cached, reasoning_tokens=reasoning)
    return message.id


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    opened = HistoryStore.open(tmp_path / "history.db")
    yield opened
    opened.close()


# -- prices ------------------------------------------------------------------------------

def test_every_shipped_row_cites_its_page_and_the_day_it_was_checked() -> None:
    rows = shipped_prices()
    assert {"claude-sonnet-4-5", "gpt-4o", "gemini-2.5-flash", "deepseek-chat"} <= set(rows)
    for row in rows.values():
        assert row.source.startswith("https://") and "pricing" in row.source + row.confirmed
        assert date.fromisoformat(row.checked) <= date(2026, 12, 4)
        assert row.api in ("anthropic", "openai", "gemini")
        assert 0 < row.price.input <= row.price.output


def test_cost_of_input_and_output_tokens() -> None:
    price = ModelPrice(3.0, 15.0)
    assert cost_usd(Tokens(1_000_000, 0), price) == pytest.approx(3.0)
    assert cost_usd(Tokens(2000, 1000), price) == pytest.approx(0.006 + 0.015)


def test_cached_input_is_billed_at_its_own_rate_and_reasoning_at_output_unless_set() -> None:
    gpt4o = price_for("gpt-4o", ProviderSettings("openai", "openai", "gpt-4o"), settings())
    assert gpt4o == ModelPrice(2.5, 10.0, 1.25)
    # 10,000 in of which 8,000 from the cache; 1,000 out of which 600 thinking.
    tokens = Tokens(10_000, 1000, cached_input=8000, reasoning=600)
    assert cost_usd(tokens, gpt4o) == pytest.approx(
        (2000 * 2.5 + 8000 * 1.25 + 1000 * 10.0) / 1e6)
    dear_thinking = ModelPrice(2.5, 10.0, 1.25, reasoning=40.0)
    assert cost_usd(tokens, dear_thinking) == pytest.approx(
        (2000 * 2.5 + 8000 * 1.25 + 400 * 10.0 + 600 * 40.0) / 1e6)


def test_a_long_prompt_is_billed_at_the_higher_tier() -> None:
    sonnet = price_for("claude-sonnet-4-5", None, settings())
    assert sonnet is not None
    assert cost_usd(Tokens(200_000, 0), sonnet) == pytest.approx(0.6)  # at the threshold
    assert cost_usd(Tokens(300_000, 1000), sonnet) == pytest.approx(1.8 + 0.0225)


def test_dated_anthropic_ids_and_aliases_find_their_row() -> None:
    entry = ProviderSettings("anthropic", "anthropic", "x")
    assert price_for("claude-sonnet-4-5-20250929", entry, settings()) == \
        price_for("claude-sonnet-4-5", entry, settings())
    assert price_for("claude-sonnet-4-20250514", entry, settings()) is not None


def test_unknown_prices_are_null_never_a_guess() -> None:
    s = settings()
    router = s.providers["router"]
    assert price_for("some/unpriced-model", router, s) is None
    assert price_for("mistral-large-latest", s.providers["openai"], s) is None
    # An OpenAI snapshot may be priced unlike its alias: not guessed from it.
    assert price_for("gpt-4o-2024-05-13", s.providers["openai"], s) is None
    # A row applies to its own protocol only: gpt-4o behind an Anthropic-type entry is not it.
    assert price_for("gpt-4o", s.providers["anthropic"], s) is None
    assert cost_usd(Tokens(100, 100), None) is None
    # A known price with no token counts reported: unknown too.
    assert cost_usd(Tokens(None, 12), ModelPrice(1, 1)) is None


def test_local_models_cost_nothing() -> None:
    s = settings(SETTINGS + '\n[providers.llamacpp]\ntype = "openai"\n'
                            'base_url = "http://127.0.0.1:8080/v1"\nmodel = "gpt-4o"\n')
    assert price_for("llama3.2", s.providers["ollama"], s) == FREE
    assert price_for("gpt-4o", s.providers["llamacpp"], s) == FREE
    assert cost_usd(Tokens(None, None), FREE) == 0.0


def test_settings_override_the_shipped_prices() -> None:
    s = settings(SETTINGS.replace('model = "some/unpriced-model"',
                                  'model = "some/unpriced-model"\nprice_input = 1.5\n'
                                  'price_output = 6\nprice_cached_input = 0.5')
                 + '\n[prices."gpt-4o"]\ninput = 2\noutput = 8\n'
                   '\n[prices."mistral-large-latest"]\ninput = 2\noutput = 6\n')
    assert price_for("gpt-4o", s.providers["openai"], s) == ModelPrice(2.0, 8.0)
    assert price_for("mistral-large-latest", s.providers["router"], s) == \
        ModelPrice(1.5, 6.0, 0.5)  # the entry's own price wins over [prices]
    assert price_for("mistral-large-latest", None, s) == ModelPrice(2.0, 6.0)


@pytest.mark.parametrize(("extra", "line", "says"), [
    ('\n[prices."gpt-4o"]\ninput = 2\n', 23, 'needs output'),
    ('\n[prices."gpt-4o"]\ninput = -1\noutput = 2\n', 24, "input must be a price"),
    ('\n[prices."gpt-4o"]\ninput = 1\noutput = 2\ncached_inptu = 1\n', 26,
     'did you mean "cached_input"'),
    ('\n[prices."gpt-4o"]\ninput = 1\noutput = 2\nabove_tokens = 5\n', 26, "together"),
    ('\n[prices]\n"gpt-4o" = 3\n', 24, "must be a table"),
])
def test_bad_price_tables_are_one_sentence_with_their_line(extra: str, line: int,
                                                           says: str) -> None:
    from chatdesk.settings import SettingsError

    with pytest.raises(SettingsError) as caught:
        settings(SETTINGS + extra)
    assert caught.value.line == line
    assert says in caught.value.problem
    assert caught.value.problem.count(". ") == 0  # one sentence


@pytest.mark.parametrize(("key_lines", "says"), [
    ("price_input = 2", "price_input and price_output together"),
    ('price_input = "2"\nprice_output = 3', "price_input must be a price"),
    ("monthly_budget_usd = 0", "monthly_budget_usd must be a month's spending"),
    ("monthly_budget_usd = true", "monthly_budget_usd must be a month's spending"),
])
def test_bad_provider_prices_and_budgets(key_lines: str, says: str) -> None:
    from chatdesk.settings import SettingsError

    text = SETTINGS.replace('type = "gemini"', 'type = "gemini"\n' + key_lines)
    with pytest.raises(SettingsError, match=says) as caught:
        settings(text)
    assert caught.value.line is not None and caught.value.line > 10


# -- totals ------------------------------------------------------------------------------

def test_totals_by_provider_model_key_conversation_and_day(store: HistoryStore) -> None:
    s = settings()
    one = store.create_conversation("one").id
    two = store.create_conversation("two").id
    answer(store, one, "anthropic", "claude-sonnet-4-5", datetime(2026, 12, 1, 9, tzinfo=UTC),
           1000, 500)  # 0.003 + 0.0075
    answer(store, one, "openai", "gpt-4o", datetime(2026, 12, 2, 9, tzinfo=UTC),
           2000, 100, cached=1000)  # 0.0025 + 0.00125 + 0.001
    answer(store, two, "openai", "gpt-4o-mini", datetime(2026, 12, 2, 10, tzinfo=UTC),
           1000, 1000)  # 0.00015 + 0.0006
    answer(store, two, "ollama", "llama3.2", datetime(2026, 12, 3, 9, tzinfo=UTC), 50, 60)
    answer(store, two, "router", "some/unpriced-model", datetime(2026, 12, 3, 9, tzinfo=UTC),
           10, 20)
    answer(store, two, "openai", "gpt-4o", datetime(2026, 10, 1, tzinfo=UTC), 9, 9)  # too old
    answers = answers_since(store, s, datetime(2026, 11, 4, tzinfo=UTC))
    assert len(answers) == 5

    by_provider = {t.group: t for t in totals(answers, By.PROVIDER)}
    assert by_provider["openai"].answers == 2
    assert by_provider["openai"].input_tokens == 3000
    assert by_provider["openai"].cost_usd == pytest.approx(0.00475 + 0.00075)
    assert by_provider["anthropic"].cost_usd == pytest.approx(0.0105)
    assert by_provider["ollama"].cost_usd == 0.0
    assert by_provider["router"].cost_usd is None and by_provider["router"].unpriced == 1
    assert [t.group for t in totals(answers, By.PROVIDER)][-1] == "router"  # unknown last

    by_model = {t.group: t for t in totals(answers, By.MODEL)}
    assert by_model["gpt-4o"].cost_usd == pytest.approx(0.00475)
    assert by_model["gpt-4o-mini"].cost_usd == pytest.approx(0.00075)

    assert {t.group: t.answers for t in totals(answers, By.KEY)} == {"unknown": 5}
    assert {t.group: t.answers for t in totals(answers, By.CONVERSATION)} == \
        {str(one): 2, str(two): 3}
    assert conversation_cost(store, s, one).cost_usd == pytest.approx(0.0105 + 0.00475)

    days = by_day(answers, date(2026, 12, 1), date(2026, 12, 4))
    assert [d.day.day for d in days] == [1, 2, 3, 4]
    assert days[1].cost_by_provider == {"openai": pytest.approx(0.0055)}
    assert days[2].answers_by_provider == {"ollama": 1, "router": 1}
    assert days[3].cost_usd == 0

    total = grand_total(answers)
    assert total.answers == 5 and total.unpriced == 1
    assert total.cost_usd == pytest.approx(0.0105 + 0.0055)


def test_by_key_reads_the_key_pools_fingerprints_when_attempts_have_them(
        store: HistoryStore) -> None:
    conv = store.create_conversation("keys").id
    first = answer(store, conv, "openai", "gpt-4o", NOW, 100, 10)
    second = answer(store, conv, "openai", "gpt-4o", NOW, 100, 10)
    answer(store, conv, "openai", "gpt-4o", NOW, 100, 10)  # an answer from before key names
    for message, fingerprint in ((first, "sk-…3f9a"), (second, "sk-…77c1")):
        attempt = store.start_attempt(message, "openai", "gpt-4o")
        store.finish_attempt(attempt, outcome="ok")
        store.db.execute("UPDATE attempts SET key_fingerprint = ? WHERE id = ?",
                         (fingerprint, attempt))
    store.db.conn.commit()
    groups = {t.group: t.answers for t in totals(
        answers_since(store, settings(), datetime(2026, 1, 1, tzinfo=UTC)), By.KEY)}
    assert groups == {"sk-…3f9a": 1, "sk-…77c1": 1, "unknown": 1}


def test_imported_histories_and_unanswered_messages_are_not_counted(
        store: HistoryStore) -> None:
    imported = store.create_conversation("from ChatGPT", source="chatgpt", source_id="x").id
    answer(store, imported, "openai", "gpt-4o", NOW, 100, 100)
    mine = store.create_conversation("mine").id
    failed = store.add_message(mine, "assistant", "", created_at=to_iso(NOW))
    store.finish_message(failed.id, content="", status="failed", provider="openai",
                         model="gpt-4o")
    store.add_message(mine, "user", "hello", created_at=to_iso(NOW))
    assert answers_since(store, settings(), datetime(2026, 1, 1, tzinfo=UTC)) == []


# -- --since -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("30d", datetime(2026, 11, 4, 12, tzinfo=UTC)),
    ("2w", datetime(2026, 11, 20, 12, tzinfo=UTC)),
    ("0d", NOW),
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ("2026-11-01T08:30:00+01:00", datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
])
def test_since_takes_days_weeks_or_an_iso_date(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["30", "30m", "last month", "-3d", "2026-13-01", ""])
def test_a_bad_since_is_one_sentence(text: str) -> None:
    with pytest.raises(SinceError) as caught:
        parse_since(text, NOW)
    message = str(caught.value)
    assert message.startswith("--since takes") and message.endswith(".")
    assert message.count(". ") == 0


# -- chatdesk usage ----------------------------------------------------------------------

@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "settings.toml").write_text(SETTINGS, encoding="utf-8")
    monkeypatch.setenv("CHATDESK_DATA_DIR", str(directory))
    return directory


def fill(data_dir: Path) -> None:
    recent = datetime.now(UTC).replace(microsecond=0)
    with HistoryStore.open(data_dir / "history.db") as s:
        conv = s.create_conversation("costs").id
        answer(s, conv, "anthropic", "claude-sonnet-4-5", recent, 1000, 500)
        answer(s, conv, "openai", "gpt-4o", recent, 2000, 100, cached=1000)
        answer(s, conv, "router", "some/unpriced-model", recent, 10, 20)


def test_usage_json_shape(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill(data_dir)
    assert main(["usage", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [set(r) for r in rows] == [
        {"provider", "answers", "input_tokens", "output_tokens", "cost_usd",
         "unpriced_answers"}] * 3
    assert rows[0] == {"provider": "anthropic", "answers": 1, "input_tokens": 1000,
                       "output_tokens": 500, "cost_usd": 0.0105, "unpriced_answers": 0}
    assert rows[-1]["provider"] == "router" and rows[-1]["cost_usd"] is None

    assert main(["usage", "--json", "--by", "model", "--since", "1w"]) == 0
    by_model = json.loads(capsys.readouterr().out)
    assert {r["model"] for r in by_model} == {"claude-sonnet-4-5", "gpt-4o",
                                              "some/unpriced-model"}
    assert main(["usage", "--json", "--by", "key"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["key"] == "unknown"


def test_usage_table_has_a_row_per_provider_and_the_totals(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill(data_dir)
    assert main(["usage"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Since ") and lines[0].endswith("by provider:")
    assert lines[2].split()[:5] == ["provider", "answers", "input", "tokens", "output"]
    assert lines[3].split() == ["anthropic", "1", "1,000", "500", "$0.01"]
    assert "router" in out and "unknown" in out
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[:4] == ["total", "3", "3,010", "620"]
    assert "+ 1 answer with no known price" in total
    assert "  openai: $0.0047 of $20.00 (0%)" in out  # the month's budget ($0.00475)


def test_usage_with_nothing_yet_and_a_bad_since(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["usage"]) == 0
    assert "No answers since" in capsys.readouterr().err
    assert main(["usage", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["usage", "--since", "yesterday"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ('chatdesk: --since takes a number of days or weeks ("30d", "2w") or a date '
                   '("2026-11-01"), not "yesterday".')
    assert main(["usage", "--by", "colour"]) == 2


# -- monthly budgets ---------------------------------------------------------------------

class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_budget_warns_once_at_80_percent_skips_at_100_and_resets_next_month(
        store: HistoryStore) -> None:
    s = settings()
    clock = Clock(datetime(2026, 12, 10, tzinfo=UTC))
    book = BudgetBook(store, lambda: s, clock)
    openai = s.providers["openai"]
    conv = store.create_conversation("spending").id

    def spend(dollars: float) -> None:  # gpt-4o: $10 per million output tokens
        answer(store, conv, "openai", "gpt-4o", clock.now, 0, int(dollars * 100_000))

    spend(15.0)  # 75 %
    assert book.notices() == [] and book.skip_reason(openai) is None
    spend(1.0)  # 80 %
    notices = book.notices()
    assert [n.text for n in notices] == [
        "OpenAI has used $16.00 of this month's $20.00 budget (80 %); once it is spent, "
        "chatdesk skips OpenAI until 1 January."]
    spend(1.0)
    assert book.notices() == []  # once a month
    assert BudgetBook(store, lambda: s, clock).notices() == []  # in every process
    assert book.skip_reason(openai) is None

    spend(3.0)  # 100 %
    assert book.skip_reason(openai) == (
        "openai: this month's budget of $20.00 is spent",
        "Skipped OpenAI: this month's budget of $20.00 is spent")
    assert [n.level for n in book.notices()] == [100]
    assert book.notices() == []
    assert book.skip_reason(s.providers["anthropic"]) is None  # no budget, no limit

    clock.now = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)  # a new month
    assert book.skip_reason(openai) is None
    assert book.notices() == []
    spend(16.0)
    assert [n.level for n in book.notices()] == [80]  # warned again, in the new month


# -- what the wire reports (field layouts of the providers' API references) --------------

def test_openai_and_deepseek_cached_and_reasoning_counts() -> None:
    from chatdesk.providers.base import Usage
    from chatdesk.providers.openai import _usage

    # OpenAI: usage.prompt_tokens_details.cached_tokens, completion_tokens_details.
    assert _usage({"prompt_tokens": 2006, "completion_tokens": 300,
                   "prompt_tokens_details": {"cached_tokens": 1920},
                   "completion_tokens_details": {"reasoning_tokens": 128}}) == \
        Usage(2006, 300, 1920, 128)
    # DeepSeek: prompt_cache_hit_tokens (and _miss_) beside prompt_tokens.
    assert _usage({"prompt_tokens": 100, "completion_tokens": 5,
                   "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36}) == \
        Usage(100, 5, 64, None)
    assert _usage({"prompt_tokens": 3, "completion_tokens": 1}) == Usage(3, 1)


def test_anthropic_cache_reads_and_writes_count_as_input() -> None:
    from chatdesk.providers.anthropic import _cache_counts, _with_cache

    usage = {"input_tokens": 21, "cache_creation_input_tokens": 188086,
             "cache_read_input_tokens": 0}
    cached, written = _cache_counts(usage, None, None)
    assert (cached, written) == (0, 188086)
    assert _with_cache(21, cached, written) == 188107
    assert _cache_counts({"output_tokens": 5}, 7, 0) == (7, 0)  # a later event is silent


def test_ask_says_on_stderr_once_when_80_percent_of_the_budget_is_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fakes.server import FakeProvider
    from tests.helpers import MODELS, key_env, write_settings

    directory = tmp_path / "data"
    monkeypatch.setenv("CHATDESK_DATA_DIR", str(directory))
    with FakeProvider("openai") as fake:
        fakes = [("openai", fake)]
        path = write_settings(directory, fakes)
        path.write_text(path.read_text(encoding="utf-8").replace(
            "[providers.openai]", "[providers.openai]\nmonthly_budget_usd = 10")
            + f'\n[prices."{MODELS["openai"]}"]\ninput = 1\noutput = 10\n', encoding="utf-8")
        for var, value in key_env(fakes).items():
            monkeypatch.setenv(var, value)
        with HistoryStore.open(directory / "history.db") as s:  # $8.50 spent this month
            answer(s, s.create_conversation("earlier").id, "openai", MODELS["openai"],
                   datetime.now(UTC), 0, 850_000)
        assert main(["ask", "hello"]) == 0
        err = capsys.readouterr().err
        assert "chatdesk: OpenAI has used $8.50 of this month's $10.00 budget (85 %)" in err
        assert main(["ask", "again"]) == 0
        assert "budget" not in capsys.readouterr().err  # once a month


def test_answer_costs_of_a_conversation_are_the_priced_answers_of_it(
        store: HistoryStore) -> None:
    s = settings()
    one = store.create_conversation("one").id
    other = store.create_conversation("other").id
    priced = answer(store, one, "anthropic", "claude-sonnet-4-5",
                    datetime(2026, 12, 1, 9, tzinfo=UTC), 1000, 500)
    local = answer(store, one, "ollama", "llama3.2", datetime(2026, 12, 1, 10, tzinfo=UTC), 5, 6)
    answer(store, one, "router", "some/unpriced-model", datetime(2026, 12, 1, 11, tzinfo=UTC),
           10, 20)  # no price known: left out
    answer(store, other, "openai", "gpt-4o", datetime(2026, 12, 1, 9, tzinfo=UTC), 9, 9)
    costs = answer_costs(store, s, one)
    assert costs == {priced: pytest.approx(0.0105), local: 0.0}
    every = answers_since(store, s, datetime(1970, 1, 1, tzinfo=UTC), conversation_id=one)
    assert costs == {a.usage.message_id: a.cost_usd for a in every if a.cost_usd is not None}
