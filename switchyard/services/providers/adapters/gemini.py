"""The Gemini adapter: `POST {api_base}/{version}/models/{model}:generateContent` with `x-goog-api-key`
(embeddings: `:batchEmbedContents`, translated in `gemini_embeddings`).

Streams use `:streamGenerateContent?alt=sse`: every `data:` event is a whole GenerateContentResponse,
and the stream ends when the connection closes (no sentinel), so a stream in which some candidate never
got a finishReason is broken (UPSTREAM_MALFORMED), and a bare JSON `{"error":...}` written into the
stream is an upstream failure (UPSTREAM_UNAVAILABLE). Usage comes from the last chunk's usageMetadata
(it is cumulative) and is sent as a usage-only chunk at the end, as the OpenAI adapter does.

The API version is `v1beta` by default (tools and systemInstruction are fullest there); an adapter can be
built with `api_version="v1"`, a deployment whose api_base ends in `/v1` or `/v1beta` uses that one, and a
deployment's own `api_version` wins over both.
Translation lives in `gemini_requests` and `gemini_replies` (error bodies in `gemini_errors`); this module
does I/O, errors and spans.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
from opentelemetry import trace

from switchyard.common.v1 import chat_pb2, embeddings_pb2, errors_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import Reason, SwitchyardError
from switchyard.runtime.telemetry import Telemetry
from switchyard.services.providers.adapters import errors
from switchyard.services.providers.adapters.base import ClientPool, Deployment, StreamItem
from switchyard.services.providers.adapters.gemini_call_ids import new_call_id
from switchyard.services.providers.adapters.gemini_embeddings import embedding_request_to_wire, embeddings_from_wire
from switchyard.services.providers.adapters.gemini_errors import error_from_body
from switchyard.services.providers.adapters.gemini_replies import (
    blocked_reason,
    candidate_parts,
    completion_from_wire,
    finish_from_wire,
    usage_from_wire,
)
from switchyard.services.providers.adapters.gemini_requests import request_to_wire
from switchyard.services.providers.adapters.openai import OpenAIAdapter
from switchyard.services.providers.adapters.spans import end_span
from switchyard.wire.gemini.vocabulary import API_KEY_HEADER, API_VERSIONS, BATCH_EMBED, GENERATE, STREAM_GENERATE
from switchyard.wire.openai import FINISH_NAMES
from switchyard.wire.sse import GeminiSSEParser, SSEEvent
from switchyard.wire.values import MalformedError

R = errors_pb2.ErrorReason
Role = chat_pb2.Role


class StreamState:
    """Turns a Gemini stream's responses into OpenAI chunks, remembering what came before.

    It sends the role first for each candidate, numbers tool calls per candidate, keeps the "saw a tool
    call" flag so the final STOP becomes tool_calls, and keeps the last usageMetadata (it is cumulative).
    """

    def __init__(self, model: str) -> None:
        self.id = ""
        self.model = model
        self.created = int(time.time())
        self.started: set[int] = set()
        self.finished: set[int] = set()
        self.tool_counts: dict[int, int] = {}
        self.finish_reasons: list[chat_pb2.FinishReason.ValueType] = []
        self.usage: chat_pb2.Usage | None = None

    @property
    def done(self) -> bool:
        """Returns whether every candidate seen so far has finished (and at least one was seen)."""
        return bool(self.started) and self.started <= self.finished

    def _chunk(self, index: int, delta: chat_pb2.ChoiceDelta, finish: int = 0) -> chat_pb2.ChatCompletionChunk:
        chunk = chat_pb2.ChatCompletionChunk(id=self.id, created=self.created, model=self.model)
        chunk.choices.add(index=index, delta=delta, finish_reason=finish)  # type: ignore[arg-type]
        return chunk

    def _head(self, raw: dict[str, object]) -> None:
        if not self.id:
            response_id = raw.get("responseId")
            self.id = response_id if isinstance(response_id, str) and response_id else new_call_id()
        version = raw.get("modelVersion")
        if isinstance(version, str) and version:
            self.model = version

    def _start(self, index: int, out: list[chat_pb2.ChatCompletionChunk]) -> None:
        if index not in self.started:
            self.started.add(index)
            out.append(self._chunk(index, chat_pb2.ChoiceDelta(role=Role.ROLE_ASSISTANT, content="")))

    def _finish(
        self, index: int, finish: chat_pb2.FinishReason.ValueType, out: list[chat_pb2.ChatCompletionChunk]
    ) -> None:
        self.finished.add(index)
        self.finish_reasons.append(finish)
        out.append(self._chunk(index, chat_pb2.ChoiceDelta(), finish))

    def chunks(self, raw: object) -> list[chat_pb2.ChatCompletionChunk]:
        """Returns the chunks one streamed GenerateContentResponse adds; raises MalformedError."""
        if not isinstance(raw, dict):
            raise MalformedError("stream event is not an object")
        self._head(raw)
        out: list[chat_pb2.ChatCompletionChunk] = []
        if raw.get("usageMetadata") is not None:
            self.usage = usage_from_wire(raw["usageMetadata"])
        candidates = raw.get("candidates")
        if not candidates and blocked_reason(raw) is not None:
            self._start(0, out)
            self._finish(0, chat_pb2.FINISH_REASON_CONTENT_FILTER, out)
            return out
        if not isinstance(candidates, list | None):
            raise MalformedError("candidates has the wrong type")
        for position, candidate in enumerate(candidates or []):
            if not isinstance(candidate, dict):
                raise MalformedError(f"candidates[{position}] has the wrong type")
            index = candidate.get("index", position)
            if not isinstance(index, int) or index in self.finished:
                continue
            self._start(index, out)
            self._candidate(index, candidate, f"candidates[{position}]", out)
        return out

    def _candidate(
        self, index: int, candidate: dict[str, object], where: str, out: list[chat_pb2.ChatCompletionChunk]
    ) -> None:
        parts = candidate_parts(candidate, where)
        delta = chat_pb2.ChoiceDelta()
        if parts.text:
            delta.content = "".join(parts.text)
        if parts.thoughts:
            delta.reasoning = "".join(parts.thoughts)
        for call in parts.calls:
            k = self.tool_counts.get(index, 0)
            self.tool_counts[index] = k + 1
            function = chat_pb2.FunctionCallDelta(name=call.function.name, arguments=call.function.arguments)
            delta.tool_calls.add(index=k, id=call.id, type="function", function=function)
        if parts.text or parts.thoughts or parts.calls:
            out.append(self._chunk(index, delta))
        finish = finish_from_wire(candidate.get("finishReason"), index in self.tool_counts)
        if finish:
            self._finish(index, finish, out)

    def usage_chunk(self) -> chat_pb2.ChatCompletionChunk | None:
        """Returns the usage-only chunk (no choices) from the last usageMetadata, or None if none came."""
        if self.usage is None:
            return None
        return chat_pb2.ChatCompletionChunk(id=self.id, created=self.created, model=self.model, usage=self.usage)


class GeminiAdapter(OpenAIAdapter):
    """Speaks the Gemini API (generateContent) to any deployment whose provider is `gemini`.

    It reuses the OpenAI adapter's span, transport-error and record plumbing; requests, replies,
    streams and error bodies are Gemini's own.
    """

    provider = "gemini"

    def __init__(self, clients: ClientPool, telemetry: Telemetry, api_version: str = API_VERSIONS[0]) -> None:
        if api_version not in API_VERSIONS:
            raise ValueError(f"unknown Gemini API version {api_version!r}; expected one of {API_VERSIONS}")
        super().__init__(clients, telemetry)
        self.api_version = api_version

    # ------------------------------------------------------------ request side

    def url(self, deployment: Deployment, stream: bool) -> str:
        """Returns the generateContent (or streamGenerateContent?alt=sse) URL of a deployment."""
        root, version = deployment.api_base, self.api_version
        for candidate in API_VERSIONS:
            if root.endswith(f"/{candidate}"):
                root, version = root[: -len(candidate) - 1], candidate
                break
        if deployment.api_version:
            version = deployment.api_version
        model = deployment.model if "/" in deployment.model else f"models/{deployment.model}"
        method = f"{STREAM_GENERATE}?alt=sse" if stream else GENERATE
        return f"{root}/{version}/{model}:{method}"

    def _auth_headers(self, deployment: Deployment) -> dict[str, str]:
        return {API_KEY_HEADER: deployment.api_key} if deployment.api_key else {}

    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes:
        return orjson.dumps(request_to_wire(request))

    def _status_error(self, response: httpx.Response, body: bytes, deployment: Deployment) -> SwitchyardError:
        """Returns the error a Google error status and body mean, with the credential scrubbed."""
        status = response.status_code
        said = error_from_body(status, body)
        metadata = {"provider": self.provider, "deployment_id": deployment.id, "upstream_status": str(status)}
        if said.rpc_status:
            metadata["upstream_code"] = said.rpc_status[:64]
        text = errors.redact(said.message, deployment.api_key) or "no message"
        return SwitchyardError(
            said.reason,
            f"{self.provider} deployment {deployment.id} answered HTTP {status}: {text}",
            retry_after_s=said.retry_after_s,
            metadata=metadata,
        )

    def _record(
        self, deployment: Deployment, response: httpx.Response, started: float, ttft: float, response_id: str = ""
    ) -> providers_pb2.UpstreamRecord:
        record = super()._record(deployment, response, started, ttft)
        headers = response.headers
        record.provider_request_id = headers.get("x-goog-request-id") or headers.get("x-request-id") or response_id
        return record

    # ------------------------------------------------------------ generate

    def _completion(self, raw: Any, deployment: Deployment) -> chat_pb2.ChatCompletion:
        return completion_from_wire(raw, deployment.model)

    # ------------------------------------------------------------ embeddings

    def embeddings_url(self, deployment: Deployment) -> str:
        """Returns the batchEmbedContents URL of a deployment (beside its generateContent URL)."""
        return self.url(deployment, False).rsplit(":", 1)[0] + f":{BATCH_EMBED}"

    def _embedding_body(self, deployment: Deployment, request: embeddings_pb2.EmbeddingRequest) -> dict[str, Any]:
        return embedding_request_to_wire(request, deployment.model)

    def _embeddings(self, raw: Any, deployment: Deployment, count: int) -> embeddings_pb2.Embeddings:
        return embeddings_from_wire(raw, deployment.model, count)

    # ------------------------------------------------------------ stream

    def stream(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> AsyncIterator[StreamItem]:
        """Yields chunk batches as they arrive (one per network read), a usage chunk, then the UpstreamRecord."""
        state = StreamState(deployment.model)

        def tail(response: httpx.Response, started: float, ttft: float) -> Iterator[StreamItem]:
            usage = state.usage_chunk()
            if usage is not None:
                yield [usage]
            yield self._record(deployment, response, started, ttft, state.id)

        def end(span: trace.Span) -> None:
            finish = [FINISH_NAMES.get(f) or "" for f in state.finish_reasons]
            end_span(span, state.id, state.model, state.usage, finish, prices=deployment.prices)

        return self._stream(
            deployment,
            request,
            deadline,
            request_id,
            read=lambda response, timeout: self._read_events(response, deployment, deadline, timeout, state),
            tail=tail,
            end=end,
        )

    async def _read_events(
        self,
        response: httpx.Response,
        deployment: Deployment,
        deadline: float | None,
        budget_s: float,
        state: StreamState,
    ) -> AsyncIterator[list[chat_pb2.ChatCompletionChunk]]:
        parser = GeminiSSEParser()
        # A Gemini stream has no end marker: it ends when the connection closes.
        batches = self._events(
            response,
            deployment,
            deadline,
            budget_s,
            parser=parser,
            translate=lambda events: self._translate(parser, events, deployment, state),
            done=lambda: False,
        )
        async for batch in batches:
            yield batch
        if parser.stray:
            raise self._fail(R.ERROR_REASON_UPSTREAM_MALFORMED, "stream has lines that are not SSE", deployment)
        if not state.done:
            raise self._fail(R.ERROR_REASON_UPSTREAM_MALFORMED, "stream ended without a finishReason", deployment)

    def _translate(
        self,
        parser: GeminiSSEParser,
        events: list[SSEEvent],
        deployment: Deployment,
        state: StreamState,
    ) -> list[chat_pb2.ChatCompletionChunk]:
        self._check_stray(parser, deployment)
        batch: list[chat_pb2.ChatCompletionChunk] = []
        for event in events:
            try:
                raw = orjson.loads(event.data)
                if isinstance(raw, dict) and raw.get("error") is not None:
                    raise self._stream_error(raw["error"], deployment)
                batch.extend(state.chunks(raw))
            except (orjson.JSONDecodeError, MalformedError) as exc:
                raise self._fail(R.ERROR_REASON_UPSTREAM_MALFORMED, f"malformed chunk: {exc}", deployment) from None
        return batch

    def _check_stray(self, parser: GeminiSSEParser, deployment: Deployment) -> None:
        """Raises once the stream's non-SSE lines add up to a JSON error object."""
        if not parser.stray:
            return
        try:
            raw = orjson.loads("\n".join(parser.stray))
        except orjson.JSONDecodeError:
            return  # maybe the rest of a multi-line error is still to come
        error = (raw[0] if isinstance(raw, list) and raw else raw) if raw else None
        if isinstance(error, dict) and error.get("error") is not None:
            raise self._stream_error(error["error"], deployment)
        raise self._fail(R.ERROR_REASON_UPSTREAM_MALFORMED, "stream has JSON outside data: lines", deployment)

    def _fail(self, reason: Reason, what: str, deployment: Deployment) -> SwitchyardError:
        return self._error(reason, what, deployment, 200)

    # ------------------------------------------------------------ probe

    def probe_url(self, deployment: Deployment) -> str:
        """Returns `{root}/{version}/models?pageSize=1`, what `probe` GETs."""
        url = self.url(deployment, False).rsplit("/models/", 1)[0] + "/models?pageSize=1"
        if "/tunedModels/" in url:
            url = url.rsplit("/tunedModels/", 1)[0] + "/models?pageSize=1"
        return url
