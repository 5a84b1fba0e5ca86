"""What the fake OpenAI server says: request checks, deterministic replies, chunks and error bodies.

Pure functions over plain JSON values, so the server module only deals with timing and sockets.
Replies are derived from the request alone ("Switchyard fake reply to: <first 40 chars of the last
user message>"), token counts are ⌈chars / 4⌉ per text, and ids are numbered per server. OpenAI's
words (roles, finish reasons, error types and codes) come from `switchyard.wire.openai.vocabulary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.fakes.common import REPLY_PREFIX, count_tokens, fill_schema, split_text
from switchyard.wire.openai.vocabulary import (
    CHUNK_OBJECT,
    COMPLETION_OBJECT,
    ERRORS,
    INSUFFICIENT_QUOTA,
    ROLES,
    SERVER_ERROR,
    FinishReason,
    event,
)

FINGERPRINT = "fp_switchyard_fake"


class InvalidRequest(ValueError):
    """A request the real API would answer with 400, with its `param` and `code`."""

    def __init__(self, message: str, param: str | None, code: str | None = "invalid_value") -> None:
        super().__init__(message)
        self.param = param
        self.code = code


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


# ---------------------------------------------------------------- request checks


def _check_message(message: Any, i: int) -> None:
    where = f"messages[{i}]"
    if not isinstance(message, dict):
        raise InvalidRequest(f"Invalid type for '{where}': expected an object.", where, "invalid_type")
    role = message.get("role")
    if role not in ROLES:
        raise InvalidRequest(
            f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', "
            "'tool', and 'developer'.",
            f"{where}.role",
        )
    content = message.get("content")
    if content is None:
        if role in {"assistant", "function"}:
            return
        raise InvalidRequest(
            f"Missing required parameter: '{where}.content'.",
            f"{where}.content",
            "missing_required_parameter",
        )
    if not isinstance(content, (str, list)):
        raise InvalidRequest(
            f"Invalid type for '{where}.content': expected one of a string or array of objects.",
            f"{where}.content",
            "invalid_type",
        )
    if isinstance(content, list) and not all(isinstance(p, dict) and isinstance(p.get("type"), str) for p in content):
        raise InvalidRequest(f"Invalid content part in '{where}.content'.", f"{where}.content", "invalid_type")
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise InvalidRequest(
            f"Missing required parameter: '{where}.tool_call_id'.",
            f"{where}.tool_call_id",
            "missing_required_parameter",
        )


def _check_number(body: dict[str, Any], key: str, low: float, high: float, integer: bool = False) -> None:
    value = body.get(key)
    if value is None:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise InvalidRequest(
            f"Invalid type for '{key}': expected {'an integer' if integer else 'a number'}.",
            key,
            "invalid_type",
        )
    if not low <= value <= high:
        raise InvalidRequest(f"Invalid '{key}': {value} is out of range [{low:g}, {high:g}].", key)


def check_request(body: Any) -> dict[str, Any]:
    """Returns the body when it is a request the real API would accept, else raises InvalidRequest."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", None, "invalid_type")
    model = body.get("model")
    if not model:
        raise InvalidRequest("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if not isinstance(model, str):
        raise InvalidRequest("Invalid type for 'model': expected a string.", "model", "invalid_type")
    messages = body.get("messages")
    if messages is None:
        raise InvalidRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            "messages",
            "empty_array",
        )
    for i, message in enumerate(messages):
        _check_message(message, i)
    if body.get("stream_options") is not None and body.get("stream") is not True:
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
    for key in ("temperature",):
        _check_number(body, key, 0, 2)
    _check_number(body, "top_p", 0, 1)
    _check_number(body, "n", 1, 128, integer=True)
    _check_number(body, "max_tokens", 1, 2**31, integer=True)
    _check_number(body, "max_completion_tokens", 1, 2**31, integer=True)
    tools = body.get("tools")
    if tools is not None and not (isinstance(tools, list) and all(_is_tool(t) for t in tools)):
        raise InvalidRequest("Invalid 'tools': each tool needs type 'function' and a function name.", "tools")
    metadata = body.get("metadata")
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise InvalidRequest("Invalid 'metadata': expected an object of string values.", "metadata", "invalid_type")
    return body


