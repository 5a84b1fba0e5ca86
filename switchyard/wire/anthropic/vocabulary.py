"""The Anthropic Messages vocabulary: headers, versions, request keys, stop reasons, stream events and errors.

Said once for the edge's `POST /v1/messages`, the Anthropic adapter and the fake Anthropic server
(wire-formats §4). `FINISH` and `STOP_REASONS` map stop reasons to our finish reasons and back;
`TOOL_CHOICE_MODES` and `TOOL_CHOICE_NAMES` do the same for tool_choice.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson

from switchyard.common.v1 import chat_pb2

Finish = chat_pb2.FinishReason

MESSAGES_PATH = "/v1/messages"
MODELS_PATH = "/v1/models"
API_KEY_HEADER = "x-api-key"
VERSION_HEADER = "anthropic-version"
REQUEST_ID_HEADER = "request-id"

VERSION_2023 = "2023-06-01"
VERSION_2026 = "2026-10-21"
VERSIONS = frozenset({VERSION_2023, VERSION_2026})
# From this anthropic-version on, the API answers temperature, top_p or top_k with 400 (wire-formats §0).
NO_SAMPLING_SINCE = VERSION_2026
NO_SAMPLING_VERSIONS = frozenset(v for v in VERSIONS if v >= NO_SAMPLING_SINCE)
SAMPLING_KEYS = ("temperature", "top_p", "top_k")

# Top-level request keys the Messages API knows; any other key is a 400 ("Extra inputs are not permitted").
REQUEST_KEYS = frozenset(
    {
        "model", "max_tokens", "messages", "system", "metadata", "stop_sequences", "stream", "temperature",
        "top_p", "top_k", "tools", "tool_choice", "thinking", "output_config", "service_tier", "cache_control",
        "container", "inference_geo",
    }
)  # fmt: skip
# The content block types each role may send.
BLOCK_TYPES = {
    "user": frozenset({"text", "image", "document", "tool_result", "search_result"}),
    "assistant": frozenset({"text", "tool_use", "thinking", "redacted_thinking", "server_tool_use"}),
}
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
TOOL_CHOICE_TYPES = ("auto", "any", "tool", "none")
# tool_choice types as our tool-choice modes (`tool` names a function instead) and back.
TOOL_CHOICE_MODES = {
    "auto": chat_pb2.TOOL_CHOICE_MODE_AUTO,
    "any": chat_pb2.TOOL_CHOICE_MODE_REQUIRED,
    "none": chat_pb2.TOOL_CHOICE_MODE_NONE,
}
TOOL_CHOICE_NAMES = {v: k for k, v in TOOL_CHOICE_MODES.items()}


class StopReason(StrEnum):
    """Why a message ended, in Anthropic's words."""

    END_TURN = "end_turn"
    STOP_SEQUENCE = "stop_sequence"
    PAUSE_TURN = "pause_turn"
    MAX_TOKENS = "max_tokens"
    MODEL_CONTEXT_WINDOW_EXCEEDED = "model_context_window_exceeded"
    TOOL_USE = "tool_use"
    REFUSAL = "refusal"


# A stop reason as our finish reason (a reason added later counts as a stop).
FINISH: dict[str, chat_pb2.FinishReason.ValueType] = {
    StopReason.END_TURN: Finish.FINISH_REASON_STOP,
    StopReason.STOP_SEQUENCE: Finish.FINISH_REASON_STOP,
    StopReason.PAUSE_TURN: Finish.FINISH_REASON_STOP,
    StopReason.MAX_TOKENS: Finish.FINISH_REASON_LENGTH,
    StopReason.MODEL_CONTEXT_WINDOW_EXCEEDED: Finish.FINISH_REASON_LENGTH,
    StopReason.TOOL_USE: Finish.FINISH_REASON_TOOL_CALLS,
    StopReason.REFUSAL: Finish.FINISH_REASON_CONTENT_FILTER,
}
# Our finish reason as the stop reason a client of the Messages API reads (anything else: end_turn).
STOP_REASONS: dict[chat_pb2.FinishReason.ValueType, StopReason] = {
    Finish.FINISH_REASON_STOP: StopReason.END_TURN,
    Finish.FINISH_REASON_LENGTH: StopReason.MAX_TOKENS,
    Finish.FINISH_REASON_TOOL_CALLS: StopReason.TOOL_USE,
    Finish.FINISH_REASON_FUNCTION_CALL: StopReason.TOOL_USE,
    Finish.FINISH_REASON_CONTENT_FILTER: StopReason.REFUSAL,
}

# ---------------------------------------------------------------- streams


class Event(StrEnum):
    """The names of a stream's events; each event's `type` repeats its name."""

    MESSAGE_START = "message_start"
    CONTENT_BLOCK_START = "content_block_start"
    CONTENT_BLOCK_DELTA = "content_block_delta"
    CONTENT_BLOCK_STOP = "content_block_stop"
    MESSAGE_DELTA = "message_delta"
    MESSAGE_STOP = "message_stop"
    PING = "ping"
    ERROR = "error"


def event(name: Event, data: dict[str, Any]) -> bytes:
    """Returns one SSE event: its `event:` line (which the SDK requires) and its `data:` JSON."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps({"type": name, **data}) + b"\n\n"


# ---------------------------------------------------------------- errors and rate limits

# The `error.type` of the error body Anthropic answers each status with.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
    404: "not_found_error", 409: "conflict_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 504: "timeout_error", 529: "overloaded_error",
}  # fmt: skip
BILLING_ERROR = ERROR_TYPES[402]
OVERLOADED_ERROR = ERROR_TYPES[529]


def error_type(status: int) -> str:
    """Returns the `error.type` Anthropic gives an HTTP status (another 4xx reads invalid_request_error)."""
    return ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


# `anthropic-ratelimit-{kind}-{limit,remaining,reset}` headers; reset is an RFC 3339 instant.
RATE_LIMIT_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")


def rate_limit_header(kind: str, field: str) -> str:
    """Returns the name of one rate-limit header, e.g. `anthropic-ratelimit-requests-remaining`."""
    return f"anthropic-ratelimit-{kind}-{field}"
