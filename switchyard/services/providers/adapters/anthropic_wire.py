"""Anthropic Messages JSON ⇄ switchyard.common.v1 protobuf: requests out, replies in.

Pure functions, so the adapter only deals with HTTP (stream events are translated in
`anthropic_stream`). The translation follows the mapping tables of docs/wire-formats.md §6:

- system/developer messages become the top-level `system` string; `tool` messages become
  `tool_result` blocks at the head of the next user turn; consecutive same-role turns are merged;
  assistant tool calls become `tool_use` blocks and empty text blocks are never sent.
- `response_format` json_object has no Anthropic equivalent, so it is asked for in the system
  prompt; json_schema becomes `output_config.format`.
- Under `anthropic-version` 2026-10-21 temperature/top_p/top_k are removed (sending them is a 400).
- Usage is normalised to OpenAI's meaning: prompt_tokens = input + cache writes + cache reads.
"""

from __future__ import annotations

import json
import time
from typing import Any

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.anthropic import vocabulary as vocab
from switchyard.wire.values import MalformedError, struct_to_dict

R = errors_pb2.ErrorReason
Role = chat_pb2.Role
Finish = chat_pb2.FinishReason

# The version sent when neither the deployment nor the adapter names one.
DEFAULT_VERSION = vocab.VERSION_2023
DEFAULT_MAX_TOKENS = 4096
JSON_INSTRUCTION = "Respond with one JSON object only, with no text before or after it."


def _invalid(param: str, message: str) -> SwitchyardError:
    return SwitchyardError(R.ERROR_REASON_INVALID_REQUEST, message, param=param)


# ---------------------------------------------------------------- request


def _text_of(message: chat_pb2.ChatMessage) -> str:
    """Returns the text of a message: its string content, or its text parts joined."""
    if message.WhichOneof("content") == "text":
        return message.text
    return "\n".join(p.text.text for p in message.parts.parts if p.WhichOneof("part") == "text")


def _image(url: str, param: str) -> dict[str, Any]:
    if url.startswith("data:"):
        head, sep, data = url[5:].partition(",")
        media_type, _, encoding = head.partition(";")
        if not sep or encoding != "base64" or not media_type:
            raise _invalid(param, "image data URIs must be base64-encoded with a media type")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise _invalid(param, "image URLs must be http(s) URLs or data: URIs")


def _blocks(message: chat_pb2.ChatMessage, param: str) -> list[dict[str, Any]]:
    """Returns a user or assistant message's content as Anthropic blocks, empty texts dropped."""
    if message.WhichOneof("content") == "text":
        return [{"type": "text", "text": message.text}] if message.text else []
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(message.parts.parts):
        kind = part.WhichOneof("part")
        if kind == "text" and part.text.text:
            blocks.append({"type": "text", "text": part.text.text})
        elif kind == "image_url":
            blocks.append(_image(part.image_url.url, f"{param}.content[{j}]"))
        elif kind in ("input_audio", "file"):
            raise _invalid(f"{param}.content[{j}]", f"{kind} content is not supported by Anthropic deployments")
    return blocks


def _tool_uses(message: chat_pb2.ChatMessage, param: str) -> list[dict[str, Any]]:
    uses = []
    for j, call in enumerate(message.tool_calls):
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError:
            arguments = None
        if not isinstance(arguments, dict):
            raise _invalid(f"{param}.tool_calls[{j}].function.arguments", "tool call arguments must be a JSON object")
        uses.append({"type": "tool_use", "id": call.id, "name": call.function.name, "input": arguments})
    return uses


def _tool_result(message: chat_pb2.ChatMessage, param: str) -> dict[str, Any]:
    if not message.tool_call_id:
        raise _invalid(f"{param}.tool_call_id", "tool messages need a tool_call_id")
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
    content = _blocks(message, param)
    if content:
        result["content"] = content
    return result


