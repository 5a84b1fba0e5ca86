"""OpenAI Chat Completions JSON ⇄ switchyard.common.v1 protobuf, validating on the way in.

The edge parses client requests with `parse_request` and renders responses with
`completion_to_wire` / `chunk_to_wire`; the OpenAI-compatible adapters render upstream requests
with `request_to_wire` and parse upstream replies with `completion_from_wire` / `chunk_from_wire`.
Client input that breaks the schema raises `SwitchyardError(INVALID_REQUEST, param=...)`; an
upstream reply that breaks it raises `MalformedError`, which the adapters turn into a failover.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import struct_pb2
from switchyard.common.v1 import chat_pb2, errors_pb2

from services.common.errors import SwitchyardError

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
_TOOL_CHOICE_MODES = {
    "none": chat_pb2.TOOL_CHOICE_MODE_NONE,
    "auto": chat_pb2.TOOL_CHOICE_MODE_AUTO,
    "required": chat_pb2.TOOL_CHOICE_MODE_REQUIRED,
}
_TOOL_CHOICE_NAMES = {v: k for k, v in _TOOL_CHOICE_MODES.items()}
_FORMATS = {
    "text": chat_pb2.RESPONSE_FORMAT_TYPE_TEXT,
    "json_object": chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT,
    "json_schema": chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
}
_FORMAT_NAMES = {v: k for k, v in _FORMATS.items()}

# Request keys with a field of their own; any other key travels in `extra`, passed through as-is.
_KNOWN_KEYS = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "temperature",
        "top_p",
        "n",
        "stop",
        "seed",
        "max_tokens",
        "max_completion_tokens",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "user",
        "metadata",
        "stream",
        "stream_options",
        "store",
        "service_tier",
        "reasoning_effort",
    }
)


class MalformedError(ValueError):
    """An upstream body that does not follow the OpenAI schema."""


def _invalid(param: str, message: str) -> SwitchyardError:
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, message, param=param)


def _type_name(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _expect(value: Any, kinds: type | tuple[type, ...], param: str, what: str) -> Any:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        raise _invalid(param, f"Invalid type for '{param}': expected {what}, but got {_type_name(value)}.")
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _number(body: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    _expect(value, (int, float), key, "a number")
    if not low <= value <= high:
        raise _invalid(key, f"Invalid '{key}': {value} is not between {low:g} and {high:g}.")
    return float(value)


def _integer(body: dict[str, Any], key: str, low: int, high: int | None = None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    _expect(value, int, key, "an integer")
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise _invalid(key, f"Invalid '{key}': {value} must be {bound}.")
    return int(value)


def _bool(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    return None if value is None else bool(_expect(value, bool, key, "a boolean"))


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def _plain(value: Any) -> Any:
    """Returns Struct/ListValue contents as plain JSON values, with whole numbers back as ints."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, struct_pb2.Struct):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, struct_pb2.ListValue):
        return [_plain(v) for v in value]
    return value


def struct_to_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    """Returns a Struct as a plain dict (whole numbers as ints, as JSON Schema authors wrote them)."""
    return {k: _plain(v) for k, v in value.items()}


# ---------------------------------------------------------------- client request → proto


def _parse_part(part: Any, param: str) -> chat_pb2.ContentPart:
    _expect(part, dict, param, "an object")
    kind = part.get("type")
    if kind == "text":
        return chat_pb2.ContentPart(
            text=chat_pb2.TextPart(text=_expect(part.get("text"), str, f"{param}.text", "a string"))
        )
    if kind == "image_url":
        image = _expect(part.get("image_url"), dict, f"{param}.image_url", "an object")
        url = _expect(image.get("url"), str, f"{param}.image_url.url", "a string")
        detail = image.get("detail") or ""
        return chat_pb2.ContentPart(image_url=chat_pb2.ImageUrlPart(url=url, detail=detail))
    if kind == "input_audio":
        audio = _expect(part.get("input_audio"), dict, f"{param}.input_audio", "an object")
        return chat_pb2.ContentPart(
            input_audio=chat_pb2.InputAudioPart(data=str(audio.get("data", "")), format=str(audio.get("format", "")))
        )
    if kind == "file":
        file = _expect(part.get("file"), dict, f"{param}.file", "an object")
        return chat_pb2.ContentPart(
            file=chat_pb2.FilePart(
                file_id=str(file.get("file_id") or ""),
                file_data=str(file.get("file_data") or ""),
                filename=str(file.get("filename") or ""),
            )
        )
    if kind == "refusal":
        return chat_pb2.ContentPart(refusal=chat_pb2.RefusalPart(refusal=str(part.get("refusal", ""))))
    raise _invalid(f"{param}.type", f"Invalid value for '{param}.type': {kind!r} is not a supported content part.")


