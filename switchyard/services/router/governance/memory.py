"""The governance store in this process: the embedded default, and the Redis store's fallback twin.

Same semantics as the Lua scripts in lua.py, entry for entry, on a clock that tests may inject.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from switchyard.services.router.governance.model import (
    Alert,
    BudgetLine,
    CapName,
    Clearance,
    Hold,
    KeyRecord,
    Level,
    RateLine,
    TeamRecord,
    cap_nano,
    from_nano,
)
from switchyard.services.router.governance.store import RATE_WINDOW_S
from switchyard.services.router.state.window import RateWindow

Clock = Callable[[], float]
CAPS: tuple[CapName, ...] = ("soft", "hard")
LEVELS: tuple[Level, ...] = ("80", "100")


@dataclass
class _Budget:
    spent: int = 0
    # held: hold id -> (nano-USD, lapses at)
    held: dict[str, tuple[int, float]] = field(default_factory=dict)

    def drop(self, now: float) -> None:
        for hold, (_, until) in list(self.held.items()):
            if until <= now:
                del self.held[hold]

    @property
    def reserved(self) -> int:
        return sum(amount for amount, _ in self.held.values())


class MemoryGovernance:
    """Keys, teams, rate windows and budgets of one process (see GovernanceStore)."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._keys: dict[str, KeyRecord] = {}
        self._teams: dict[str, TeamRecord] = {}
        self._windows: dict[tuple[str, str], RateWindow] = {}
        self._budgets: dict[str, _Budget] = {}
        # alert flag -> when it lapses (0: never)
        self._alerts: dict[str, float] = {}
        self._ids = itertools.count(1)

    @property
    def degraded(self) -> bool:
        return False

    def now(self) -> float:
        return self._clock()

    def adopt(self, line: BudgetLine, spent: int) -> None:
        """Starts a budget from what the shared store last said it had spent (when it became unreachable)."""
        budget = self._budgets.setdefault(line.slot, _Budget())
        budget.spent = max(budget.spent, spent)

    async def admit(
        self,
        token: str | None,
        rates: Sequence[RateLine],
        lines: Sequence[BudgetLine],
        *,
        estimate_nano: int,
        tokens: int,
        hold_ttl_s: float,
        minimum_nano: int | None = None,
        hold_id: str = "",
    ) -> Clearance:
        now = self._clock()
        if token is not None:
            record = self._keys.get(token)
            if record is None:
                return Clearance(None, "unknown")
            if record.revoked:
                return Clearance(None, "revoked")
        for index, rate in enumerate(rates):
            refusal = self._rate_refusal(index, rate, tokens, now)
            if refusal is not None:
                return refusal
        least = estimate_nano if minimum_nano is None else min(minimum_nano, estimate_nano)
        held = self._held(lines, estimate_nano, least, now)
        if isinstance(held, Clearance):
            return held
        hold_id = hold_id or f"m{next(self._ids)}"
        hold = Hold(hold_id, tuple(rates), tuple(lines), held, tokens, local=True, partial=held < estimate_nano)
        for rate in rates:
            self._windows[(rate.scope, rate.ident)].add(hold.id, now, tokens)
        for line in lines:
            self._budgets[line.slot].held[hold.id] = (held, now + hold_ttl_s)
        return Clearance(hold)

    def _held(self, lines: Sequence[BudgetLine], estimate: int, least: int, now: float) -> int | Clearance:
        """Returns what to hold in every budget: the estimate when all can pay it, else what the tightest hard
        cap has left when that is at least `least`; or the refusal naming the tightest budget."""
        room, tightest = None, -1
        for index, line in enumerate(lines):
            budget = self._budgets.setdefault(line.slot, _Budget())
            budget.drop(now)
            hard = cap_nano(line.cap.hard_usd)
            left = hard - budget.spent - budget.reserved
            if hard > 0 and (room is None or left < room):
                room, tightest = left, index
        if room is None or room >= estimate:
            return estimate
        if room >= least:
            return room
        budget = self._budgets[lines[tightest].slot]
        return Clearance(None, "budget", tightest, None, budget.spent, budget.reserved)

    def _rate_refusal(self, index: int, rate: RateLine, tokens: int, now: float) -> Clearance | None:
        window = self._windows.setdefault((rate.scope, rate.ident), RateWindow())
        window.trim(now - RATE_WINDOW_S)
        over = window.over(rate.rpm, rate.tpm, tokens, now, window_s=RATE_WINDOW_S)
        return None if over is None else Clearance(None, over[0], index, over[1])

    async def settle(self, hold: Hold, cost_nano: int, tokens: int) -> list[Alert]:
        for rate in hold.rates:
            self._windows.setdefault((rate.scope, rate.ident), RateWindow()).resize(hold.id, tokens)
        alerts: list[Alert] = []
        now = self._clock()
        for line in hold.lines:
            budget = self._budgets.setdefault(line.slot, _Budget())
            budget.held.pop(hold.id, None)
            budget.spent += cost_nano
            alerts += self._raise(line, budget.spent, now)
        return alerts

    def _raise(self, line: BudgetLine, spent: int, now: float) -> list[Alert]:
        raised: list[Alert] = []
        for cap in CAPS:
            nano = cap_nano(line.cap.soft_usd if cap == "soft" else line.cap.hard_usd)
            for level in LEVELS:
                if nano <= 0 or spent * 100 < nano * int(level):
                    continue
                flag = f"{line.slot}:{cap}:{level}"
                until = self._alerts.get(flag)
                if until is not None and (until == 0 or until > now):
                    continue
                self._alerts[flag] = float(line.end_s)
                raised.append(Alert(line, cap, level, from_nano(spent)))
        return raised

    async def usage(self, lines: Sequence[BudgetLine]) -> list[tuple[int, int]]:
        now = self._clock()
        out = []
        for line in lines:
            budget = self._budgets.get(line.slot, _Budget())
            budget.drop(now)
            out.append((budget.spent, budget.reserved))
        return out

    async def put_key(self, record: KeyRecord) -> None:
        old = self._keys.get(record.token)
        self._keys[record.token] = record.with_revoked(old.revoked if old is not None else record.revoked)

    async def get_key(self, token: str) -> KeyRecord | None:
        return self._keys.get(token)

    async def list_keys(self) -> list[KeyRecord]:
        return list(self._keys.values())

    async def revoke(self, token: str) -> bool:
        record = self._keys.get(token)
        if record is None:
            return False
        self._keys[token] = record.with_revoked(True)
        return True

    async def put_team(self, team: TeamRecord) -> None:
        self._teams[team.team_id] = team

    async def get_team(self, team_id: str) -> TeamRecord | None:
        return self._teams.get(team_id)

    async def list_teams(self) -> list[TeamRecord]:
        return list(self._teams.values())

    async def close(self) -> None:
        return None
