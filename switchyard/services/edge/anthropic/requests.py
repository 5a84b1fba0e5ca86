"""Anthropic Messages request → ChatRequest: the request context, top-level fields, tools and options."""

from __future__ import annotations

from typing import Any

from switchyard.common.v1 import chat_pb2, context_pb2
from switchyard.services.edge.anthropic.checks import expect, invalid
from switchyard.services.edge.anthropic.turns import messages, text_of
from switchyard.services.edge.translate import request_context
from switchyard.wire.anthropic import vocabulary as vocab
from switchyard.wire.values import to_struct

ROUTE = vocab.MESSAGES_PATH
# The keys the edge takes: the API's, less those an OpenAI-shaped backend has nothing to carry in
# (prompt caching, containers, inference region); they are refused like unknown keys.
_KNOWN_KEYS = vocab.REQUEST_KEYS - {"cache_control", "container", "inference_geo"}


def context(headers: dict[str, str]) -> context_pb2.RequestContext:
    """Returns the request context; an `x-api-key` (the Anthropic style) names the key like a Bearer token."""
    result = request_context(headers)
    if not result.key_prefix and headers.get(vocab.API_KEY_HEADER):
        # Only a short prefix ever leaves the edge, as for Bearer tokens.
        result.key_prefix = headers[vocab.API_KEY_HEADER][:8]
    return result


