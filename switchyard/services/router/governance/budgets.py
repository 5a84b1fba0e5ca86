"""Budgets per key, team and app: which apply to a request, their current windows, and the estimate reserved.

Windows are UTC: "daily" is the calendar day, "monthly" the calendar month, "<n>s" a fixed window of
n seconds counted from the Unix epoch (LiteLLM's other budget_durations), and "" one window that
never resets. Before any provider is called a request reserves its estimate in every budget that
applies, all at once (the store's ADMIT); the answer's real cost replaces the reservation (SETTLE),
a failure releases it, and a reservation nobody settles lapses after its TTL.

The estimate is deliberately pessimistic: the priciest deployment the resolved target may use,
times the prompt estimate plus max_tokens (or `estimate_output_tokens` when the request sets none)
for each of its `n` choices. Near a hard cap, where the estimate no longer fits, a request holds what
the tightest budget has left, provided that pays for its prompt and `min_output_tokens` per choice,
and its output is capped to what the hold pays for (`output_within`), so its real cost stays within
the hold.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence

from switchyard.config import ModelEntry
from switchyard.runtime.pricing import prices_of
from switchyard.services.router.governance.model import BudgetLine, Cap, KeyRecord, Scope, TeamRecord

DAY_S = 86_400


def window_bounds(window: str, now_s: float) -> tuple[int, int]:
    """Returns (start, end) of the window holding now, in Unix seconds; end is 0 when it never ends."""
    if window == "":
        return 0, 0
    if window == "daily":
        start = int(now_s // DAY_S) * DAY_S
        return start, start + DAY_S
    if window == "monthly":
        day = dt.datetime.fromtimestamp(now_s, dt.UTC)
        start = int(dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC).timestamp())
        return start, start + calendar.monthrange(day.year, day.month)[1] * DAY_S
    length = int(window.removesuffix("s"))
    start = int(now_s // length) * length
    return start, start + length


def place(scope: Scope, ident: str, label: str, caps: Iterable[Cap], now_s: float) -> list[BudgetLine]:
    """Returns one line per cap of one owner, each placed in its window holding now."""
    return [BudgetLine(scope, ident, label, cap, *window_bounds(cap.window, now_s)) for cap in caps]


# A key without budgets still has its lifetime spend counted (what KeyInfo.spend_usd shows).
LIFETIME = Cap("")


def key_lines(key: KeyRecord, now_s: float) -> list[BudgetLine]:
    return place("key", key.token, key.key_prefix, key.limits.budgets or (LIFETIME,), now_s)


def team_lines(team: TeamRecord, now_s: float) -> list[BudgetLine]:
    return place("team", team.team_id, team.team_id, team.limits.budgets, now_s)


def app_lines(app: str, caps: Sequence[Cap], now_s: float) -> list[BudgetLine]:
    return place("app", app, app, caps, now_s)


def lines_of(
    key: KeyRecord | None, team: TeamRecord | None, apps: Mapping[str, Sequence[Cap]], now_s: float
) -> list[BudgetLine]:
    """Returns every budget a request of this key applies to: the key's, its app's and its team's."""
    lines: list[BudgetLine] = []
    if key is not None:
        lines += key_lines(key, now_s)
        if key.app:
            lines += app_lines(key.app, apps.get(key.app, ()), now_s)
    if team is not None:
        lines += team_lines(team, now_s)
    return lines


def estimate_usd(entries: Iterable[ModelEntry], prompt_tokens: int, output_tokens: int) -> float:
    """Returns the reservation of a request: its size priced at the priciest deployment it may reach."""
    return max((prices_of(entry).of(prompt_tokens, output_tokens) for entry in entries), default=0.0)


# Float error in the division below must never round a limit up past what the hold pays for, nor a
# limit the hold pays exactly down by a whole token: a relative nudge far below one nano-dollar.
_NUDGE = 1e-12


def output_within(entries: Iterable[ModelEntry], prompt_tokens: int, usd: float, choices: int = 1) -> int | None:
    """Returns the most output tokens per choice a request of prompt_tokens may produce without costing more
    than usd at any of these deployments (at least 1); None when none of them charges for output."""
    limits = []
    for entry in entries:
        prices = prices_of(entry)
        if prices.output > 0:
            left = usd - prices.of(prompt_tokens, 0)
            limits.append(math.floor(left / prices.output / max(choices, 1) * (1 + _NUDGE)))
    return max(min(limits), 1) if limits else None
