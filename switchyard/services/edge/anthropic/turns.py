"""Anthropic `messages` → OpenAI-shaped ChatMessages, checking the content blocks and the tool_use turn rules."""

from __future__ import annotations

import json
from typing import Any

from switchyard.common.v1 import chat_pb2
from switchyard.services.edge.anthropic.checks import expect, invalid
from switchyard.wire.anthropic.vocabulary import IMAGE_MEDIA_TYPES

Role = chat_pb2.Role


def text_of(block: dict[str, Any], path: str) -> str:
    """Returns the text of a text block, which the Anthropic API requires to be non-empty."""
    text = expect(block.get("text"), str, f"{path}.text", "a string")
    if not text:
        raise invalid(path, "text content blocks must be non-empty")
    return str(text)


def _image_url(block: dict[str, Any], path: str) -> chat_pb2.ContentPart:
    source = expect(block.get("source"), dict, f"{path}.source", "an object")
    kind = source.get("type")
    if kind == "url":
        url = expect(source.get("url"), str, f"{path}.source.url", "a string")
        return chat_pb2.ContentPart(image_url=chat_pb2.ImageUrlPart(url=url))
    if kind != "base64":
        raise invalid(f"{path}.source.type", f"image source {kind!r} is not supported here; use 'base64' or 'url'")
    media = source.get("media_type")
    if not isinstance(media, str) or media not in IMAGE_MEDIA_TYPES:
        raise invalid(f"{path}.source.media_type", f"Input should be one of {', '.join(sorted(IMAGE_MEDIA_TYPES))}")
    data = expect(source.get("data"), str, f"{path}.source.data", "a string")
    return chat_pb2.ContentPart(image_url=chat_pb2.ImageUrlPart(url=f"data:{media};base64,{data}"))


def _tool_result(block: dict[str, Any], path: str, images: list[chat_pb2.ContentPart]) -> chat_pb2.ChatMessage:
    """Returns the role-tool message for a tool_result block; its images go to `images` (tool messages are text)."""
    call_id = expect(block.get("tool_use_id"), str, f"{path}.tool_use_id", "a string")
    content = block.get("content", "")
    texts: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for k, part in enumerate(expect(content, list, f"{path}.content", "a string or a list of blocks")):
            where = f"{path}.content.{k}"
            kind = expect(part, dict, where, "an object").get("type")
            if kind == "text":
                texts.append(text_of(part, where))
            elif kind == "image":
                images.append(_image_url(part, where))
            else:
                raise invalid(f"{where}.type", f"block type {kind!r} is not supported inside tool_result")
    text = "\n".join(texts)
    if expect(block.get("is_error", False), bool, f"{path}.is_error", "a boolean"):
        # OpenAI tool messages have no error flag, so the model learns it from the text.
        text = f"[tool error] {text}"
    return chat_pb2.ChatMessage(role=Role.ROLE_TOOL, text=text, tool_call_id=call_id)


def _user_turn(blocks: list[Any], path: str, pending: set[str]) -> list[chat_pb2.ChatMessage]:
    """Returns the tool messages of a user turn first, then one user message with its other content."""
    tools: list[chat_pb2.ChatMessage] = []
    parts: list[chat_pb2.ContentPart] = []
    for k, block in enumerate(blocks):
        where = f"{path}.content.{k}"
        kind = expect(block, dict, where, "an object").get("type")
        if kind == "text":
            parts.append(chat_pb2.ContentPart(text=chat_pb2.TextPart(text=text_of(block, where))))
        elif kind == "image":
            parts.append(_image_url(block, where))
        elif kind == "tool_result":
            tools.append(_tool_result(block, where, parts))
            if tools[-1].tool_call_id not in pending:
                raise invalid(
                    where,
                    f"unexpected `tool_use_id` found in `tool_result` blocks: {tools[-1].tool_call_id}. Each "
                    "`tool_result` block must have a corresponding `tool_use` block in the previous message.",
                )
        else:
            raise invalid(f"{where}.type", f"block type {kind!r} is not allowed in a user message")
    if not parts:
        return tools
    return [*tools, chat_pb2.ChatMessage(role=Role.ROLE_USER, parts=chat_pb2.ContentParts(parts=parts))]


def _assistant_turn(blocks: list[Any], path: str) -> chat_pb2.ChatMessage:
    message = chat_pb2.ChatMessage(role=Role.ROLE_ASSISTANT)
    texts: list[str] = []
    for k, block in enumerate(blocks):
        where = f"{path}.content.{k}"
        kind = expect(block, dict, where, "an object").get("type")
        if kind == "text":
            texts.append(text_of(block, where))
        elif kind == "tool_use":
            arguments = expect(block.get("input"), dict, f"{where}.input", "an object")
            function = chat_pb2.FunctionCall(
                name=expect(block.get("name"), str, f"{where}.name", "a string"), arguments=json.dumps(arguments)
            )
            call_id = expect(block.get("id"), str, f"{where}.id", "a string")
            message.tool_calls.append(chat_pb2.ToolCall(id=call_id, type="function", function=function))
        elif kind not in ("thinking", "redacted_thinking"):
            # Thinking blocks are echoed back by tool loops; OpenAI-shaped backends cannot take them.
            raise invalid(f"{where}.type", f"block type {kind!r} is not allowed in an assistant message")
    if texts:
        message.text = "".join(texts)
    return message


def messages(raw: Any) -> list[chat_pb2.ChatMessage]:
    """Returns the conversation as OpenAI messages, checking Anthropic's turn rules on the way."""
    if raw is None:
        raise invalid("messages", "Field required")
    expect(raw, list, "messages", "a list")
    result: list[chat_pb2.ChatMessage] = []
    pending: set[str] = set()  # tool_use ids of the previous assistant turn, each answered in the next turn
    for i, message in enumerate(raw):
        path = f"messages.{i}"
        role = expect(message, dict, path, "an object").get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"{path}.role", "Input should be 'user' or 'assistant'")
        content = message.get("content")
        if content is None:
            raise invalid(f"{path}.content", "Field required")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) and content else content
        expect(blocks, (str, list), f"{path}.content", "a string or a list of content blocks")
        if not blocks and not (role == "assistant" and i == len(raw) - 1):
            raise invalid(path, "all messages must have non-empty content except for the optional final assistant")
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
            raise invalid(
                f"messages.{i - 1}",
                "`tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{', '.join(sorted(pending - answered))}. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message.",
            )
        pending = {c.id for c in turn[0].tool_calls} if role == "assistant" else set()
        result.extend(turn)
    if not result:
        raise invalid("messages", "at least one message is required")
    return result