def _parse_tool_calls(calls: Any, param: str) -> list[chat_pb2.ToolCall]:
    _expect(calls, list, param, "an array")
    result = []
    for j, call in enumerate(calls):
        where = f"{param}[{j}]"
        _expect(call, dict, where, "an object")
        function = _expect(call.get("function"), dict, f"{where}.function", "an object")
        result.append(
            chat_pb2.ToolCall(
                id=_expect(call.get("id"), str, f"{where}.id", "a string"),
                type=call.get("type") or "function",
                function=chat_pb2.FunctionCall(
                    name=_expect(function.get("name"), str, f"{where}.function.name", "a string"),
                    arguments=_expect(function.get("arguments", ""), str, f"{where}.function.arguments", "a string"),
                ),
            )
        )
    return result


def _parse_message(raw: Any, index: int) -> chat_pb2.ChatMessage:
    param = f"messages[{index}]"
    _expect(raw, dict, param, "an object")
    role = ROLES.get(raw.get("role"))  # type: ignore[arg-type]
    if role is None:
        raise _invalid(
            f"{param}.role",
            f"Invalid value for '{param}.role': {raw.get('role')!r} is not one of "
            "'system', 'developer', 'user', 'assistant', 'tool', 'function'.",
        )
    message = chat_pb2.ChatMessage(role=role)
    content = raw.get("content")
    if isinstance(content, str):
        message.text = content
    elif isinstance(content, list):
        message.parts.parts.extend(_parse_part(p, f"{param}.content[{k}]") for k, p in enumerate(content))
    elif content is not None:
        _expect(content, (str, list), f"{param}.content", "a string or an array of content parts")
    elif role != Role.ROLE_ASSISTANT:
        raise _invalid(f"{param}.content", f"Missing required parameter: '{param}.content'.")
    if raw.get("name") is not None:
        message.name = _expect(raw["name"], str, f"{param}.name", "a string")
    if raw.get("tool_calls") is not None:
        message.tool_calls.extend(_parse_tool_calls(raw["tool_calls"], f"{param}.tool_calls"))
    if role == Role.ROLE_TOOL:
        message.tool_call_id = _expect(raw.get("tool_call_id"), str, f"{param}.tool_call_id", "a string")
    if raw.get("refusal") is not None:
        message.refusal = _expect(raw["refusal"], str, f"{param}.refusal", "a string")
    return message


def _parse_tool(raw: Any, index: int) -> chat_pb2.Tool:
    param = f"tools[{index}]"
    _expect(raw, dict, param, "an object")
    function = _expect(raw.get("function"), dict, f"{param}.function", "an object")
    tool = chat_pb2.Tool(type=raw.get("type") or "function")
    tool.function.name = _expect(function.get("name"), str, f"{param}.function.name", "a string")
    if function.get("description") is not None:
        tool.function.description = _expect(function["description"], str, f"{param}.function.description", "a string")
    if function.get("parameters") is not None:
        tool.function.parameters.CopyFrom(
            _struct(_expect(function["parameters"], dict, f"{param}.function.parameters", "an object"))
        )
    if function.get("strict") is not None:
        tool.function.strict = _expect(function["strict"], bool, f"{param}.function.strict", "a boolean")
    return tool


def _parse_tool_choice(raw: Any) -> chat_pb2.ToolChoice:
    if isinstance(raw, str):
        if raw not in _TOOL_CHOICE_MODES:
            raise _invalid("tool_choice", f"Invalid value for 'tool_choice': {raw!r}.")
        return chat_pb2.ToolChoice(mode=_TOOL_CHOICE_MODES[raw])
    _expect(raw, dict, "tool_choice", "a string or an object")
    function = _expect(raw.get("function"), dict, "tool_choice.function", "an object")
    return chat_pb2.ToolChoice(
        function_name=_expect(function.get("name"), str, "tool_choice.function.name", "a string")
    )


