"""Google error bodies → the Switchyard error taxonomy: reason, message, RPC status and retry delay.

A Google API error is `{"error": {code, message, status, details}}` (some clients get it wrapped in a
one-element array). The HTTP status decides most reasons; the body refines them: API_KEY_INVALID on a
400 is an auth failure, "exceeds the maximum number of tokens" a context-window error, a per-day
QuotaFailure on a 429 exhausted quota rather than a rate limit, and RetryInfo gives the retry delay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import Reason
from switchyard.wire.gemini.vocabulary import API_KEY_INVALID, QUOTA_FAILURE, RETRY_INFO

R = errors_pb2.ErrorReason

MAX_RETRY_DELAY_S = 3600.0
_RETRY_DELAY = re.compile(r"(\d+(?:\.\d+)?)s")


@dataclass(frozen=True)
class GoogleError:
    """What a Google error body says: the reason it maps to, its message, RPC status and retry delay."""

    reason: Reason
    message: str
    rpc_status: str
    retry_after_s: float | None


def _error_object(body: bytes) -> dict[str, Any]:
    try:
        raw: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"message": body[:200].decode(errors="replace").strip()}
    # Some clients receive the error wrapped in a one-element array.
    if isinstance(raw, list) and raw:
        raw = raw[0]
    error = raw.get("error") if isinstance(raw, dict) else None
    return error if isinstance(error, dict) else {}


def retry_delay_seconds(details: list[Any]) -> float | None:
    """Returns RetryInfo.retryDelay ("27s", "1.5s") from error details, in seconds, or None."""
    for detail in details:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith(RETRY_INFO):
            match = _RETRY_DELAY.fullmatch(str(detail.get("retryDelay", "")).strip())
            if match:
                return min(MAX_RETRY_DELAY_S, float(match[1]))
    return None


def _daily_quota(details: list[Any]) -> bool:
    for detail in details:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith(QUOTA_FAILURE):
            violations = detail.get("violations") or []
            if any(isinstance(v, dict) and "PerDay" in str(v.get("quotaId", "")) for v in violations):
                return True
    return False


def error_from_body(status: int, body: bytes) -> GoogleError:
    """Returns what a Google error response `{"error":{code,message,status,details}}` means."""
    error = _error_object(body)
    message = str(error.get("message") or "")
    rpc_status = str(error.get("status") or "")
    raw_details = error.get("details")
    details: list[Any] = raw_details if isinstance(raw_details, list) else []
    reasons = {d.get("reason") for d in details if isinstance(d, dict)}
    retry = None
    if status == 400 and (API_KEY_INVALID in reasons or "API key not valid" in message):
        reason: Reason = R.ERROR_REASON_UPSTREAM_AUTH
    elif status == 400 and "exceeds the maximum number of tokens" in message:
        reason = R.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED
    elif status == 429:
        daily = _daily_quota(details)
        reason = R.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED if daily else R.ERROR_REASON_UPSTREAM_RATE_LIMITED
        retry = retry_delay_seconds(details)
    elif status in (401, 403):
        reason = R.ERROR_REASON_UPSTREAM_AUTH
    elif status == 404:
        reason = R.ERROR_REASON_UPSTREAM_NOT_FOUND
    elif status == 408:
        reason = R.ERROR_REASON_UPSTREAM_TIMEOUT
    elif status == 409 or status >= 500:
        reason = R.ERROR_REASON_UPSTREAM_UNAVAILABLE
        retry = retry_delay_seconds(details)
    else:
        reason = R.ERROR_REASON_UPSTREAM_BAD_REQUEST
    return GoogleError(reason, message, rpc_status, retry)
