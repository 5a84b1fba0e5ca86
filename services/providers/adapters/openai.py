"""The OpenAI Chat Completions adapter: `POST {api_base}/chat/completions` with Bearer auth.

Requests are rendered with `services.common.openai_format.request_to_wire` (naming the upstream
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
from opentelemetry import context as otel_context
from opentelemetry import trace
from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.providers.v1 import providers_pb2

from services.common.errors import Reason, SwitchyardError
from services.common.openai_format import (
    FINISH_NAMES,
    MalformedError,
    chunk_from_wire,
    completion_from_wire,
    request_to_wire,
)
from services.common.telemetry import Telemetry, inject_headers
from services.providers.adapters import errors
from services.providers.adapters.base import ClientPool, Deployment, ProbeResult, StreamItem, remaining
from services.providers.adapters.spans import StreamSummary, end_span, end_span_error, start_span
from services.providers.adapters.sse import SSEParser

R = errors_pb2.ErrorReason


class OpenAIAdapter:
    """Speaks OpenAI Chat Completions to any deployment whose provider is `openai`."""

    provider = "openai"
    max_tokens_field = "max_completion_tokens"

    def __init__(self, clients: ClientPool, telemetry: Telemetry) -> None:
        self._clients = clients
        self._tracer = telemetry.tracer
        self._tracing = telemetry.enabled

    # ------------------------------------------------------------ request side

    def _headers(self, deployment: Deployment, request_id: str, span: trace.Span | None) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        if deployment.api_key:
            headers["authorization"] = f"Bearer {deployment.api_key}"
        if request_id:
            headers["x-client-request-id"] = request_id
        if span is not None:
            token = otel_context.attach(trace.set_span_in_context(span))
            try:
                inject_headers(headers)
            finally:
                otel_context.detach(token)
        return headers

    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes:
        body = request_to_wire(request, deployment.model, max_tokens_field=self.max_tokens_field)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return orjson.dumps(body)

    def _span(self, deployment: Deployment, request: chat_pb2.ChatRequest) -> trace.Span | None:
        return start_span(self._tracer, self.provider, deployment, request) if self._tracing else None

    def _error(self, reason: Reason, what: str, deployment: Deployment, status: int = 0) -> SwitchyardError:
        return errors.transport_error(
            reason,
            what,
            provider=self.provider,
            deployment_id=deployment.id,
            status=status,
            secret=deployment.api_key,
        )

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

    def _transport_error(self, exc: httpx.HTTPError, deployment: Deployment, timeout: float) -> SwitchyardError:
        if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
            return self._error(R.ERROR_REASON_UPSTREAM_CONNECT, f"cannot connect ({type(exc).__name__})", deployment)
        if isinstance(exc, httpx.TimeoutException):
            return self._error(R.ERROR_REASON_UPSTREAM_TIMEOUT, f"no answer within {timeout:.3f}s", deployment)
        return self._error(R.ERROR_REASON_UPSTREAM_UNAVAILABLE, f"connection failed: {type(exc).__name__}", deployment)

    def _record(
        self, deployment: Deployment, response: httpx.Response, started: float, ttft: float
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

    async def generate(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> tuple[chat_pb2.ChatCompletion, providers_pb2.UpstreamRecord]:
        """Returns the deployment's completion and the record of the call; raises SwitchyardError."""
        span = self._span(deployment, request)
        try:
            completion, record = await self._generate(deployment, request, deadline, request_id, span)
        except BaseException as exc:
            end_span_error(span, exc)
            raise
        if span is not None:
            end_span(
                span,
                completion.id,
                completion.model,
                completion.usage,
                [FINISH_NAMES.get(c.finish_reason) or "" for c in completion.choices],
            )
        return completion, record

    async def _generate(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str,
        span: trace.Span | None,
    ) -> tuple[chat_pb2.ChatCompletion, providers_pb2.UpstreamRecord]:
        timeout = remaining(deployment, deadline)
        client = self._clients.get(deployment.api_base)
        started = time.perf_counter()
        try:
            response = await client.post(
                f"{deployment.api_base}/chat/completions",
                content=self._body(deployment, request, False),
                headers=self._headers(deployment, request_id, span),
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, deployment, timeout) from None
        if response.status_code >= 400:
            raise self._status_error(response, response.content, deployment)
        try:
            completion = completion_from_wire(orjson.loads(response.content))
        except (orjson.JSONDecodeError, MalformedError) as exc:
            raise self._error(
                R.ERROR_REASON_UPSTREAM_MALFORMED, f"malformed reply: {exc}", deployment, response.status_code
            ) from None
        elapsed = time.perf_counter() - started
        return completion, self._record(deployment, response, started, elapsed)

    # ------------------------------------------------------------ stream

    async def stream(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> AsyncIterator[StreamItem]:
        """Yields chunk batches as they arrive (one per network read), then the UpstreamRecord."""
        span = self._span(deployment, request)
        timeout = remaining(deployment, deadline)
        client = self._clients.get(deployment.api_base)
        upstream = client.build_request(
            "POST",
            f"{deployment.api_base}/chat/completions",
            content=self._body(deployment, request, True),
            headers=self._headers(deployment, request_id, span),
            timeout=timeout,
        )
        started = time.perf_counter()
        summary = StreamSummary()
        try:
            try:
                response = await client.send(upstream, stream=True)
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, deployment, timeout) from None
            try:
                async for batch in self._read(response, deployment, deadline, timeout, summary):
                    if summary.ttft is None:
                        summary.ttft = time.perf_counter() - started
                    yield batch
            finally:
                # Closing an unfinished response drops its connection: this is what cancels the upstream call.
                await response.aclose()
            yield self._record(deployment, response, started, summary.ttft or 0.0)
        except BaseException as exc:
            end_span_error(span, exc)
            raise
        if span is not None:
            end_span(span, summary.id, summary.model, summary.usage, summary.finish_reasons)

    async def _read(
        self,
        response: httpx.Response,
        deployment: Deployment,
        deadline: float | None,
        budget_s: float,
        summary: StreamSummary,
    ) -> AsyncIterator[list[chat_pb2.ChatCompletionChunk]]:
        if response.status_code >= 400:
            body = await response.aread()
            raise self._status_error(response, body, deployment)
        parser = SSEParser()
        try:
            async for data in response.aiter_bytes():
                batch = self._parse(parser.feed(data), deployment, summary)
                if batch:
                    yield batch
                if summary.done:
                    return
                if deadline is not None and time.monotonic() > deadline:
                    raise self._error(R.ERROR_REASON_UPSTREAM_TIMEOUT, "stream outlived the deadline", deployment, 200)
            batch = self._parse(parser.finish(), deployment, summary)
            if batch:
                yield batch
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.TimeoutException):
                raise self._transport_error(exc, deployment, budget_s) from None
            raise self._error(
                R.ERROR_REASON_UPSTREAM_UNAVAILABLE, f"stream cut ({type(exc).__name__})", deployment, 200
            ) from None
        except UnicodeDecodeError:
            raise self._error(R.ERROR_REASON_UPSTREAM_MALFORMED, "stream is not UTF-8", deployment, 200) from None
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
            if data == "[DONE]":
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

    # ------------------------------------------------------------ probe

    async def probe(self, deployment: Deployment, deadline: float | None) -> ProbeResult:
        """Returns whether `GET {api_base}/models` answers 200."""
        timeout = min(remaining(deployment, deadline), 10.0)
        started = time.perf_counter()
        try:
            response = await self._clients.get(deployment.api_base).get(
                f"{deployment.api_base}/models", headers=self._headers(deployment, "", None), timeout=timeout
            )
        except httpx.HTTPError as exc:
            err = self._transport_error(exc, deployment, timeout)
            return ProbeResult(False, (time.perf_counter() - started) * 1000, err.message)
        latency = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            err = self._status_error(response, response.content, deployment)
            return ProbeResult(False, latency, err.message)
        return ProbeResult(True, latency, "HTTP 200")