def _is_tool(tool: Any) -> bool:
    function = tool.get("function") if isinstance(tool, dict) else None
    return isinstance(function, dict) and isinstance(function.get("name"), str)


# ---------------------------------------------------------------- the reply


@dataclass
class Reply:
    """What every choice of the reply says: text content or tool calls, and why it finished."""

    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: FinishReason = FinishReason.STOP
    prompt_tokens: int = 0
    completion_tokens: int = 0


def _tool_names(body: dict[str, Any], last_user: str, forced: str | None) -> list[str]:
    tools: dict[str, Any] = {t["function"]["name"]: t for t in body.get("tools") or ()}
    if not tools:
        return []
    choice = body.get("tool_choice")
    if forced:
        return [forced] if forced in tools else [next(iter(tools))]
    if choice == "none":
        return []
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return [choice["function"].get("name", "")]
    asked = sorted((last_user.find(f"call {n}"), n) for n in tools if f"call {n}" in last_user)
    if asked:
        return [name for _, name in asked]
    return [next(iter(tools))] if choice == "required" else []


def plan_reply(body: dict[str, Any], number: int, tool_call: str | None = None) -> Reply:
    """Returns the deterministic reply to a checked request body."""
    messages = body["messages"]
    texts = [_text_of(m.get("content")) for m in messages]
    prompt_tokens = sum(count_tokens(t) for t in texts) + 3 * len(messages)
    last = messages[-1]
    last_user = texts[-1] if last.get("role") == "user" else ""
    names = _tool_names(body, last_user, tool_call) if last.get("role") == "user" else []
    if names:
        tools = {t["function"]["name"]: t["function"] for t in body.get("tools") or ()}
        calls: list[dict[str, Any]] = []
        for i, name in enumerate(names):
            arguments = orjson.dumps(fill_schema(tools.get(name, {}).get("parameters") or {}, name)).decode()
            calls.append(
                {
                    "id": f"call_fake_{number}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            )
        used = sum(count_tokens(c["function"]["arguments"]) for c in calls)
        return Reply(None, calls, FinishReason.TOOL_CALLS, prompt_tokens, used)
    source = last_user or (f"tool result {texts[-1]}" if last.get("role") == "tool" else texts[-1])
    content = REPLY_PREFIX + source[:40]
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        content = orjson.dumps({"reply": content}).decode()
    elif response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        content = orjson.dumps(fill_schema(schema, "reply") if schema else {"reply": content}).decode()
    return _limit(body, Reply(content, [], FinishReason.STOP, prompt_tokens, count_tokens(content)))


def _limit(body: dict[str, Any], reply: Reply) -> Reply:
    """Applies stop sequences and the max-tokens limit the way a model would."""
    content = reply.content or ""
    stops = body.get("stop")
    for stop in [stops] if isinstance(stops, str) else (stops or ()):
        if isinstance(stop, str) and stop and stop in content:
            content = content[: content.index(stop)]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish = FinishReason.STOP
    if isinstance(limit, int) and count_tokens(content) > limit:
        content, finish = content[: limit * 4], FinishReason.LENGTH
    return Reply(content, [], finish, reply.prompt_tokens, count_tokens(content))


def usage(reply: Reply, n: int) -> dict[str, Any]:
    """Returns the OpenAI usage object for a reply with n choices."""
    completion = reply.completion_tokens * n
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": reply.prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion(reply: Reply, cid: str, created: int, model: str, n: int) -> dict[str, Any]:
    """Returns the chat.completion object for a reply."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = reply.tool_calls
    return {
        "id": cid,
        "object": COMPLETION_OBJECT,
        "created": created,
        "model": model,
        "choices": [
            {"index": i, "message": message, "logprobs": None, "finish_reason": reply.finish_reason} for i in range(n)
        ],
        "usage": usage(reply, n),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


def deltas(reply: Reply, pieces: int) -> list[dict[str, Any]]:
    """Returns the deltas of one streamed choice: role first, then content or tool-call fragments."""
    if not reply.tool_calls:
        return [{"role": "assistant", "content": ""}] + [
            {"content": p} for p in split_text(reply.content or "", pieces)
        ]
    result: list[dict[str, Any]] = [{"role": "assistant", "content": None}]
    for i, call in enumerate(reply.tool_calls):
        function = call["function"]
        result.append(
            {
                "tool_calls": [
                    {
                        "index": i,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": function["name"], "arguments": ""},
                    }
                ]
            }
        )
        result.extend(
            {"tool_calls": [{"index": i, "function": {"arguments": part}}]}
            for part in split_text(function["arguments"], max(1, pieces // len(reply.tool_calls)))
        )
    return result


def stream_events(reply: Reply, head: dict[str, Any], n: int, pieces: int, include_usage: bool) -> list[bytes]:
    """Returns the `data:` events of a whole stream, [DONE] excluded, in the order they are sent."""
    base = dict(head, object=CHUNK_OBJECT, system_fingerprint=FINGERPRINT, service_tier="default")
    if include_usage:
        base["usage"] = None
    steps = deltas(reply, pieces)
    events = []
    for delta in steps:
        for index in range(n):
            choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}
            events.append(event(dict(base, choices=[choice])))
    for index in range(n):
        choice = {"index": index, "delta": {}, "logprobs": None, "finish_reason": reply.finish_reason}
        events.append(event(dict(base, choices=[choice])))
    if include_usage:
        events.append(event(dict(base, choices=[], usage=usage(reply, n))))
    return events


# ---------------------------------------------------------------- errors

# The fake's message for each status; the error's type and code are OpenAI's (`ERRORS`).
_MESSAGES: dict[int, str] = {
    400: "Invalid request.",
    401: "Incorrect API key provided.",
    403: "You are not allowed to use this model.",
    404: "The model does not exist or you do not have access to it.",
    408: "Request timed out.",
    409: "Conflict.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request.",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout.",
    529: "The server is overloaded, please try again later.",
}
_VLLM_TYPES = {400: "BadRequestError", 401: "Unauthorized", 404: "NotFoundError", 500: "InternalServerError"}


def error_body(
    status: int,
    message: str | None = None,
    param: str | None = None,
    code: str | None = None,
    style: str = "openai",
) -> bytes:
    """Returns an error body: OpenAI's four-key object, or one of vLLM's shapes when style says so."""
    kind, default_code = ERRORS.get(status, (SERVER_ERROR, None))
    default_message = _MESSAGES.get(status, "Upstream error.")
    if code == INSUFFICIENT_QUOTA:
        kind, message = (
            INSUFFICIENT_QUOTA,
            message or ("You exceeded your current quota, please check your plan and billing details."),
        )
    text = message or default_message
    if style == "vllm" and status == 401:
        return b'{"error":"Unauthorized"}'
    if style == "vllm":
        vtype = _VLLM_TYPES.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
        return orjson.dumps({"error": {"message": text, "type": vtype, "param": param, "code": status}})
    if style == "vllm-flat":
        vtype = _VLLM_TYPES.get(status, "BadRequestError")
        return orjson.dumps({"object": "error", "message": text, "type": vtype, "param": param, "code": status})
    return orjson.dumps({"error": {"message": text, "type": kind, "param": param, "code": code or default_code}})


def stream_error_event(message: str = "The server had an error while processing your request.") -> bytes:
    """Returns the `data: {"error":...}` event an upstream sends when it fails mid-stream."""
    return event({"error": {"message": message, "type": SERVER_ERROR, "param": None, "code": None}})
