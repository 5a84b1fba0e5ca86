"""HTTP ⇄ protobuf for the edge: request context from headers, route headers, OpenAI error bodies."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

import orjson

from switchyard.common.v1 import context_pb2, errors_pb2, route_pb2
from switchyard.runtime.errors import SwitchyardError, reason_name
from switchyard.runtime.redaction import redact_secrets
from switchyard.runtime.route import cache_header
from switchyard.wire.anthropic.vocabulary import API_KEY_HEADER
from switchyard.wire.openai.vocabulary import INSUFFICIENT_QUOTA

_NO_RETRY_CODES = frozenset({INSUFFICIENT_QUOTA, "budget_exceeded"})

Headers = list[tuple[bytes, bytes]]


def header_map(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Returns ASGI headers as a dict with lower-case names (the last value wins)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}


# x-switchyard-data-classification values, least to most sensitive.
_DATA_CLASSES = {
    "public": context_pb2.DATA_CLASSIFICATION_PUBLIC,
    "internal": context_pb2.DATA_CLASSIFICATION_INTERNAL,
    "confidential": context_pb2.DATA_CLASSIFICATION_CONFIDENTIAL,
    "restricted": context_pb2.DATA_CLASSIFICATION_RESTRICTED,
}
CLASSIFICATION_HEADER = "x-switchyard-data-classification"
FEATURE_HEADER = "x-switchyard-feature"
_FEATURE_MAX = 128
_PRINTABLE = re.compile(r"[ -~]+")
# A client's x-request-id is kept when it is 1 to 128 visible ASCII characters (no spaces, no
# control or non-ASCII bytes, which upstream HTTP clients refuse); anything else is replaced.
REQUEST_ID_MAX = 128
_REQUEST_ID = re.compile(rf"[!-~]{{1,{REQUEST_ID_MAX}}}")
# The Authorization value travels to the router as gRPC metadata, whose hard limit is 16 KiB: a longer
# one is refused here as a 431 rather than becoming gRPC's RESOURCE_EXHAUSTED (a retryable 429).
CREDENTIALS_MAX = 4096


def request_id_of(headers: dict[str, str]) -> str:
    """Returns the client's x-request-id when it is a valid one (see _REQUEST_ID), else a fresh `req_<hex>`."""
    given = headers.get("x-request-id", "")
    return given if _REQUEST_ID.fullmatch(given) else f"req_{uuid.uuid4().hex}"


def request_context(headers: dict[str, str]) -> context_pb2.RequestContext:
    """Returns the request context carried by HTTP headers; the request id is kept or made (request_id_of).

    `x-switchyard-region` says where the data must stay ("eu"), `x-switchyard-data-classification`
    how sensitive it is (public, internal, confidential, restricted; anything else is refused, so a
    typo never lets data go where it should not), `x-switchyard-session` keeps a session on one A/B arm.
    """
    context = context_pb2.RequestContext(request_id=request_id_of(headers))
    region = headers.get("x-switchyard-region", "").strip().lower()
    if region:
        context.region = region
    classification = headers.get(CLASSIFICATION_HEADER, "").strip().lower()
    if classification:
        value = _DATA_CLASSES.get(classification)
        if value is None:
            raise SwitchyardError(
                errors_pb2.ERROR_REASON_INVALID_REQUEST,
                f"Invalid {CLASSIFICATION_HEADER} header {classification!r}: use one of {', '.join(_DATA_CLASSES)}.",
                param=CLASSIFICATION_HEADER,
            )
        context.data_classification = value
    feature = headers.get(FEATURE_HEADER, "").strip()
    if feature:
        context.feature = feature[:_FEATURE_MAX]
    session = headers.get("x-switchyard-session", "")
    if session:
        context.hints.session_key = session
    cache_control = headers.get("cache-control", "").lower()
    if "no-cache" in cache_control:
        context.hints.cache_bypass = True
    if "no-store" in cache_control:
        context.hints.cache_no_store = True
    auth = headers.get("authorization", "")
    token = auth[7:] if auth[:7].lower() == "bearer " else ""
    if token:
        # Only a short prefix ever leaves the edge: enough to tell keys apart in logs, not to use one.
        context.key_prefix = token[:8]
    return context


