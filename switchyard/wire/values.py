"""JSON values as every vendor's translation sees them: type names, protobuf Struct ⇄ dict, a broken reply.

Vendor-neutral: the OpenAI, Anthropic and Gemini translations all check JSON types the same way and
carry free-form JSON (tool parameters, schemas, logprobs) in `google.protobuf.Struct`.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2


class MalformedError(ValueError):
    """An upstream body that does not follow its wire format's schema."""


def type_name(value: object) -> str:
    """Returns the JSON type of a value as an error message names it ("an object", "a string", ...)."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    """Returns the types an isinstance check takes, always as a tuple."""
    return kinds if isinstance(kinds, tuple) else (kinds,)


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    """Returns a JSON object as a Struct."""
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


def too_deep(value: Any, limit: int) -> str | None:
    """Returns where a JSON value nests objects and arrays more than limit levels deep, else None.

    The answer is the top-level key the too-deep part sits under ("" when the value itself is not an
    object). Iterative, so a hostile depth costs a loop, not the interpreter's recursion limit; it
    runs before anything recursive (protobuf's Struct, whose decoder stops at 100 message levels).
    """
    kind = type(value)
    if kind is dict:
        for key, child in value.items():
            if type(child) in _CONTAINERS and _exceeds(child, limit - 1):
                return str(key)
        return None
    return "" if kind is list and _exceeds(value, limit) else None


_CONTAINERS = (dict, list)


def _exceeds(value: dict[str, Any] | list[Any], limit: int) -> bool:
    """Says whether value (itself one level) nests containers more than limit levels deep."""
    # Exact type checks and bound methods: this runs on every request body, so it is kept lean.
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if depth > limit:
            return True
        for child in item.values() if type(item) is dict else item:
            if type(child) in _CONTAINERS:
                push((child, depth + 1))
    return False
