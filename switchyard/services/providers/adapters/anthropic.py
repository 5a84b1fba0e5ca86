"""The Anthropic Messages adapter: `POST {api_base}/v1/messages` with `x-api-key` and `anthropic-version`.

Translation lives in `anthropic_wire` and `anthropic_stream`; this module does HTTP, deadlines,
spans and errors, the way the OpenAI adapter does. Streams are parsed event by event (an `event:`
line is required), batched per network read, and end with a usage-only chunk, as an OpenAI upstream
asked for `include_usage` would; a stream that ends without `message_stop` or carries `event: error`
is an error, never a silent success. Errors keep Anthropic's meaning:

    400 invalid_request_error ........... UPSTREAM_BAD_REQUEST ("prompt is too long" → CONTEXT_WINDOW_EXCEEDED)
    401 / 403 ........................... UPSTREAM_AUTH
    402 billing_error ................... UPSTREAM_QUOTA_EXHAUSTED
    413 request_too_large ............... UPSTREAM_BAD_REQUEST
    429 rate_limit_error ................ UPSTREAM_RATE_LIMITED + retry-after
    500, 529 overloaded_error, error event UPSTREAM_UNAVAILABLE
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
import orjson

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import Telemetry
from switchyard.services.providers.adapters import errors
from switchyard.services.providers.adapters.anthropic_stream import StreamErrorEvent, StreamTranslator
from switchyard.services.providers.adapters.anthropic_wire import DEFAULT_VERSION, completion_from_wire, request_to_wire
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.adapters.spans import StreamSummary
from switchyard.services.providers.adapters.upstream import UpstreamAdapter
from switchyard.wire.anthropic import vocabulary as vocab
from switchyard.wire.sse import SSEEvent, SSEParser
from switchyard.wire.values import MalformedError

R = errors_pb2.ErrorReason


def messages_url(api_base: str) -> str:
    """Returns the Messages endpoint of an api_base given with or without its `/v1`."""
    base = api_base.rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def _reset_ms(value: str | None, now: float) -> int:
    """Returns the milliseconds until an RFC 3339 reset instant, or -1 when absent or unreadable."""
    if not value:
        return -1
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return -1
    return max(0, round((when.timestamp() - now) * 1000))


def _int(headers: Mapping[str, str], name: str) -> int:
    try:
        return int(headers.get(name, "-1"))
    except ValueError:
        return -1


def quota_from_headers(headers: Mapping[str, str], now: float | None = None) -> providers_pb2.QuotaSnapshot:
    """Returns what the anthropic-ratelimit-* headers say is left; -1 for anything not sent."""
    now = time.time() if now is None else now
    header = vocab.rate_limit_header
    return providers_pb2.QuotaSnapshot(
        limit_requests=_int(headers, header("requests", "limit")),
        remaining_requests=_int(headers, header("requests", "remaining")),
        limit_tokens=_int(headers, header("tokens", "limit")),
        remaining_tokens=_int(headers, header("tokens", "remaining")),
        reset_requests_ms=_reset_ms(headers.get(header("requests", "reset")), now),
        reset_tokens_ms=_reset_ms(headers.get(header("tokens", "reset")), now),
    )


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, deployment: Deployment, provider: str = "anthropic"
) -> SwitchyardError:
    """Returns the error an Anthropic error response means (the shared mapping, plus Anthropic's cases)."""
    error = errors.from_response(
        status, body, headers, provider=provider, deployment_id=deployment.id, secret=deployment.api_key
    )
    kind = error.metadata.get("upstream_type", "")
    if status == 402 or kind == vocab.BILLING_ERROR:
        return replace(error, reason=R.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED)
    if status == 400 and "prompt is too long" in error.message:
        return replace(error, reason=R.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED)
    return error


class AnthropicAdapter(UpstreamAdapter):
    """Speaks the Anthropic Messages API to any deployment whose provider is `anthropic`.

    The `anthropic-version` sent is the deployment's own (`litellm_params.api_version` in config),
    else `versions[deployment id]`, else `api_version` (2026-10-21 drops temperature/top_p/top_k).
    """

    provider = "anthropic"
    malformed_errors = (orjson.JSONDecodeError, MalformedError, ValueError)

    def __init__(
        self,
        clients: ClientPool,
        telemetry: Telemetry,
        api_version: str = DEFAULT_VERSION,
        versions: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(clients, telemetry)
        self._version = api_version
        self._versions = dict(versions or {})

    def version(self, deployment: Deployment) -> str:
        """Returns the anthropic-version this adapter speaks to a deployment."""
        return deployment.api_version or self._versions.get(deployment.id, self._version)

    # ------------------------------------------------------------ request side

    def url(self, deployment: Deployment, stream: bool) -> str:
        """Returns the Messages URL of a deployment."""
        return messages_url(deployment.api_base)

    def _auth_headers(self, deployment: Deployment) -> dict[str, str]:
        headers = {vocab.VERSION_HEADER: self.version(deployment)}
        if deployment.api_key:
            headers[vocab.API_KEY_HEADER] = deployment.api_key
        return headers

    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes:
        return orjson.dumps(request_to_wire(request, deployment.model, self.version(deployment), stream))

    def _status_error(self, response: httpx.Response, body: bytes, deployment: Deployment) -> SwitchyardError:
        """Returns the error an upstream error status and body mean, with the credential scrubbed."""
        return error_from_response(
            response.status_code, body, response.headers, deployment=deployment, provider=self.provider
        )

    def _record(
        self, deployment: Deployment, response: httpx.Response, started: float, ttft: float, response_id: str = ""
    ) -> providers_pb2.UpstreamRecord:
        headers = dict(response.headers.items())
        return providers_pb2.UpstreamRecord(
            deployment_id=deployment.id,
            provider=self.provider,
            model=deployment.model,
            provider_request_id=headers.get(vocab.REQUEST_ID_HEADER, ""),
            http_status=response.status_code,
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft * 1000,
            quota=quota_from_headers(headers),
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
        translator = StreamTranslator()
        batches = self._events(
            response,
            deployment,
            deadline,
            budget_s,
            parser=SSEParser(),
            translate=lambda events: self._parse(events, translator, deployment, summary),
            done=lambda: translator.done,
        )
        async for batch in batches:
            yield batch
        if not translator.done:
            raise self._error(R.ERROR_REASON_UPSTREAM_MALFORMED, "stream ended without message_stop", deployment, 200)

    def _parse(
        self, events: list[SSEEvent], translator: StreamTranslator, deployment: Deployment, summary: StreamSummary
    ) -> list[chat_pb2.ChatCompletionChunk]:
        batch: list[chat_pb2.ChatCompletionChunk] = []
        for event in events:
            if not event.event:
                # Anthropic names every event; the official SDK drops unnamed ones, and so do we.
                continue
            try:
                chunks = translator.feed(event.event, event.data)
            except StreamErrorEvent as exc:
                raise self._error(
                    R.ERROR_REASON_UPSTREAM_UNAVAILABLE, f"{exc.kind} event mid-stream: {exc.message}", deployment, 200
                ) from None
            except (MalformedError, ValueError) as exc:
                raise self._error(
                    R.ERROR_REASON_UPSTREAM_MALFORMED, f"malformed event: {exc}", deployment, 200
                ) from None
            for chunk in chunks:
                summary.add(chunk)
            batch.extend(chunks)
            if translator.done:
                break
        return batch

    # ------------------------------------------------------------ probe

    def probe_url(self, deployment: Deployment) -> str:
        """Returns `{api_base}/v1/models`, what `probe` GETs."""
        return messages_url(deployment.api_base).removesuffix("/messages") + "/models"
