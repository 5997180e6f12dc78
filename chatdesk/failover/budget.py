"""Monthly budgets: an entry whose month's spending reached its budget is skipped, and the
user is told at 80 % and at 100 %, once per month and provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chatdesk import wording
from chatdesk.settings import ProviderSettings, Settings
from chatdesk.store import HistoryStore

if TYPE_CHECKING:  # chatdesk.usage (and pricing) load when a budget is first looked at:
    # most entries have none, and `ask` gets to its first byte without them (~3 ms)
    from chatdesk.usage import MonthSpend, Spending

WARN_AT = 0.8  # the share of the budget at which the user is warned
WARNED, SPENT = 80, 100  # the notices, as stored (budget_notices.level)


@dataclass(frozen=True)
class BudgetNotice:
    """A sentence for the user about one entry's budget."""

    provider: str
    level: int  # WARNED or SPENT
    text: str


class BudgetBook:
    """Decides whether an entry's budget is spent and which notices are due."""

    def __init__(self, store: HistoryStore, settings: Callable[[], Settings],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.now = now
        self.settings = settings
        self._spending_of = (store, settings, now)
        self._spending: Spending | None = None

    @property
    def spending(self) -> Spending:
        if self._spending is None:
            from chatdesk.usage import Spending

            self._spending = Spending(*self._spending_of)
        return self._spending

    def skip_reason(self, entry: ProviderSettings) -> tuple[str, str] | None:
        """(the reason, the skipped notice) when this month's budget of `entry` is spent;
        None when it has no budget or some is left."""
        budget = entry.monthly_budget_usd
        if not budget:
            return None
        spend = self.spending.month(entry.name)
        if spend.spent_usd < budget:
            return None
        return (wording.budget_reason(entry.name, budget),
                wording.skipped_budget(entry.name, budget))

    def notices(self) -> list[BudgetNotice]:
        """The notices due now (80 % reached, or all spent), each given once per month and
        provider across every process: they are marked given as they are returned."""
        from chatdesk.usage import month_key

        due = []
        month = month_key(self.now())
        for spend in self.spending.budgets():
            notice = self._notice(spend)
            if notice and self.store.note_budget_notice(spend.provider, month, notice.level):
                due.append(notice)
        return due

    def _notice(self, spend: MonthSpend) -> BudgetNotice | None:
        fraction, budget = spend.fraction, spend.budget_usd
        if fraction is None or budget is None or fraction < WARN_AT:
            return None
        upcoming = _next_month(self.now())
        if fraction >= 1:
            return BudgetNotice(spend.provider, SPENT,
                                wording.budget_reached(spend.provider, budget, upcoming))
        return BudgetNotice(spend.provider, WARNED,
                            wording.budget_near(spend.provider, spend.spent_usd, budget,
                                                upcoming))


def _next_month(now: datetime) -> str:
    """'1 January': when a spent budget starts again."""
    from chatdesk.usage import month_start

    start = month_start(now)
    following = start.replace(year=start.year + 1, month=1) if start.month == 12 else \
        start.replace(month=start.month + 1)
    return f"{following.day} {following.strftime('%B')}"
