"""A Responses API request as the Chat Completions request the router serves (it is chat underneath).

    input: "text"                          → one user message
    input items: message (role, content)   → a chat message (developer → system; input_text/output_text
                                             parts → text, input_image → image_url)
                 function_call             → an assistant message's tool call (consecutive calls share one)
                 function_call_output      → a tool message answering call_id
    instructions                           → a system message first (not carried to the next response)
    tools: [{type: function, name, ...}]   → chat tools; tool_choice {type: function, name} likewise
    max_output_tokens, temperature, top_p, user, metadata, parallel_tool_calls carry over
    text.format json_schema / json_object  → response_format
    previous_response_id                   → the stored conversation's messages go before the input

Other tool types (web search, file search, ...), other item types, `conversation`, `prompt`,
`moderation` and `background` are a 400 naming the parameter, in OpenAI's error format; hints without an
effect on a chat model (reasoning, truncation, include, prompt caching, service tier, ...) are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.openai import parse_request

# Parameters read as they are, and those accepted but without effect on a chat model.
_CARRIED = ("temperature", "top_p", "user", "metadata", "parallel_tool_calls")
_IGNORED = frozenset(
    {
        "reasoning",
        "truncation",
        "include",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "context_management",
        "service_tier",
        "stream_options",
        "top_logprobs",
        # One model call answers a response, so it makes at most one round of tool calls anyway.
        "max_tool_calls",
    }
)
_KNOWN = frozenset(
    {
        *_CARRIED,
        *_IGNORED,
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "max_output_tokens",
        "text",
        "store",
        "stream",
        "previous_response_id",
        "background",
    }
)
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_TEXT_PARTS = frozenset({"input_text", "output_text", "text", "refusal"})


def invalid(param: str, message: str) -> SwitchyardError:
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, message, param=param)


@dataclass
class ResponsesRequest:
    """What the edge keeps of a Responses request: the chat request it became and what the reply echoes."""

    chat: chat_pb2.ChatRequest
    # messages: the conversation as chat messages (JSON), without the instructions, for the next response.
    messages: list[dict[str, Any]]
    echo: dict[str, Any] = field(default_factory=dict)
    store: bool = True
    previous_response_id: str | None = None
    # input_items: the request's own `input` as Responses items, listed by GET .../input_items.
    input_items: list[dict[str, Any]] = field(default_factory=list)


def previous_id(payload: Any) -> str | None:
    """Returns the `previous_response_id` a request body names (None when none); raises for a bad one."""
    if not isinstance(payload, dict):
        raise invalid("", "The request body must be a JSON object.")
    value = payload.get("previous_response_id")
    if value is not None and (not isinstance(value, str) or not value):
        raise invalid("previous_response_id", "Invalid 'previous_response_id': expected a non-empty string.")
    return value


def _part(raw: Any, param: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid(param, f"Invalid '{param}': expected an object.")
    kind = raw.get("type")
    if kind in _TEXT_PARTS:
        text = raw.get("text", raw.get("refusal"))
        if not isinstance(text, str):
            raise invalid(f"{param}.text", f"Invalid '{param}.text': expected a string.")
        return {"type": "text", "text": text}
    if kind == "input_image":
        url = raw.get("image_url")
        if not isinstance(url, str) or not url:
            raise invalid(f"{param}.image_url", "Only images given by URL or data URL are supported (no file_id).")
        return {"type": "image_url", "image_url": {"url": url, "detail": raw.get("detail") or "auto"}}
    raise invalid(f"{param}.type", f"Invalid '{param}.type': content of type {kind!r} is not supported.")


def _content(raw: Any, role: str, param: str) -> str | list[dict[str, Any]]:
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, list):
        raise invalid(param, f"Invalid '{param}': expected a string or an array of content parts.")
    parts = [_part(p, f"{param}[{i}]") for i, p in enumerate(raw)]
    if role != "user" or all(p["type"] == "text" for p in parts):
        # Only a user turn may carry images in chat; text parts read best joined.
        if any(p["type"] != "text" for p in parts):
            raise invalid(param, f"Invalid '{param}': only user messages may carry images.")
        return "".join(p["text"] for p in parts)
    return parts


def _message(raw: dict[str, Any], param: str) -> dict[str, Any]:
    role = _ROLES.get(raw.get("role", ""))
    if role is None:
        raise invalid(f"{param}.role", f"Invalid '{param}.role': expected user, assistant, system or developer.")
    return {"role": role, "content": _content(raw.get("content"), role, f"{param}.content")}


def _string(raw: dict[str, Any], key: str, param: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise invalid(f"{param}.{key}", f"Invalid '{param}.{key}': expected a non-empty string.")
    return value


def _tool_call(raw: dict[str, Any], param: str) -> dict[str, Any]:
    arguments = raw.get("arguments")
    if not isinstance(arguments, str):
        raise invalid(f"{param}.arguments", f"Invalid '{param}.arguments': expected a JSON string.")
    return {
        "id": _string(raw, "call_id", param),
        "type": "function",
        "function": {"name": _string(raw, "name", param), "arguments": arguments},
    }


def _tool_output(raw: dict[str, Any], param: str) -> dict[str, Any]:
    output = raw.get("output")
    if isinstance(output, list):
        output = "".join(_part(p, f"{param}.output[{i}]").get("text", "") for i, p in enumerate(output))
    if not isinstance(output, str):
        raise invalid(f"{param}.output", f"Invalid '{param}.output': expected a string.")
    return {"role": "tool", "tool_call_id": _string(raw, "call_id", param), "content": output}


def input_messages(value: Any) -> list[dict[str, Any]]:
    """Returns the chat messages of a Responses `input` (a string or a list of items)."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise invalid("input", "Invalid 'input': expected a string or a non-empty array of input items.")
    messages: list[dict[str, Any]] = []
    for index, raw in enumerate(value):
        param = f"input[{index}]"
        if not isinstance(raw, dict):
            raise invalid(param, f"Invalid '{param}': expected an object.")
        kind = raw.get("type", "message")
        if kind == "message":
            messages.append(_message(raw, param))
        elif kind == "function_call":
            call = _tool_call(raw, param)
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(_tool_output(raw, param))
        else:
            raise invalid(f"{param}.type", f"Invalid '{param}.type': input items of type {kind!r} are not supported.")
    return messages


