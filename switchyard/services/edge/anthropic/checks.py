"""Field checks of the edge's Messages API: the INVALID_REQUEST error that names a field as Anthropic does."""

from __future__ import annotations

from typing import Any

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.values import as_tuple, type_name


def invalid(path: str, message: str) -> SwitchyardError:
    """Returns the INVALID_REQUEST error for the field at `path` (dotted, as the Anthropic API names it)."""
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, f"{path}: {message}", param=path)


def expect(value: Any, kinds: type | tuple[type, ...], path: str, what: str) -> Any:
    """Returns value when it is one of `kinds` (a bool only where bool is asked for), else raises `invalid`."""
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in as_tuple(kinds)):
        raise invalid(path, f"Input should be {what}, not {type_name(value)}")
    return value
