"""A streamed chat completion as the Responses API's typed SSE events.

    response.created, response.in_progress                       before anything else
    text:       response.output_item.added (message), response.content_part.added,
                response.output_text.delta ..., then response.output_text.done,
                response.content_part.done, response.output_item.done
    tool call:  response.output_item.added (function_call), response.function_call_arguments.delta ...,
                then response.function_call_arguments.done, response.output_item.done
    response.completed (or .incomplete) with the whole response   at the end
    response.failed with the response so far and its error       when the stream breaks after it began

A broken stream ends as OpenAI's do: `response.failed`, whose response has status `failed`, the items that
had opened (status `incomplete`) and `error` {code, message}; the SDK's stream helpers read it as the
response's last state. (A plain `error` event is for failures that are no response's.)

Every event carries `sequence_number`, counting from 0. Items close in the order they opened; an item
opens when its first delta arrives, so the output order is the order the model produced it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.responses.replies import (
    call_item,
    new_id,
    response_object,
    text_item,
    usage_of,
)
from switchyard.services.edge.responses.requests import ResponsesRequest
from switchyard.services.edge.translate import error_body


@dataclass
class _Item:
    """One output item being streamed: a message's text, or a tool call's arguments."""

    index: int
    item_id: str
    kind: str
    text: str = ""
    call_id: str = ""
    name: str = ""

    def item(self, status: str) -> dict[str, Any]:
        if self.kind == "message":
            return text_item(self.item_id, self.text, status)
        return call_item(self.item_id, self.call_id, self.name, self.text, status)


@dataclass
class ResponseEvents:
    """Renders one response's stream; `finish()` returns the whole response for storing and the last event."""

    response_id: str
    request: ResponsesRequest
    model: str
    _sequence: int = 0
    _items: list[_Item] = field(default_factory=list)
    _open: dict[tuple[str, int], _Item] = field(default_factory=dict)
    _usage: dict[str, Any] | None = None
    _finish_reason: str | None = None

    def _event(self, kind: str, **body: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._sequence, **body}
        self._sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    def begin(self) -> bytes:
        response = response_object(self.response_id, self.request, self.model)
        created = self._event("response.created", response=response)
        return created + self._event("response.in_progress", response=response)

    def chunk(self, chunk: dict[str, Any]) -> bytes:
        """Returns the events of one chat completion chunk (JSON); only the first choice is read."""
        if chunk.get("usage"):
            self._usage = usage_of(chunk["usage"])
        if not chunk.get("choices"):
            return b""
        choice = chunk["choices"][0]
        if choice.get("finish_reason"):
            self._finish_reason = choice["finish_reason"]
        delta = choice.get("delta") or {}
        out = []
        if delta.get("content"):
            out.append(self._text(delta["content"]))
        for call in delta.get("tool_calls") or ():
            out.append(self._call(call))
        return b"".join(out)

    def _opened(self, key: tuple[str, int], item: _Item) -> bytes:
        self._open[key] = item
        self._items.append(item)
        added = self._event("response.output_item.added", output_index=item.index, item=item.item("in_progress"))
        if item.kind != "message":
            return added
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        return added + self._event(
            "response.content_part.added", item_id=item.item_id, output_index=item.index, content_index=0, part=part
        )

    def _text(self, text: str) -> bytes:
        key = ("message", 0)
        item = self._open.get(key)
        out = b""
        if item is None:
            item = _Item(len(self._items), new_id("msg"), "message")
            out = self._opened(key, item)
        item.text += text
        ids = {"item_id": item.item_id, "output_index": item.index, "content_index": 0}
        return out + self._event("response.output_text.delta", **ids, delta=text, logprobs=[])

    def _call(self, call: dict[str, Any]) -> bytes:
        key = ("function_call", call.get("index", 0))
        item = self._open.get(key)
        out = b""
        function = call.get("function") or {}
        if item is None:
            item = _Item(len(self._items), new_id("fc"), "function_call", call_id=call.get("id") or new_id("call"))
            item.name = function.get("name", "")
            out = self._opened(key, item)
        arguments = function.get("arguments") or ""
        if not arguments:
            return out
        item.text += arguments
        ids = {"item_id": item.item_id, "output_index": item.index}
        return out + self._event("response.function_call_arguments.delta", **ids, delta=arguments)

    def _closed(self, item: _Item) -> bytes:
        ids = {"item_id": item.item_id, "output_index": item.index}
        if item.kind == "message":
            part = item.item("completed")["content"][0]
            done = self._event("response.output_text.done", **ids, content_index=0, text=item.text, logprobs=[])
            done += self._event("response.content_part.done", **ids, content_index=0, part=part)
        else:
            done = self._event("response.function_call_arguments.done", **ids, name=item.name, arguments=item.text)
        return done + self._event("response.output_item.done", output_index=item.index, item=item.item("completed"))

    def finish(self) -> tuple[bytes, dict[str, Any]]:
        """Returns the events closing every open item, and the whole response (its last event still to send)."""
        closing = b"".join(self._closed(item) for item in self._items)
        response = response_object(
            self.response_id,
            self.request,
            self.model,
            status="completed",
            output=[item.item("completed") for item in self._items],
            usage=self._usage,
            finish_reason=self._finish_reason,
        )
        return closing, response

    def completed(self, response: dict[str, Any]) -> bytes:
        """Returns the last event: response.completed, or response.incomplete."""
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        return self._event(kind, response=response)

    def fail(self, err: SwitchyardError) -> bytes:
        """Returns `response.failed`, the last event of a stream broken after it began."""
        response = response_object(
            self.response_id,
            self.request,
            self.model,
            status="failed",
            output=[item.item("incomplete") for item in self._items],
            usage=self._usage,
        )
        response["error"] = failure(err)
        return self._event("response.failed", response=response)


def failure(err: SwitchyardError) -> dict[str, Any]:
    """Returns a failed response's `error`: OpenAI's ResponseErrorCode (a rate limit, or a server error)."""
    code = "rate_limit_exceeded" if err.status == 429 else "server_error"
    return {"code": code, "message": error_body(err)["error"]["message"]}
