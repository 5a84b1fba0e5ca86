"""The Ollama adapter: Ollama's native chat API, `POST {api_base}/api/chat`, streamed as NDJSON.

Used for LiteLLM's `ollama/` and `ollama_chat/` prefixes (Ollama's OpenAI-compatible `/v1` is
reached with `openai/` and an api_base ending in `/v1`). Requests are rendered as OpenAI bodies and
rewritten by `ollama_wire`; replies are rewritten into OpenAI's shape and parsed by the OpenAI
parser. Ollama has no ids (each reply gets one here), no rate-limit headers and no auth of its own
(a key, when configured for a proxy in front of it, goes as Bearer). A stream must end with a
`done: true` line; an `{"error": ...}` line is an error.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.providers.adapters import ollama_wire
from switchyard.services.providers.adapters.base import Deployment
from switchyard.services.providers.adapters.openai import OpenAIAdapter
from switchyard.services.providers.adapters.spans import StreamSummary
from switchyard.wire.openai import chunk_from_wire, completion_from_wire, request_to_wire
from switchyard.wire.sse import SSEEvent, SSEParser
from switchyard.wire.values import MalformedError

R = errors_pb2.ErrorReason


class NDJSONParser(SSEParser):
    """Turns a byte stream into one event per non-empty line (UTF-8 and CR/LF handling as for SSE)."""

    __slots__ = ()

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if line.strip():
            events.append(SSEEvent(line))


def _new_id() -> str:
    return f"chatcmpl-ollama-{uuid.uuid4().hex[:24]}"


class OllamaAdapter(OpenAIAdapter):
    """Speaks Ollama's /api/chat to any deployment whose provider is `ollama`."""

    provider = "ollama"
    max_tokens_field = "max_tokens"

    def url(self, deployment: Deployment, stream: bool) -> str:
        """Returns `{api_base}/api/chat`."""
        return f"{deployment.api_base}/api/chat"

    def embeddings_url(self, deployment: Deployment) -> str:
        """Returns `{api_base}/v1/embeddings`: Ollama's OpenAI-compatible endpoint speaks OpenAI's body."""
        return f"{deployment.api_base}/v1/embeddings"

    def probe_url(self, deployment: Deployment) -> str:
        """Returns `{api_base}/api/tags`, Ollama's model listing."""
        return f"{deployment.api_base}/api/tags"

    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes:
        body = request_to_wire(request, deployment.model, max_tokens_field=self.max_tokens_field)
        try:
            return orjson.dumps(ollama_wire.request_to_ollama(body, stream))
        except ollama_wire.UnsupportedContent as exc:
            raise SwitchyardError(R.ERROR_REASON_INVALID_REQUEST, str(exc), param="messages") from None

    def _completion(self, raw: Any, deployment: Deployment) -> chat_pb2.ChatCompletion:
        return completion_from_wire(ollama_wire.completion_to_openai(raw, _new_id(), int(time.time())))

    async def _read(
        self,
        response: httpx.Response,
        deployment: Deployment,
        deadline: float | None,
        budget_s: float,
        summary: StreamSummary,
    ) -> AsyncIterator[list[chat_pb2.ChatCompletionChunk]]:
        state = ollama_wire.StreamState(_new_id(), int(time.time()))
        batches = self._events(
            response,
            deployment,
            deadline,
            budget_s,
            parser=NDJSONParser(),
            translate=lambda lines: self._lines(lines, state, deployment, summary),
            done=lambda: state.done,
        )
        async for batch in batches:
            yield batch
        if not state.done:
            raise self._error(R.ERROR_REASON_UPSTREAM_MALFORMED, "stream ended without done", deployment, 200)

    def _lines(
        self, lines: list[SSEEvent], state: ollama_wire.StreamState, deployment: Deployment, summary: StreamSummary
    ) -> list[chat_pb2.ChatCompletionChunk]:
        batch: list[chat_pb2.ChatCompletionChunk] = []
        for line in lines:
            if state.done:
                break
            try:
                chunks = [chunk_from_wire(c) for c in ollama_wire.line_to_chunks(orjson.loads(line.data), state)]
            except (orjson.JSONDecodeError, MalformedError) as exc:
                raise self._error(
                    R.ERROR_REASON_UPSTREAM_MALFORMED, f"malformed line: {exc}", deployment, 200
                ) from None
            if state.errors:
                raise self._stream_error({"message": state.errors[0]}, deployment)
            for chunk in chunks:
                summary.add(chunk)
            batch.extend(chunks)
        summary.done = state.done
        return batch
