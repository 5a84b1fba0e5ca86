"""The client APIs the edge speaks, each a `WireFormat`: OpenAI Chat Completions, Anthropic Messages and
OpenAI's legacy Completions (served as chat: switchyard.services.edge.completions).

A format reads a request (context from headers, body into a ChatRequest) and renders replies,
streams and errors in its API's own shape; the edge's one request skeleton does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from switchyard.common.v1 import chat_pb2, context_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge import anthropic
from switchyard.services.edge.completions import TextCompletionsFormat
from switchyard.services.edge.translate import Headers, error_body, error_response, request_context
from switchyard.wire.anthropic.vocabulary import REQUEST_ID_HEADER
from switchyard.wire.openai import chunk_to_wire, completion_to_wire, parse_request
from switchyard.wire.openai.vocabulary import DONE_EVENT, event


class StreamWriter(Protocol):
    """Renders one streamed reply as SSE bytes in a client API's format."""

    def begin(self) -> bytes: ...
    def chunks(self, chunks: Sequence[chat_pb2.ChatCompletionChunk]) -> bytes: ...
    def end(self) -> bytes: ...
    def fail(self, err: SwitchyardError) -> bytes: ...


class WireFormat(Protocol):
    """One client API the edge speaks: how it reads requests and renders replies and errors."""

    route: str

    def context(self, headers: dict[str, str]) -> context_pb2.RequestContext: ...
    def parse(self, payload: Any, headers: dict[str, str]) -> chat_pb2.ChatRequest: ...
    def completion(self, request: chat_pb2.ChatRequest, completion: chat_pb2.ChatCompletion) -> bytes: ...
    def stream(self, request: chat_pb2.ChatRequest) -> StreamWriter: ...
    def error(self, err: SwitchyardError, request_id: str) -> tuple[int, Headers, bytes]: ...
    def headers(self, request_id: str) -> Headers: ...


class _OpenAIStream:
    """OpenAI chunks as `data:` events, ended by [DONE] or by an error event."""

    def __init__(self, include_usage: bool) -> None:
        self._include_usage = include_usage

    def begin(self) -> bytes:
        return b""

    def chunks(self, chunks: Sequence[chat_pb2.ChatCompletionChunk]) -> bytes:
        return b"".join(event(chunk_to_wire(c, self._include_usage)) for c in chunks)

    def end(self) -> bytes:
        return DONE_EVENT

    def fail(self, err: SwitchyardError) -> bytes:
        return event(error_body(err))


class OpenAIFormat:
    """POST /v1/chat/completions: the OpenAI Chat Completions API."""

    route = "/v1/chat/completions"

    def context(self, headers: dict[str, str]) -> context_pb2.RequestContext:
        return request_context(headers)

    def parse(self, payload: Any, headers: dict[str, str]) -> chat_pb2.ChatRequest:
        return parse_request(payload)

    def completion(self, request: chat_pb2.ChatRequest, completion: chat_pb2.ChatCompletion) -> bytes:
        return orjson.dumps(completion_to_wire(completion))

    def stream(self, request: chat_pb2.ChatRequest) -> StreamWriter:
        return _OpenAIStream(request.stream_options.include_usage)

    def error(self, err: SwitchyardError, request_id: str) -> tuple[int, Headers, bytes]:
        return error_response(err, request_id)

    def headers(self, request_id: str) -> Headers:
        return []


class AnthropicFormat:
    """POST /v1/messages: the Anthropic Messages API (wire-formats §4), answered by any backend."""

    route = anthropic.ROUTE

    def context(self, headers: dict[str, str]) -> context_pb2.RequestContext:
        return anthropic.context(headers)

    def parse(self, payload: Any, headers: dict[str, str]) -> chat_pb2.ChatRequest:
        return anthropic.parse_request(payload, headers)

    def completion(self, request: chat_pb2.ChatRequest, completion: chat_pb2.ChatCompletion) -> bytes:
        return orjson.dumps(anthropic.message_to_wire(completion, request.model))

    def stream(self, request: chat_pb2.ChatRequest) -> StreamWriter:
        return anthropic.MessageStream(request.model)

    def error(self, err: SwitchyardError, request_id: str) -> tuple[int, Headers, bytes]:
        return anthropic.error_reply(err, request_id)

    def headers(self, request_id: str) -> Headers:
        return [(REQUEST_ID_HEADER.encode(), request_id.encode())]


OPENAI = OpenAIFormat()
FORMATS: dict[str, WireFormat] = {
    "/v1/chat/completions": OPENAI,
    "/chat/completions": OPENAI,
    anthropic.ROUTE: AnthropicFormat(),
    "/v1/completions": TextCompletionsFormat(),
    "/completions": TextCompletionsFormat(),
}
