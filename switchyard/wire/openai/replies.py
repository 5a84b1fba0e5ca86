"""OpenAI reply JSON ⇄ ChatCompletion and chunks: checking upstream replies, rendering client replies."""

from __future__ import annotations

from typing import Any

from switchyard.common.v1 import chat_pb2
from switchyard.wire.openai.vocabulary import (
    CHUNK_OBJECT,
    COMPLETION_OBJECT,
    FINISH,
    FINISH_NAMES,
    ROLE_NAMES,
    ROLES,
    Finish,
    FinishReason,
    Role,
)
from switchyard.wire.values import MalformedError, as_tuple, struct_to_dict, type_name

# ---------------------------------------------------------------- upstream reply → proto


def _need(value: Any, kinds: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in as_tuple(kinds)):
        raise MalformedError(f"upstream {where} is {type_name(value)}")
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
    reason = FINISH.get(value) if isinstance(value, str) else None
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
        role = raw["role"]
        delta.role = ROLES.get(role, Role.ROLE_ASSISTANT) if isinstance(role, str) else Role.ROLE_ASSISTANT
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


def tool_call_to_wire(call: chat_pb2.ToolCall) -> dict[str, Any]:
    """Returns one tool call in OpenAI JSON form."""
    return {
        "id": call.id,
        "type": call.type or "function",
        "function": {"name": call.function.name, "arguments": call.function.arguments},
    }


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
        result["tool_calls"] = [tool_call_to_wire(c) for c in message.tool_calls]
    return result


def completion_to_wire(completion: chat_pb2.ChatCompletion) -> dict[str, Any]:
    """Returns a chat.completion object for the client."""
    result: dict[str, Any] = {
        "id": completion.id,
        "object": COMPLETION_OBJECT,
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                "index": c.index,
                "message": _reply_message_to_wire(c.message),
                "logprobs": struct_to_dict(c.logprobs) if c.HasField("logprobs") else None,
                "finish_reason": FINISH_NAMES.get(c.finish_reason) or FinishReason.STOP,
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
        "object": CHUNK_OBJECT,
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