def messages_to_wire(messages: list[chat_pb2.ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """Returns (system text, Anthropic turns): roles alternate, tool results lead their user turn."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if message.role in (Role.ROLE_SYSTEM, Role.ROLE_DEVELOPER):
            if text := _text_of(message):
                system.append(text)
        elif message.role == Role.ROLE_ASSISTANT:
            add("assistant", _blocks(message, param) + _tool_uses(message, param))
        elif message.role == Role.ROLE_TOOL:
            add("user", [_tool_result(message, param)])
        else:
            # user, and OpenAI's deprecated function role (its result has no tool_use id to answer).
            add("user", _blocks(message, param))
    return "\n\n".join(system), turns


def _tools(request: chat_pb2.ChatRequest, body: dict[str, Any]) -> None:
    if not request.tools:
        return
    tools = []
    for tool in request.tools:
        schema = struct_to_dict(tool.function.parameters) if tool.function.HasField("parameters") else {}
        entry: dict[str, Any] = {"name": tool.function.name, "input_schema": schema or {"type": "object"}}
        if tool.function.description:
            entry["description"] = tool.function.description
        tools.append(entry)
    body["tools"] = tools
    choice: dict[str, Any] = {"type": "auto"}
    kind = request.tool_choice.WhichOneof("choice")
    if kind == "function_name":
        choice = {"type": "tool", "name": request.tool_choice.function_name}
    elif kind == "mode":
        choice = {"type": vocab.TOOL_CHOICE_NAMES.get(request.tool_choice.mode, "auto")}
    if request.HasField("parallel_tool_calls") and not request.parallel_tool_calls and choice["type"] != "none":
        choice["disable_parallel_tool_use"] = True
    if kind is not None or "disable_parallel_tool_use" in choice:
        body["tool_choice"] = choice


def _sampling(request: chat_pb2.ChatRequest, body: dict[str, Any]) -> None:
    if request.HasField("temperature"):
        # OpenAI's range is 0 to 2, Anthropic's 0 to 1.
        body["temperature"] = min(1.0, max(0.0, request.temperature))
    if request.HasField("top_p"):
        body["top_p"] = request.top_p
    top_k = request.extra.fields.get("top_k") if request.HasField("extra") else None
    if top_k is not None and top_k.WhichOneof("kind") == "number_value":
        body["top_k"] = int(top_k.number_value)


def request_to_wire(
    request: chat_pb2.ChatRequest, model: str, version: str = DEFAULT_VERSION, stream: bool = False
) -> dict[str, Any]:
    """Returns the Messages API body for request; raises SwitchyardError(INVALID_REQUEST) if untranslatable."""
    if request.HasField("n") and request.n > 1:
        raise _invalid("n", "Anthropic deployments return one choice; n must be 1")
    system, turns = messages_to_wire(list(request.messages))
    if not turns:
        raise _invalid("messages", "Anthropic deployments need at least one user or assistant message")
    limit = DEFAULT_MAX_TOKENS
    if request.HasField("max_completion_tokens"):
        limit = request.max_completion_tokens
    elif request.HasField("max_tokens"):
        limit = request.max_tokens
    body: dict[str, Any] = {"model": model, "max_tokens": limit, "messages": turns}
    fmt = request.response_format
    if fmt.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT:
        system = f"{system}\n\n{JSON_INSTRUCTION}" if system else JSON_INSTRUCTION
    elif fmt.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
        schema = struct_to_dict(fmt.json_schema.schema) or {"type": "object"}
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    if system:
        body["system"] = system
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if version not in vocab.NO_SAMPLING_VERSIONS:
        _sampling(request, body)
    _tools(request, body)
    if request.user:
        # Only user_id is allowed in Anthropic's metadata: OpenAI metadata is never forwarded.
        body["metadata"] = {"user_id": request.user}
    if stream:
        body["stream"] = True
    return body


# ---------------------------------------------------------------- reply


def need(value: Any, kinds: type | tuple[type, ...], where: str) -> Any:
    """Returns value if it has one of the expected JSON types (a bool is no int), else raises MalformedError."""
    if not isinstance(value, kinds) or (isinstance(value, bool) and kinds is int):
        raise MalformedError(f"upstream {where} is {type(value).__name__}")
    return value


def _count(raw: dict[str, Any], key: str) -> int:
    value = raw.get(key)
    return 0 if value is None else int(need(value, int, f"usage.{key}"))


def usage_from_wire(raw: Any) -> chat_pb2.Usage:
    """Returns Anthropic usage in OpenAI's meaning: prompt tokens include cache reads and writes."""
    need(raw, dict, "usage")
    written = _count(raw, "cache_creation_input_tokens")
    read = _count(raw, "cache_read_input_tokens")
    usage = chat_pb2.Usage(
        prompt_tokens=_count(raw, "input_tokens") + written + read,
        completion_tokens=_count(raw, "output_tokens"),
    )
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
    usage.prompt_tokens_details.cached_tokens = read
    usage.prompt_tokens_details.cache_write_tokens = written
    details = raw.get("output_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("thinking_tokens"), int):
        usage.completion_tokens_details.reasoning_tokens = details["thinking_tokens"]
    return usage


def finish_from_wire(value: Any) -> chat_pb2.FinishReason.ValueType:
    """Returns the OpenAI finish reason of a stop_reason (unknown future reasons count as stop)."""
    if value is None:
        return Finish.FINISH_REASON_UNSPECIFIED
    return vocab.FINISH.get(need(value, str, "stop_reason"), Finish.FINISH_REASON_STOP)


def completion_from_wire(raw: Any, created: int | None = None) -> chat_pb2.ChatCompletion:
    """Returns a Messages API reply as a one-choice ChatCompletion, or raises MalformedError."""
    need(raw, dict, "body")
    if raw.get("type") != "message":
        raise MalformedError(f"upstream body type is {raw.get('type')!r}, not 'message'")
    message = chat_pb2.ChatMessage(role=Role.ROLE_ASSISTANT)
    texts: list[str] = []
    thinking: list[str] = []
    for i, block in enumerate(need(raw.get("content"), list, "content")):
        where = f"content[{i}]"
        need(block, dict, where)
        kind = block.get("type")
        if kind == "text":
            texts.append(need(block.get("text"), str, f"{where}.text"))
        elif kind == "tool_use":
            arguments = json.dumps(need(block.get("input"), dict, f"{where}.input"), ensure_ascii=False)
            call = chat_pb2.ToolCall(id=need(block.get("id"), str, f"{where}.id"), type="function")
            call.function.name = need(block.get("name"), str, f"{where}.name")
            call.function.arguments = arguments
            message.tool_calls.append(call)
        elif kind == "thinking":
            thinking.append(need(block.get("thinking", ""), str, f"{where}.thinking"))
    if texts or not message.tool_calls:
        message.text = "".join(texts)
    if thinking:
        message.reasoning = "".join(thinking)
    completion = chat_pb2.ChatCompletion(
        id=need(raw.get("id"), str, "id"),
        created=int(time.time()) if created is None else created,
        model=need(raw.get("model"), str, "model"),
    )
    completion.choices.append(
        chat_pb2.Choice(index=0, message=message, finish_reason=finish_from_wire(raw.get("stop_reason")))
    )
    completion.usage.CopyFrom(usage_from_wire(raw.get("usage")))
    return completion
