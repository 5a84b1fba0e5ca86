"""OpenAI Chat Completions JSON ⇄ switchyard.common.v1 protobuf, validating on the way in.

The edge parses client requests with `parse_request` and renders responses with
`completion_to_wire` / `chunk_to_wire`; the OpenAI-compatible adapters render upstream requests
with `request_to_wire` and parse upstream replies with `completion_from_wire` / `chunk_from_wire`.
Client input that breaks the schema raises `SwitchyardError(INVALID_REQUEST, param=...)`; an
upstream reply that breaks it raises `switchyard.wire.values.MalformedError`, which the adapters
turn into a failover. OpenAI's own words (roles, finish reasons, error codes, headers) are in
`vocabulary`.
"""

from __future__ import annotations

from switchyard.wire.openai.replies import (
    chunk_from_wire,
    chunk_to_wire,
    completion_from_wire,
    completion_to_wire,
    usage_from_wire,
    usage_to_wire,
)
from switchyard.wire.openai.requests import parse_request
from switchyard.wire.openai.upstream_requests import message_to_wire, request_to_wire
from switchyard.wire.openai.vocabulary import FINISH, FINISH_NAMES, ROLE_NAMES, ROLES

__all__ = [
    "FINISH",
    "FINISH_NAMES",
    "ROLES",
    "ROLE_NAMES",
    "chunk_from_wire",
    "chunk_to_wire",
    "completion_from_wire",
    "completion_to_wire",
    "message_to_wire",
    "parse_request",
    "request_to_wire",
    "usage_from_wire",
    "usage_to_wire",
]
