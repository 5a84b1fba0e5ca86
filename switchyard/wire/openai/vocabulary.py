"""The OpenAI Chat Completions vocabulary: roles, finish reasons, object names, stream and error words.

Said once for the edge, the OpenAI and vLLM adapters and the fake OpenAI server. `Role` and `Finish`
are our protobuf enums; the tables map OpenAI's words to them and back.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson

from switchyard.common.v1 import chat_pb2

Role = chat_pb2.Role
Finish = chat_pb2.FinishReason

ROLES: dict[str, chat_pb2.Role.ValueType] = {
    "system": Role.ROLE_SYSTEM,
    "developer": Role.ROLE_DEVELOPER,
    "user": Role.ROLE_USER,
    "assistant": Role.ROLE_ASSISTANT,
    "tool": Role.ROLE_TOOL,
    "function": Role.ROLE_FUNCTION,
}
ROLE_NAMES: dict[chat_pb2.Role.ValueType, str] = {v: k for k, v in ROLES.items()}


class FinishReason(StrEnum):
    """Why a choice ended, in OpenAI's words; anything else fails the SDK's strict validation."""

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    FUNCTION_CALL = "function_call"  # deprecated, still accepted


FINISH: dict[str, chat_pb2.FinishReason.ValueType] = {
    FinishReason.STOP: Finish.FINISH_REASON_STOP,
    FinishReason.LENGTH: Finish.FINISH_REASON_LENGTH,
    FinishReason.TOOL_CALLS: Finish.FINISH_REASON_TOOL_CALLS,
    FinishReason.CONTENT_FILTER: Finish.FINISH_REASON_CONTENT_FILTER,
    FinishReason.FUNCTION_CALL: Finish.FINISH_REASON_FUNCTION_CALL,
}
FINISH_NAMES: dict[chat_pb2.FinishReason.ValueType, str | None] = {v: str(k) for k, v in FINISH.items()} | {
    Finish.FINISH_REASON_UNSPECIFIED: None
}
TOOL_CHOICE_MODES = {
    "none": chat_pb2.TOOL_CHOICE_MODE_NONE,
    "auto": chat_pb2.TOOL_CHOICE_MODE_AUTO,
    "required": chat_pb2.TOOL_CHOICE_MODE_REQUIRED,
}
TOOL_CHOICE_NAMES = {v: k for k, v in TOOL_CHOICE_MODES.items()}
FORMATS = {
    "text": chat_pb2.RESPONSE_FORMAT_TYPE_TEXT,
    "json_object": chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT,
    "json_schema": chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
}
FORMAT_NAMES = {v: k for k, v in FORMATS.items()}

COMPLETION_OBJECT = "chat.completion"
CHUNK_OBJECT = "chat.completion.chunk"

# ---------------------------------------------------------------- streams

# The data of the event that ends a stream; the SDK stops reading at it.
DONE = "[DONE]"
DONE_EVENT = b"data: [DONE]\n\n"


def event(payload: dict[str, Any]) -> bytes:
    """Returns one stream event: a `data:` line with the JSON payload, then the blank line."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


# ---------------------------------------------------------------- errors and rate limits

# The `type` and `code` of the error body OpenAI answers each status with.
ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", "timeout"),
    409: ("conflict", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", None),
    504: ("server_error", None),
    529: ("server_error", "overloaded"),
}
SERVER_ERROR = "server_error"
# A 429 whose type or code says so is a spent quota or billing limit, not a rate limit: retrying cannot help.
INSUFFICIENT_QUOTA = "insufficient_quota"
CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
# Azure and older OpenAI models say content_filter; OpenAI's image and moderation paths say
# content_policy_violation. Both are a refusal on content grounds.
CONTENT_POLICY_CODES = frozenset({"content_filter", "content_policy_violation"})

# The rate-limit headers of every reply; the reset ones are durations such as `12ms`, `1s` or `6m0s`.
LIMIT_REQUESTS_HEADER = "x-ratelimit-limit-requests"
REMAINING_REQUESTS_HEADER = "x-ratelimit-remaining-requests"
RESET_REQUESTS_HEADER = "x-ratelimit-reset-requests"
LIMIT_TOKENS_HEADER = "x-ratelimit-limit-tokens"
REMAINING_TOKENS_HEADER = "x-ratelimit-remaining-tokens"
RESET_TOKENS_HEADER = "x-ratelimit-reset-tokens"
