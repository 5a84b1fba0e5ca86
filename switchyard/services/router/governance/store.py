"""What the governance store offers, kept in Redis (shared by every replica) or in this process.

    clearance = await store.admit(token, rates, lines, estimate_nano, tokens, hold_ttl_s, minimum_nano)   # one trip
    ...the request runs...
    alerts = await store.settle(clearance.hold, cost_nano, tokens)    # cost 0 and tokens 0 release it

`token` is the key whose revocation `admit` checks in the same step (None: nothing to check).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from switchyard.services.router.governance.model import (
    Alert,
    BudgetLine,
    Clearance,
    Hold,
    KeyRecord,
    RateLine,
    TeamRecord,
)

# The rpm/tpm window of keys and teams (seconds).
RATE_WINDOW_S = 60.0


class GovernanceStore(Protocol):
    """Keys, teams, rate windows and budgets."""

    @property
    def degraded(self) -> bool:
        """Returns whether Redis is unreachable and the store serves from this process meanwhile."""
        ...

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
    ) -> Clearance:
        """Checks the key, the rate windows and the hard caps, and reserves the estimate in all, atomically.

        When a hard cap has less than the estimate left, the hold is what the tightest one has left (the
        same amount in every budget, `Hold.partial`) provided that is at least `minimum_nano` (None: the
        estimate, all or nothing); otherwise the request is refused, naming the tightest budget.
        """
        ...

    async def settle(self, hold: Hold, cost_nano: int, tokens: int) -> list[Alert]:
        """Replaces a hold's reservation by its real cost and tokens; returns the alerts this raised."""
        ...

    async def usage(self, lines: Sequence[BudgetLine]) -> list[tuple[int, int]]:
        """Returns (spent, reserved) in nano-USD of each budget line in its window."""
        ...

    async def put_key(self, record: KeyRecord) -> None:
        """Stores a key (its revocation, if any, is kept)."""
        ...

    async def get_key(self, token: str) -> KeyRecord | None: ...

    async def list_keys(self) -> list[KeyRecord]: ...

    async def revoke(self, token: str) -> bool:
        """Revokes a key; returns whether it existed."""
        ...

    async def put_team(self, team: TeamRecord) -> None: ...

    async def get_team(self, team_id: str) -> TeamRecord | None: ...

    async def list_teams(self) -> list[TeamRecord]: ...

    async def close(self) -> None: ...
