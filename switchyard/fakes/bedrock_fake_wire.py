"""The fake Bedrock's wire work: Converse requests into OpenAI ones, OpenAI answers into Converse's.

`to_openai` checks a Converse body the way Bedrock's ValidationException does and turns it into the
OpenAI request the OpenAI fake answers; `ConverseRewriter` turns that answer into a Converse reply or
ConverseStream's event-stream messages (messageStart, contentBlockStart for a tool use,
contentBlockDelta, contentBlockStop, messageStop, metadata), and error bodies into Bedrock's
`{"message": ...}` with the exception type in `x-amzn-ErrorType`.
"""

from __future__ import annotations

from typing import Any

import orjson

from switchyard.fakes.rewriting import Rewriter, load
from switchyard.wire.bedrock import vocabulary as vocab
from switchyard.wire.eventstream import encode_message

_INFERENCE = {"maxTokens": "max_tokens", "temperature": "temperature", "topP": "top_p", "stopSequences": "stop"}
_CHOICES = {"auto": "auto", "any": "required"}
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


class ValidationError(ValueError):
    """A Converse body Bedrock answers with 400 ValidationException."""


def error_body(message: str) -> bytes:
    """Returns Bedrock's error body."""
    return orjson.dumps({"message": message})


def error_headers(exception: str) -> list[tuple[str, str]]:
    """Returns the headers naming an error's exception type, as Bedrock sends them."""
    return [("x-amzn-ErrorType", exception + _ERROR_TYPE_SUFFIX)]


def _text(blocks: Any) -> str:
    parts = []
    for block in blocks if isinstance(blocks, list) else ():
        if isinstance(block, dict) and "text" in block:
            parts.append(str(block["text"]))
        elif isinstance(block, dict) and "json" in block:
            parts.append(orjson.dumps(block["json"]).decode())
    return "\n".join(parts)


