"""The OpenAI Chat Completions vocabulary shared by requests and replies: roles, finish reasons, JSON values."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

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
FINISH: dict[str, chat_pb2.FinishReason.ValueType] = {
    "stop": Finish.FINISH_REASON_STOP,
    "length": Finish.FINISH_REASON_LENGTH,
    "tool_calls": Finish.FINISH_REASON_TOOL_CALLS,
    "content_filter": Finish.FINISH_REASON_CONTENT_FILTER,
    "function_call": Finish.FINISH_REASON_FUNCTION_CALL,
}
FINISH_NAMES: dict[chat_pb2.FinishReason.ValueType, str | None] = {v: k for k, v in FINISH.items()} | {
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


# Request keys with a field of their own; any other key travels in `extra`, passed through as-is.
class MalformedError(ValueError):
    """An upstream body that does not follow the OpenAI schema."""


def type_name(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def plain(value: Any) -> Any:
    """Returns Struct/ListValue contents as plain JSON values, with whole numbers back as ints."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, struct_pb2.Struct):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, struct_pb2.ListValue):
        return [plain(v) for v in value]
    return value


def struct_to_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    """Returns a Struct as a plain dict (whole numbers as ints, as JSON Schema authors wrote them)."""
    return {k: plain(v) for k, v in value.items()}


def tool_call_to_wire(call: chat_pb2.ToolCall) -> dict[str, Any]:
    """Returns one tool call in OpenAI JSON form."""
    return {
        "id": call.id,
        "type": call.type or "function",
        "function": {"name": call.function.name, "arguments": call.function.arguments},
    }
