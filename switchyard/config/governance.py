"""The `switchyard.governance` section: virtual keys, teams, apps and their budgets, read from the config file.

LiteLLM's key fields mean what they mean there: `max_budget` + `budget_duration` is one hard budget
("1d" a UTC day, "30d" or "1mo" a UTC calendar month, another duration a fixed window of that length
counted from the Unix epoch, none a window that never resets) and `soft_budget` its alert-only cap;
`budgets` adds windows of Switchyard's own. A key is given as `os.environ/NAME` or as a literal
`sk-...` secret; a literal is replaced by its token (the SHA-256 hex of the secret) and its prefix as
the file is read, so the secret itself is never kept.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from switchyard.config.base import Section
from switchyard.config.secrets import ENV_PREFIX

KEY_PREFIX_CHARS = 12
SECRET_START = "sk-"
_DURATION = re.compile(r"^(\d+)(s|m|h|d|w|mo)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def token_of(secret: str) -> str:
    """Returns the token that identifies a key in the store: the SHA-256 hex digest of its secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def prefix_of(secret: str) -> str:
    """Returns the part of a secret that may be logged and shown: its first 12 characters."""
    return secret[:KEY_PREFIX_CHARS]


def duration_seconds(text: str) -> int:
    """Returns the seconds of a LiteLLM duration ("30s", "15m", "12h", "7d", "2w", "1mo" = 30 days)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 30s, 15m, 12h, 7d, 2w or 1mo")
    count, unit = int(match.group(1)), match.group(2)
    if count <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return count * (30 * 86_400 if unit == "mo" else _SECONDS[unit])


def canonical_window(text: str) -> str:
    """Returns a budget window in canonical form: "daily", "monthly", "<n>s" (fixed), or "" (never resets)."""
    value = text.strip().lower()
    if value in ("", "daily", "monthly"):
        return value
    seconds = duration_seconds(value)
    if seconds == 86_400:
        return "daily"
    if value in ("30d", "1mo"):
        return "monthly"
    return f"{seconds}s"


class BudgetConfig(Section):
    """One cap over a window: hard blocks before any provider is called, soft only alerts."""

    window: str = "monthly"
    hard_usd: float = Field(default=0.0, ge=0)
    soft_usd: float = Field(default=0.0, ge=0)

    @field_validator("window")
    @classmethod
    def _known_window(cls, value: str) -> str:
        return canonical_window(value)


class _Budgeted(Section):
    """LiteLLM's budget fields and Switchyard's list of budgets, merged by `all_budgets`."""

    max_budget: float | None = Field(default=None, ge=0)
    budget_duration: str | None = None
    soft_budget: float | None = Field(default=None, ge=0)
    budgets: list[BudgetConfig] = Field(default_factory=list)

    @field_validator("budget_duration")
    @classmethod
    def _known_duration(cls, value: str | None) -> str | None:
        if value is not None:
            canonical_window(value)
        return value

    def all_budgets(self) -> list[BudgetConfig]:
        """Returns every budget: LiteLLM's max_budget/soft_budget (one window) first, then `budgets`."""
        if self.max_budget is None and self.soft_budget is None:
            return list(self.budgets)
        litellm = BudgetConfig(
            window=self.budget_duration or "",
            hard_usd=self.max_budget or 0.0,
            soft_usd=self.soft_budget or 0.0,
        )
        return [litellm, *self.budgets]


class _Limited(_Budgeted):
    models: list[str] = Field(default_factory=list)
    rpm_limit: int | None = Field(default=None, ge=0)
    tpm_limit: int | None = Field(default=None, ge=0)
    metadata: dict[str, str] = Field(default_factory=dict)


class KeyConfig(_Limited):
    """A virtual key from the file; `key_ref` names the variable holding it, or `token` is its hash."""

    key_ref: str = ""
    token: str = ""
    key_prefix: str = ""
    key_alias: str = ""
    team_id: str = ""
    app: str = ""
    duration: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _hash_the_secret(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = dict(data)
        if "token" in fields or "key_ref" in fields or "key_prefix" in fields:
            raise ValueError("give the key as `key` (a literal sk-... secret or os.environ/NAME)")
        secret = fields.pop("key", None)
        if not isinstance(secret, str) or not secret:
            raise ValueError("a key needs `key`: a literal sk-... secret or os.environ/NAME")
        if secret.startswith(ENV_PREFIX):
            fields["key_ref"] = secret
        elif secret.startswith(SECRET_START):
            fields["token"], fields["key_prefix"] = token_of(secret), prefix_of(secret)
        else:
            raise ValueError("`key` must start with sk- or be os.environ/NAME")
        return fields

    @field_validator("duration")
    @classmethod
    def _known_duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value


class TeamConfig(_Limited):
    """A team: keys carrying its team_id share its allowed models, limits and budgets."""

    team_id: str = Field(min_length=1)
    team_alias: str = ""


class AppConfig(_Budgeted):
    """An application: budgets covering every key whose `app` names it."""


class GovernanceSection(Section):
    """Keys, teams and apps known from the file (more are created through the admin API)."""

    keys: list[KeyConfig] = Field(default_factory=list)
    teams: list[TeamConfig] = Field(default_factory=list)
    apps: dict[str, AppConfig] = Field(default_factory=dict)
    # alert_webhook receives a JSON POST on each 80 % and 100 % budget alert.
    alert_webhook: str = ""
    # estimate_output_tokens: the output a reservation assumes when the request sets no max_tokens.
    estimate_output_tokens: int = Field(default=1024, ge=0)
    # min_output_tokens: near a hard cap, where the estimate no longer fits, a request is still admitted
    # (its output capped to what the budget has left) when that pays its prompt and this many output
    # tokens per choice; below that it is refused.
    min_output_tokens: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _teams_exist(self) -> GovernanceSection:
        team_ids = [team.team_id for team in self.teams]
        if len(set(team_ids)) != len(team_ids):
            raise ValueError(f"team ids must be unique, got {team_ids}")
        return self


def master_key_of(general_settings: dict[str, Any]) -> str | None:
    """Returns general_settings.master_key (a literal or an os.environ/NAME reference), None when unset."""
    value = general_settings.get("master_key")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("general_settings.master_key must be a string (a literal or os.environ/NAME)")
    return value