def _tools(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid("tools", "Invalid 'tools': expected an array.")
    tools = []
    for index, raw in enumerate(value):
        param = f"tools[{index}]"
        if not isinstance(raw, dict) or raw.get("type") != "function":
            kind = raw.get("type") if isinstance(raw, dict) else None
            raise invalid(f"{param}.type", f"Tools of type {kind!r} are not supported: only function tools are.")
        function = {"name": _string(raw, "name", param), "parameters": raw.get("parameters") or {"type": "object"}}
        for key in ("description", "strict"):
            if raw.get(key) is not None:
                function[key] = raw[key]
        tools.append({"type": "function", "function": function})
    return tools


def _tool_choice(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("type") == "function":
        return {"type": "function", "function": {"name": _string(value, "name", "tool_choice")}}
    raise invalid("tool_choice", "Invalid 'tool_choice': expected none, auto, required or a function.")


def _response_format(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, dict):
        raise invalid("text", "Invalid 'text': expected an object.")
    fmt = text.get("format")
    if fmt is None or (isinstance(fmt, dict) and fmt.get("type") == "text"):
        return None
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = {"name": _string(fmt, "name", "text.format"), "schema": fmt.get("schema") or {}}
        for key in ("description", "strict"):
            if fmt.get(key) is not None:
                schema[key] = fmt[key]
        return {"type": "json_schema", "json_schema": schema}
    raise invalid("text.format.type", "Invalid 'text.format.type': expected text, json_object or json_schema.")


def _chat_payload(payload: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    chat: dict[str, Any] = {key: payload[key] for key in _CARRIED if payload.get(key) is not None}
    chat["model"] = payload.get("model")
    instructions = payload.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise invalid("instructions", "Invalid 'instructions': expected a string.")
    chat["messages"] = [{"role": "system", "content": instructions}, *messages] if instructions else messages
    if payload.get("tools"):
        chat["tools"] = _tools(payload["tools"])
    if payload.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(payload["tool_choice"])
    limit = payload.get("max_output_tokens")
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise invalid("max_output_tokens", "Invalid 'max_output_tokens': expected a positive integer.")
        chat["max_completion_tokens"] = limit
    if payload.get("text") is not None:
        response_format = _response_format(payload["text"])
        if response_format is not None:
            chat["response_format"] = response_format
    if payload.get("stream"):
        chat["stream"], chat["stream_options"] = True, {"include_usage": True}
    return chat


def _tool_echo(tool: dict[str, Any]) -> dict[str, Any]:
    """Returns a function tool as a response object lists it (every field OpenAI's schema requires)."""
    return {
        "type": "function",
        "name": tool["name"],
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict"),
    }


def _echo(payload: dict[str, Any]) -> dict[str, Any]:
    """Returns the request parameters a response object repeats."""
    echo = {
        "instructions": payload.get("instructions"),
        "max_output_tokens": payload.get("max_output_tokens"),
        "metadata": payload.get("metadata") or {},
        "parallel_tool_calls": payload.get("parallel_tool_calls", True),
        "temperature": payload.get("temperature", 1.0),
        "text": payload.get("text") or {"format": {"type": "text"}},
        "tool_choice": payload.get("tool_choice", "auto"),
        "tools": [_tool_echo(tool) for tool in payload.get("tools") or ()],
        "top_p": payload.get("top_p", 1.0),
    }
    if payload.get("user") is not None:
        echo["user"] = payload["user"]
    return echo


def parse_responses_request(payload: Any, history: list[dict[str, Any]]) -> ResponsesRequest:
    """Returns the chat request of a Responses body, after the conversation `history` (the messages of the
    response it names as previous; [] for none); raises INVALID_REQUEST naming the parameter."""
    previous = previous_id(payload)
    assert isinstance(payload, dict)
    unknown = sorted(set(payload) - _KNOWN)
    if unknown:
        raise invalid(unknown[0], f"Unrecognized request argument supplied: {unknown[0]}")
    if payload.get("background"):
        raise invalid("background", "'background' responses are not supported by this gateway.")
    if payload.get("input") is None:
        raise invalid("input", "Missing required parameter: 'input'.")
    store = payload.get("store", True)
    if not isinstance(store, bool):
        raise invalid("store", "Invalid 'store': expected a boolean.")
    messages = [*history, *input_messages(payload["input"])]
    chat = parse_request(_chat_payload(payload, messages))
    return ResponsesRequest(chat, messages, _echo(payload), store, previous)
