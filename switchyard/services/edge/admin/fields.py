"""Typed reads of admin request fields: every wrong value is a 400 that names its field.

Every value is bounded, so no request can store (or make the router log, export or label) something
huge: strings at MAX_STRING characters without control characters, lists at MAX_ITEMS, metadata at
MAX_METADATA pairs, counts at MAX_COUNT, query parameters at MAX_STRING.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qsl

import orjson

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.asgi import parse_json

_DAY_MS = 86_400_000
MAX_STRING = 256
MAX_ITEMS = 256
MAX_METADATA = 64
MAX_METADATA_VALUE = 4096
# int64 fields (rate limits) hold more, but no real limit is near this; past it a value is a mistake.
MAX_COUNT = 10**15
# The most records /spend/logs returns at once (an int32 on the wire).
MAX_LIMIT = 100_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def invalid(field: str, message: str) -> SwitchyardError:
    """Returns the 400 error of one bad field, with the field as the OpenAI `param`."""
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, f"Invalid '{field}': {message}", param=field)


def json_object(body: bytes) -> dict[str, Any]:
    """Returns the request body as a JSON object; an empty body is an empty object."""
    if not body.strip():
        return {}
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, "The request body must be a JSON object.")
    return payload


def bounded(value: str, field: str, limit: int = MAX_STRING) -> str:
    """Returns value when it has at most limit characters and no control character, else a 400 naming field."""
    if len(value) > limit:
        raise invalid(field, f"at most {limit} characters, not {len(value)}.")
    if _CONTROL.search(value):
        raise invalid(field, "must not contain control characters.")
    return value


def string(body: dict[str, Any], field: str, *, label: str = "", limit: int = MAX_STRING) -> str:
    """Returns a string field of at most limit characters (named label in errors, when nested); absent or null is ""."""
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(label or field, "expected a string.")
    return bounded(value, label or field, limit)


def string_list(body: dict[str, Any], field: str) -> list[str]:
    """Returns a list of at most MAX_ITEMS strings of at most MAX_STRING characters; absent or null is []."""
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(field, "expected a list of strings.")
    if len(value) > MAX_ITEMS:
        raise invalid(field, f"at most {MAX_ITEMS} items, not {len(value)}.")
    return [bounded(v, f"{field}[{k}]") for k, v in enumerate(value)]


def count(body: dict[str, Any], field: str) -> int:
    """Returns a non-negative integer field up to MAX_COUNT; absent or null is 0 (no limit)."""
    value = body.get(field)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise invalid(field, f"expected an integer from 0 to {MAX_COUNT}.")
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
    """Returns a metadata object as strings: string values as they are, any other JSON value encoded; at most
    MAX_METADATA pairs, keys of MAX_STRING and values of MAX_METADATA_VALUE characters."""
    value = body.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(field, "expected an object.")
    if len(value) > MAX_METADATA:
        raise invalid(field, f"at most {MAX_METADATA} pairs, not {len(value)}.")
    out: dict[str, str] = {}
    for raw_key, item in value.items():
        key = bounded(str(raw_key), f"{field} key")
        text = item if isinstance(item, str) else orjson.dumps(item).decode()
        if len(text) > MAX_METADATA_VALUE:
            raise invalid(f"{field}.{key}", f"at most {MAX_METADATA_VALUE} characters, not {len(text)}.")
        out[key] = text
    return out


def query(raw: str) -> dict[str, str]:
    """Returns a query string's parameters (the last value of each wins), each at most MAX_STRING characters."""
    params = dict(parse_qsl(raw))
    for name, value in params.items():
        bounded(value, name[:MAX_STRING])
    return params


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


def positive(query: dict[str, str], field: str, limit: int = MAX_LIMIT) -> int:
    """Returns a positive integer query parameter up to limit; absent is 0."""
    value = query.get(field, "")
    if not value:
        return 0
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= limit:
        raise invalid(field, f"expected an integer from 1 to {limit}.")
    return int(value)
