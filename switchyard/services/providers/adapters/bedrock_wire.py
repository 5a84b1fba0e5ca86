"""Bedrock's Converse API ⇄ OpenAI Chat Completions JSON, as pure functions.

The adapter renders requests with the OpenAI renderer and rewrites them here; Converse replies and
ConverseStream events are rewritten into OpenAI's shape and then parsed (and validated) by the OpenAI
parser. Converse's words: `system` blocks apart from `messages`; content blocks `text`, `image`
(inline bytes, base64 in JSON), `toolUse` {toolUseId, name, input object} and `toolResult` (sent in a
user turn); `inferenceConfig` {maxTokens, temperature, topP, stopSequences}; `toolConfig` {tools of
`toolSpec`, toolChoice auto/any/tool}; `stopReason`; `usage` {inputTokens, outputTokens, totalTokens}.
Converse has no JSON mode: it is asked for in the system prompt, as for Anthropic's Messages API.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.services.providers.adapters.anthropic_wire import JSON_INSTRUCTION
from switchyard.wire.bedrock import vocabulary as vocab
from switchyard.wire.values import MalformedError

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
# OpenAI body fields that are Converse inferenceConfig fields, under Converse's name.
_INFERENCE = {"max_tokens": "maxTokens", "temperature": "temperature", "top_p": "topP"}


class UnsupportedContent(ValueError):
    """A request Converse cannot take (an image by URL, an image format it does not read)."""


def _image(url: str) -> dict[str, Any]:
    if not url.startswith("data:"):
        raise UnsupportedContent("Bedrock takes images inline only: give them as data: URIs, not URLs")
    header, _, data = url.partition(",")
    media = header.removeprefix("data:").split(";", 1)[0].lower()
    if media not in _IMAGE_FORMATS:
        raise UnsupportedContent(f"Bedrock reads png, jpeg, gif and webp images, not {media or 'untyped data'}")
    try:
        base64.b64decode(data, validate=True)
    except binascii.Error:
        raise UnsupportedContent("an image data: URI is not valid base64") from None
    return {"image": {"format": _IMAGE_FORMATS[media], "source": {"bytes": data}}}


def _text_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or ():
        if part.get("type") == "text" and part.get("text"):
            blocks.append({"text": part["text"]})
        elif part.get("type") == "image_url":
            blocks.append(_image(part["image_url"]["url"]))
    return blocks


def _tool_use(call: dict[str, Any]) -> dict[str, Any]:
    function = call["function"]
    try:
        arguments = orjson.loads(function.get("arguments") or "{}")
    except orjson.JSONDecodeError:
        arguments = {}
    return {
        "toolUse": {
            "toolUseId": call.get("id", ""),
            "name": function["name"],
            "input": arguments if isinstance(arguments, dict) else {},
        }
    }


def _turn(raw: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Returns the Converse role and content blocks of one OpenAI message (not a system one)."""
    role = raw["role"]
    if role == "tool":
        result = {
            "toolUseId": raw.get("tool_call_id", ""),
            "content": _text_blocks(raw.get("content")) or [{"text": ""}],
        }
        return "user", [{"toolResult": result}]
    blocks = _text_blocks(raw.get("content"))
    if role == "assistant":
        blocks += [_tool_use(call) for call in raw.get("tool_calls") or ()]
    return ("assistant" if role == "assistant" else "user"), blocks


def _tool_config(body: dict[str, Any], has_tool_turns: bool) -> dict[str, Any] | None:
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    # Converse has no "none": the tools go only when the conversation already holds tool turns
    # (which Converse refuses without a toolConfig), and then without a choice.
    if not tools or (choice == "none" and not has_tool_turns):
        return None
    specs = []
    for tool in tools:
        function = tool["function"]
        spec: dict[str, Any] = {
            "name": function["name"],
            "inputSchema": {"json": function.get("parameters") or {"type": "object"}},
        }
        if function.get("description"):
            spec["description"] = function["description"]
        specs.append({"toolSpec": spec})
    config: dict[str, Any] = {"tools": specs}
    if choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, dict):
        config["toolChoice"] = {"tool": {"name": choice["function"]["name"]}}
    elif choice == "auto":
        config["toolChoice"] = {"auto": {}}
    return config


def _system(body: dict[str, Any]) -> list[dict[str, Any]]:
    texts = [
        b["text"]
        for m in body["messages"]
        if m["role"] in ("system", "developer")
        for b in _text_blocks(m.get("content"))
    ]
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        texts.append(JSON_INSTRUCTION)
    elif fmt.get("type") == "json_schema":
        schema = orjson.dumps(fmt["json_schema"].get("schema") or {"type": "object"}).decode()
        texts.append(f"{JSON_INSTRUCTION} It must match this JSON schema: {schema}")
    return [{"text": "\n\n".join(texts)}] if texts else []


