"""Anthropic Messages stream events → OpenAI-shaped chunks: the stream state machine and its error event.

`StreamTranslator` takes one SSE event at a time (name and data) and returns the chunks it means;
an `event: error` raises `StreamErrorEvent`. Replies and usage are read with `anthropic_wire`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from switchyard.common.v1 import chat_pb2
from switchyard.services.providers.adapters.anthropic_wire import finish_from_wire, need, usage_from_wire
from switchyard.wire.anthropic.vocabulary import Event
from switchyard.wire.values import MalformedError

Role = chat_pb2.Role
Finish = chat_pb2.FinishReason


class StreamErrorEvent(Exception):
    """An `event: error` in a stream that had answered 200 (e.g. overloaded_error mid-stream)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class StreamTranslator:
    """Turns Messages API stream events into OpenAI-shaped chunks, one event at a time.

    Tool-call indices count only `tool_use` blocks (Anthropic's block index counts every block);
    usage comes from message_start (input side) and the last message_delta (cumulative, so it
    overwrites); message_stop adds the usage-only chunk and sets `done`.
    """

    def __init__(self, created: int | None = None) -> None:
        self.id = ""
        self.model = ""
        self.created = int(time.time()) if created is None else created
        self.done = False
        self.started = False
        self.finish: chat_pb2.FinishReason.ValueType = Finish.FINISH_REASON_UNSPECIFIED
        self._usage: dict[str, Any] = {}
        self._tools: dict[int, int] = {}  # content-block index → OpenAI tool-call index
        self._blocks: set[int] = set()

    @property
    def usage(self) -> chat_pb2.Usage:
        """Returns the usage reported so far, normalised to OpenAI's meaning."""
        return usage_from_wire(self._usage)

    def _chunk(self, delta: chat_pb2.ChoiceDelta | None = None, finish: int = 0) -> chat_pb2.ChatCompletionChunk:
        chunk = chat_pb2.ChatCompletionChunk(id=self.id, created=self.created, model=self.model)
        choice = chunk.choices.add(index=0, finish_reason=finish)  # type: ignore[arg-type]
        if delta is not None:
            choice.delta.CopyFrom(delta)
        return chunk

    def feed(self, name: str, data: str) -> list[chat_pb2.ChatCompletionChunk]:
        """Returns the chunks one event means; raises MalformedError or StreamErrorEvent."""
        if name == Event.PING or self.done:
            return []
        try:
            raw = json.loads(data)
        except json.JSONDecodeError as exc:
            raise MalformedError(f"event {name!r} is not JSON: {exc}") from None
        need(raw, dict, f"{name} event")
        kind = raw.get("type", name)
        if kind == Event.ERROR:
            error = raw.get("error") if isinstance(raw.get("error"), dict) else {}
            raise StreamErrorEvent(str(error.get("type") or "error"), str(error.get("message") or ""))
        if kind == Event.MESSAGE_START:
            return self._start(raw)
        if not self.started:
            raise MalformedError(f"event {kind!r} came before message_start")
        handler = {
            Event.CONTENT_BLOCK_START: self._block_start,
            Event.CONTENT_BLOCK_DELTA: self._block_delta,
            Event.MESSAGE_DELTA: self._message_delta,
        }.get(kind)
        if handler is not None:
            return handler(raw)
        if kind == Event.MESSAGE_STOP:
            self.done = True
            usage = chat_pb2.ChatCompletionChunk(id=self.id, created=self.created, model=self.model)
            usage.usage.CopyFrom(self.usage)
            return [usage]
        # content_block_stop needs nothing; unknown event types may be added within a version.
        return []

    def _start(self, raw: dict[str, Any]) -> list[chat_pb2.ChatCompletionChunk]:
        if self.started:
            raise MalformedError("a second message_start")
        message = need(raw.get("message"), dict, "message_start.message")
        self.id = need(message.get("id"), str, "message_start.message.id")
        self.model = need(message.get("model"), str, "message_start.message.model")
        # Anthropic always reports usage here; a stream without it would be metered as free.
        self._usage = dict(need(message.get("usage"), dict, "message_start.message.usage"))
        self.started = True
        return [self._chunk(chat_pb2.ChoiceDelta(role=Role.ROLE_ASSISTANT))]

    def _block_start(self, raw: dict[str, Any]) -> list[chat_pb2.ChatCompletionChunk]:
        index = need(raw.get("index"), int, "content_block_start.index")
        block = need(raw.get("content_block"), dict, "content_block_start.content_block")
        self._blocks.add(index)
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            return [self._chunk(chat_pb2.ChoiceDelta(content=need(block["text"], str, "content_block.text")))]
        if kind != "tool_use":
            return []
        k = self._tools[index] = len(self._tools)
        call = chat_pb2.ToolCallDelta(index=k, id=need(block.get("id"), str, "tool_use.id"), type="function")
        call.function.name = need(block.get("name"), str, "tool_use.name")
        call.function.arguments = ""
        return [self._chunk(chat_pb2.ChoiceDelta(tool_calls=[call]))]

    def _block_delta(self, raw: dict[str, Any]) -> list[chat_pb2.ChatCompletionChunk]:
        index = need(raw.get("index"), int, "content_block_delta.index")
        if index not in self._blocks:
            raise MalformedError(f"content_block_delta for block {index}, which never started")
        delta = need(raw.get("delta"), dict, "content_block_delta.delta")
        kind = delta.get("type")
        if kind == "text_delta":
            text = need(delta.get("text"), str, "text_delta.text")
            return [self._chunk(chat_pb2.ChoiceDelta(content=text))] if text else []
        if kind == "thinking_delta":
            text = need(delta.get("thinking"), str, "thinking_delta.thinking")
            return [self._chunk(chat_pb2.ChoiceDelta(reasoning=text))] if text else []
        if kind == "input_json_delta":
            fragment = need(delta.get("partial_json"), str, "input_json_delta.partial_json")
            if index not in self._tools:
                raise MalformedError(f"input_json_delta for block {index}, which is not a tool_use block")
            if not fragment:
                return []
            call = chat_pb2.ToolCallDelta(index=self._tools[index])
            call.function.arguments = fragment
            return [self._chunk(chat_pb2.ChoiceDelta(tool_calls=[call]))]
        return []

    def _message_delta(self, raw: dict[str, Any]) -> list[chat_pb2.ChatCompletionChunk]:
        usage = raw.get("usage")
        if usage is not None:
            # Cumulative totals: each one replaces what came before, never adds to it.
            self._usage.update((k, v) for k, v in need(usage, dict, "message_delta.usage").items() if v is not None)
        delta = need(raw.get("delta") or {}, dict, "message_delta.delta")
        finish = finish_from_wire(delta.get("stop_reason"))
        if not finish:
            return []
        self.finish = finish
        return [self._chunk(chat_pb2.ChoiceDelta(), finish)]
