"""The HTTP call skeleton the OpenAI, vLLM, Anthropic and Gemini adapters share.

`UpstreamAdapter` owns what does not depend on the wire format: the client span around each call,
the transport-error mapping, `generate` (one POST, status check, parse, record) and `stream`
(send with stream=True, read chunk batches recording time to first batch, close the response, yield
the UpstreamRecord). Each adapter supplies only what differs: URL, headers, body, reply parsing,
stream reading and its record.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol, TypeVar

import httpx
import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import Reason, SwitchyardError
from switchyard.runtime.telemetry import Telemetry, inject_headers
from switchyard.services.providers.adapters import errors
from switchyard.services.providers.adapters.base import ClientPool, Deployment, ProbeResult, StreamItem, remaining
from switchyard.services.providers.adapters.spans import StreamSummary, end_span, end_span_error, start_span
from switchyard.wire.openai import FINISH_NAMES
from switchyard.wire.values import MalformedError

R = errors_pb2.ErrorReason

Batches = AsyncIterator[list[chat_pb2.ChatCompletionChunk]]
Event = TypeVar("Event")


class StreamParser(Protocol[Event]):
    """Turns a byte stream cut anywhere into events (SSE events, NDJSON lines, event-stream messages)."""

    def feed(self, chunk: bytes) -> list[Event]: ...

    def finish(self) -> list[Event]: ...


class UpstreamAdapter(ABC):
    """One HTTP upstream call per request, with its span; subclasses speak the wire format."""

    provider: str
    # What a reply that cannot be parsed raises, besides orjson's decode error.
    malformed_errors: tuple[type[Exception], ...] = (orjson.JSONDecodeError, MalformedError)

    def __init__(self, clients: ClientPool, telemetry: Telemetry) -> None:
        self._clients = clients
        self._tracer = telemetry.tracer
        self._tracing = telemetry.enabled

    # ------------------------------------------------------------ what each wire format supplies

    @abstractmethod
    def url(self, deployment: Deployment, stream: bool) -> str:
        """Returns the URL a (streamed) request to a deployment is POSTed to."""
        ...

    @abstractmethod
    def probe_url(self, deployment: Deployment) -> str:
        """Returns the URL of the cheap GET that `probe` sends (a model listing)."""
        ...

    @abstractmethod
    def _auth_headers(self, deployment: Deployment) -> dict[str, str]:
        """Returns the provider's version and credential headers for a deployment."""
        ...

    @abstractmethod
    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes: ...

    @abstractmethod
    def _completion(self, raw: Any, deployment: Deployment) -> chat_pb2.ChatCompletion:
        """Returns the completion a decoded reply holds; raises one of `malformed_errors`."""
        ...

    @abstractmethod
    def _status_error(self, response: httpx.Response, body: bytes, deployment: Deployment) -> SwitchyardError: ...

    @abstractmethod
    def _record(
        self, deployment: Deployment, response: httpx.Response, started: float, ttft: float, response_id: str = ""
    ) -> providers_pb2.UpstreamRecord: ...

    @abstractmethod
    def _read(
        self,
        response: httpx.Response,
        deployment: Deployment,
        deadline: float | None,
        budget_s: float,
        summary: StreamSummary,
    ) -> Batches:
        """Yields the chunk batches of a streamed response, noting what they said in `summary`."""
        ...

    # ------------------------------------------------------------ request side

    def _headers(self, deployment: Deployment, request_id: str, span: trace.Span | None) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        headers.update(self._auth_headers(deployment))
        if request_id:
            headers["x-client-request-id"] = request_id
        if span is not None:
            token = otel_context.attach(trace.set_span_in_context(span))
            try:
                inject_headers(headers)
            finally:
                otel_context.detach(token)
        return headers

    def _signed(
        self, deployment: Deployment, method: str, url: str, body: bytes, headers: dict[str, str]
    ) -> dict[str, str]:
        """Returns the headers a request goes with, signed when the wire format signs requests (SigV4)."""
        return headers

    def _span(self, deployment: Deployment, request: chat_pb2.ChatRequest) -> trace.Span | None:
        return start_span(self._tracer, self.provider, deployment, request) if self._tracing else None

    def _error(self, reason: Reason, what: str, deployment: Deployment, status: int = 0) -> SwitchyardError:
        return errors.transport_error(
            reason, what, provider=self.provider, deployment_id=deployment.id, status=status, secret=deployment.api_key
        )

    def _transport_error(self, exc: httpx.HTTPError, deployment: Deployment, timeout: float) -> SwitchyardError:
        if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
            return self._error(R.ERROR_REASON_UPSTREAM_CONNECT, f"cannot connect ({type(exc).__name__})", deployment)
        if isinstance(exc, httpx.TimeoutException):
            return self._error(R.ERROR_REASON_UPSTREAM_TIMEOUT, f"no answer within {timeout:.3f}s", deployment)
        return self._error(R.ERROR_REASON_UPSTREAM_UNAVAILABLE, f"connection failed: {type(exc).__name__}", deployment)

    async def _events(
        self,
        response: httpx.Response,
        deployment: Deployment,
        deadline: float | None,
        budget_s: float,
        *,
        parser: StreamParser[Event],
        translate: Callable[[list[Event]], list[chat_pb2.ChatCompletionChunk]],
        done: Callable[[], bool],
    ) -> Batches:
        """Yields the chunk batches a streamed response carries, one per network read.

        An error status, a stream outliving the deadline, a cut connection or bytes that are not
        UTF-8 end it with the mapped error; it stops early once `done()` says the stream is complete,
        and the caller checks whether it ended properly.
        """
        if response.status_code >= 400:
            body = await response.aread()
            raise self._status_error(response, body, deployment)
        try:
            async for data in response.aiter_bytes():
                batch = translate(parser.feed(data))
                if batch:
                    yield batch
                if done():
                    return
                if deadline is not None and time.monotonic() > deadline:
                    raise self._error(R.ERROR_REASON_UPSTREAM_TIMEOUT, "stream outlived the deadline", deployment, 200)
            batch = translate(parser.finish())
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
            finish = [FINISH_NAMES.get(c.finish_reason) or "" for c in completion.choices]
            end_span(span, completion.id, completion.model, completion.usage, finish, prices=deployment.prices)
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
        body = self._body(deployment, request, False)
        url = self.url(deployment, False)
        headers = self._signed(deployment, "POST", url, body, self._headers(deployment, request_id, span))
        started = time.perf_counter()
        try:
            response = await client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, deployment, timeout) from None
        if response.status_code >= 400:
            raise self._status_error(response, response.content, deployment)
        try:
            completion = self._completion(orjson.loads(response.content), deployment)
        except self.malformed_errors as exc:
            raise self._error(
                R.ERROR_REASON_UPSTREAM_MALFORMED, f"malformed reply: {exc}", deployment, response.status_code
            ) from None
        elapsed = time.perf_counter() - started
        return completion, self._record(deployment, response, started, elapsed, completion.id)

    # ------------------------------------------------------------ stream

    def stream(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> AsyncIterator[StreamItem]:
        """Yields chunk batches as they arrive (one per network read), then the UpstreamRecord."""
        summary = StreamSummary()
        return self._stream(
            deployment,
            request,
            deadline,
            request_id,
            read=lambda response, timeout: self._read(response, deployment, deadline, timeout, summary),
            tail=lambda response, started, ttft: [self._record(deployment, response, started, ttft)],
            end=lambda span: end_span(
                span, summary.id, summary.model, summary.usage, summary.finish_reasons, prices=deployment.prices
            ),
        )

    async def _stream(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str,
        *,
        read: Callable[[httpx.Response, float], Batches],
        tail: Callable[[httpx.Response, float, float], Iterable[StreamItem]],
        end: Callable[[trace.Span], None],
    ) -> AsyncIterator[StreamItem]:
        """Runs one streamed call: `read(response, timeout)` yields its batches, `tail(response, started,
        ttft)` what follows them (the UpstreamRecord last), and `end(span)` ends the span of a success."""
        span = self._span(deployment, request)
        try:
            timeout = remaining(deployment, deadline)
            client = self._clients.get(deployment.api_base)
            url, body = self.url(deployment, True), self._body(deployment, request, True)
            headers = self._signed(deployment, "POST", url, body, self._headers(deployment, request_id, span))
            upstream = client.build_request("POST", url, content=body, headers=headers, timeout=timeout)
            started = time.perf_counter()
            ttft: float | None = None
            try:
                response = await client.send(upstream, stream=True)
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, deployment, timeout) from None
            try:
                async for batch in read(response, timeout):
                    if ttft is None:
                        ttft = time.perf_counter() - started
                    yield batch
            finally:
                # Closing an unfinished response drops its connection: this is what cancels the upstream call.
                await response.aclose()
            for item in tail(response, started, ttft or 0.0):
                yield item
        except BaseException as exc:
            end_span_error(span, exc)
            raise
        if span is not None:
            end(span)

    # ------------------------------------------------------------ probe

    async def _probe_call(self, deployment: Deployment, timeout: float) -> httpx.Response:
        """Returns the answer to the cheap request `probe` sends: a GET of `probe_url`."""
        return await self._clients.get(deployment.api_base).get(
            self.probe_url(deployment), headers=self._headers(deployment, "", None), timeout=timeout
        )

    async def probe(self, deployment: Deployment, deadline: float | None) -> ProbeResult:
        """Returns whether a GET of `probe_url` answers 200 (listing models costs no tokens)."""
        timeout = min(remaining(deployment, deadline), 10.0)
        started = time.perf_counter()
        try:
            response = await self._probe_call(deployment, timeout)
        except httpx.HTTPError as exc:
            err = self._transport_error(exc, deployment, timeout)
            return ProbeResult(False, (time.perf_counter() - started) * 1000, err.message, err.reason)
        latency = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            err = self._status_error(response, response.content, deployment)
            return ProbeResult(False, latency, err.message, err.reason)
        return ProbeResult(True, latency, "HTTP 200")
