"""Anthropic Messages JSON ⇄ switchyard.common.v1 protobuf, for the edge's `POST /v1/messages`.

Applications written against the Anthropic SDK reach any backend this way: a request is validated
the way the Anthropic API validates it and becomes the OpenAI-shaped ChatRequest the router takes;
completions, stream chunks and errors go back as Anthropic messages, SSE events and error bodies.
Error bodies keep the HTTP status of our taxonomy and take their `error.type` from that status
(`error_type`): a 503 stays a 503 but reads `overloaded_error`, a 502 reads `api_error`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from switchyard.common.v1 import chat_pb2, context_pb2, errors_pb2

from services.common.errors import SwitchyardError
from services.common.openai_format.vocabulary import Finish, Role, as_tuple, to_struct, type_name
from services.edge.translate import Headers, error_body, error_response, request_context

ROUTE = "/v1/messages"
# From this anthropic-version on, the API rejects sampling parameters (wire-formats §0).
NO_SAMPLING_VERSION = "2026-10-21"
_KNOWN_KEYS = frozenset(
    {
        "model", "max_tokens", "messages", "system", "stop_sequences", "temperature", "top_p", "top_k", "tools",
        "tool_choice", "metadata", "stream", "thinking", "output_config", "service_tier",
    }
)  # fmt: skip
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 503: "overloaded_error",
    504: "timeout_error",
}  # fmt: skip
_STOP_REASONS = {
    Finish.FINISH_REASON_STOP: "end_turn", Finish.FINISH_REASON_LENGTH: "max_tokens",
    Finish.FINISH_REASON_TOOL_CALLS: "tool_use", Finish.FINISH_REASON_FUNCTION_CALL: "tool_use",
    Finish.FINISH_REASON_CONTENT_FILTER: "refusal",
}  # fmt: skip
_TOOL_CHOICES = {
    "auto": chat_pb2.TOOL_CHOICE_MODE_AUTO,
    "any": chat_pb2.TOOL_CHOICE_MODE_REQUIRED,
    "none": chat_pb2.TOOL_CHOICE_MODE_NONE,
}


def _invalid(path: str, message: str) -> SwitchyardError:
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, f"{path}: {message}", param=path)


def _expect(value: Any, kinds: type | tuple[type, ...], path: str, what: str) -> Any:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in as_tuple(kinds)):
        raise _invalid(path, f"Input should be {what}, not {type_name(value)}")
    return value


def _number(body: dict[str, Any], key: str, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    _expect(value, (int, float), key, "a number")
    if not 0 <= value <= high:
        raise _invalid(key, f"Input should be between 0 and {high:g}")
    return float(value)


# ---------------------------------------------------------------- request → ChatRequest


def context(headers: dict[str, str]) -> context_pb2.RequestContext:
    """Returns the request context; an `x-api-key` (the Anthropic style) names the key like a Bearer token."""
    result = request_context(headers)
    if not result.key_prefix and headers.get("x-api-key"):
        # Only a short prefix ever leaves the edge, as for Bearer tokens.
        result.key_prefix = headers["x-api-key"][:8]
    return result


def _image_url(block: dict[str, Any], path: str) -> chat_pb2.ContentPart:
    source = _expect(block.get("source"), dict, f"{path}.source", "an object")
    kind = source.get("type")
    if kind == "url":
        url = _expect(source.get("url"), str, f"{path}.source.url", "a string")
        return chat_pb2.ContentPart(image_url=chat_pb2.ImageUrlPart(url=url))
    if kind != "base64":
        raise _invalid(f"{path}.source.type", f"image source {kind!r} is not supported here; use 'base64' or 'url'")
    media = source.get("media_type")
    if media not in _IMAGE_TYPES:
        raise _invalid(f"{path}.source.media_type", f"Input should be one of {', '.join(sorted(_IMAGE_TYPES))}")
    data = _expect(source.get("data"), str, f"{path}.source.data", "a string")
    return chat_pb2.ContentPart(image_url=chat_pb2.ImageUrlPart(url=f"data:{media};base64,{data}"))


def _text(block: dict[str, Any], path: str) -> str:
    text = _expect(block.get("text"), str, f"{path}.text", "a string")
    if not text:
        raise _invalid(path, "text content blocks must be non-empty")
    return str(text)


def _tool_result(block: dict[str, Any], path: str, images: list[chat_pb2.ContentPart]) -> chat_pb2.ChatMessage:
    """Returns the role-tool message for a tool_result block; its images go to `images` (tool messages are text)."""
    call_id = _expect(block.get("tool_use_id"), str, f"{path}.tool_use_id", "a string")
    content = block.get("content", "")
    texts: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for k, part in enumerate(_expect(content, list, f"{path}.content", "a string or a list of blocks")):
            where = f"{path}.content.{k}"
            kind = _expect(part, dict, where, "an object").get("type")
            if kind == "text":
                texts.append(_text(part, where))
            elif kind == "image":
                images.append(_image_url(part, where))
            else:
                raise _invalid(f"{where}.type", f"block type {kind!r} is not supported inside tool_result")
    text = "\n".join(texts)
    if _expect(block.get("is_error", False), bool, f"{path}.is_error", "a boolean"):
        # OpenAI tool messages have no error flag, so the model learns it from the text.
        text = f"[tool error] {text}"
    return chat_pb2.ChatMessage(role=Role.ROLE_TOOL, text=text, tool_call_id=call_id)


def _user_turn(blocks: list[Any], path: str, pending: set[str]) -> list[chat_pb2.ChatMessage]:
    """Returns the tool messages of a user turn first, then one user message with its other content."""
    tools: list[chat_pb2.ChatMessage] = []
    parts: list[chat_pb2.ContentPart] = []
    for k, block in enumerate(blocks):
        where = f"{path}.content.{k}"
        kind = _expect(block, dict, where, "an object").get("type")
        if kind == "text":
            parts.append(chat_pb2.ContentPart(text=chat_pb2.TextPart(text=_text(block, where))))
        elif kind == "image":
            parts.append(_image_url(block, where))
        elif kind == "tool_result":
            tools.append(_tool_result(block, where, parts))
            if tools[-1].tool_call_id not in pending:
                raise _invalid(
                    where,
                    f"unexpected `tool_use_id` found in `tool_result` blocks: {tools[-1].tool_call_id}. Each "
                    "`tool_result` block must have a corresponding `tool_use` block in the previous message.",
                )
        else:
            raise _invalid(f"{where}.type", f"block type {kind!r} is not allowed in a user message")
    if not parts:
        return tools
    return [*tools, chat_pb2.ChatMessage(role=Role.ROLE_USER, parts=chat_pb2.ContentParts(parts=parts))]


def _assistant_turn(blocks: list[Any], path: str) -> chat_pb2.ChatMessage:
    message = chat_pb2.ChatMessage(role=Role.ROLE_ASSISTANT)
    texts: list[str] = []
    for k, block in enumerate(blocks):
        where = f"{path}.content.{k}"
        kind = _expect(block, dict, where, "an object").get("type")
        if kind == "text":
            texts.append(_text(block, where))
        elif kind == "tool_use":
            arguments = _expect(block.get("input"), dict, f"{where}.input", "an object")
            function = chat_pb2.FunctionCall(
                name=_expect(block.get("name"), str, f"{where}.name", "a string"), arguments=json.dumps(arguments)
            )
            call_id = _expect(block.get("id"), str, f"{where}.id", "a string")
            message.tool_calls.append(chat_pb2.ToolCall(id=call_id, type="function", function=function))
        elif kind not in ("thinking", "redacted_thinking"):
            # Thinking blocks are echoed back by tool loops; OpenAI-shaped backends cannot take them.
            raise _invalid(f"{where}.type", f"block type {kind!r} is not allowed in an assistant message")
    if texts:
        message.text = "".join(texts)
    return message


def _messages(raw: Any) -> list[chat_pb2.ChatMessage]:
    """Returns the conversation as OpenAI messages, checking Anthropic's turn rules on the way."""
    if raw is None:
        raise _invalid("messages", "Field required")
    _expect(raw, list, "messages", "a list")
    result: list[chat_pb2.ChatMessage] = []
    pending: set[str] = set()  # tool_use ids of the previous assistant turn, each answered in the next turn
    for i, message in enumerate(raw):
        path = f"messages.{i}"
        role = _expect(message, dict, path, "an object").get("role")
        if role not in ("user", "assistant"):
            raise _invalid(f"{path}.role", "Input should be 'user' or 'assistant'")
        content = message.get("content")
        if content is None:
            raise _invalid(f"{path}.content", "Field required")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) and content else content
        _expect(blocks, (str, list), f"{path}.content", "a string or a list of content blocks")
        if not blocks and not (role == "assistant" and i == len(raw) - 1):
            raise _invalid(path, "all messages must have non-empty content except for the optional final assistant")
        if not blocks:
            continue
        if role == "assistant":
            turn = [_assistant_turn(blocks, path)]
        elif isinstance(content, str):
            turn = [chat_pb2.ChatMessage(role=Role.ROLE_USER, text=content)]
        else:
            turn = _user_turn(blocks, path, pending)
        answered = {m.tool_call_id for m in turn if m.role == Role.ROLE_TOOL}
        if pending - answered:
            raise _invalid(
                f"messages.{i - 1}",
                "`tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{', '.join(sorted(pending - answered))}. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message.",
            )
        pending = {c.id for c in turn[0].tool_calls} if role == "assistant" else set()
        result.extend(turn)
    if not result:
        raise _invalid("messages", "at least one message is required")
    return result


