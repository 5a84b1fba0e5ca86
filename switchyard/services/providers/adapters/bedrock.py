"""The AWS Bedrock Runtime adapter: Converse and ConverseStream, signed with SigV4.

`POST {api_base}/model/{modelId}/converse` answers JSON; `/converse-stream` answers the binary AWS
event-stream (`switchyard.wire.eventstream`), decoded incrementally with both CRCs checked. Each
request is signed by botocore for the `bedrock` service in the deployment's region, with its access
key id and session token (`Deployment.aws`) and its secret access key (`api_key`). Model ids are
Bedrock's own (`anthropic.claude-3-5-sonnet-20240620-v1:0`, `meta.llama3-1-70b-instruct-v1:0`, or an
inference profile such as `us.anthropic...`): Converse speaks the same body to all of them.
Translation lives in `bedrock_wire`. Errors keep Bedrock's meaning, named by the exception type:

    ValidationException ............................ UPSTREAM_BAD_REQUEST ("too long" → CONTEXT_WINDOW_EXCEEDED)
    AccessDenied, UnrecognizedClient, InvalidSignature, ExpiredToken ... UPSTREAM_AUTH
    ResourceNotFoundException ...................... UPSTREAM_NOT_FOUND
    ThrottlingException, ModelNotReady, ServiceQuotaExceeded ... UPSTREAM_RATE_LIMITED (+ Retry-After)
    ModelTimeoutException .......................... UPSTREAM_TIMEOUT
    InternalServer, ServiceUnavailable, ModelError, ModelStreamError ... UPSTREAM_UNAVAILABLE

Bedrock Runtime lists no models, so `probe` asks for one token (`maxTokens: 1`). Embedding models
(Amazon Titan Text Embeddings, Cohere Embed) are called with InvokeModel (`wire.bedrock.embeddings`):
Titan once per input, at most `EMBED_CONCURRENCY` at a time, Cohere once per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any, TypeVar

import httpx
import orjson

from switchyard.common.v1 import chat_pb2, embeddings_pb2, errors_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import Reason, SwitchyardError
from switchyard.services.providers.adapters import bedrock_wire, errors
from switchyard.services.providers.adapters.base import Deployment, remaining
from switchyard.services.providers.adapters.spans import StreamSummary
from switchyard.services.providers.adapters.upstream import UpstreamAdapter
from switchyard.services.providers.credentials.aws import sign_v4
from switchyard.wire.bedrock import embeddings as bedrock_embeddings
from switchyard.wire.bedrock import vocabulary as vocab
from switchyard.wire.eventstream import EventMessage, EventStreamDecoder, EventStreamError
from switchyard.wire.openai import chunk_from_wire, completion_from_wire, request_to_wire
from switchyard.wire.values import MalformedError

R = errors_pb2.ErrorReason
T = TypeVar("T")

# Exception type → reason; a type not named here is mapped by its HTTP status.
EXCEPTION_REASONS: dict[str, Reason] = {
    "ValidationException": R.ERROR_REASON_UPSTREAM_BAD_REQUEST,
    "AccessDeniedException": R.ERROR_REASON_UPSTREAM_AUTH,
    "UnrecognizedClientException": R.ERROR_REASON_UPSTREAM_AUTH,
    "InvalidSignatureException": R.ERROR_REASON_UPSTREAM_AUTH,
    "ExpiredTokenException": R.ERROR_REASON_UPSTREAM_AUTH,
    "MissingAuthenticationTokenException": R.ERROR_REASON_UPSTREAM_AUTH,
    "ResourceNotFoundException": R.ERROR_REASON_UPSTREAM_NOT_FOUND,
    "ThrottlingException": R.ERROR_REASON_UPSTREAM_RATE_LIMITED,
    "ModelNotReadyException": R.ERROR_REASON_UPSTREAM_RATE_LIMITED,
    "ServiceQuotaExceededException": R.ERROR_REASON_UPSTREAM_RATE_LIMITED,
    "ModelTimeoutException": R.ERROR_REASON_UPSTREAM_TIMEOUT,
    "ModelErrorException": R.ERROR_REASON_UPSTREAM_UNAVAILABLE,
    "ModelStreamErrorException": R.ERROR_REASON_UPSTREAM_UNAVAILABLE,
    "InternalServerException": R.ERROR_REASON_UPSTREAM_UNAVAILABLE,
    "ServiceUnavailableException": R.ERROR_REASON_UPSTREAM_UNAVAILABLE,
}
# What Bedrock's ValidationException says when the prompt does not fit the model's window.
_TOO_LONG = ("too long", "too many input tokens", "context window")


def exception_type(headers: httpx.Headers, body: bytes) -> str:
    """Returns the exception type an error response names (header first, then `__type` in the body)."""
    named = headers.get(vocab.ERROR_TYPE_HEADER, "")
    if not named:
        try:
            raw: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            raw = None
        named = str(raw.get("__type") or "") if isinstance(raw, dict) else ""
    return vocab.exception_name(named) if named else ""


def _reason_of(kind: str, message: str, fallback: Reason) -> Reason:
    reason = EXCEPTION_REASONS.get(kind, fallback)
    if reason == R.ERROR_REASON_UPSTREAM_BAD_REQUEST and any(t in message.lower() for t in _TOO_LONG):
        return R.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED
    return reason


# Titan embeds one text per call: how many of a request's calls may be in flight at once.
EMBED_CONCURRENCY = 8


def _new_id() -> str:
    return f"chatcmpl-bedrock-{uuid.uuid4().hex[:24]}"


class BedrockAdapter(UpstreamAdapter):
    """Speaks Bedrock's Converse API to any deployment whose provider is `bedrock`."""

    provider = "bedrock"

    # ------------------------------------------------------------ request side

    def url(self, deployment: Deployment, stream: bool) -> str:
        """Returns the Converse (or ConverseStream) URL of a deployment's model."""
        operation = vocab.CONVERSE_STREAM if stream else vocab.CONVERSE
        return deployment.api_base + vocab.operation_path(deployment.model, operation)

    def probe_url(self, deployment: Deployment) -> str:
        """Returns the Converse URL: Bedrock Runtime has no cheap GET, so `probe` asks for one token."""
        return self.url(deployment, False)

    def _auth_headers(self, deployment: Deployment) -> dict[str, str]:
        return {}

    def _signed(
        self, deployment: Deployment, method: str, url: str, body: bytes, headers: dict[str, str]
    ) -> dict[str, str]:
        if deployment.aws is None or not deployment.api_key:
            return headers
        return sign_v4(method, url, body, headers, identity=deployment.aws, secret_access_key=deployment.api_key)

    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes:
        body = request_to_wire(request, deployment.model, max_tokens_field="max_tokens")
        try:
            return orjson.dumps(bedrock_wire.request_to_converse(body))
        except bedrock_wire.UnsupportedContent as exc:
            raise SwitchyardError(R.ERROR_REASON_INVALID_REQUEST, str(exc), param="messages") from None

    # ------------------------------------------------------------ replies

    def _completion(self, raw: Any, deployment: Deployment) -> chat_pb2.ChatCompletion:
        return completion_from_wire(
            bedrock_wire.completion_to_openai(raw, _new_id(), int(time.time()), deployment.model)
        )

    def _status_error(self, response: httpx.Response, body: bytes, deployment: Deployment) -> SwitchyardError:
        err = errors.from_response(
            response.status_code,
            body,
            response.headers,
            provider=self.provider,
            deployment_id=deployment.id,
            secret=deployment.api_key,
        )
        kind = exception_type(response.headers, body)
        if not kind:
            return err
        reason = _reason_of(kind, err.message, err.reason)
        retry = err.retry_after_s
        if reason == R.ERROR_REASON_UPSTREAM_RATE_LIMITED and retry is None:
            retry = errors.retry_after_seconds(response.headers)
        metadata = {**err.metadata, "upstream_type": kind[:64]}
        return dataclasses.replace(err, reason=reason, retry_after_s=retry, metadata=metadata)

    def _record(
        self, deployment: Deployment, response: httpx.Response, started: float, ttft: float, response_id: str = ""
    ) -> providers_pb2.UpstreamRecord:
        return providers_pb2.UpstreamRecord(
            deployment_id=deployment.id,
            provider=self.provider,
            model=deployment.model,
            provider_request_id=response.headers.get(vocab.REQUEST_ID_HEADER, ""),
            http_status=response.status_code,
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft * 1000,
            quota=errors.quota_from_headers({}),
        )

    # ------------------------------------------------------------ stream

    async def _read(
        self,
        response: httpx.Response,
        deployment: Deployment,
        deadline: float | None,
        budget_s: float,
        summary: StreamSummary,
    ) -> AsyncIterator[list[chat_pb2.ChatCompletionChunk]]:
        state = bedrock_wire.StreamState(_new_id(), int(time.time()), deployment.model)
        batches = self._events(
            response,
            deployment,
            deadline,
            budget_s,
            parser=EventStreamDecoder(),
            translate=lambda messages: self._messages(messages, state, deployment, summary),
            done=lambda: state.done,
        )
        try:
            async for batch in batches:
                yield batch
        except EventStreamError as exc:
            raise self._error(
                R.ERROR_REASON_UPSTREAM_MALFORMED, f"broken event stream: {exc}", deployment, 200
            ) from None
        if not state.done:
            raise self._error(R.ERROR_REASON_UPSTREAM_MALFORMED, "stream ended without metadata", deployment, 200)

    def _messages(
        self,
        messages: list[EventMessage],
        state: bedrock_wire.StreamState,
        deployment: Deployment,
        summary: StreamSummary,
    ) -> list[chat_pb2.ChatCompletionChunk]:
        batch: list[chat_pb2.ChatCompletionChunk] = []
        for message in messages:
            if state.done:
                break
            kind = message.header(vocab.MESSAGE_TYPE)
            if kind != "event":
                raise self._stream_exception(message, deployment)
            try:
                raw = orjson.loads(message.payload)
                chunks = [
                    chunk_from_wire(c)
                    for c in bedrock_wire.event_to_chunks(message.header(vocab.EVENT_TYPE), raw, state)
                ]
            except (orjson.JSONDecodeError, MalformedError) as exc:
                raise self._error(
                    R.ERROR_REASON_UPSTREAM_MALFORMED, f"malformed event: {exc}", deployment, 200
                ) from None
            for chunk in chunks:
                summary.add(chunk)
            batch.extend(chunks)
        summary.done = state.done
        return batch

    def _stream_exception(self, message: EventMessage, deployment: Deployment) -> SwitchyardError:
        """Returns the error an `exception` (or `error`) message in a stream means."""
        kind = vocab.exception_name(message.header(vocab.EXCEPTION_TYPE) or message.header(vocab.ERROR_CODE))
        try:
            raw: Any = orjson.loads(message.payload)
        except orjson.JSONDecodeError:
            raw = None
        said = raw.get("message") if isinstance(raw, dict) else message.header(vocab.ERROR_MESSAGE)
        reason = _reason_of(kind, str(said or ""), R.ERROR_REASON_UPSTREAM_UNAVAILABLE)
        return self._error(reason, f"{kind or 'error'} mid-stream: {said or 'no message'}", deployment, 200)

    # ------------------------------------------------------------ probe

    async def _probe_call(self, deployment: Deployment, timeout: float) -> httpx.Response:
        """Returns the answer to a one-token Converse call (Bedrock Runtime has no cheap GET)."""
        url = self.probe_url(deployment)
        body = orjson.dumps(
            {"messages": [{"role": "user", "content": [{"text": "ping"}]}], "inferenceConfig": {"maxTokens": 1}}
        )
        headers = self._signed(deployment, "POST", url, body, self._headers(deployment, "", None))
        return await self._clients.get(deployment.api_base).post(url, content=body, headers=headers, timeout=timeout)

    # ------------------------------------------------------------ embeddings

    async def embed(
        self,
        deployment: Deployment,
        request: embeddings_pb2.EmbeddingRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> tuple[embeddings_pb2.Embeddings, providers_pb2.UpstreamRecord]:
        """Returns the vectors of a Titan or Cohere embedding model and the record of the call."""
        kind = bedrock_embeddings.family(deployment.model)
        if not kind:
            raise SwitchyardError(
                R.ERROR_REASON_INVALID_REQUEST,
                f"Bedrock model {deployment.model} is not an embedding model (Titan Text Embeddings or Cohere Embed)",
                param="model",
            )
        dimensions = request.dimensions if request.HasField("dimensions") else None
        if kind == "cohere" and dimensions is not None:
            raise SwitchyardError(
                R.ERROR_REASON_INVALID_REQUEST,
                "Cohere Embed on Bedrock has a fixed size: omit dimensions",
                param="dimensions",
            )
        started = time.perf_counter()
        out = embeddings_pb2.Embeddings(model=deployment.model)
        if kind == "cohere":
            raw, response = await self._invoke(
                deployment, bedrock_embeddings.cohere_body(list(request.inputs)), deadline, request_id
            )
            vectors = self._parsed(deployment, lambda: bedrock_embeddings.cohere_vectors(raw, len(request.inputs)))
            tokens = int(response.headers.get(bedrock_embeddings.INPUT_TOKENS_HEADER) or 0)
        else:
            vectors, tokens, response = await self._titan(deployment, request, dimensions, deadline, request_id)
        for index, values in enumerate(vectors):
            out.data.add(index=index, values=values)
        out.usage.CopyFrom(chat_pb2.Usage(prompt_tokens=tokens, total_tokens=tokens))
        return out, self._record(deployment, response, started, time.perf_counter() - started)

    async def _titan(
        self,
        deployment: Deployment,
        request: embeddings_pb2.EmbeddingRequest,
        dimensions: int | None,
        deadline: float | None,
        request_id: str,
    ) -> tuple[list[list[float]], int, httpx.Response]:
        gate = asyncio.Semaphore(EMBED_CONCURRENCY)

        async def one(text: str) -> tuple[Any, httpx.Response]:
            async with gate:
                return await self._invoke(
                    deployment, bedrock_embeddings.titan_body(text, dimensions), deadline, request_id
                )

        replies = await asyncio.gather(*(one(text) for text in request.inputs))
        parsed = [self._parsed(deployment, partial(bedrock_embeddings.titan_vector, raw)) for raw, _ in replies]
        return [vector for vector, _ in parsed], sum(tokens for _, tokens in parsed), replies[-1][1]

    def _parsed(self, deployment: Deployment, parse: Callable[[], T]) -> T:
        try:
            return parse()
        except MalformedError as exc:
            raise self._error(
                R.ERROR_REASON_UPSTREAM_MALFORMED, f"malformed embeddings: {exc}", deployment, 200
            ) from None

    async def _invoke(
        self, deployment: Deployment, body: dict[str, Any], deadline: float | None, request_id: str
    ) -> tuple[Any, httpx.Response]:
        """Returns the decoded reply of one InvokeModel call and its response; raises SwitchyardError."""
        timeout = remaining(deployment, deadline)
        url = deployment.api_base + vocab.operation_path(deployment.model, vocab.INVOKE)
        content = orjson.dumps(body)
        headers = self._signed(deployment, "POST", url, content, self._headers(deployment, request_id, None))
        try:
            response = await self._clients.get(deployment.api_base).post(
                url, content=content, headers=headers, timeout=timeout
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, deployment, timeout) from None
        if response.status_code >= 400:
            raise self._status_error(response, response.content, deployment)
        try:
            return orjson.loads(response.content), response
        except orjson.JSONDecodeError:
            raise self._error(
                R.ERROR_REASON_UPSTREAM_MALFORMED, "malformed embeddings reply", deployment, 200
            ) from None
