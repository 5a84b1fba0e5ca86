"""The few ASGI primitives every edge route shares: types, whole responses, a bounded body read and JSON."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.values import too_deep

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON = (b"content-type", b"application/json")
SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
# After these the connection is closed: the rest of the request (a body too big or too slow, headers
# too large) would otherwise still be read and thrown away to keep the connection alive.
_CLOSE_AFTER = frozenset({408, 413, 431})
_CLOSE = (b"connection", b"close")
# How deep a JSON body may nest objects and arrays. Each level of free-form JSON (tool schemas, unknown
# keys) is three protobuf message levels in a google.protobuf.Struct, and protobuf decoders stop at 100:
# 32 is the deepest body whose every part survives the trip to the router and the providers.
MAX_JSON_DEPTH = 32


async def respond(send: Send, status: int, headers: Headers, body: bytes) -> None:
    """Sends a whole response: status, headers and body at once (closing the connection after a 408, 413, 431)."""
    if status in _CLOSE_AFTER:
        headers = [*headers, _CLOSE]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_events(send: Send, events: bytes) -> None:
    """Sends a part of a streamed body (nothing when events is empty)."""
    if events:
        await send({"type": "http.response.body", "body": events, "more_body": True})


async def cancel_on_disconnect(receive: Receive, call: Any) -> None:
    """Cancels the router call when the client goes away, which cancels the upstream call too."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            call.cancel()
            return


async def json_reply(send: Send, status: int, payload: Any) -> None:
    """Sends payload as a JSON response."""
    await respond(send, status, [JSON], orjson.dumps(payload))


def too_large(limit: int) -> SwitchyardError:
    """Returns the 413 error of a body over limit bytes."""
    return SwitchyardError(
        errors_pb2.ERROR_REASON_PAYLOAD_TOO_LARGE, f"The request body is larger than the limit of {limit} bytes."
    )


def too_slow(timeout: float) -> SwitchyardError:
    """Returns the 408 error of a body that did not arrive within timeout seconds."""
    return SwitchyardError(
        errors_pb2.ERROR_REASON_INVALID_REQUEST,
        f"The request body did not arrive within {timeout:g} seconds.",
        http_status=408,
    )


async def read_body(receive: Receive, headers: dict[str, str], limit: int, timeout: float | None = None) -> bytes:
    """Returns the request body; a body over limit bytes (declared or sent) is a 413, one that takes longer
    than timeout seconds in all is a 408 (a client dribbling bytes holds nothing for long), a disconnect cancels."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise SwitchyardError(errors_pb2.ERROR_REASON_CANCELLED, "client disconnected")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                parts.append(chunk)
                if not message.get("more_body"):
                    return b"".join(parts)
    except TimeoutError:
        raise too_slow(timeout or 0.0) from None


def parse_json(body: bytes) -> Any:
    """Returns the JSON value of a body; unparsable JSON, or JSON nested deeper than MAX_JSON_DEPTH, is a 400."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SwitchyardError(
            errors_pb2.ERROR_REASON_INVALID_REQUEST,
            "We could not parse the JSON body of your request. The body must be valid JSON.",
        ) from None
    where = too_deep(payload, MAX_JSON_DEPTH)
    if where is not None:
        field = where or "body"
        raise SwitchyardError(
            errors_pb2.ERROR_REASON_INVALID_REQUEST,
            f"Invalid '{field}': JSON nested deeper than {MAX_JSON_DEPTH} levels.",
            param=field,
        )
    return payload