def _parse_response_format(raw: Any) -> chat_pb2.ResponseFormat:
    _expect(raw, dict, "response_format", "an object")
    kind = _FORMATS.get(raw.get("type"))  # type: ignore[arg-type]
    if kind is None:
        raise _invalid("response_format.type", f"Invalid value for 'response_format.type': {raw.get('type')!r}.")
    result = chat_pb2.ResponseFormat(type=kind)
    if kind == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
        schema = _expect(raw.get("json_schema"), dict, "response_format.json_schema", "an object")
        result.json_schema.name = _expect(schema.get("name"), str, "response_format.json_schema.name", "a string")
        result.json_schema.description = str(schema.get("description") or "")
        if schema.get("schema") is not None:
            result.json_schema.schema.CopyFrom(
                _struct(_expect(schema["schema"], dict, "response_format.json_schema.schema", "an object"))
            )
        if schema.get("strict") is not None:
            result.json_schema.strict = bool(schema["strict"])
    return result


def _parse_stop(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    _expect(raw, list, "stop", "a string or an array of strings")
    if len(raw) > 4:
        raise _invalid("stop", "Invalid 'stop': at most 4 stop sequences are allowed.")
    return [_expect(s, str, f"stop[{i}]", "a string") for i, s in enumerate(raw)]


def _parse_metadata(raw: Any) -> dict[str, str]:
    _expect(raw, dict, "metadata", "an object")
    if len(raw) > 16:
        raise _invalid("metadata", "Invalid 'metadata': at most 16 pairs are allowed.")
    for key, value in raw.items():
        if len(key) > 64 or not isinstance(value, str) or len(value) > 512:
            raise _invalid(
                f"metadata.{key}",
                "Invalid 'metadata': keys are strings of at most 64 characters and values strings of at most 512.",
            )
    return dict(raw)


_SCALARS: tuple[tuple[str, Callable[[dict[str, Any], str], Any]], ...] = (
    ("temperature", lambda b, k: _number(b, k, 0, 2)),
    ("top_p", lambda b, k: _number(b, k, 0, 1)),
    ("n", lambda b, k: _integer(b, k, 1, 128)),
    ("seed", lambda b, k: _integer(b, k, -(2**63), 2**63 - 1)),
    ("max_tokens", lambda b, k: _integer(b, k, 1)),
    ("max_completion_tokens", lambda b, k: _integer(b, k, 1)),
    ("presence_penalty", lambda b, k: _number(b, k, -2, 2)),
    ("frequency_penalty", lambda b, k: _number(b, k, -2, 2)),
    ("top_logprobs", lambda b, k: _integer(b, k, 0, 20)),
    ("logprobs", _bool),
    ("parallel_tool_calls", _bool),
    ("store", _bool),
)


def parse_request(body: Any) -> chat_pb2.ChatRequest:
    """Returns the ChatRequest in an OpenAI request body, or raises INVALID_REQUEST naming the param."""
    _expect(body, dict, "body", "a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid(
            "model",
            "Missing required parameter: 'model'."
            if model is None
            else "Invalid type for 'model': expected a non-empty string.",
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid(
            "messages",
            "Missing required parameter: 'messages'."
            if messages is None
            else "Invalid 'messages': expected a non-empty array of messages.",
        )
    request = chat_pb2.ChatRequest(model=model)
    request.messages.extend(_parse_message(m, i) for i, m in enumerate(messages))
    for key, parse in _SCALARS:
        value = parse(body, key)
        if value is not None:
            setattr(request, key, value)
    if body.get("tools") is not None:
        request.tools.extend(_parse_tool(t, i) for i, t in enumerate(_expect(body["tools"], list, "tools", "an array")))
    if body.get("tool_choice") is not None:
        request.tool_choice.CopyFrom(_parse_tool_choice(body["tool_choice"]))
    if body.get("response_format") is not None:
        request.response_format.CopyFrom(_parse_response_format(body["response_format"]))
    if body.get("stop") is not None:
        request.stop.extend(_parse_stop(body["stop"]))
    if body.get("logit_bias") is not None:
        bias = _expect(body["logit_bias"], dict, "logit_bias", "an object")
        for token, value in bias.items():
            request.logit_bias[token] = float(_expect(value, (int, float), f"logit_bias.{token}", "a number"))
    if body.get("metadata") is not None:
        request.metadata.update(_parse_metadata(body["metadata"]))
    for key in ("user", "service_tier", "reasoning_effort"):
        if body.get(key) is not None:
            setattr(request, key, _expect(body[key], str, key, "a string"))
    request.stream = bool(_bool(body, "stream"))
    if body.get("stream_options") is not None:
        if not request.stream:
            raise _invalid("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
        options = _expect(body["stream_options"], dict, "stream_options", "an object")
        request.stream_options.include_usage = bool(_bool(options, "include_usage"))
    extra = {k: v for k, v in body.items() if k not in _KNOWN_KEYS}
    if extra:
        request.extra.update(extra)
    return request


# ---------------------------------------------------------------- proto → upstream request


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


def _tool_call_to_wire(call: chat_pb2.ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": call.type or "function",
        "function": {"name": call.function.name, "arguments": call.function.arguments},
    }


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
        result["tool_calls"] = [_tool_call_to_wire(c) for c in message.tool_calls]
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
        body["tool_choice"] = _TOOL_CHOICE_NAMES[request.tool_choice.mode]
    elif choice == "function_name":
        body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice.function_name}}
    if request.response_format.type:
        fmt: dict[str, Any] = {"type": _FORMAT_NAMES[request.response_format.type]}
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
        body.update(struct_to_dict(request.extra))
    return body


# ---------------------------------------------------------------- upstream reply → proto


def _need(value: Any, kinds: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        raise MalformedError(f"upstream {where} is {_type_name(value)}")
    return value


def usage_from_wire(raw: Any) -> chat_pb2.Usage:
    """Returns OpenAI usage as a proto; raises MalformedError when counts are not integers."""
    _need(raw, dict, "usage")
    usage = chat_pb2.Usage(
        prompt_tokens=_need(raw.get("prompt_tokens", 0), int, "usage.prompt_tokens"),
        completion_tokens=_need(raw.get("completion_tokens", 0) or 0, int, "usage.completion_tokens"),
    )
    usage.total_tokens = _need(
        raw.get("total_tokens", usage.prompt_tokens + usage.completion_tokens), int, "usage.total_tokens"
    )
    prompt = raw.get("prompt_tokens_details")
    if isinstance(prompt, dict):
        usage.prompt_tokens_details.cached_tokens = int(prompt.get("cached_tokens") or 0)
        usage.prompt_tokens_details.audio_tokens = int(prompt.get("audio_tokens") or 0)
        usage.prompt_tokens_details.cache_write_tokens = int(prompt.get("cache_write_tokens") or 0)
    completion = raw.get("completion_tokens_details")
    if isinstance(completion, dict):
        details = usage.completion_tokens_details
        details.reasoning_tokens = int(completion.get("reasoning_tokens") or 0)
        details.audio_tokens = int(completion.get("audio_tokens") or 0)
        details.accepted_prediction_tokens = int(completion.get("accepted_prediction_tokens") or 0)
        details.rejected_prediction_tokens = int(completion.get("rejected_prediction_tokens") or 0)
    return usage


def _finish_from_wire(value: Any, where: str) -> chat_pb2.FinishReason.ValueType:
    if value is None:
        return Finish.FINISH_REASON_UNSPECIFIED
    reason = FINISH.get(value)
    if reason is None:
        raise MalformedError(f"upstream {where} is {value!r}, not an OpenAI finish reason")
    return reason


def _reply_message_from_wire(raw: Any, where: str) -> chat_pb2.ChatMessage:
    _need(raw, dict, where)
    message = chat_pb2.ChatMessage(role=Role.ROLE_ASSISTANT)
    content = raw.get("content")
    if content is not None:
        message.text = _need(content, str, f"{where}.content")
    for j, call in enumerate(_need(raw.get("tool_calls") or [], list, f"{where}.tool_calls")):
        _need(call, dict, f"{where}.tool_calls[{j}]")
        function = _need(call.get("function"), dict, f"{where}.tool_calls[{j}].function")
        message.tool_calls.append(
            chat_pb2.ToolCall(
                id=_need(call.get("id"), str, f"{where}.tool_calls[{j}].id"),
                type=call.get("type") or "function",
                function=chat_pb2.FunctionCall(
                    name=_need(function.get("name"), str, f"{where}.tool_calls[{j}].function.name"),
                    arguments=_need(
                        function.get("arguments") or "", str, f"{where}.tool_calls[{j}].function.arguments"
                    ),
                ),
            )
        )
    if raw.get("refusal") is not None:
        message.refusal = _need(raw["refusal"], str, f"{where}.refusal")
    reasoning = raw.get("reasoning") or raw.get("reasoning_content")
    if isinstance(reasoning, str):
        message.reasoning = reasoning
    return message


def completion_from_wire(raw: Any) -> chat_pb2.ChatCompletion:
    """Returns an upstream chat.completion as a proto, or raises MalformedError."""
    _need(raw, dict, "body")
    completion = chat_pb2.ChatCompletion(
        id=_need(raw.get("id"), str, "id"),
        created=_need(raw.get("created", 0), int, "created"),
        model=_need(raw.get("model", ""), str, "model"),
    )
    for i, choice in enumerate(_need(raw.get("choices"), list, "choices")):
        _need(choice, dict, f"choices[{i}]")
        completion.choices.append(
            chat_pb2.Choice(
                index=_need(choice.get("index", i), int, f"choices[{i}].index"),
                message=_reply_message_from_wire(choice.get("message"), f"choices[{i}].message"),
                finish_reason=_finish_from_wire(choice.get("finish_reason"), f"choices[{i}].finish_reason"),
            )
        )
        if isinstance(choice.get("logprobs"), dict):
            completion.choices[-1].logprobs.update(choice["logprobs"])
    if not completion.choices:
        raise MalformedError("upstream reply has no choices")
    if raw.get("usage") is not None:
        completion.usage.CopyFrom(usage_from_wire(raw["usage"]))
    if isinstance(raw.get("system_fingerprint"), str):
        completion.system_fingerprint = raw["system_fingerprint"]
    if isinstance(raw.get("service_tier"), str):
        completion.service_tier = raw["service_tier"]
    return completion


def _delta_from_wire(raw: Any, where: str) -> chat_pb2.ChoiceDelta:
    _need(raw, dict, where)
    delta = chat_pb2.ChoiceDelta()
    if raw.get("role") is not None:
        delta.role = ROLES.get(raw["role"], Role.ROLE_ASSISTANT)
    if raw.get("content") is not None:
        delta.content = _need(raw["content"], str, f"{where}.content")
    if raw.get("refusal") is not None:
        delta.refusal = _need(raw["refusal"], str, f"{where}.refusal")
    reasoning = raw.get("reasoning") or raw.get("reasoning_content")
    if isinstance(reasoning, str):
        delta.reasoning = reasoning
    for j, call in enumerate(_need(raw.get("tool_calls") or [], list, f"{where}.tool_calls")):
        _need(call, dict, f"{where}.tool_calls[{j}]")
        tool = delta.tool_calls.add(index=_need(call.get("index", j), int, f"{where}.tool_calls[{j}].index"))
        if call.get("id") is not None:
            tool.id = _need(call["id"], str, f"{where}.tool_calls[{j}].id")
        if call.get("type") is not None:
            tool.type = str(call["type"])
        function = call.get("function")
        if isinstance(function, dict):
            if function.get("name") is not None:
                tool.function.name = _need(function["name"], str, f"{where}.tool_calls[{j}].function.name")
            if function.get("arguments") is not None:
                tool.function.arguments = _need(
                    function["arguments"], str, f"{where}.tool_calls[{j}].function.arguments"
                )
    return delta


def chunk_from_wire(raw: Any) -> chat_pb2.ChatCompletionChunk:
    """Returns an upstream chat.completion.chunk as a proto, or raises MalformedError."""
    _need(raw, dict, "chunk")
    chunk = chat_pb2.ChatCompletionChunk(
        id=_need(raw.get("id", ""), str, "chunk.id"),
        created=_need(raw.get("created", 0), int, "chunk.created"),
        model=_need(raw.get("model", ""), str, "chunk.model"),
    )
    for i, choice in enumerate(_need(raw.get("choices") or [], list, "chunk.choices")):
        _need(choice, dict, f"chunk.choices[{i}]")
        chunk.choices.append(
            chat_pb2.ChunkChoice(
                index=_need(choice.get("index", i), int, f"chunk.choices[{i}].index"),
                delta=_delta_from_wire(choice.get("delta") or {}, f"chunk.choices[{i}].delta"),
                finish_reason=_finish_from_wire(choice.get("finish_reason"), f"chunk.choices[{i}].finish_reason"),
            )
        )
    if raw.get("usage") is not None:
        chunk.usage.CopyFrom(usage_from_wire(raw["usage"]))
    if isinstance(raw.get("system_fingerprint"), str):
        chunk.system_fingerprint = raw["system_fingerprint"]
    return chunk


# ---------------------------------------------------------------- proto → client response


def usage_to_wire(usage: chat_pb2.Usage) -> dict[str, Any]:
    """Returns usage in OpenAI JSON form, details included."""
    prompt, completion = usage.prompt_tokens_details, usage.completion_tokens_details
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": prompt.cached_tokens, "audio_tokens": prompt.audio_tokens},
        "completion_tokens_details": {
            "reasoning_tokens": completion.reasoning_tokens,
            "audio_tokens": completion.audio_tokens,
            "accepted_prediction_tokens": completion.accepted_prediction_tokens,
            "rejected_prediction_tokens": completion.rejected_prediction_tokens,
        },
    }


def _reply_message_to_wire(message: chat_pb2.ChatMessage) -> dict[str, Any]:
    kind = message.WhichOneof("content")
    content = (
        message.text
        if kind == "text"
        else ("".join(p.text.text for p in message.parts.parts if p.WhichOneof("part") == "text") if kind else None)
    )
    result: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "refusal": message.refusal if message.HasField("refusal") else None,
    }
    if message.tool_calls:
        result["tool_calls"] = [_tool_call_to_wire(c) for c in message.tool_calls]
    return result


