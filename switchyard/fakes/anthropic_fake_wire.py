"""What the fake Anthropic server says: request checks, deterministic replies, SSE events and error bodies.

Pure functions over plain JSON values. Replies follow the OpenAI fake's ("Switchyard fake reply to:
<first 40 chars of the last user text>", ⌈chars / 4⌉ tokens per text). A reply calls tools when
tools are given and the last user text says "call <tool>", when tool_choice is `any`/`tool`, or
when `tool_call` is scripted; if that text also says "explain", a short text block comes first
(so the content-block index and the tool-call index differ, as they do with real models). A
system prompt asking for a "JSON object" or an `output_config.format` json_schema gets JSON.
Anthropic's words (versions, request keys, block types, stop reasons, event names, error types) come
from `switchyard.wire.anthropic.vocabulary`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.fakes.common import REPLY_PREFIX, count_tokens, fill_schema, split_text
from switchyard.wire.anthropic.vocabulary import (
    BLOCK_TYPES,
    NO_SAMPLING_VERSIONS,
    OVERLOADED_ERROR,
    REQUEST_KEYS,
    SAMPLING_KEYS,
    TOOL_CHOICE_TYPES,
    Event,
    StopReason,
    error_type,
    event,
)


class InvalidRequest(ValueError):
    """A request the real API would answer with 400 invalid_request_error."""


# ---------------------------------------------------------------- request checks


def _merged_turns(messages: list[Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Returns the turns as the API sees them: consecutive same-role messages merged, content as blocks."""
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages.{i}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in BLOCK_TYPES:
            raise InvalidRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            if not content and i != len(messages) - 1:
                raise InvalidRequest(f"messages.{i}: all messages must have non-empty content")
            blocks = [{"type": "text", "text": content}] if content else []
        elif isinstance(content, list):
            blocks = content
        else:
            raise InvalidRequest(f"messages.{i}.content: Input should be a valid string or list")
        for j, block in enumerate(blocks):
            _check_block(role, block, f"messages.{i}.content.{j}")
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, list(blocks)))
    return turns


def _check_block(role: str, block: Any, where: str) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise InvalidRequest(f"{where}: Input should be a valid content block")
    kind = block["type"]
    if kind not in BLOCK_TYPES[role]:
        raise InvalidRequest(f"{where}.type: '{kind}' blocks are not allowed in {role} messages")
    if kind == "text" and (not isinstance(block.get("text"), str) or not block["text"]):
        raise InvalidRequest(f"{where}: text content blocks must be non-empty")
    if kind == "tool_use" and not (
        isinstance(block.get("id"), str) and isinstance(block.get("name"), str) and isinstance(block.get("input"), dict)
    ):
        raise InvalidRequest(f"{where}: tool_use blocks need an id, a name and an input object")
    if kind == "tool_result" and not isinstance(block.get("tool_use_id"), str):
        raise InvalidRequest(f"{where}.tool_use_id: Field required")
    if kind == "image":
        source = block.get("source")
        ok = isinstance(source, dict) and (
            (source.get("type") == "base64" and source.get("media_type") and source.get("data"))
            or (source.get("type") == "url" and str(source.get("url", "")).startswith(("http://", "https://")))
        )
        if not ok:
            raise InvalidRequest(f"{where}.source: image source must be base64 (media_type, data) or url")


def _check_tool_results(turns: list[tuple[str, list[dict[str, Any]]]]) -> None:
    for t, (role, blocks) in enumerate(turns):
        uses = [b["id"] for b in blocks if b["type"] == "tool_use"] if role == "assistant" else []
        following = turns[t + 1][1] if t + 1 < len(turns) and turns[t + 1][0] == "user" else []
        leading: list[str] = []
        for block in following:
            if block["type"] != "tool_result":
                break
            leading.append(block["tool_use_id"])
        if uses and sorted(leading) != sorted(uses):
            raise InvalidRequest(
                f"messages.{t + 1}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{', '.join(u for u in uses if u not in leading)}. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message, at its start."
            )
        if role == "user":
            previous = turns[t - 1][1] if t and turns[t - 1][0] == "assistant" else []
            known = {b["id"] for b in previous if b["type"] == "tool_use"}
            stray = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result" and b["tool_use_id"] not in known]
            if stray:
                raise InvalidRequest(
                    f"messages.{t}: unexpected `tool_use_id` found in `tool_result` blocks: {stray[0]}. Each "
                    "`tool_result` block must have a corresponding `tool_use` block in the previous message."
                )