def credentials(headers: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Returns the gRPC metadata carrying the client's credentials to the router, which checks them.

    The `Authorization` header goes as it came; an Anthropic-style `x-api-key` goes as `Bearer <key>`.
    A value that cannot travel as metadata (not printable ASCII) is refused as an invalid key, and no
    part of it is echoed; one longer than CREDENTIALS_MAX characters is a 431.
    """
    value = headers.get("authorization", "").strip()
    if not value and headers.get(API_KEY_HEADER, "").strip():
        value = "Bearer " + headers[API_KEY_HEADER].strip()
    if not value:
        return ()
    if len(value) > CREDENTIALS_MAX:
        raise SwitchyardError(
            errors_pb2.ERROR_REASON_INVALID_REQUEST,
            f"The API key is longer than {CREDENTIALS_MAX} characters.",
            http_status=431,
            param="authorization",
        )
    if not _PRINTABLE.fullmatch(value):
        raise SwitchyardError(
            errors_pb2.ERROR_REASON_UNAUTHENTICATED, "The API key is malformed: it must be printable ASCII."
        )
    return (("authorization", value),)


def route_headers(request_id: str, route: route_pb2.RouteRecord) -> Headers:
    """Returns the x-switchyard-* headers describing how a request was answered."""
    attempts = sum(1 for a in route.attempts if a.number > 0)
    return [
        (b"x-request-id", request_id.encode()),
        (b"x-switchyard-deployment", route.deployment_id.encode()),
        (b"x-switchyard-attempts", str(attempts).encode()),
        (b"x-switchyard-cache", cache_header(route).encode()),
    ]


# Reasons whose message and param quote what an upstream said (besides every attempt's message).
_UPSTREAM_WORDS = frozenset(
    {
        errors_pb2.ERROR_REASON_UPSTREAM_BAD_REQUEST,
        errors_pb2.ERROR_REASON_UPSTREAM_CONTENT_FILTERED,
        errors_pb2.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED,
        errors_pb2.ERROR_REASON_ALL_CANDIDATES_FAILED,
        errors_pb2.ERROR_REASON_STREAM_INTERRUPTED,
    }
)


def _scrubbed(err: SwitchyardError) -> tuple[str, str | None]:
    """Returns err's (message, param), credential-shaped text removed when an upstream wrote them.

    The providers service redacts already; this second pass keeps a key echoed by an upstream (or a
    future adapter that forgets) from reaching a client.
    """
    if err.reason in _UPSTREAM_WORDS or err.info.failover:
        return redact_secrets(err.message), redact_secrets(err.param) if err.param else err.param
    return err.message, err.param


def error_body(err: SwitchyardError) -> dict[str, Any]:
    """Returns the OpenAI error object for err, with every attempt when a route was tried."""
    info = err.info
    message, param = _scrubbed(err)
    error: dict[str, Any] = {
        "message": message,
        "type": info.openai_type,
        "param": param,
        "code": info.openai_code,
    }
    if err.route is not None and err.route.attempts:
        error["attempts"] = [
            {
                "deployment": a.deployment_id,
                "provider": a.provider,
                "model": a.model,
                "outcome": route_pb2.AttemptOutcome.Name(a.outcome).removeprefix("ATTEMPT_OUTCOME_").lower(),
                "reason": reason_name(a.error_reason) if a.error_reason else None,
                "upstream_status": a.upstream_status or None,
                "message": redact_secrets(a.error_message),
            }
            for a in err.route.attempts
        ]
    return {"error": error}


def error_response(err: SwitchyardError, request_id: str) -> tuple[int, Headers, bytes]:
    """Returns (status, headers, body) of the HTTP error for err, with retry hints for SDK clients."""
    headers: Headers = [(b"content-type", b"application/json"), (b"x-request-id", request_id.encode())]
    if err.route is not None:
        headers = [*headers[:1], *route_headers(request_id, err.route)]
    if err.retry_after_s is not None:
        headers.append((b"retry-after", str(max(1, round(err.retry_after_s))).encode()))
        headers.append((b"retry-after-ms", str(int(err.retry_after_s * 1000)).encode()))
    if err.info.openai_code in _NO_RETRY_CODES:
        headers.append((b"x-should-retry", b"false"))
    return err.status, headers, orjson.dumps(error_body(err))
