"""LiteLLM's key and team JSON ⇄ AdminService messages: /key/generate, /key/info, /team/new, ...

Request bodies take LiteLLM's field names where they mean the same thing (models, team_id,
max_budget, budget_duration, soft_budget, rpm_limit, tpm_limit, metadata, duration, key_alias, key),
plus Switchyard's `app` and `budgets` (several windows, each with a hard and a soft cap). LiteLLM's
max_budget + budget_duration + soft_budget become the first budget; replies read them back from it.
Replies never carry a key's secret except the one /key/generate returns, once.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from typing import Any

from switchyard.router.v1 import admin_pb2
from switchyard.services.edge.admin import fields
from switchyard.services.edge.admin.fields import invalid

_DURATION = re.compile(r"[1-9][0-9]*(s|m|h|d|w|mo)")
_WINDOW = re.compile(rf"daily|monthly|{_DURATION.pattern}")
_LIMIT_FIELDS = (
    "models",
    "rpm_limit",
    "tpm_limit",
    "max_budget",
    "budget_duration",
    "soft_budget",
    "budgets",
    "metadata",
)
KEY_FIELDS = frozenset({*_LIMIT_FIELDS, "team_id", "app", "duration", "key_alias", "key"})
TEAM_FIELDS = frozenset({*_LIMIT_FIELDS, "team_id", "team_alias"})
MAX_BUDGETS = 16
# A key a caller chooses must be hard to guess: at least MIN_KEY_CHARS visible ASCII characters, not one
# short pattern repeated, carrying MIN_KEY_BITS by a Shannon estimate of its characters. So "sk-1",
# "sk-aaaa…" or "sk-1234512345…" are refused, while sk- + 32 random hex digits (a uuid4) passes.
MIN_KEY_CHARS = 32
MIN_KEY_BITS = 80.0
_KEY_CHARS = re.compile(r"[!-~]+")


def check_fields(body: dict[str, Any], known: frozenset[str], parent: str = "") -> None:
    """Refuses a field Switchyard does not know (a typo would otherwise drop a limit silently); null passes."""
    for name, value in body.items():
        if name not in known and value is not None:
            raise invalid(f"{parent}.{name}" if parent else name, f"unknown field; use {', '.join(sorted(known))}.")


def _window(value: str, field: str) -> str:
    if value and not _WINDOW.fullmatch(value):
        raise invalid(field, 'expected "daily", "monthly" or a duration such as "1h", "7d", "30d" or "1mo".')
    return value


def _budgets(body: dict[str, Any]) -> list[admin_pb2.Budget]:
    result: list[admin_pb2.Budget] = []
    hard, soft = fields.usd(body, "max_budget"), fields.usd(body, "soft_budget")
    duration = _window(fields.string(body, "budget_duration"), "budget_duration")
    if hard or soft:
        result.append(admin_pb2.Budget(window=duration, hard_usd=hard, soft_usd=soft))
    elif duration:
        raise invalid("budget_duration", "needs a max_budget or a soft_budget to apply to.")
    raw = body.get("budgets")
    if raw is None:
        return result
    if not isinstance(raw, list):
        raise invalid("budgets", "expected a list of {window, hard_usd, soft_usd} objects.")
    if len(raw) > MAX_BUDGETS:
        raise invalid("budgets", f"at most {MAX_BUDGETS} budgets, not {len(raw)}.")
    for k, item in enumerate(raw):
        name = f"budgets[{k}]"
        if not isinstance(item, dict):
            raise invalid(name, "expected an object {window, hard_usd, soft_usd}.")
        check_fields(item, frozenset({"window", "hard_usd", "soft_usd"}), name)
        window = fields.string(item, "window", label=f"{name}.window")
        if not window:
            raise invalid(f"{name}.window", 'is required ("daily", "monthly" or a duration such as "7d").')
        budget = admin_pb2.Budget(
            window=_window(window, f"{name}.window"),
            hard_usd=fields.usd(item, "hard_usd", label=f"{name}.hard_usd"),
            soft_usd=fields.usd(item, "soft_usd", label=f"{name}.soft_usd"),
        )
        if not budget.hard_usd and not budget.soft_usd:
            raise invalid(name, "needs a hard_usd or a soft_usd cap.")
        result.append(budget)
    return result


def limits(body: dict[str, Any]) -> admin_pb2.Limits:
    """Returns the allowed models, rate limits and budgets a key or team body asks for."""
    return admin_pb2.Limits(
        models=fields.string_list(body, "models"),
        rpm_limit=fields.count(body, "rpm_limit"),
        tpm_limit=fields.count(body, "tpm_limit"),
        budgets=_budgets(body),
    )


def key_bits(key: str) -> float:
    """Returns a Shannon estimate of the bits in a key's characters after "sk-" (length times entropy per character)."""
    body = key.removeprefix("sk-")
    if not body:
        return 0.0
    counts = Counter(body)
    per_char = -sum(n / len(body) * math.log2(n / len(body)) for n in counts.values())
    return per_char * len(body)