def request_to_converse(body: dict[str, Any]) -> dict[str, Any]:
    """Returns the Converse body for an OpenAI-format body; raises UnsupportedContent."""
    messages: list[dict[str, Any]] = []
    for raw in body["messages"]:
        if raw["role"] in ("system", "developer"):
            continue
        role, blocks = _turn(raw)
        if messages and messages[-1]["role"] == role:
            # Converse wants user and assistant turns to alternate: consecutive ones (tool results) merge.
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    out: dict[str, Any] = {"messages": messages}
    system = _system(body)
    if system:
        out["system"] = system
    inference = {name: body[key] for key, name in _INFERENCE.items() if key in body}
    stop = body.get("stop")
    if stop:
        inference["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if inference:
        out["inferenceConfig"] = inference
    has_tool_turns = any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"])
    tools = _tool_config(body, has_tool_turns)
    if tools:
        out["toolConfig"] = tools
    if "top_k" in body:
        out["additionalModelRequestFields"] = {"top_k": body["top_k"]}
    return out


def _need_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedError(f"{where} is not an object")
    return value


def _usage(raw: Any) -> dict[str, int]:
    usage = _need_dict(raw, "usage")
    counts = {}
    for name, key in (("prompt_tokens", "inputTokens"), ("completion_tokens", "outputTokens")):
        value = usage.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedError(f"usage.{key} is not an integer")
        counts[name] = value
    counts["total_tokens"] = int(usage.get("totalTokens") or counts["prompt_tokens"] + counts["completion_tokens"])
    return counts


def _finish(stop_reason: Any) -> str:
    if not isinstance(stop_reason, str):
        raise MalformedError("stopReason is not a string")
    return vocab.FINISH.get(stop_reason, "stop")


def completion_to_openai(raw: Any, response_id: str, created: int, model: str) -> dict[str, Any]:
    """Returns a whole Converse reply as an OpenAI chat.completion; raises MalformedError."""
    reply = _need_dict(raw, "reply")
    message = _need_dict(_need_dict(reply.get("output"), "output").get("message"), "output.message")
    content = message.get("content")
    if not isinstance(content, list):
        raise MalformedError("output.message.content is not an array")
    texts, reasoning, calls = [], [], []
    for item in content:
        block = _need_dict(item, "content block")
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif "toolUse" in block:
            use = _need_dict(block["toolUse"], "toolUse")
            arguments = orjson.dumps(_need_dict(use.get("input", {}), "toolUse.input")).decode()
            calls.append(
                {
                    "id": str(use.get("toolUseId") or ""),
                    "type": "function",
                    "function": {"name": str(use.get("name") or ""), "arguments": arguments},
                }
            )
        elif "reasoningContent" in block:
            text = _need_dict(block["reasoningContent"], "reasoningContent").get("reasoningText", {})
            reasoning.append(str(_need_dict(text, "reasoningText").get("text") or ""))
    out_message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        out_message["tool_calls"] = calls
    if reasoning:
        out_message["reasoning"] = "".join(reasoning)
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": out_message, "finish_reason": _finish(reply.get("stopReason")), "logprobs": None}
        ],
        "usage": _usage(reply.get("usage")),
    }


@dataclass
class StreamState:
    """What one ConverseStream reply has said so far."""

    response_id: str
    created: int
    model: str
    # Content block index → the OpenAI tool call index it streams.
    tools: dict[int, int] = field(default_factory=dict)
    stopped: bool = False
    done: bool = False


def _chunk(state: StreamState, choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": state.response_id,
        "object": "chat.completion.chunk",
        "created": state.created,
        "model": state.model,
        "choices": choices,
        "usage": usage,
    }


def _delta(state: StreamState, delta: dict[str, Any]) -> list[dict[str, Any]]:
    return [_chunk(state, [{"index": 0, "delta": delta, "finish_reason": None}])]


def _block_start(event: dict[str, Any], state: StreamState) -> list[dict[str, Any]]:
    start = _need_dict(event.get("start"), "contentBlockStart.start")
    if "toolUse" not in start:
        return []
    use = _need_dict(start["toolUse"], "contentBlockStart.start.toolUse")
    index = state.tools.setdefault(int(event.get("contentBlockIndex") or 0), len(state.tools))
    call = {
        "index": index,
        "id": str(use.get("toolUseId") or ""),
        "type": "function",
        "function": {"name": str(use.get("name") or ""), "arguments": ""},
    }
    return _delta(state, {"tool_calls": [call]})


def _block_delta(event: dict[str, Any], state: StreamState) -> list[dict[str, Any]]:
    delta = _need_dict(event.get("delta"), "contentBlockDelta.delta")
    if isinstance(delta.get("text"), str):
        return _delta(state, {"content": delta["text"]}) if delta["text"] else []
    if "toolUse" in delta:
        block = int(event.get("contentBlockIndex") or 0)
        if block not in state.tools:
            raise MalformedError(f"a toolUse delta for block {block}, which started no tool use")
        arguments = str(_need_dict(delta["toolUse"], "delta.toolUse").get("input") or "")
        return _delta(state, {"tool_calls": [{"index": state.tools[block], "function": {"arguments": arguments}}]})
    if "reasoningContent" in delta:
        text = _need_dict(delta["reasoningContent"], "delta.reasoningContent").get("text")
        return _delta(state, {"reasoning": text}) if isinstance(text, str) and text else []
    return []


def event_to_chunks(event_type: str, raw: Any, state: StreamState) -> list[dict[str, Any]]:
    """Returns the OpenAI chunks one ConverseStream event means; raises MalformedError.

    `messageStop` gives the finish chunk, `metadata` (the last event) the usage-only chunk.
    """
    event = _need_dict(raw, event_type)
    if event_type == vocab.MESSAGE_START:
        return _delta(state, {"role": "assistant", "content": ""})
    if event_type == vocab.BLOCK_START:
        return _block_start(event, state)
    if event_type == vocab.BLOCK_DELTA:
        return _block_delta(event, state)
    if event_type == vocab.MESSAGE_STOP:
        state.stopped = True
        return [_chunk(state, [{"index": 0, "delta": {}, "finish_reason": _finish(event.get("stopReason"))}])]
    if event_type == vocab.METADATA:
        if not state.stopped:
            raise MalformedError("metadata came before messageStop")
        state.done = True
        return [_chunk(state, [], _usage(event.get("usage")))]
    return []
