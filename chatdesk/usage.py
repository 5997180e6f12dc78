"""Usage and cost: every answer priced, totals by provider, model, key, conversation and day."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from chatdesk.pricing import Tokens, cost_usd, price_for
from chatdesk.settings import Settings
from chatdesk.store import HistoryStore, to_iso
from chatdesk.store.usage import AnswerUsage

UNKNOWN_KEY = "unknown"  # an answer whose key was not recorded
DEFAULT_SINCE = "30d"
_SINCE = re.compile(r"^(\d{1,5})([dw])$")


class By(StrEnum):
    """What usage is totalled by."""

    PROVIDER = "provider"
    MODEL = "model"
    KEY = "key"
    CONVERSATION = "conversation"


@dataclass(frozen=True)
class PricedAnswer:
    """One answer's usage and what it cost (None: no price is known for it)."""

    usage: AnswerUsage
    cost_usd: float | None

    @property
    def day(self) -> date:
        return _parse_time(self.usage.at).date()


@dataclass
class UsageTotal:
    """The answers of one provider, model, key or conversation added up. `cost_usd` sums the
    priced ones (None when none is); `unpriced` counts the others."""

    group: str
    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    unpriced: int = 0

    def add(self, answer: PricedAnswer) -> None:
        self.answers += 1
        self.input_tokens += answer.usage.input_tokens or 0
        self.output_tokens += answer.usage.output_tokens or 0
        if answer.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost_usd = (self.cost_usd or 0.0) + answer.cost_usd


@dataclass(frozen=True)
class DayUsage:
    """One day's cost per provider (priced answers) and answers per provider."""

    day: date
    cost_by_provider: dict[str, float] = field(default_factory=dict)
    answers_by_provider: dict[str, int] = field(default_factory=dict)

    @property
    def cost_usd(self) -> float:
        return sum(self.cost_by_provider.values())


class SinceError(ValueError):
    """`--since` is neither Nd, Nw nor an ISO date; str() is one sentence."""


def parse_since(text: str, now: datetime) -> datetime:
    """The start of a period: "30d" and "2w" count back from `now`, "2026-11-01" (or an ISO
    time) is that moment (a date is its midnight, UTC)."""
    value = text.strip()
    match = _SINCE.match(value)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        return now - timedelta(days=count * (7 if unit == "w" else 1))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SinceError(f'--since takes a number of days or weeks ("30d", "2w") or a date '
                         f'("2026-11-01"), not "{text}".') from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def month_start(now: datetime) -> datetime:
    """The first moment of `now`'s calendar month, UTC (budgets are per such month)."""
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def month_key(now: datetime) -> str:
    """"2026-12": the month a budget notice belongs to."""
    return month_start(now).strftime("%Y-%m")


def price_answers(rows: Iterable[AnswerUsage], settings: Settings) -> list[PricedAnswer]:
    """Each answer with its cost at today's prices for its model and entry."""
    priced = []
    for row in rows:
        price = price_for(row.model, settings.providers.get(row.provider), settings)
        tokens = Tokens(row.input_tokens, row.output_tokens, row.cached_input_tokens,
                        row.reasoning_tokens)
        priced.append(PricedAnswer(row, cost_usd(tokens, price)))
    return priced


def answer_costs(store: HistoryStore, settings: Settings,
                 conversation_id: int) -> dict[int, float]:
    """What each answer of a conversation cost, by message id (answers with no price known
    are left out), priced one at a time as they are read."""
    costs: dict[int, float] = {}
    for row in store.answer_usage_of(conversation_id):
        price = price_for(row.model, settings.providers.get(row.provider), settings)
        cost = cost_usd(Tokens(row.input_tokens, row.output_tokens, row.cached_input_tokens,
                               row.reasoning_tokens), price)
        if cost is not None:
            costs[row.message_id] = cost
    return costs


def answers_since(store: HistoryStore, settings: Settings, since: datetime, *,
                  provider: str | None = None,
                  conversation_id: int | None = None) -> list[PricedAnswer]:
    """Every answer given since `since`, priced."""
    rows = store.answer_usage(to_iso(since), provider=provider, conversation_id=conversation_id)
    return price_answers(rows, settings)


def _group(answer: PricedAnswer, by: By) -> str:
    usage = answer.usage
    if by is By.PROVIDER:
        return usage.provider
    if by is By.MODEL:
        return usage.model or "unknown"
    if by is By.KEY:
        return usage.key_fingerprint or UNKNOWN_KEY
    return str(usage.conversation_id)


