"""Anthropic Messages JSON ⇄ switchyard.common.v1 protobuf, for the edge's `POST /v1/messages`.

Applications written against the Anthropic SDK reach any backend this way: a request is validated
the way the Anthropic API validates it and becomes the OpenAI-shaped ChatRequest the router takes
(`requests`, with the conversation itself in `turns`); completions and errors go back as Anthropic
messages and error bodies (`replies`), stream chunks as SSE events (`stream`). Error bodies keep
the HTTP status of our taxonomy and take their `error.type` from that status (`error_type`): a 503
stays a 503 but reads `overloaded_error`, a 502 reads `api_error`. Anthropic's own words (versions,
request keys, stop reasons, event names, error types) are in `switchyard.wire.anthropic.vocabulary`.
"""

from __future__ import annotations

from switchyard.services.edge.anthropic.replies import (
    error_object,
    error_reply,
    error_type,
    message_to_wire,
    usage_to_wire,
)
from switchyard.services.edge.anthropic.requests import ROUTE, context, parse_request
from switchyard.services.edge.anthropic.stream import MessageStream

__all__ = [
    "ROUTE",
    "MessageStream",
    "context",
    "error_object",
    "error_reply",
    "error_type",
    "message_to_wire",
    "parse_request",
    "usage_to_wire",
]
