"""What governance knows of keys, teams and budgets, free of any wire format.

A key is stored by its token (the SHA-256 hex of its secret) and shown by its prefix (the secret's
first 12 characters); nothing here ever holds a secret. Money is counted in whole nano-dollars
(`NANO` per USD) wherever it is added up, so Redis and the in-memory twin add exactly alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

NANO = 1_000_000_000
Scope = Literal["key", "team", "app"]
# The team the master key acts as.
ADMIN_TEAM = "admin"


def to_nano(usd: float) -> int:
    """Returns a USD amount in whole nano-dollars (rounded up, so a reservation never undercounts)."""
    return math.ceil(max(usd, 0.0) * NANO - 1e-6)


def from_nano(nano: int) -> float:
    return nano / NANO


def cap_nano(usd: float) -> int:
    """Returns a cap in whole nano-dollars, rounded down (0: no cap)."""
    return int(max(usd, 0.0) * NANO)


@dataclass(frozen=True, slots=True)
class Cap:
    """One budget: a canonical window ("daily", "monthly", "<n>s", "" = never resets) and its caps in USD."""

    window: str
    hard_usd: float = 0.0
    soft_usd: float = 0.0


@dataclass(frozen=True)
class Allowance:
    """What a key or team is allowed: models (empty: all), requests and tokens per minute, budgets."""

    models: tuple[str, ...] = ()
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    budgets: tuple[Cap, ...] = ()

    def allows(self, model: str) -> bool:
        return not self.models or model in self.models

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "rpm": self.rpm_limit,
            "tpm": self.tpm_limit,
            "budgets": [[c.window, c.hard_usd, c.soft_usd] for c in self.budgets],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Allowance:
        return cls(
            tuple(raw.get("models") or ()),
            raw.get("rpm"),
            raw.get("tpm"),
            tuple(Cap(str(w), float(h), float(s)) for w, h, s in raw.get("budgets") or ()),
        )


@dataclass(frozen=True)
class KeyRecord:
    """A virtual key as stored: its token and prefix, owner, limits and lifetime."""

    token: str
    key_prefix: str
    limits: Allowance = Allowance()
    key_alias: str = ""
    team_id: str = ""
    app: str = ""
    duration: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    created_ms: int = 0
    # expires_ms is 0 for a key that never expires.
    expires_ms: int = 0
    revoked: bool = False

    def expired(self, now_ms: int) -> bool:
        return 0 < self.expires_ms <= now_ms

    def with_revoked(self, revoked: bool) -> KeyRecord:
        return replace(self, revoked=revoked)

    def to_json(self) -> str:
        """Returns the record without its revocation (stored apart, so a config reload never un-revokes)."""
        return json.dumps(
            {
                "token": self.token,
                "prefix": self.key_prefix,
                "limits": self.limits.to_dict(),
                "alias": self.key_alias,
                "team": self.team_id,
                "app": self.app,
                "duration": self.duration,
                "metadata": dict(self.metadata),
                "created": self.created_ms,
                "expires": self.expires_ms,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str, revoked: bool = False) -> KeyRecord:
        raw = json.loads(text)
        return cls(
            token=raw["token"],
            key_prefix=raw["prefix"],
            limits=Allowance.from_dict(raw["limits"]),
            key_alias=raw.get("alias", ""),
            team_id=raw.get("team", ""),
            app=raw.get("app", ""),
            duration=raw.get("duration", ""),
            metadata=dict(raw.get("metadata") or {}),
            created_ms=int(raw.get("created", 0)),
            expires_ms=int(raw.get("expires", 0)),
            revoked=revoked,
        )


@dataclass(frozen=True)
class TeamRecord:
    """A team: limits and budgets its keys share."""

    team_id: str
    team_alias: str = ""
    limits: Allowance = Allowance()
    metadata: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.team_id,
                "alias": self.team_alias,
                "limits": self.limits.to_dict(),
                "metadata": dict(self.metadata),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> TeamRecord:
        raw = json.loads(text)
        return cls(raw["id"], raw.get("alias", ""), Allowance.from_dict(raw["limits"]), dict(raw.get("metadata") or {}))


@dataclass(frozen=True, slots=True)
class RateLine:
    """A requests/tokens-per-minute limit of one key or team (None: unlimited)."""

    scope: Scope
    ident: str
    rpm: int | None
    tpm: int | None


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One budget of one key, team or app, placed in its current window.

    `ident` is what the store keys on (a key's token, a team id, an app name); `label` is what is shown
    (a key's prefix). `end_s` is 0 for a window that never resets.
    """

    scope: Scope
    ident: str
    label: str
    cap: Cap
    start_s: int
    end_s: int

    @property
    def slot(self) -> str:
        return f"{self.scope}:{self.ident}:{self.cap.window or 'all'}:{self.start_s}"


@dataclass(frozen=True, slots=True)
class Hold:
    """A request's admission: its rate entries and budget reservations, settled exactly once."""

    id: str
    rates: tuple[RateLine, ...]
    lines: tuple[BudgetLine, ...]
    # reserved_nano: what is held in each budget, the request's estimate or, near a cap, what remained.
    reserved_nano: int
    tokens: int
    # local: issued by the in-memory twin while Redis could not be reached.
    local: bool = False
    # partial: less than the estimate is held, so the request's output must be capped to what it pays for.
    partial: bool = False


CapName = Literal["soft", "hard"]
Level = Literal["80", "100"]
# unavailable: a hard-capped budget could not be checked (the store did not answer in time).
RefusalKind = Literal["unknown", "revoked", "rpm", "tpm", "budget", "unavailable"]


@dataclass(frozen=True, slots=True)
class Clearance:
    """The store's answer when a request asks to be let through: its hold, or why not (with the line
    refused and when to retry)."""

    hold: Hold | None
    refusal: RefusalKind | None = None
    # index: the refused RateLine or BudgetLine.
    index: int = -1
    retry_after_s: float | None = None
    spent_nano: int = 0
    reserved_nano: int = 0


@dataclass(frozen=True, slots=True)
class Alert:
    """A budget crossing `level` percent of its soft or hard cap, for the first time in its window."""

    line: BudgetLine
    cap: CapName
    level: Level
    spent_usd: float
