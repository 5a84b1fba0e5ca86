"""The cost ledger as LiteLLM's spend endpoints show it: /spend/logs (JSON or CSV), /spend/report, /budget/list.

A spend log row keeps LiteLLM's names (request_id, api_key, spend, total_tokens, startTime, model,
model_group, team_id, cache_hit, ...) where they mean the same thing, then adds Switchyard's own
(app, feature, provider, saved_usd, failovers, ...). `api_key` is the key's short prefix, never the key.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from switchyard.router.v1 import admin_pb2
from switchyard.services.edge.admin import fields
from switchyard.services.edge.admin.fields import invalid
from switchyard.services.edge.admin.keys import iso

KEY_PREFIX_CHARS = 12
GROUPS = ("model", "team", "app", "feature", "deployment", "provider", "key")

# CSV columns, in order: the flat fields of a spend log row.
CSV_COLUMNS = (
    "request_id",
    "startTime",
    "endTime",
    "api_key",
    "team_id",
    "app",
    "feature",
    "model_group",
    "model",
    "model_id",
    "provider",
    "status",
    "cache",
    "cache_hit",
    "stream",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "total_tokens",
    "spend",
    "saved_usd",
    "latency_ms",
    "ttft_ms",
    "attempts",
    "failovers",
    "route_reason",
)
# A cell a spreadsheet would run as a formula (client-chosen text such as a feature tag) is quoted.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def logs_request(query: dict[str, str]) -> admin_pb2.GetSpendLogsRequest:
    """Returns the GetSpendLogs call of /spend/logs's query.

    The query takes request_id, api_key (a key prefix), team_id, start_date and end_date (inclusive
    YYYY-MM-DD UTC days) and limit.
    """
    start, end = fields.day_ms(query, "start_date"), fields.day_ms(query, "end_date", end=True)
    if start and end and start > end:
        raise invalid("end_date", "must not be before start_date.")
    return admin_pb2.GetSpendLogsRequest(
        request_id=query.get("request_id", ""),
        # Only a prefix identifies a key in the ledger; a whole secret given here is cut to it.
        key_prefix=query.get("api_key", "")[:KEY_PREFIX_CHARS],
        team=query.get("team_id", ""),
        start_ms=start,
        end_ms=end,
        limit=fields.positive(query, "limit"),
    )


def log_json(record: admin_pb2.LedgerRecord) -> dict[str, Any]:
    """Returns one ledger record as a LiteLLM spend log row with Switchyard's fields added."""
    first_token = record.time_ms + round(record.ttft_ms) if record.ttft_ms else 0
    return {
        "request_id": record.request_id,
        "call_type": "acompletion",
        "api_key": record.key_prefix,
        "spend": record.cost_usd,
        "total_tokens": record.prompt_tokens + record.completion_tokens,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "startTime": iso(record.time_ms),
        "endTime": iso(record.time_ms + round(record.latency_ms)),
        "completionStartTime": iso(first_token),
        "model": record.model,
        "model_id": record.deployment_id,
        "model_group": record.alias,
        "team_id": record.team,
        "cache_hit": "True" if record.cache == "hit" else "False",
        "metadata": {"app": record.app, "feature": record.feature} if record.app or record.feature else {},
        "request_tags": [record.feature] if record.feature else [],
        "status": record.status,
        "app": record.app,
        "feature": record.feature,
        "provider": record.provider,
        "cached_tokens": record.cached_tokens,
        "saved_usd": record.saved_usd,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "cache": record.cache,
        "route_reason": record.route_reason,
        "attempts": record.attempts,
        "failovers": record.failovers,
        "stream": record.stream,
    }


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return repr(value) if isinstance(value, float) else value


def logs_csv(rows: list[dict[str, Any]]) -> bytes:
    """Returns spend log rows as CSV with a header line; amounts keep their full precision."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue().encode()


def report_request(query: dict[str, str]) -> admin_pb2.GetSpendReportRequest:
    """Returns the GetSpendReport call of /spend/report's query (group_by, start_date, end_date)."""
    group_by = query.get("group_by", "model")
    if group_by not in GROUPS:
        raise invalid("group_by", f"expected one of {', '.join(GROUPS)}.")
    start, end = fields.day(query, "start_date"), fields.day(query, "end_date")
    if start and end and start > end:
        raise invalid("end_date", "must not be before start_date.")
    return admin_pb2.GetSpendReportRequest(group_by=group_by, start_day=start, end_day=end)


def report_json(group_by: str, row: admin_pb2.SpendRow) -> dict[str, Any]:
    """Returns the aggregate of one day and one value of the dimension of the ledger."""
    return {
        "day": row.day,
        "group_by": group_by,
        "value": row.value,
        "requests": row.requests,
        "errors": row.errors,
        "cache_hits": row.cache_hits,
        "failovers": row.failovers,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "total_tokens": row.prompt_tokens + row.completion_tokens,
        "spend": row.cost_usd,
        "saved_usd": row.saved_usd,
    }


def budget_json(use: admin_pb2.BudgetUse) -> dict[str, Any]:
    """Returns one budget's current window: what it spent and holds reserved against its caps."""
    return {
        "scope": use.scope,
        "id": use.id,
        "window": use.window,
        "window_start": iso(use.window_start_ms),
        "window_end": iso(use.window_end_ms),
        "spent_usd": use.spent_usd,
        "reserved_usd": use.reserved_usd,
        "hard_usd": use.hard_usd or None,
        "soft_usd": use.soft_usd or None,
    }
