"""OpenAI request JSON → ChatRequest: client bodies validated field by field, and LiteLLM's cache controls.

The other direction, a ChatRequest rendered as the body an OpenAI-compatible upstream is sent, is
in `upstream_requests`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.openai.extras import REQUEST_FIELDS, check_extra
from switchyard.wire.openai.vocabulary import FORMATS, ROLES, TOOL_CHOICE_MODES, Role
from switchyard.wire.values import as_tuple, to_struct, type_name

# Request keys with a field of their own (extras.REQUEST_FIELDS); any other key must be a
# provider-specific parameter `extras.py` allows (else 400 naming it), and travels in `extra`.


# The largest value an int32 protobuf field holds: a larger one must be a 400 here, not a crash later.
INT32_MAX = 2**31 - 1
# OpenAI's range for a logit_bias value.
_LOGIT_BIAS_MAX = 100


def _invalid(param: str, message: str) -> SwitchyardError:
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, message, param=param)


def _expect(value: Any, kinds: type | tuple[type, ...], param: str, what: str) -> Any:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in as_tuple(kinds)):
        raise _invalid(param, f"Invalid type for '{param}': expected {what}, but got {type_name(value)}.")
    return value


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
    # Only a string can name a role: a list or object there is a 400, not an unhashable-key TypeError.
    role_name = raw.get("role")
    role = ROLES.get(role_name) if isinstance(role_name, str) else None
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
            to_struct(_expect(function["parameters"], dict, f"{param}.function.parameters", "an object"))
        )
    if function.get("strict") is not None:
        tool.function.strict = _expect(function["strict"], bool, f"{param}.function.strict", "a boolean")
    return tool


def _parse_tool_choice(raw: Any) -> chat_pb2.ToolChoice:
    if isinstance(raw, str):
        if raw not in TOOL_CHOICE_MODES:
            raise _invalid("tool_choice", f"Invalid value for 'tool_choice': {raw!r}.")
        return chat_pb2.ToolChoice(mode=TOOL_CHOICE_MODES[raw])
    _expect(raw, dict, "tool_choice", "a string or an object")
    function = _expect(raw.get("function"), dict, "tool_choice.function", "an object")
    return chat_pb2.ToolChoice(
        function_name=_expect(function.get("name"), str, "tool_choice.function.name", "a string")
    )


def _parse_response_format(raw: Any) -> chat_pb2.ResponseFormat:
    _expect(raw, dict, "response_format", "an object")
    kind_name = raw.get("type")
    kind = FORMATS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise _invalid("response_format.type", f"Invalid value for 'response_format.type': {raw.get('type')!r}.")
    result = chat_pb2.ResponseFormat(type=kind)
    if kind == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
        schema = _expect(raw.get("json_schema"), dict, "response_format.json_schema", "an object")
        result.json_schema.name = _expect(schema.get("name"), str, "response_format.json_schema.name", "a string")
        result.json_schema.description = str(schema.get("description") or "")
        if schema.get("schema") is not None:
            result.json_schema.schema.CopyFrom(
                to_struct(_expect(schema["schema"], dict, "response_format.json_schema.schema", "an object"))
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
    ("max_tokens", lambda b, k: _integer(b, k, 1, INT32_MAX)),
    ("max_completion_tokens", lambda b, k: _integer(b, k, 1, INT32_MAX)),
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
            where = f"logit_bias.{token}"
            _expect(value, (int, float), where, "a number")
            if not -_LOGIT_BIAS_MAX <= value <= _LOGIT_BIAS_MAX:
                raise _invalid(where, f"Invalid '{where}': {value} is not between -100 and 100.")
            request.logit_bias[token] = float(value)
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
    extra = {k: v for k, v in body.items() if k not in REQUEST_FIELDS}
    if extra:
        check_extra(extra, prefix="")
        request.extra.update(extra)
    return request


_MAX_CACHE_TTL_S = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class CacheDirectives:
    """LiteLLM's per-request `cache` object: skip the lookup, keep the answer out, or cache it for ttl_s."""

    no_cache: bool = False
    no_store: bool = False
    ttl_s: int | None = None


def cache_directives(body: Any) -> CacheDirectives:
    """Returns the `cache` controls of a request body ({"no-cache": true, "no-store": true, "ttl": 600}).

    Keys LiteLLM knows that have no meaning here (namespace, s-maxage) are accepted and ignored, so
    LiteLLM clients keep working; a value of the wrong type is an error naming the key.
    """
    raw = body.get("cache") if isinstance(body, dict) else None
    if raw is None:
        return CacheDirectives()
    controls = _expect(raw, dict, "cache", "an object")
    ttl = _integer(controls, "ttl", 1, _MAX_CACHE_TTL_S)
    return CacheDirectives(
        no_cache=bool(_bool(controls, "no-cache")), no_store=bool(_bool(controls, "no-store")), ttl_s=ttl
    )