def chosen_key(key: str) -> str:
    """Returns a caller-chosen key when it is long, printable and random enough to be a secret; else a 400."""
    if not key.startswith("sk-"):
        raise invalid("key", 'a chosen key must start with "sk-".')
    if len(key) < MIN_KEY_CHARS or not _KEY_CHARS.fullmatch(key):
        raise invalid("key", f"a chosen key needs at least {MIN_KEY_CHARS} visible ASCII characters, without spaces.")
    body = key.removeprefix("sk-")
    if body in (body + body)[1:-1] or key_bits(key) < MIN_KEY_BITS:
        raise invalid("key", "a chosen key is too predictable; use a random one, or leave `key` out to get one.")
    return key


def generate_request(body: dict[str, Any]) -> admin_pb2.GenerateKeyRequest:
    """Returns the GenerateKey call a /key/generate body asks for."""
    check_fields(body, KEY_FIELDS)
    key = fields.string(body, "key")
    if key:
        chosen_key(key)
    duration = fields.string(body, "duration")
    if duration and not _DURATION.fullmatch(duration):
        raise invalid("duration", 'expected a duration such as "30s", "12h", "30d" or "1mo".')
    spec = admin_pb2.KeySpec(
        key_alias=fields.string(body, "key_alias"),
        team_id=fields.string(body, "team_id"),
        app=fields.string(body, "app"),
        limits=limits(body),
        duration=duration,
        metadata=fields.metadata(body),
    )
    return admin_pb2.GenerateKeyRequest(spec=spec, key=key)


def team_request(body: dict[str, Any]) -> admin_pb2.NewTeamRequest:
    """Returns the NewTeam call a /team/new body asks for."""
    check_fields(body, TEAM_FIELDS)
    team = admin_pb2.Team(
        team_id=fields.string(body, "team_id"),
        team_alias=fields.string(body, "team_alias"),
        limits=limits(body),
        metadata=fields.metadata(body),
    )
    return admin_pb2.NewTeamRequest(team=team)


def iso(ms: int) -> str | None:
    """Returns Unix ms as an ISO 8601 UTC time, or None for 0 (never)."""
    if not ms:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _limits_json(value: admin_pb2.Limits) -> dict[str, Any]:
    first = value.budgets[0] if value.budgets else admin_pb2.Budget()
    return {
        "models": list(value.models),
        "rpm_limit": value.rpm_limit or None,
        "tpm_limit": value.tpm_limit or None,
        "max_budget": first.hard_usd or None,
        "budget_duration": first.window or None,
        "soft_budget": first.soft_usd or None,
        "budgets": [{"window": b.window, "hard_usd": b.hard_usd, "soft_usd": b.soft_usd} for b in value.budgets],
    }


def key_json(info: admin_pb2.KeyInfo) -> dict[str, Any]:
    """Returns a key as LiteLLM describes it (token, key_name, key_alias, ...), identified by its prefix only."""
    spec = info.spec
    return {
        "token": info.token,
        "key_name": f"{info.key_prefix}...",
        "key_alias": spec.key_alias or None,
        "key_prefix": info.key_prefix,
        "team_id": spec.team_id or None,
        "app": spec.app or None,
        **_limits_json(spec.limits),
        "metadata": dict(spec.metadata),
        "duration": spec.duration or None,
        "spend": info.spend_usd,
        "created_at": iso(info.created_at_ms),
        "expires": iso(info.expires_at_ms),
        "blocked": info.revoked,
    }


def team_json(team: admin_pb2.Team) -> dict[str, Any]:
    """Returns a team as LiteLLM describes it (team_id, team_alias, models, budgets, ...)."""
    return {
        "team_id": team.team_id,
        "team_alias": team.team_alias or None,
        **_limits_json(team.limits),
        "metadata": dict(team.metadata),
    }
