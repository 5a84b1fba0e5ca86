"""Checks on requests arriving over the router's gRPC API (the edge has already checked its own), for both
doors: `extra` is checked here whoever sent it."""

from __future__ import annotations

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.openai.extras import check_extra


def validate_request(request: chat_pb2.ChatRequest) -> None:
    """Raises INVALID_REQUEST naming the field when a gRPC caller's request cannot be served."""

    def invalid(param: str, message: str) -> SwitchyardError:
        return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, message, param=param)

    if not request.model:
        raise invalid("model", "Missing required parameter: 'model'.")
    if not request.messages:
        raise invalid("messages", "Missing required parameter: 'messages'.")
    for index, message in enumerate(request.messages):
        if message.role == chat_pb2.ROLE_UNSPECIFIED:
            raise invalid(f"messages[{index}].role", f"Missing required parameter: 'messages[{index}].role'.")
        if message.role == chat_pb2.ROLE_TOOL and not message.tool_call_id:
            raise invalid(
                f"messages[{index}].tool_call_id", f"Missing required parameter: 'messages[{index}].tool_call_id'."
            )
    if request.HasField("extra"):
        # Provider-specific parameters only: a modelled field there would override what was checked.
        check_extra(request.extra.fields.keys())
