"""ChatRequest → the OpenAI Chat Completions JSON body an OpenAI-compatible upstream is sent."""

from __future__ import annotations

from typing import Any

from switchyard.common.v1 import chat_pb2
from switchyard.wire.openai.extras import OPENAI_COMPATIBLE, allowed_extras
from switchyard.wire.openai.replies import tool_call_to_wire
from switchyard.wire.openai.vocabulary import FORMAT_NAMES, ROLE_NAMES, TOOL_CHOICE_NAMES
from switchyard.wire.values import struct_to_dict


def _part_to_wire(part: chat_pb2.ContentPart) -> dict[str, Any]:
    kind = part.WhichOneof("part")
    if kind == "text":
        return {"type": "text", "text": part.text.text}
    if kind == "image_url":
        image: dict[str, Any] = {"url": part.image_url.url}
        if part.image_url.detail:
            image["detail"] = part.image_url.detail
        return {"type": "image_url", "image_url": image}
    if kind == "input_audio":
        return {
            "type": "input_audio",
            "input_audio": {"data": part.input_audio.data, "format": part.input_audio.format},
        }
    if kind == "file":
        file = {
            k: v
            for k, v in (
                ("file_id", part.file.file_id),
                ("file_data", part.file.file_data),
                ("filename", part.file.filename),
            )
            if v
        }
        return {"type": "file", "file": file}
    return {"type": "refusal", "refusal": part.refusal.refusal}


def message_to_wire(message: chat_pb2.ChatMessage) -> dict[str, Any]:
    """Returns one chat message in OpenAI JSON form."""
    result: dict[str, Any] = {"role": ROLE_NAMES.get(message.role, "user")}
    kind = message.WhichOneof("content")
    if kind == "text":
        result["content"] = message.text
    elif kind == "parts":
        result["content"] = [_part_to_wire(p) for p in message.parts.parts]
    else:
        result["content"] = None
    if message.name:
        result["name"] = message.name
    if message.tool_calls:
        result["tool_calls"] = [tool_call_to_wire(c) for c in message.tool_calls]
    if message.tool_call_id:
        result["tool_call_id"] = message.tool_call_id
    if message.HasField("refusal"):
        result["refusal"] = message.refusal
    return result


def _tool_to_wire(tool: chat_pb2.Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.function.name}
    if tool.function.description:
        function["description"] = tool.function.description
    if tool.function.HasField("parameters"):
        function["parameters"] = struct_to_dict(tool.function.parameters)
    if tool.function.HasField("strict"):
        function["strict"] = tool.function.strict
    return {"type": tool.type or "function", "function": function}


def request_to_wire(request: chat_pb2.ChatRequest, model: str, *, max_tokens_field: str) -> dict[str, Any]:
    """Returns the OpenAI JSON body for request, naming the upstream model and its max-tokens field."""
    body: dict[str, Any] = {"model": model, "messages": [message_to_wire(m) for m in request.messages]}
    if request.tools:
        body["tools"] = [_tool_to_wire(t) for t in request.tools]
    choice = request.tool_choice.WhichOneof("choice")
    if choice == "mode":
        body["tool_choice"] = TOOL_CHOICE_NAMES[request.tool_choice.mode]
    elif choice == "function_name":
        body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice.function_name}}
    if request.response_format.type:
        fmt: dict[str, Any] = {"type": FORMAT_NAMES[request.response_format.type]}
        if request.response_format.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
            schema = request.response_format.json_schema
            fmt["json_schema"] = {"name": schema.name, "schema": struct_to_dict(schema.schema)}
            if schema.description:
                fmt["json_schema"]["description"] = schema.description
            if schema.HasField("strict"):
                fmt["json_schema"]["strict"] = schema.strict
        body["response_format"] = fmt
    for key in (
        "parallel_tool_calls",
        "temperature",
        "top_p",
        "n",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "top_logprobs",
        "store",
    ):
        if request.HasField(key):
            body[key] = getattr(request, key)
    limit = (
        request.max_completion_tokens
        if request.HasField("max_completion_tokens")
        else (request.max_tokens if request.HasField("max_tokens") else None)
    )
    if limit is not None:
        body[max_tokens_field] = limit
    if request.stop:
        body["stop"] = list(request.stop)
    if request.logit_bias:
        body["logit_bias"] = dict(request.logit_bias)
    for key in ("user", "service_tier", "reasoning_effort"):
        if getattr(request, key):
            body[key] = getattr(request, key)
    if request.metadata:
        body["metadata"] = dict(request.metadata)
    if request.stream:
        body["stream"] = True
    if request.HasField("extra"):
        # Only the provider-specific parameters an OpenAI-compatible server takes: never a modelled
        # field, so nothing in `extra` can override the model, the prompt or the limits (extras.py).
        body.update(allowed_extras(struct_to_dict(request.extra), OPENAI_COMPATIBLE))
    return body