def completion_to_wire(completion: chat_pb2.ChatCompletion) -> dict[str, Any]:
    """Returns a chat.completion object for the client."""
    result: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                "index": c.index,
                "message": _reply_message_to_wire(c.message),
                "logprobs": struct_to_dict(c.logprobs) if c.HasField("logprobs") else None,
                "finish_reason": FINISH_NAMES.get(c.finish_reason) or "stop",
            }
            for c in completion.choices
        ],
        "usage": usage_to_wire(completion.usage),
    }
    if completion.system_fingerprint:
        result["system_fingerprint"] = completion.system_fingerprint
    if completion.service_tier:
        result["service_tier"] = completion.service_tier
    return result


def _delta_to_wire(delta: chat_pb2.ChoiceDelta) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if delta.role:
        result["role"] = ROLE_NAMES.get(delta.role, "assistant")
    if delta.HasField("content"):
        result["content"] = delta.content
    if delta.tool_calls:
        calls = []
        for tool in delta.tool_calls:
            call: dict[str, Any] = {"index": tool.index}
            if tool.HasField("id"):
                call["id"] = tool.id
            if tool.HasField("type"):
                call["type"] = tool.type
            function: dict[str, Any] = {}
            if tool.function.HasField("name"):
                function["name"] = tool.function.name
            if tool.function.HasField("arguments"):
                function["arguments"] = tool.function.arguments
            if function:
                call["function"] = function
            calls.append(call)
        result["tool_calls"] = calls
    if delta.HasField("refusal"):
        result["refusal"] = delta.refusal
    return result


def chunk_to_wire(chunk: chat_pb2.ChatCompletionChunk, include_usage: bool) -> dict[str, Any]:
    """Returns a chat.completion.chunk for the client; usage appears only when include_usage."""
    result: dict[str, Any] = {
        "id": chunk.id,
        "object": "chat.completion.chunk",
        "created": chunk.created,
        "model": chunk.model,
        "choices": [
            {
                "index": c.index,
                "delta": _delta_to_wire(c.delta),
                "logprobs": struct_to_dict(c.logprobs) if c.HasField("logprobs") else None,
                "finish_reason": FINISH_NAMES.get(c.finish_reason),
            }
            for c in chunk.choices
        ],
    }
    if include_usage:
        result["usage"] = usage_to_wire(chunk.usage) if chunk.HasField("usage") else None
    if chunk.system_fingerprint:
        result["system_fingerprint"] = chunk.system_fingerprint
    return result
