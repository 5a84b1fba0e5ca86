"""The OpenAI Chat Completions adapter: `POST {api_base}/chat/completions` with Bearer auth.

Requests are rendered with `switchyard.wire.openai.request_to_wire` (naming the upstream
model and `max_completion_tokens`); streams always ask for `stream_options.include_usage` so usage
is metered. Every reply is validated before use: a reply that breaks the schema, a stream that
ends without `[DONE]` or carries an error event is an error, never a silent success.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from switchyard.common.v1 import chat_pb2, embeddings_pb2, errors_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.providers.adapters import errors
from switchyard.services.providers.adapters.base import Deployment, remaining
from switchyard.services.providers.adapters.spans import StreamSummary
from switchyard.services.providers.adapters.upstream import UpstreamAdapter
from switchyard.wire.openai import chunk_from_wire, completion_from_wire, request_to_wire
from switchyard.wire.openai.embeddings import embedding_request_to_wire, embeddings_from_wire
from switchyard.wire.openai.vocabulary import DONE
from switchyard.wire.sse import SSEParser
from switchyard.wire.values import MalformedError

R = errors_pb2.ErrorReason


class OpenAIAdapter(UpstreamAdapter):
    """Speaks OpenAI Chat Completions to any deployment whose provider is `openai`."""

    provider = "openai"
    max_tokens_field = "max_completion_tokens"

    # ------------------------------------------------------------ request side

    def url(self, deployment: Deployment, stream: bool) -> str:
        """Returns the Chat Completions URL of a deployment."""
        return f"{deployment.api_base}/chat/completions"

    def _auth_headers(self, deployment: Deployment) -> dict[str, str]:
        return {"authorization": f"Bearer {deployment.api_key}"} if deployment.api_key else {}

    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes:
        body = request_to_wire(request, deployment.model, max_tokens_field=self.max_tokens_field)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return orjson.dumps(body)

    def _status_error(self, response: httpx.Response, body: bytes, deployment: Deployment) -> SwitchyardError:
        """Returns the error an upstream error status and body mean, with the credential scrubbed."""
        return errors.from_response(
            response.status_code,
            body,
            response.headers,
            provider=self.provider,
            deployment_id=deployment.id,
            secret=deployment.api_key,
        )

    def _record(
        self, deployment: Deployment, response: httpx.Response, started: float, ttft: float, response_id: str = ""
    ) -> providers_pb2.UpstreamRecord:
        # One pass over the headers: httpx looks each name up with a scan of them all.
        headers = dict(response.headers.items())
        return providers_pb2.UpstreamRecord(
            deployment_id=deployment.id,
            provider=self.provider,
            model=deployment.model,
            provider_request_id=headers.get("x-request-id", ""),
            http_status=response.status_code,
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft * 1000,
            quota=errors.quota_from_headers(headers),
        )

    # ------------------------------------------------------------ generate

    def _completion(self, raw: Any, deployment: Deployment) -> chat_pb2.ChatCompletion:
        return completion_from_wire(raw)

    # ------------------------------------------------------------ stream

    async def _read(
        self,
        response: httpx.Response,
        deployment: Deployment,
        deadline: float | None,
        budget_s: float,
        summary: StreamSummary,
    ) -> AsyncIterator[list[chat_pb2.ChatCompletionChunk]]:
        batches = self._events(
            response,
            deployment,
            deadline,
            budget_s,
            parser=SSEParser(),
            translate=lambda events: self._parse(events, deployment, summary),
            done=lambda: summary.done,
        )
        async for batch in batches:
            yield batch
        if not summary.done:
            raise self._error(R.ERROR_REASON_UPSTREAM_MALFORMED, "stream ended without [DONE]", deployment, 200)

    def _parse(
        self, events: list[Any], deployment: Deployment, summary: StreamSummary
    ) -> list[chat_pb2.ChatCompletionChunk]:
        batch: list[chat_pb2.ChatCompletionChunk] = []
        for event in events:
            if summary.done:
                break
            data = event.data
            if data == DONE:
                summary.done = True
                break
            try:
                raw = orjson.loads(data)
                if isinstance(raw, dict) and raw.get("error") is not None:
                    raise self._stream_error(raw["error"], deployment)
                chunk = chunk_from_wire(raw)
            except (orjson.JSONDecodeError, MalformedError) as exc:
                raise self._error(
                    R.ERROR_REASON_UPSTREAM_MALFORMED, f"malformed chunk: {exc}", deployment, 200
                ) from None
            summary.add(chunk)
            batch.append(chunk)
        return batch

    def _stream_error(self, error: Any, deployment: Deployment) -> SwitchyardError:
        message = error.get("message", "") if isinstance(error, dict) else str(error)
        return self._error(R.ERROR_REASON_UPSTREAM_UNAVAILABLE, f"error event mid-stream: {message}", deployment, 200)

    # ------------------------------------------------------------ embeddings

    def embeddings_url(self, deployment: Deployment) -> str:
        """Returns the Embeddings URL of a deployment."""
        return f"{deployment.api_base}/embeddings"

    def _embedding_body(self, deployment: Deployment, request: embeddings_pb2.EmbeddingRequest) -> dict[str, Any]:
        """Returns the JSON body of an embeddings call."""
        return embedding_request_to_wire(request, deployment.model)

    def _embeddings(self, raw: Any, deployment: Deployment, count: int) -> embeddings_pb2.Embeddings:
        """Returns the vectors of an embeddings reply; raises MalformedError or ValueError."""
        return embeddings_from_wire(raw, count)

    async def embed(
        self,
        deployment: Deployment,
        request: embeddings_pb2.EmbeddingRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> tuple[embeddings_pb2.Embeddings, providers_pb2.UpstreamRecord]:
        """Returns the deployment's vectors for the request's inputs and the record of the call."""
        timeout = remaining(deployment, deadline)
        body = orjson.dumps(self._embedding_body(deployment, request))
        started = time.perf_counter()
        try:
            response = await self._clients.get(deployment.api_base).post(
                self.embeddings_url(deployment),
                content=body,
                headers=self._headers(deployment, request_id, None),
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, deployment, timeout) from None
        if response.status_code >= 400:
            raise self._status_error(response, response.content, deployment)
        try:
            embeddings = self._embeddings(orjson.loads(response.content), deployment, len(request.inputs))
        except (orjson.JSONDecodeError, MalformedError, ValueError) as exc:
            raise self._error(
                R.ERROR_REASON_UPSTREAM_MALFORMED, f"malformed embeddings: {exc}", deployment, response.status_code
            ) from None
        elapsed = time.perf_counter() - started
        return embeddings, self._record(deployment, response, started, elapsed)

    # ------------------------------------------------------------ probe

    def probe_url(self, deployment: Deployment) -> str:
        """Returns `{api_base}/models`, what `probe` GETs."""
        return f"{deployment.api_base}/models"
