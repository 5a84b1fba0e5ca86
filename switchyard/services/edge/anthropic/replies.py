"""ChatCompletion, usage and errors → Anthropic JSON: messages, usage blocks and error bodies.

Error bodies keep the HTTP status of our taxonomy and take their `error.type` from that status
(`error_type`): a 503 stays a 503 but reads `overloaded_error`, a 502 reads `api_error`.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.translate import Headers, error_body, error_response
from switchyard.wire.anthropic import vocabulary as vocab


def usage_to_wire(usage: chat_pb2.Usage) -> dict[str, int]:
    """Returns usage in Anthropic's meaning: input_tokens excludes the tokens read from or written to the cache."""
    cached = usage.prompt_tokens_details.cached_tokens
    written = usage.prompt_tokens_details.cache_write_tokens
    return {
        "input_tokens": max(0, usage.prompt_tokens - cached - written),
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
    }


def _tool_input(arguments: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise SwitchyardError(
            errors_pb2.ERROR_REASON_UPSTREAM_MALFORMED, "the model returned tool arguments that are not a JSON object"
        )
    return value


def message_to_wire(completion: chat_pb2.ChatCompletion, model: str) -> dict[str, Any]:
    """Returns the Anthropic message for a completion's first choice, named after the model the client asked for."""
    choice = completion.choices[0] if completion.choices else chat_pb2.Choice()
    reply = choice.message
    text = reply.text if reply.WhichOneof("content") == "text" else ""
    text += "".join(p.text.text for p in reply.parts.parts if p.WhichOneof("part") == "text")
    content: list[dict[str, Any]] = []
    for piece in (text, reply.refusal):
        if piece:
            content.append({"type": "text", "text": piece})
    content.extend(
        {"type": "tool_use", "id": c.id, "name": c.function.name, "input": _tool_input(c.function.arguments)}
        for c in reply.tool_calls
    )
    stop_reason = vocab.STOP_REASONS.get(choice.finish_reason, vocab.StopReason.END_TURN)
    return message(model, content, stop_reason, usage_to_wire(completion.usage))


def message(model: str, content: list[dict[str, Any]], stop: str | None, usage: dict[str, int]) -> dict[str, Any]:
    """Returns an Anthropic message object with a fresh id; streams send one with no content in message_start."""
    # The id is ours: a cached answer is a new message, and upstream ids are not Anthropic's.
    head = {"id": f"msg_{uuid.uuid4().hex}", "type": "message", "role": "assistant", "model": model}
    return head | {"content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage}


def error_type(status: int) -> str:
    """Returns the Anthropic `error.type` for an HTTP status of our taxonomy."""
    if status == 503:
        # Our 503 is an overloaded or unavailable upstream: what Anthropic says with its own 529.
        return vocab.OVERLOADED_ERROR
    return vocab.error_type(status)


def error_object(err: SwitchyardError) -> dict[str, Any]:
    """Returns `{"type":"error","error":{type,message}}`, with every attempt when a route was tried."""
    openai = error_body(err)["error"]  # the same message and attempts, scrubbed of anything key-shaped
    error: dict[str, Any] = {"type": error_type(err.status), "message": openai["message"]}
    attempts = openai.get("attempts")
    if attempts:
        error["attempts"] = attempts
    return {"type": "error", "error": error}


def error_reply(err: SwitchyardError, request_id: str) -> tuple[int, Headers, bytes]:
    """Returns (status, headers, body) of the Anthropic HTTP error for err, with the same retry hints."""
    status, headers, _ = error_response(err, request_id)
    body = error_object(err) | {"request_id": request_id}
    return status, [*headers, (vocab.REQUEST_ID_HEADER.encode(), request_id.encode())], orjson.dumps(body)
