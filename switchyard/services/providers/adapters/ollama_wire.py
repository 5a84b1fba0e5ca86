"""Ollama's native chat API (`POST /api/chat`) ⇄ OpenAI Chat Completions JSON, as pure functions.

The adapter renders requests with the OpenAI renderer and rewrites them here; Ollama's replies are
rewritten into OpenAI's shape and then parsed (and validated) by the OpenAI parser. Ollama's words:
`options` {temperature, top_p, seed, stop, num_predict, ...}, `format` ("json" or a JSON Schema),
base64 `images` beside a message's text, tool calls with object arguments and no ids (tool results
name the tool in `tool_name`), `done`/`done_reason`, and `prompt_eval_count`/`eval_count` for usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.wire.values import MalformedError

# OpenAI body fields that become Ollama `options`, under Ollama's name.
_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "max_tokens": "num_predict",
    "top_k": "top_k",
    "min_p": "min_p",
    "repetition_penalty": "repeat_penalty",
}
_FINISH = {"stop": "stop", "length": "length"}


class UnsupportedContent(ValueError):
    """A request Ollama cannot take (an image given by URL instead of inline data)."""


def _image(url: str) -> str:
    if not url.startswith("data:"):
        raise UnsupportedContent("Ollama takes images inline only: give them as data: URIs, not URLs")
    return url.partition(",")[2]


def _message(raw: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    role = "system" if raw["role"] == "developer" else raw["role"]
    content = raw.get("content")
    texts: list[str] = []
    images: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    for part in content if isinstance(content, list) else ():
        if part.get("type") == "text":
            texts.append(part.get("text", ""))
        elif part.get("type") == "image_url":
            images.append(_image(part["image_url"]["url"]))
    out: dict[str, Any] = {"role": role, "content": "\n".join(texts)}
    if images:
        out["images"] = images
    calls = []
    for call in raw.get("tool_calls") or ():
        function = call["function"]
        names[call.get("id", "")] = function["name"]
        try:
            arguments = orjson.loads(function.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            arguments = {}
        calls.append({"function": {"name": function["name"], "arguments": arguments}})
    if calls:
        out["tool_calls"] = calls
    if role == "tool":
        # Ollama matches a result to its call by the tool's name; the call id only lives in the OpenAI turn.
        out["tool_name"] = names.get(raw.get("tool_call_id", ""), "")
    return out


def request_to_ollama(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """Returns the /api/chat body for an OpenAI-format body; raises UnsupportedContent."""
    names: dict[str, str] = {}
    out: dict[str, Any] = {
        "model": body["model"],
        "messages": [_message(m, names) for m in body["messages"]],
        # Ollama streams unless told not to.
        "stream": stream,
    }
    options = {name: body[key] for key, name in _OPTIONS.items() if key in body}
    if options:
        out["options"] = options
    if body.get("tools") and body.get("tool_choice") != "none":
        out["tools"] = body["tools"]
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        out["format"] = "json"
    elif fmt.get("type") == "json_schema":
        out["format"] = fmt["json_schema"]["schema"]
    return out


def _need_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedError(f"{where} is not an object")
    return value


def _calls(message: dict[str, Any], prefix: str, start: int) -> list[dict[str, Any]]:
    calls = []
    for i, call in enumerate(message.get("tool_calls") or (), start):
        function = _need_dict(_need_dict(call, "tool call").get("function"), "tool call function")
        arguments = function.get("arguments")
        calls.append(
            {
                "index": i,
                "id": call.get("id") or f"call_{prefix}_{i}",
                "type": "function",
                "function": {
                    "name": function.get("name", ""),
                    "arguments": arguments if isinstance(arguments, str) else orjson.dumps(arguments or {}).decode(),
                },
            }
        )
    return calls


def _usage(raw: dict[str, Any]) -> dict[str, int]:
    # Ollama leaves prompt_eval_count out when the whole prompt came from its cache.
    prompt = int(raw.get("prompt_eval_count") or 0)
    completion = int(raw.get("eval_count") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_to_openai(raw: Any, response_id: str, created: int) -> dict[str, Any]:
    """Returns a whole /api/chat reply as an OpenAI chat.completion; raises MalformedError."""
    reply = _need_dict(raw, "reply")
    message = _need_dict(reply.get("message"), "reply.message")
    if reply.get("done") is not True:
        raise MalformedError("reply is not done")
    calls = _calls(message, response_id, 0)
    for call in calls:
        del call["index"]
    out_message: dict[str, Any] = {"role": "assistant", "content": message.get("content") or None}
    if calls:
        out_message["tool_calls"] = calls
    if isinstance(message.get("thinking"), str):
        out_message["reasoning"] = message["thinking"]
    finish = "tool_calls" if calls else _FINISH.get(str(reply.get("done_reason")), "stop")
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": str(reply.get("model") or ""),
        "choices": [{"index": 0, "message": out_message, "finish_reason": finish, "logprobs": None}],
        "usage": _usage(reply),
    }


@dataclass
class StreamState:
    """What one streamed reply has said so far."""

    response_id: str
    created: int
    role_sent: bool = False
    tool_calls: int = 0
    done: bool = False
    model: str = ""
    errors: list[str] = field(default_factory=list)


def _chunk(state: StreamState, choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": state.response_id,
        "object": "chat.completion.chunk",
        "created": state.created,
        "model": state.model,
        "choices": choices,
        "usage": usage,
    }


def line_to_chunks(raw: Any, state: StreamState) -> list[dict[str, Any]]:
    """Returns the OpenAI chunks one NDJSON line of a streamed reply means; raises MalformedError.

    An `{"error": ...}` line is noted in `state.errors` (the caller raises); the `done` line gives the
    finish chunk and then a usage-only chunk.
    """
    line = _need_dict(raw, "stream line")
    if line.get("error") is not None:
        state.errors.append(str(line["error"]))
        return []
    message = _need_dict(line.get("message") or {}, "stream line message")
    state.model = state.model or str(line.get("model") or "")
    delta: dict[str, Any] = {}
    if not state.role_sent:
        delta["role"] = "assistant"
        state.role_sent = True
    if message.get("content"):
        delta["content"] = message["content"]
    if message.get("thinking"):
        delta["reasoning"] = message["thinking"]
    calls = _calls(message, state.response_id, state.tool_calls)
    state.tool_calls += len(calls)
    if calls:
        delta["tool_calls"] = calls
    chunks = []
    if delta:
        chunks.append(_chunk(state, [{"index": 0, "delta": delta, "finish_reason": None}]))
    if line.get("done") is True:
        state.done = True
        finish = "tool_calls" if state.tool_calls else _FINISH.get(str(line.get("done_reason")), "stop")
        chunks.append(_chunk(state, [{"index": 0, "delta": {}, "finish_reason": finish}]))
        chunks.append(_chunk(state, [], _usage(line)))
    return chunks
