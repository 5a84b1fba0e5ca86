"""Router chunks → Anthropic SSE events: `MessageStream` renders one streamed reply, start to end or error."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from switchyard.common.v1 import chat_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.anthropic.replies import error_object, message, usage_to_wire
from switchyard.wire.anthropic.vocabulary import STOP_REASONS, Event, StopReason, event


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
        self._stop = StopReason.END_TURN
        self._usage: chat_pb2.Usage | None = None

    def begin(self) -> bytes:
        """Returns message_start (token counts are unknown until the end) and a ping."""
        start = message(self._model, [], None, {"input_tokens": 0, "output_tokens": 0})
        return event(Event.MESSAGE_START, {"message": start}) + event(Event.PING, {})

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
                delta_text = {"type": "text_delta", "text": text}
                out.append(event(Event.CONTENT_BLOCK_DELTA, {"index": self._open, "delta": delta_text}))
        for call in delta.tool_calls:
            index = self._tools.get(call.index)
            if index is None:
                block = {"type": "tool_use", "id": call.id or f"toolu_{uuid.uuid4().hex}", "name": call.function.name}
                index = self._tools[call.index] = self._start({**block, "input": {}}, out)
            if call.function.arguments:
                # A fragment for an earlier, already stopped tool block still goes to that block's index:
                # clients accumulate by index, so interleaved upstream fragments stay with their call.
                delta_json = {"type": "input_json_delta", "partial_json": call.function.arguments}
                out.append(event(Event.CONTENT_BLOCK_DELTA, {"index": index, "delta": delta_json}))
        if choice.finish_reason != chat_pb2.FINISH_REASON_UNSPECIFIED:
            self._stop = STOP_REASONS.get(choice.finish_reason, StopReason.END_TURN)
            self._close(out)

    def _start(self, block: dict[str, Any], out: list[bytes]) -> int:
        self._close(out)
        self._open, self._blocks = self._blocks, self._blocks + 1
        out.append(event(Event.CONTENT_BLOCK_START, {"index": self._open, "content_block": block}))
        return self._open

    def _close(self, out: list[bytes]) -> None:
        if self._open is not None:
            out.append(event(Event.CONTENT_BLOCK_STOP, {"index": self._open}))
            self._open = None

    def end(self) -> bytes:
        """Returns the events that end a complete stream: the open block's stop, message_delta, message_stop."""
        out: list[bytes] = []
        self._close(out)
        usage = usage_to_wire(self._usage) if self._usage is not None else {"output_tokens": 0}
        out.append(
            event(Event.MESSAGE_DELTA, {"delta": {"stop_reason": self._stop, "stop_sequence": None}, "usage": usage})
        )
        out.append(event(Event.MESSAGE_STOP, {}))
        return b"".join(out)

    def fail(self, err: SwitchyardError) -> bytes:
        """Returns the `error` event that ends a stream broken after it started (never a quiet end)."""
        return event(Event.ERROR, {"error": error_object(err)["error"]})