def _system(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    blocks = _expect(raw, list, "system", "a string or a list of text blocks")
    for k, block in enumerate(blocks):
        if _expect(block, dict, f"system.{k}", "an object").get("type") != "text":
            raise _invalid(f"system.{k}.type", "Input should be 'text'")
    return "\n".join(_text(b, f"system.{k}") for k, b in enumerate(blocks))


def _tool(raw: Any, k: int) -> chat_pb2.Tool:
    path = f"tools.{k}"
    _expect(raw, dict, path, "an object")
    if raw.get("type") not in (None, "custom"):
        raise _invalid(f"{path}.type", f"server tool {raw['type']!r} is not supported here; declare a client tool")
    tool = chat_pb2.Tool(type="function")
    tool.function.name = _expect(raw.get("name"), str, f"{path}.name", "a string")
    if raw.get("description") is not None:
        tool.function.description = _expect(raw["description"], str, f"{path}.description", "a string")
    if raw.get("input_schema") is None:
        raise _invalid(f"{path}.input_schema", "Field required")
    tool.function.parameters.CopyFrom(to_struct(_expect(raw["input_schema"], dict, f"{path}.input_schema", "a dict")))
    return tool


def _tool_choice(raw: Any, request: chat_pb2.ChatRequest) -> None:
    kind = _expect(raw, dict, "tool_choice", "an object").get("type")
    if kind not in ("auto", "any", "tool", "none"):
        raise _invalid("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'")
    if not request.tools:
        if kind in ("any", "tool"):
            raise _invalid("tool_choice", f"tool_choice.type {kind!r} requires `tools`")
        return  # OpenAI backends reject a tool_choice without tools; without tools it changes nothing
    if kind == "tool":
        name = _expect(raw.get("name"), str, "tool_choice.name", "a string")
        if name not in {t.function.name for t in request.tools}:
            raise _invalid("tool_choice.name", f"tool {name!r} is not among `tools`")
        request.tool_choice.function_name = name
    else:
        request.tool_choice.mode = _TOOL_CHOICES[kind]
    if _expect(raw.get("disable_parallel_tool_use", False), bool, "tool_choice.disable_parallel_tool_use", "a bool"):
        request.parallel_tool_calls = False


def _options(body: dict[str, Any], request: chat_pb2.ChatRequest, version: str) -> None:
    """Sets sampling, stop, metadata and output options; the sampling ones only where the version has them."""
    for key in ("temperature", "top_p", "top_k"):
        if body.get(key) is not None and version >= NO_SAMPLING_VERSION:
            raise _invalid(key, f"this parameter is not supported under anthropic-version {version}")
    for key, high in (("temperature", 1.0), ("top_p", 1.0)):
        value = _number(body, key, high)
        if value is not None:
            setattr(request, key, value)
    if body.get("top_k") is not None:
        top_k = _expect(body["top_k"], int, "top_k", "an integer")
        if top_k < 0:
            raise _invalid("top_k", "Input should be greater than or equal to 0")
        # ChatRequest has no top_k field; `extra` passes it through to servers that take it (vLLM).
        request.extra.update({"top_k": top_k})
    stops = _expect(body.get("stop_sequences", []), list, "stop_sequences", "a list")
    request.stop.extend(_expect(s, str, f"stop_sequences.{k}", "a string") for k, s in enumerate(stops))
    metadata = _expect(body.get("metadata", {}), dict, "metadata", "an object")
    for key in metadata:
        if key != "user_id":
            raise _invalid(f"metadata.{key}", "Extra inputs are not permitted")
    if metadata.get("user_id") is not None:
        request.user = _expect(metadata["user_id"], str, "metadata.user_id", "a string")
    output = _expect(body.get("output_config", {}), dict, "output_config", "an object")
    if output.get("format") is not None:
        fmt = _expect(output["format"], dict, "output_config.format", "an object")
        if fmt.get("type") != "json_schema":
            raise _invalid("output_config.format.type", "Input should be 'json_schema'")
        schema = _expect(fmt.get("schema"), dict, "output_config.format.schema", "an object")
        request.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
        request.response_format.json_schema.name = "output"
        request.response_format.json_schema.schema.CopyFrom(to_struct(schema))


def parse_request(body: Any, headers: dict[str, str]) -> chat_pb2.ChatRequest:
    """Returns the ChatRequest for an Anthropic Messages body, or raises INVALID_REQUEST naming the field.

    `thinking`, `output_config.effort` and `service_tier` are accepted and dropped: the backends are
    OpenAI-shaped and have no faithful equivalent.
    """
    _expect(body, dict, "body", "a JSON object")
    unknown = sorted(k for k in body if k not in _KNOWN_KEYS)
    if unknown:
        raise _invalid(unknown[0], "Extra inputs are not permitted")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("model", "Field required" if model is None else "Input should be a non-empty string")
    if body.get("max_tokens") is None:
        raise _invalid("max_tokens", "Field required")
    max_tokens = _expect(body["max_tokens"], int, "max_tokens", "a valid integer")
    if not 1 <= max_tokens < 2**31:
        raise _invalid("max_tokens", "Input should be greater than or equal to 1")
    request = chat_pb2.ChatRequest(model=model, max_tokens=max_tokens)
    system = _system(body["system"]) if body.get("system") is not None else ""
    if system:
        request.messages.append(chat_pb2.ChatMessage(role=Role.ROLE_SYSTEM, text=system))
    request.messages.extend(_messages(body.get("messages")))
    tools = _expect(body.get("tools", []), list, "tools", "a list")
    request.tools.extend(_tool(t, k) for k, t in enumerate(tools))
    if len({t.function.name for t in request.tools}) < len(request.tools):
        raise _invalid("tools", "Tool names must be unique.")
    if body.get("tool_choice") is not None:
        _tool_choice(body["tool_choice"], request)
    _options(body, request, headers.get("anthropic-version", ""))
    request.stream = bool(_expect(body.get("stream", False), bool, "stream", "a valid boolean"))
    # Ask for usage on streams so message_delta carries the real output_tokens.
    request.stream_options.include_usage = request.stream
    return request


# ---------------------------------------------------------------- replies → Anthropic JSON


def usage_to_wire(usage: chat_pb2.Usage) -> dict[str, int]:
    """Returns usage in Anthropic's meaning: input_tokens excludes the tokens read from or written to the cache."""
    cached = usage.prompt_tokens_details.cached_tokens
    written = usage.prompt_tokens_details.cache_write_tokens
    return {
        "input_tokens": max(0, usage.prompt_tokens - cached - written),
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
    }


def _tool_input(arguments: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise SwitchyardError(
            errors_pb2.ERROR_REASON_UPSTREAM_MALFORMED, "the model returned tool arguments that are not a JSON object"
        )
    return value


def message_to_wire(completion: chat_pb2.ChatCompletion, model: str) -> dict[str, Any]:
    """Returns the Anthropic message for a completion's first choice, named after the model the client asked for."""
    choice = completion.choices[0] if completion.choices else chat_pb2.Choice()
    reply = choice.message
    text = reply.text if reply.WhichOneof("content") == "text" else ""
    text += "".join(p.text.text for p in reply.parts.parts if p.WhichOneof("part") == "text")
    content: list[dict[str, Any]] = []
    for piece in (text, reply.refusal):
        if piece:
            content.append({"type": "text", "text": piece})
    content.extend(
        {"type": "tool_use", "id": c.id, "name": c.function.name, "input": _tool_input(c.function.arguments)}
        for c in reply.tool_calls
    )
    stop_reason = _STOP_REASONS.get(choice.finish_reason, "end_turn")
    return _message(model, content, stop_reason, usage_to_wire(completion.usage))


def _message(model: str, content: list[dict[str, Any]], stop: str | None, usage: dict[str, int]) -> dict[str, Any]:
    # The id is ours: a cached answer is a new message, and upstream ids are not Anthropic's.
    head = {"id": f"msg_{uuid.uuid4().hex}", "type": "message", "role": "assistant", "model": model}
    return head | {"content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage}


def error_type(status: int) -> str:
    """Returns the Anthropic `error.type` for an HTTP status of our taxonomy."""
    return _ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def error_object(err: SwitchyardError) -> dict[str, Any]:
    """Returns `{"type":"error","error":{type,message}}`, with every attempt when a route was tried."""
    error: dict[str, Any] = {"type": error_type(err.status), "message": err.message}
    attempts = error_body(err)["error"].get("attempts")
    if attempts:
        error["attempts"] = attempts
    return {"type": "error", "error": error}


def error_reply(err: SwitchyardError, request_id: str) -> tuple[int, Headers, bytes]:
    """Returns (status, headers, body) of the Anthropic HTTP error for err, with the same retry hints."""
    status, headers, _ = error_response(err, request_id)
    body = error_object(err) | {"request_id": request_id}
    return status, [*headers, (b"request-id", request_id.encode())], orjson.dumps(body)


def _event(name: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps({"type": name, **payload}) + b"\n\n"


class MessageStream:
    """Renders router chunks as Anthropic SSE: message_start, dense content blocks, message_delta, message_stop.

    Block indices count every block; each OpenAI tool_call index keeps the block it opened, because
    the two numberings differ as soon as text precedes a tool call (wire-formats §7.3).
    """

    def __init__(self, model: str) -> None:
        self._model = model
        self._blocks = 0
        self._open: int | None = None
        self._text_block: int | None = None
        self._tools: dict[int, int] = {}
        self._stop = "end_turn"
        self._usage: chat_pb2.Usage | None = None

    def begin(self) -> bytes:
        """Returns message_start (token counts are unknown until the end) and a ping."""
        message = _message(self._model, [], None, {"input_tokens": 0, "output_tokens": 0})
        return _event("message_start", {"message": message}) + _event("ping", {})

    def chunks(self, chunks: Sequence[chat_pb2.ChatCompletionChunk]) -> bytes:
        """Returns the events for a batch of chunks; only the first choice counts (Anthropic has no `n`)."""
        out: list[bytes] = []
        for chunk in chunks:
            if chunk.HasField("usage"):
                self._usage = chunk.usage
            for choice in chunk.choices:
                if choice.index == 0:
                    self._choice(choice, out)
        return b"".join(out)

    def _choice(self, choice: chat_pb2.ChunkChoice, out: list[bytes]) -> None:
        delta = choice.delta
        for text in (delta.content, delta.refusal):
            if text:
                if self._open is None or self._open != self._text_block:
                    self._text_block = self._start({"type": "text", "text": ""}, out)
                out.append(
                    _event("content_block_delta", {"index": self._open, "delta": {"type": "text_delta", "text": text}})
                )
        for call in delta.tool_calls:
            index = self._tools.get(call.index)
            if index is None:
                block = {"type": "tool_use", "id": call.id or f"toolu_{uuid.uuid4().hex}", "name": call.function.name}
                index = self._tools[call.index] = self._start({**block, "input": {}}, out)
            if call.function.arguments:
                # A fragment for an earlier, already stopped tool block still goes to that block's index:
                # clients accumulate by index, so interleaved upstream fragments stay with their call.
                delta_json = {"type": "input_json_delta", "partial_json": call.function.arguments}
                out.append(_event("content_block_delta", {"index": index, "delta": delta_json}))
        if choice.finish_reason != Finish.FINISH_REASON_UNSPECIFIED:
            self._stop = _STOP_REASONS.get(choice.finish_reason, "end_turn")
            self._close(out)

    def _start(self, block: dict[str, Any], out: list[bytes]) -> int:
        self._close(out)
        self._open, self._blocks = self._blocks, self._blocks + 1
        out.append(_event("content_block_start", {"index": self._open, "content_block": block}))
        return self._open

    def _close(self, out: list[bytes]) -> None:
        if self._open is not None:
            out.append(_event("content_block_stop", {"index": self._open}))
            self._open = None

    def end(self) -> bytes:
        """Returns the events that end a complete stream: the open block's stop, message_delta, message_stop."""
        out: list[bytes] = []
        self._close(out)
        usage = usage_to_wire(self._usage) if self._usage is not None else {"output_tokens": 0}
        out.append(
            _event("message_delta", {"delta": {"stop_reason": self._stop, "stop_sequence": None}, "usage": usage})
        )
        out.append(_event("message_stop", {}))
        return b"".join(out)

    def fail(self, err: SwitchyardError) -> bytes:
        """Returns the `error` event that ends a stream broken after it started (never a quiet end)."""
        return _event("error", {"error": error_object(err)["error"]})