def totals(answers: Iterable[PricedAnswer], by: By) -> list[UsageTotal]:
    """The answers added up per group, dearest first (unpriced ones last, then by name)."""
    groups: dict[str, UsageTotal] = {}
    for answer in answers:
        name = _group(answer, by)
        groups.setdefault(name, UsageTotal(name)).add(answer)
    return sorted(groups.values(), key=lambda t: (t.cost_usd is None, -(t.cost_usd or 0.0),
                                                  t.group))


def grand_total(answers: Iterable[PricedAnswer]) -> UsageTotal:
    """Every answer added up."""
    total = UsageTotal("total")
    for answer in answers:
        total.add(answer)
    return total


def by_day(answers: Iterable[PricedAnswer], first: date, last: date) -> list[DayUsage]:
    """Each day from `first` to `last` (UTC days), empty ones included."""
    days = {first + timedelta(days=n): DayUsage(first + timedelta(days=n))
            for n in range((last - first).days + 1)}
    for answer in answers:
        day = days.get(answer.day)
        if day is None:
            continue
        name = answer.usage.provider
        day.answers_by_provider[name] = day.answers_by_provider.get(name, 0) + 1
        if answer.cost_usd is not None:
            day.cost_by_provider[name] = day.cost_by_provider.get(name, 0.0) + answer.cost_usd
    return list(days.values())


def total_json(total: UsageTotal, by: By) -> dict[str, object]:
    """`chatdesk usage --json`'s shape for one group."""
    return {by.value: total.group, "answers": total.answers,
            "input_tokens": total.input_tokens, "output_tokens": total.output_tokens,
            "cost_usd": None if total.cost_usd is None else round(total.cost_usd, 6),
            "unpriced_answers": total.unpriced}


@dataclass(frozen=True)
class MonthSpend:
    """One provider entry's spending this calendar month against its budget."""

    provider: str
    spent_usd: float  # priced answers only: an answer with no known price adds nothing
    budget_usd: float | None

    @property
    def fraction(self) -> float | None:
        return None if not self.budget_usd else self.spent_usd / self.budget_usd


class Spending:
    """This month's cost per provider entry, read from the history when asked."""

    def __init__(self, store: HistoryStore, settings: Callable[[], Settings],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.settings = settings
        self.now = now

    def month(self, provider: str) -> MonthSpend:
        settings = self.settings()
        entry = settings.providers.get(provider)
        answers = answers_since(self.store, settings, month_start(self.now()),
                                provider=provider)
        spent = sum(a.cost_usd for a in answers if a.cost_usd is not None)
        return MonthSpend(provider, spent, entry.monthly_budget_usd if entry else None)

    def budgets(self) -> list[MonthSpend]:
        """Every entry that has a budget, in failover order."""
        return [self.month(p.name) for p in self.settings().ordered_providers()
                if p.monthly_budget_usd]


def conversation_cost(store: HistoryStore, settings: Settings,
                      conversation_id: int) -> UsageTotal:
    """Everything one conversation's answers cost."""
    answers = answers_since(store, settings, datetime(1970, 1, 1, tzinfo=UTC),
                            conversation_id=conversation_id)
    total = grand_total(answers)
    total.group = str(conversation_id)
    return total


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class ProviderModelTotal:
    """One provider entry's answers from one model, added up."""

    provider: str
    model: str
    total: UsageTotal


@dataclass(frozen=True)
class UsageReport:
    """What the app's usage view shows: the last days by day and provider, the totals per
    provider and model, and this month's budgets."""

    days: list[DayUsage]
    providers: list[str]  # every provider in the period, dearest first
    rows: list[ProviderModelTotal]  # per provider (dearest first), then model
    total: UsageTotal
    budgets: list[MonthSpend]


def usage_report(store: HistoryStore, settings: Settings, now: datetime,
                 days: int = 30) -> UsageReport:
    """The last `days` days (today included, UTC) of answers."""
    last = now.astimezone(UTC).date()
    first = last - timedelta(days=days - 1)
    answers = answers_since(store, settings,
                            datetime(first.year, first.month, first.day, tzinfo=UTC))
    providers = [t.group for t in totals(answers, By.PROVIDER)]
    rows = []
    for provider in providers:
        mine = [a for a in answers if a.usage.provider == provider]
        rows += [ProviderModelTotal(provider, t.group, t) for t in totals(mine, By.MODEL)]
    spending = Spending(store, lambda: settings, lambda: now)
    return UsageReport(by_day(answers, first, last), providers, rows, grand_total(answers),
                       spending.budgets())
