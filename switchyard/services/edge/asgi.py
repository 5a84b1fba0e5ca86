"""The few ASGI primitives every edge route shares: types, whole responses and a bounded body read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import SwitchyardError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON = (b"content-type", b"application/json")


async def respond(send: Send, status: int, headers: Headers, body: bytes) -> None:
    """Sends a whole response: status, headers and body at once."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def json_reply(send: Send, status: int, payload: Any) -> None:
    """Sends payload as a JSON response."""
    await respond(send, status, [JSON], orjson.dumps(payload))


def too_large(limit: int) -> SwitchyardError:
    """Returns the 413 error of a body over limit bytes."""
    return SwitchyardError(
        errors_pb2.ERROR_REASON_PAYLOAD_TOO_LARGE, f"The request body is larger than the limit of {limit} bytes."
    )


async def read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    """Returns the request body; a body over limit bytes (declared or sent) is a 413, a disconnect cancels."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    parts: list[bytes] = []
    size = 0
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
