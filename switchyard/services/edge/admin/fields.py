"""Typed reads of admin request fields: every wrong value is a 400 that names its field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import SwitchyardError

_DAY_MS = 86_400_000


def invalid(field: str, message: str) -> SwitchyardError:
    """Returns the 400 error of one bad field, with the field as the OpenAI `param`."""
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, f"Invalid '{field}': {message}", param=field)


def json_object(body: bytes) -> dict[str, Any]:
    """Returns the request body as a JSON object; an empty body is an empty object."""
    if not body.strip():
        return {}
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SwitchyardError(
            errors_pb2.ERROR_REASON_INVALID_REQUEST,
            "We could not parse the JSON body of your request. The body must be valid JSON.",
        ) from None
    if not isinstance(payload, dict):
        raise SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, "The request body must be a JSON object.")
    return payload


def string(body: dict[str, Any], field: str, *, label: str = "") -> str:
    """Returns a string field (named label in errors, when nested); absent or null is ""."""
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(label or field, "expected a string.")
    return value


def string_list(body: dict[str, Any], field: str) -> list[str]:
    """Returns a list-of-strings field; absent or null is []."""
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(field, "expected a list of strings.")
    return list(value)


def count(body: dict[str, Any], field: str) -> int:
    """Returns a non-negative integer field; absent or null is 0 (no limit)."""
    value = body.get(field)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid(field, "expected a non-negative integer.")
    return value


def usd(body: dict[str, Any], field: str, *, label: str = "") -> float:
    """Returns a non-negative amount in USD (named label in errors, when nested); absent or null is 0 (no cap)."""
    value = body.get(field)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise invalid(label or field, "expected a non-negative number of USD.")
    return float(value)


def metadata(body: dict[str, Any], field: str = "metadata") -> dict[str, str]:
    """Returns a metadata object as strings: string values as they are, any other JSON value encoded."""
    value = body.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(field, "expected an object.")
    return {str(k): v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in value.items()}


def day_ms(query: dict[str, str], field: str, *, end: bool = False) -> int:
    """Returns a YYYY-MM-DD query day as Unix ms: its first millisecond, or its last when end is set."""
    value = query.get(field, "")
    if not value:
        return 0
    try:
        day = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    except ValueError:
        raise invalid(field, "expected a date as YYYY-MM-DD.") from None
    start = int(day.timestamp() * 1000)
    return start + _DAY_MS - 1 if end else start


def day(query: dict[str, str], field: str) -> str:
    """Returns a YYYY-MM-DD query day as given, after checking it is one; absent is ""."""
    value = query.get(field, "")
    if value:
        day_ms(query, field)
    return value


def positive(query: dict[str, str], field: str) -> int:
    """Returns a positive integer query parameter; absent is 0."""
    value = query.get(field, "")
    if not value:
        return 0
    if not value.isdigit() or int(value) == 0:
        raise invalid(field, "expected a positive integer.")
    return int(value)
