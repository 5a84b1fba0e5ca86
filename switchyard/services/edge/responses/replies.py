"""Chat completions rendered as Responses API objects: output items, usage, status, the response itself.

A completion's first choice becomes the output: its text one `message` item (one `output_text` part),
each tool call a `function_call` item whose `call_id` is the chat tool call's id, so a
`function_call_output` sent back later names it. A `length` finish is `incomplete` with reason
`max_output_tokens`, a `content_filter` finish `incomplete` with reason `content_filter`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from switchyard.services.edge.responses.requests import ResponsesRequest

RESPONSE_OBJECT = "response"
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_id(prefix: str) -> str:
    """Returns a fresh id in OpenAI's style ("resp_", "msg_", "fc_" and 48 hex digits)."""
    return f"{prefix}_{uuid.uuid4().hex}{uuid.uuid4().hex[:16]}"


def text_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    """Returns an assistant `message` output item holding text."""
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": content}


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str = "completed") -> dict[str, Any]:
    """Returns a `function_call` output item."""
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def output_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Returns the output items of a chat completion's assistant message (JSON)."""
    items = []
    if message.get("content"):
        items.append(text_item(new_id("msg"), message["content"]))
    for call in message.get("tool_calls") or ():
        function = call["function"]
        items.append(call_item(new_id("fc"), call["id"], function["name"], function["arguments"]))
    return items


def assistant_message(output: list[dict[str, Any]]) -> dict[str, Any]:
    """Returns the chat message (JSON) an output amounts to, for the conversation's next turn."""
    text = "".join(part["text"] for item in output if item["type"] == "message" for part in item["content"])
    calls = [
        {"id": item["call_id"], "type": "function", "function": {"name": item["name"], "arguments": item["arguments"]}}
        for item in output
        if item["type"] == "function_call"
    ]
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    return message


def usage_of(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    """Returns Chat Completions usage (JSON) as Responses usage."""
    if usage is None:
        return None
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": usage.get("prompt_tokens", 0),
        "input_tokens_details": {"cached_tokens": prompt_details.get("cached_tokens", 0), "cache_write_tokens": 0},
        "output_tokens": usage.get("completion_tokens", 0),
        "output_tokens_details": {"reasoning_tokens": completion_details.get("reasoning_tokens", 0)},
        "total_tokens": usage.get("total_tokens", 0),
    }


def response_object(
    response_id: str,
    request: ResponsesRequest,
    model: str,
    *,
    status: str = "in_progress",
    output: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    created_at: int | None = None,
) -> dict[str, Any]:
    """Returns the response object; `finish_reason` (the chat one) decides completed or incomplete."""
    incomplete = INCOMPLETE.get(finish_reason or "")
    if status == "completed" and incomplete:
        status = "incomplete"
    now = int(time.time())
    response: dict[str, Any] = {
        "id": response_id,
        "object": RESPONSE_OBJECT,
        "created_at": created_at or now,
        "status": status,
        "completed_at": now if status == "completed" else None,
        "error": None,
        "incomplete_details": {"reason": incomplete} if status == "incomplete" else None,
        "model": model,
        "output": output or [],
        "previous_response_id": request.previous_response_id,
        "reasoning": {"effort": None, "summary": None},
        "store": request.store,
        "truncation": "disabled",
        **request.echo,
    }
    if usage is not None:
        response["usage"] = usage
    return response


def completed_response(response_id: str, request: ResponsesRequest, completion: dict[str, Any]) -> dict[str, Any]:
    """Returns the response object of a whole chat completion (JSON)."""
    choices: list[dict[str, Any]] = completion.get("choices") or [{"message": {}, "finish_reason": "stop"}]
    choice = choices[0]
    return response_object(
        response_id,
        request,
        completion.get("model", request.chat.model),
        status="completed",
        output=output_of(choice["message"]),
        usage=usage_of(completion.get("usage")),
        finish_reason=choice.get("finish_reason"),
        created_at=completion.get("created"),
    )
