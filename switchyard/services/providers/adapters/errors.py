"""Upstream failures → the Switchyard error taxonomy, and rate-limit headers → QuotaSnapshot.

    HTTP 400 ............................ UPSTREAM_BAD_REQUEST
             context_length_exceeded .... CONTEXT_WINDOW_EXCEEDED
             content_filter,
             content_policy_violation ... UPSTREAM_CONTENT_FILTERED
    HTTP 401 / 403 ...................... UPSTREAM_AUTH
    HTTP 404 ............................ UPSTREAM_NOT_FOUND
    HTTP 408, read/pool timeouts ........ UPSTREAM_TIMEOUT
    HTTP 429 ............................ UPSTREAM_RATE_LIMITED + Retry-After, or UPSTREAM_QUOTA_EXHAUSTED
    HTTP 409, 5xx, 529, stream cut ...... UPSTREAM_UNAVAILABLE (+ Retry-After when sent)
    connect errors ...................... UPSTREAM_CONNECT
    invalid JSON / schema / framing ..... UPSTREAM_MALFORMED

Every error carries `provider`, `deployment_id` and `upstream_status` in its metadata. Messages
quote the upstream's own message after removing anything that looks like a credential.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any

import orjson

from switchyard.common.v1 import errors_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import Reason, SwitchyardError
from switchyard.runtime.redaction import MASK, redact_secrets
from switchyard.wire.openai.vocabulary import (
    CONTENT_POLICY_CODES,
    CONTEXT_LENGTH_EXCEEDED,
    INSUFFICIENT_QUOTA,
    LIMIT_REQUESTS_HEADER,
    LIMIT_TOKENS_HEADER,
    REMAINING_REQUESTS_HEADER,
    REMAINING_TOKENS_HEADER,
    RESET_REQUESTS_HEADER,
    RESET_TOKENS_HEADER,
)

R = errors_pb2.ErrorReason
MAX_RETRY_AFTER_S = 3600.0
_MESSAGE_LIMIT = 300
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def _meta(provider: str, deployment_id: str, status: int) -> dict[str, str]:
    return {"provider": provider, "deployment_id": deployment_id, "upstream_status": str(status)}


def redact(text: str, secret: str | None = None) -> str:
    """Returns text without the deployment's key or anything shaped like a credential (sk-..., AIza...,
    Bearer ..., a masked key's tail, long tokens: runtime.redaction), cut to length."""
    if secret:
        text = text.replace(secret, MASK)
    return redact_secrets(text)[:_MESSAGE_LIMIT]


def parse_error_body(body: bytes) -> tuple[str, str, str, str]:
    """Returns (message, type, code, param) from an OpenAI, vLLM (nested, flat or string) error body."""
    try:
        raw: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200].decode(errors="replace").strip(), "", "", ""
    error = raw.get("error", raw) if isinstance(raw, dict) else raw
    if isinstance(error, str):
        return error, "", "", ""
    if not isinstance(error, dict):
        return "", "", "", ""
    code = error.get("code")
    param = error.get("param")
    return (
        str(error.get("message") or ""),
        str(error.get("type") or ""),
        "" if code is None else str(code),
        param if isinstance(param, str) else "",
    )


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Returns the wait the upstream asks for: retry-after-ms, else retry-after (seconds or HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(value) / 1000))
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, when.timestamp() - (time.time() if now is None else now)))


def parse_duration_ms(text: str | None) -> int:
    """Returns a Go-style duration (`12ms`, `1s`, `6m0s`, `1h2m3.5s`) in milliseconds, or -1."""
    if not text:
        return -1
    text = text.strip()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return -1
    scale = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
    return round(sum(float(n) * scale[u] for n, u in parts))


def _int(headers: Mapping[str, str], name: str) -> int:
    value = headers.get(name)
    if value is None:
        return -1
    try:
        return int(value)
    except ValueError:
        return -1


def quota_from_headers(headers: Mapping[str, str]) -> providers_pb2.QuotaSnapshot:
    """Returns what OpenAI-style x-ratelimit-* headers say is left; -1 for anything not sent."""
    return providers_pb2.QuotaSnapshot(
        limit_requests=_int(headers, LIMIT_REQUESTS_HEADER),
        remaining_requests=_int(headers, REMAINING_REQUESTS_HEADER),
        limit_tokens=_int(headers, LIMIT_TOKENS_HEADER),
        remaining_tokens=_int(headers, REMAINING_TOKENS_HEADER),
        reset_requests_ms=parse_duration_ms(headers.get(RESET_REQUESTS_HEADER)),
        reset_tokens_ms=parse_duration_ms(headers.get(RESET_TOKENS_HEADER)),
    )


def _reason(status: int, kind: str, code: str) -> Reason:
    if status == 429:
        quota = INSUFFICIENT_QUOTA in (kind, code)
        return R.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED if quota else R.ERROR_REASON_UPSTREAM_RATE_LIMITED
    if status == 400 and code == CONTEXT_LENGTH_EXCEEDED:
        return R.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED
    if status == 400 and code in CONTENT_POLICY_CODES:
        return R.ERROR_REASON_UPSTREAM_CONTENT_FILTERED
    if status in (401, 403):
        return R.ERROR_REASON_UPSTREAM_AUTH
    if status == 404:
        return R.ERROR_REASON_UPSTREAM_NOT_FOUND
    if status == 408:
        return R.ERROR_REASON_UPSTREAM_TIMEOUT
    if status == 409 or status >= 500:
        return R.ERROR_REASON_UPSTREAM_UNAVAILABLE
    return R.ERROR_REASON_UPSTREAM_BAD_REQUEST


def from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    provider: str,
    deployment_id: str,
    secret: str | None = None,
) -> SwitchyardError:
    """Returns the error an upstream HTTP error response means."""
    message, kind, code, param = parse_error_body(body)
    reason = _reason(status, kind, code)
    retry = None
    if reason in (R.ERROR_REASON_UPSTREAM_RATE_LIMITED, R.ERROR_REASON_UPSTREAM_UNAVAILABLE):
        retry = retry_after_seconds(headers)
    metadata = _meta(provider, deployment_id, status)
    # Every string the upstream chose is scrubbed: a key can be echoed in its type, code or param too.
    if kind:
        metadata["upstream_type"] = redact(kind, secret)[:64]
    if code:
        metadata["upstream_code"] = redact(code, secret)[:64]
    said = redact(message, secret) or "no message"
    text = f"{provider} deployment {deployment_id} answered HTTP {status}: {said}"
    scrubbed = redact(param, secret)[:64] if param else None
    return SwitchyardError(reason, text, retry_after_s=retry, param=scrubbed, metadata=metadata)


def transport_error(
    reason: Reason,
    what: str,
    *,
    provider: str,
    deployment_id: str,
    status: int = 0,
    secret: str | None = None,
) -> SwitchyardError:
    """Returns a connect, timeout, cut-stream or malformed-reply error for one deployment."""
    return SwitchyardError(
        reason,
        f"{provider} deployment {deployment_id}: {redact(what, secret)}",
        metadata=_meta(provider, deployment_id, status),
    )