def _check_number(body: dict[str, Any], key: str, low: float, high: float) -> None:
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidRequest(f"{key}: Input should be a number between {low:g} and {high:g}")


def _check_tools(body: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is not None:
        for i, tool in enumerate(tools if isinstance(tools, list) else [None]):
            if not (isinstance(tool, dict) and isinstance(tool.get("name"), str)):
                raise InvalidRequest(f"tools.{i}.name: Field required")
            schema = tool.get("input_schema")
            if not (isinstance(schema, dict) and schema.get("type") == "object"):
                raise InvalidRequest(f"tools.{i}.input_schema: Input should be a JSON Schema with type 'object'")
    choice = body.get("tool_choice")
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in TOOL_CHOICE_TYPES:
        raise InvalidRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if choice["type"] == "tool" and not isinstance(choice.get("name"), str):
        raise InvalidRequest("tool_choice.tool.name: Field required")


def check_request(body: Any, version: str) -> dict[str, Any]:
    """Returns the body when the real API (at this anthropic-version) would accept it, else raises InvalidRequest."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    extra = sorted(set(body) - REQUEST_KEYS)
    if extra:
        raise InvalidRequest(f"{extra[0]}: Extra inputs are not permitted")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("model: Field required")
    limit = body.get("max_tokens")
    if limit is None:
        raise InvalidRequest("max_tokens: Field required")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidRequest("max_tokens: Input should be a positive integer")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: at least one message is required")
    _check_tool_results(_merged_turns(messages))
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        if not isinstance(system, list):
            raise InvalidRequest("system: Input should be a valid string or list of text blocks")
        for j, block in enumerate(system):
            if not (isinstance(block, dict) and block.get("type") == "text" and block.get("text")):
                raise InvalidRequest(f"system.{j}: text content blocks must be non-empty")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or set(metadata) - {"user_id"}):
        raise InvalidRequest("metadata: Extra inputs are not permitted (only user_id is allowed)")
    stops = body.get("stop_sequences")
    if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) for s in stops)):
        raise InvalidRequest("stop_sequences: Input should be a valid list of strings")
    if version in NO_SAMPLING_VERSIONS:
        for key in SAMPLING_KEYS:
            if key in body:
                raise InvalidRequest(f"{key}: is not supported with anthropic-version {version}")
    _check_number(body, "temperature", 0, 1)
    _check_number(body, "top_p", 0, 1)
    _check_number(body, "top_k", 0, 2**31)
    _check_tools(body)
    return body


# ---------------------------------------------------------------- the reply


@dataclass
class Reply:
    """The content blocks of a reply, why it stopped, and its token counts."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: StopReason = StopReason.END_TURN
    stop_sequence: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


def _texts(content: Any, results: bool = False) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else ():
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif results and block.get("type") == "tool_result":
            parts.append(_texts(block.get("content", "")))
    return " ".join(parts)


def _system_text(body: dict[str, Any]) -> str:
    system = body.get("system")
    return system if isinstance(system, str) else _texts(system or [])


def _tool_names(body: dict[str, Any], last_user: str, forced: str | None) -> list[str]:
    tools = [t["name"] for t in body.get("tools") or ()]
    if not tools:
        return []
    choice = (body.get("tool_choice") or {}).get("type", "auto")
    if forced:
        return [forced if forced in tools else tools[0]]
    if choice == "none":
        return []
    if choice == "tool":
        return [body["tool_choice"]["name"]]
    asked = sorted((last_user.find(f"call {n}"), n) for n in tools if f"call {n}" in last_user)
    if asked:
        names = [n for _, n in asked]
        return names[:1] if (body.get("tool_choice") or {}).get("disable_parallel_tool_use") else names
    return tools[:1] if choice == "any" else []


def plan_reply(body: dict[str, Any], number: int, tool_call: str | None = None) -> Reply:
    """Returns the deterministic reply to a checked request body."""
    messages = body["messages"]
    system = _system_text(body)
    prompt_tokens = count_tokens(system) + sum(count_tokens(_texts(m["content"], True)) + 3 for m in messages)
    last = messages[-1]
    last_user = _texts(last["content"]) if last["role"] == "user" else ""
    names = _tool_names(body, last_user, tool_call) if last["role"] == "user" else []
    if names:
        schemas = {t["name"]: t.get("input_schema") or {} for t in body.get("tools") or ()}
        blocks = [{"type": "text", "text": f"Let me call {', '.join(names)}."}] if "explain" in last_user else []
        for i, name in enumerate(names):
            arguments = fill_schema(schemas.get(name, {}), name)
            blocks.append({"type": "tool_use", "id": f"toolu_fake_{number}_{i}", "name": name, "input": arguments})
        used = sum(count_tokens(json.dumps(b.get("input", b.get("text")))) for b in blocks)
        return Reply(blocks, StopReason.TOOL_USE, None, prompt_tokens, used)
    source = last_user or f"tool result {_texts(last['content'], True)}"
    content = REPLY_PREFIX + source[:40]
    schema = ((body.get("output_config") or {}).get("format") or {}).get("schema")
    if isinstance(schema, dict):
        content = orjson.dumps(fill_schema(schema, "reply")).decode()
    elif "JSON object" in system:
        content = orjson.dumps({"reply": content}).decode()
    reply = Reply([], StopReason.END_TURN, None, prompt_tokens)
    for stop in body.get("stop_sequences") or ():
        if stop and stop in content:
            content = content[: content.index(stop)]
            reply.stop_reason, reply.stop_sequence = StopReason.STOP_SEQUENCE, stop
            break
    if count_tokens(content) > body["max_tokens"]:
        content, reply.stop_reason, reply.stop_sequence = content[: body["max_tokens"] * 4], StopReason.MAX_TOKENS, None
    reply.blocks = [{"type": "text", "text": content}] if content else []
    reply.output_tokens = max(1, count_tokens(content))
    return reply


def usage(reply: Reply, output_tokens: int | None = None) -> dict[str, Any]:
    """Returns the Anthropic usage object of a reply (nothing is cached by the fake)."""
    return {
        "input_tokens": reply.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": reply.output_tokens if output_tokens is None else output_tokens,
        "service_tier": "standard",
    }


def message(reply: Reply, mid: str, model: str) -> dict[str, Any]:
    """Returns the Message object of a whole (non-streamed) reply."""
    return {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.blocks,
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "usage": usage(reply),
    }


PING = event(Event.PING, {})


def stream_events(reply: Reply, mid: str, model: str, pieces: int) -> list[bytes]:
    """Returns every event of a streamed reply, message_start to message_stop, pings included."""
    start = dict(message(reply, mid, model), content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = usage(reply, output_tokens=1)
    events = [event(Event.MESSAGE_START, {"message": start})]
    for index, block in enumerate(reply.blocks):
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in split_text(block["text"], pieces)]
        else:
            opening = dict(block, input={})
            # The real API's first input_json_delta is often empty.
            fragments = ["", *split_text(json.dumps(block["input"]), pieces)]
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in fragments]
        events.append(event(Event.CONTENT_BLOCK_START, {"index": index, "content_block": opening}))
        if index == 0:
            events.append(PING)
        events.extend(event(Event.CONTENT_BLOCK_DELTA, {"index": index, "delta": d}) for d in deltas)
        events.append(event(Event.CONTENT_BLOCK_STOP, {"index": index}))
    stop = {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence}
    events.append(event(Event.MESSAGE_DELTA, {"delta": stop, "usage": {"output_tokens": reply.output_tokens}}))
    events.append(event(Event.MESSAGE_STOP, {}))
    return events


# ---------------------------------------------------------------- errors

# The fake's message for each status; the error's type is Anthropic's (`error_type`).
_MESSAGES: dict[int, str] = {
    400: "Invalid request.",
    401: "invalid x-api-key",
    402: "Your credit balance is too low to access the Anthropic API.",
    403: "Your API key does not have permission to use the specified resource.",
    404: "The requested resource could not be found.",
    409: "Conflict.",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "Number of request tokens has exceeded your per-minute rate limit.",
    500: "Internal server error.",
    504: "Request timed out.",
    529: "Overloaded",
}


def error_body(status: int, message: str | None = None, request_id: str = "req_fake") -> bytes:
    """Returns Anthropic's error body for a status: `{"type":"error","error":{type,message},"request_id"}`."""
    error = {"type": error_type(status), "message": message or _MESSAGES.get(status, "Error.")}
    return orjson.dumps({"type": "error", "error": error, "request_id": request_id})


def stream_error_event(kind: str = OVERLOADED_ERROR, message: str = "Overloaded") -> bytes:
    """Returns the `event: error` a stream carries when the API fails after answering 200."""
    return event(Event.ERROR, {"error": {"type": kind, "message": message}})