def _user(blocks: list[Any]) -> list[dict[str, Any]]:
    """Returns the OpenAI messages of one Converse user turn: its tool results first, then its content."""
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if "toolResult" in block:
            result = block["toolResult"]
            out.append(
                {"role": "tool", "tool_call_id": result.get("toolUseId", ""), "content": _text(result.get("content"))}
            )
        elif "text" in block:
            parts.append({"type": "text", "text": block["text"]})
        elif "image" in block:
            image = block["image"]
            data = (image.get("source") or {}).get("bytes", "")
            parts.append({"type": "image_url", "image_url": {"url": f"data:image/{image.get('format')};base64,{data}"}})
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant(blocks: list[Any]) -> dict[str, Any]:
    texts = [str(b["text"]) for b in blocks if "text" in b]
    calls = [
        {
            "id": b["toolUse"].get("toolUseId", ""),
            "type": "function",
            "function": {
                "name": b["toolUse"].get("name", ""),
                "arguments": orjson.dumps(b["toolUse"].get("input") or {}).decode(),
            },
        }
        for b in blocks
        if "toolUse" in b
    ]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValidationError("The messages field is required and must not be empty.")
    out: list[dict[str, Any]] = []
    system = _text(body.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        blocks = message.get("content") if isinstance(message, dict) else None
        if role not in ("user", "assistant") or not isinstance(blocks, list) or not blocks:
            raise ValidationError(f"messages.{i}: a message needs a role (user or assistant) and content blocks.")
        if not all(isinstance(b, dict) for b in blocks):
            raise ValidationError(f"messages.{i}.content: every content block must be an object.")
        if i == 0 and role != "user":
            raise ValidationError(
                "A conversation must start with a user message. "
                "Try again with a conversation that starts with a user message."
            )
        out += _user(blocks) if role == "user" else [_assistant(blocks)]
    return out


def _tools(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        return {}
    tools = []
    for tool in config.get("tools") or ():
        spec = tool.get("toolSpec") or {}
        function = {"name": spec.get("name", ""), "parameters": (spec.get("inputSchema") or {}).get("json") or {}}
        if spec.get("description"):
            function["description"] = spec["description"]
        tools.append({"type": "function", "function": function})
    out: dict[str, Any] = {"tools": tools} if tools else {}
    choice = config.get("toolChoice") or {}
    for key, value in _CHOICES.items():
        if key in choice:
            out["tool_choice"] = value
    if "tool" in choice:
        out["tool_choice"] = {"type": "function", "function": {"name": choice["tool"].get("name", "")}}
    return out


def to_openai(body: Any, model: str, stream: bool) -> dict[str, Any]:
    """Returns the OpenAI request a Converse body means; raises ValidationError."""
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.")
    out: dict[str, Any] = {"model": model, "messages": _messages(body)}
    inference = body.get("inferenceConfig") or {}
    out.update((name, inference[key]) for key, name in _INFERENCE.items() if key in inference)
    out.update(_tools(body.get("toolConfig")))
    if "JSON object" in _text(body.get("system")):
        out["response_format"] = {"type": "json_object"}
    if stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _usage(usage: Any) -> dict[str, int]:
    usage = usage if isinstance(usage, dict) else {}
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return {
        "inputTokens": prompt,
        "outputTokens": completion,
        "totalTokens": usage.get("total_tokens", prompt + completion),
    }


def _content(message: dict[str, Any]) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = [{"text": message["content"]}] if message.get("content") else []
    for call in message.get("tool_calls") or ():
        function = call["function"]
        use = {"toolUseId": call["id"], "name": function["name"], "input": orjson.loads(function["arguments"] or "{}")}
        content.append({"toolUse": use})
    return content


def _event(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = {vocab.EVENT_TYPE: event_type, vocab.CONTENT_TYPE: "application/json", vocab.MESSAGE_TYPE: "event"}
    return encode_message(headers, orjson.dumps(payload))


def exception_message(exception: str, message: str) -> bytes:
    """Returns a stream's exception message (`:exception-type` in lower camel case, as Bedrock writes it)."""
    headers = {
        vocab.EXCEPTION_TYPE: exception[:1].lower() + exception[1:],
        vocab.CONTENT_TYPE: "application/json",
        vocab.MESSAGE_TYPE: "exception",
    }
    return encode_message(headers, orjson.dumps({"message": message}))


class ConverseRewriter(Rewriter):
    """Rewrites OpenAI answers into Converse replies and ConverseStream event-stream messages."""

    content_type = vocab.EVENTSTREAM_CONTENT_TYPE

    def __init__(self) -> None:
        self._block = -1  # the content block open now (-1: none)
        self._tools: dict[int, int] = {}  # OpenAI tool call index → content block index
        self._blocks = 0

    def whole(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> tuple[bytes, list[tuple[str, str]]]:
        raw = load(body)
        if status >= 400:
            error = raw.get("error") if isinstance(raw, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
            return error_body(str(message or "error")), headers + error_headers(vocab.exception_for(status))
        choices = raw.get("choices") if isinstance(raw, dict) else None
        if raw is None:
            return body, headers
        if not isinstance(choices, list) or not choices:
            return orjson.dumps({"output": "none", "stopReason": "end_turn"}), headers
        choice = choices[0]
        reply = {
            "output": {"message": {"role": "assistant", "content": _content(choice["message"])}},
            "stopReason": vocab.STOP_REASONS.get(choice.get("finish_reason"), "end_turn"),
            "usage": _usage(raw.get("usage")),
            "metrics": {"latencyMs": 1},
        }
        return orjson.dumps(reply), headers

    def event(self, payload: bytes) -> bytes:
        if payload == b"[DONE]":
            return b""
        raw = load(payload)
        if not isinstance(raw, dict):
            # A scripted malformed event: a frame whose JSON is broken.
            return encode_message({vocab.EVENT_TYPE: vocab.BLOCK_DELTA, vocab.MESSAGE_TYPE: "event"}, payload)
        if raw.get("error") is not None:
            return exception_message("ModelStreamErrorException", str(raw["error"].get("message") or "error"))
        if not raw.get("choices"):
            usage = raw.get("usage")
            return _event(vocab.METADATA, {"usage": _usage(usage), "metrics": {"latencyMs": 1}}) if usage else b""
        return self._choice(raw["choices"][0])

    def _close(self) -> bytes:
        if self._block < 0:
            return b""
        block, self._block = self._block, -1
        return _event(vocab.BLOCK_STOP, {"contentBlockIndex": block})

    def _open(self) -> int:
        self._block = self._blocks
        self._blocks += 1
        return self._block

    def _choice(self, choice: dict[str, Any]) -> bytes:
        delta = choice.get("delta") or {}
        out = b""
        if delta.get("role"):
            out += _event(vocab.MESSAGE_START, {"role": "assistant"})
        if delta.get("content"):
            if self._block < 0 or self._block in self._tools.values():
                out += self._close()
                self._open()
            out += _event(vocab.BLOCK_DELTA, {"contentBlockIndex": self._block, "delta": {"text": delta["content"]}})
        for call in delta.get("tool_calls") or ():
            out += self._tool_delta(call)
        if choice.get("finish_reason"):
            out += self._close()
            stop = vocab.STOP_REASONS.get(choice["finish_reason"], "end_turn")
            out += _event(vocab.MESSAGE_STOP, {"stopReason": stop})
        return out

    def _tool_delta(self, call: dict[str, Any]) -> bytes:
        out = b""
        function = call.get("function") or {}
        if call["index"] not in self._tools:
            out += self._close()
            self._tools[call["index"]] = self._open()
            use = {"toolUseId": call.get("id", ""), "name": function.get("name", "")}
            out += _event(vocab.BLOCK_START, {"contentBlockIndex": self._block, "start": {"toolUse": use}})
        if function.get("arguments"):
            block = self._tools[call["index"]]
            delta = {"toolUse": {"input": function["arguments"]}}
            out += _event(vocab.BLOCK_DELTA, {"contentBlockIndex": block, "delta": delta})
        return out