def _number(body: dict[str, Any], key: str, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    expect(value, (int, float), key, "a number")
    if not 0 <= value <= high:
        raise invalid(key, f"Input should be between 0 and {high:g}")
    return float(value)


def _system(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    blocks = expect(raw, list, "system", "a string or a list of text blocks")
    for k, block in enumerate(blocks):
        if expect(block, dict, f"system.{k}", "an object").get("type") != "text":
            raise invalid(f"system.{k}.type", "Input should be 'text'")
    return "\n".join(text_of(b, f"system.{k}") for k, b in enumerate(blocks))


def _tool(raw: Any, k: int) -> chat_pb2.Tool:
    path = f"tools.{k}"
    expect(raw, dict, path, "an object")
    if raw.get("type") not in (None, "custom"):
        raise invalid(f"{path}.type", f"server tool {raw['type']!r} is not supported here; declare a client tool")
    tool = chat_pb2.Tool(type="function")
    tool.function.name = expect(raw.get("name"), str, f"{path}.name", "a string")
    if raw.get("description") is not None:
        tool.function.description = expect(raw["description"], str, f"{path}.description", "a string")
    if raw.get("input_schema") is None:
        raise invalid(f"{path}.input_schema", "Field required")
    tool.function.parameters.CopyFrom(to_struct(expect(raw["input_schema"], dict, f"{path}.input_schema", "a dict")))
    return tool


def _tool_choice(raw: Any, request: chat_pb2.ChatRequest) -> None:
    kind = expect(raw, dict, "tool_choice", "an object").get("type")
    if kind not in vocab.TOOL_CHOICE_TYPES:
        raise invalid("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'")
    if not request.tools:
        if kind in ("any", "tool"):
            raise invalid("tool_choice", f"tool_choice.type {kind!r} requires `tools`")
        return  # OpenAI backends reject a tool_choice without tools; without tools it changes nothing
    if kind == "tool":
        name = expect(raw.get("name"), str, "tool_choice.name", "a string")
        if name not in {t.function.name for t in request.tools}:
            raise invalid("tool_choice.name", f"tool {name!r} is not among `tools`")
        request.tool_choice.function_name = name
    else:
        request.tool_choice.mode = vocab.TOOL_CHOICE_MODES[kind]
    if expect(raw.get("disable_parallel_tool_use", False), bool, "tool_choice.disable_parallel_tool_use", "a bool"):
        request.parallel_tool_calls = False


def _sampling(body: dict[str, Any], request: chat_pb2.ChatRequest, version: str) -> None:
    """Sets temperature, top_p and top_k, which the API only has before `NO_SAMPLING_SINCE`."""
    for key in vocab.SAMPLING_KEYS:
        if body.get(key) is not None and version >= vocab.NO_SAMPLING_SINCE:
            raise invalid(key, f"this parameter is not supported under anthropic-version {version}")
    for key, high in (("temperature", 1.0), ("top_p", 1.0)):
        value = _number(body, key, high)
        if value is not None:
            setattr(request, key, value)
    if body.get("top_k") is not None:
        top_k = expect(body["top_k"], int, "top_k", "an integer")
        if top_k < 0:
            raise invalid("top_k", "Input should be greater than or equal to 0")
        # ChatRequest has no top_k field; `extra` passes it through to servers that take it (vLLM).
        request.extra.update({"top_k": top_k})


def _options(body: dict[str, Any], request: chat_pb2.ChatRequest, version: str) -> None:
    """Sets sampling, stop, metadata and output options; the sampling ones only where the version has them."""
    _sampling(body, request, version)
    stops = expect(body.get("stop_sequences", []), list, "stop_sequences", "a list")
    request.stop.extend(expect(s, str, f"stop_sequences.{k}", "a string") for k, s in enumerate(stops))
    metadata = expect(body.get("metadata", {}), dict, "metadata", "an object")
    for key in metadata:
        if key != "user_id":
            raise invalid(f"metadata.{key}", "Extra inputs are not permitted")
    if metadata.get("user_id") is not None:
        request.user = expect(metadata["user_id"], str, "metadata.user_id", "a string")
    output = expect(body.get("output_config", {}), dict, "output_config", "an object")
    if output.get("format") is not None:
        fmt = expect(output["format"], dict, "output_config.format", "an object")
        if fmt.get("type") != "json_schema":
            raise invalid("output_config.format.type", "Input should be 'json_schema'")
        schema = expect(fmt.get("schema"), dict, "output_config.format.schema", "an object")
        request.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
        request.response_format.json_schema.name = "output"
        request.response_format.json_schema.schema.CopyFrom(to_struct(schema))


def parse_request(body: Any, headers: dict[str, str]) -> chat_pb2.ChatRequest:
    """Returns the ChatRequest for an Anthropic Messages body, or raises INVALID_REQUEST naming the field.

    `thinking`, `output_config.effort` and `service_tier` are accepted and dropped: the backends are
    OpenAI-shaped and have no faithful equivalent.
    """
    expect(body, dict, "body", "a JSON object")
    unknown = sorted(k for k in body if k not in _KNOWN_KEYS)
    if unknown:
        raise invalid(unknown[0], "Extra inputs are not permitted")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model", "Field required" if model is None else "Input should be a non-empty string")
    if body.get("max_tokens") is None:
        raise invalid("max_tokens", "Field required")
    max_tokens = expect(body["max_tokens"], int, "max_tokens", "a valid integer")
    if not 1 <= max_tokens < 2**31:
        raise invalid("max_tokens", "Input should be greater than or equal to 1")
    request = chat_pb2.ChatRequest(model=model, max_tokens=max_tokens)
    system = _system(body["system"]) if body.get("system") is not None else ""
    if system:
        request.messages.append(chat_pb2.ChatMessage(role=chat_pb2.ROLE_SYSTEM, text=system))
    request.messages.extend(messages(body.get("messages")))
    tools = expect(body.get("tools", []), list, "tools", "a list")
    request.tools.extend(_tool(t, k) for k, t in enumerate(tools))
    if len({t.function.name for t in request.tools}) < len(request.tools):
        raise invalid("tools", "Tool names must be unique.")
    if body.get("tool_choice") is not None:
        _tool_choice(body["tool_choice"], request)
    _options(body, request, headers.get(vocab.VERSION_HEADER, ""))
    request.stream = bool(expect(body.get("stream", False), bool, "stream", "a valid boolean"))
    # Ask for usage on streams so message_delta carries the real output_tokens.
    request.stream_options.include_usage = request.stream
    return request
