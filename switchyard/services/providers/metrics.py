"""The providers service's Prometheus metrics: upstream calls, errors by reason, latency and time to first token.

`metered(adapters)` wraps each wire-format adapter so every Generate and StreamGenerate call is
counted by provider (the wire format) and upstream model, whatever the adapter; health probes are
not traffic and pass through uncounted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping

from prometheus_client import Counter, Gauge, Histogram

from switchyard.common.v1 import chat_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import SwitchyardError, reason_name
from switchyard.runtime.metrics import LATENCY_BUCKETS_S, REGISTRY, TTFT_BUCKETS_S, label
from switchyard.services.providers.adapters.base import Adapter, Deployment, ProbeResult, StreamItem

CALLS = Counter(
    "switchyard_provider_calls_total",
    "Upstream calls made, by provider wire format, upstream model and kind (complete or stream).",
    ["provider", "model", "kind"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "switchyard_provider_errors_total",
    "Upstream calls that failed, by provider, upstream model and error reason (e.g. upstream_timeout).",
    ["provider", "model", "reason"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "switchyard_provider_latency_seconds",
    "Upstream call latency, by provider and upstream model (a stream's until its last chunk; failures included).",
    ["provider", "model"],
    buckets=LATENCY_BUCKETS_S,
    registry=REGISTRY,
)
TTFT = Histogram(
    "switchyard_provider_time_to_first_token_seconds",
    "Time from sending an upstream streaming call to its first token, by provider and upstream model.",
    ["provider", "model"],
    buckets=TTFT_BUCKETS_S,
    registry=REGISTRY,
)
INTEGRITY_VIOLATIONS = Counter(
    "switchyard_providers_integrity_violations_total",
    "Provider replies that failed an integrity check, by deployment and kind "
    "(schema, model, usage_missing, usage_impossible); see services/providers/integrity.",
    ["deployment", "kind"],
    registry=REGISTRY,
)
SECRET_READ_FAILURES = Counter(
    "switchyard_providers_secret_read_failures_total",
    "Reads of a watched provider key (file, vault, aws-sm) that failed; the last good key keeps serving.",
    ["source"],
    registry=REGISTRY,
)
SECRETS_FAILING = Gauge(
    "switchyard_providers_secrets_failing",
    "Watched key locations whose latest read failed, by source (file, vault, aws-sm).",
    ["source"],
    registry=REGISTRY,
)
SECRET_ROTATIONS = Counter(
    "switchyard_providers_secret_rotations_total",
    "Watched provider keys that changed while the service ran, by source; new calls use the new key.",
    ["source"],
    registry=REGISTRY,
)
# CANCELLED is the reason of a call the caller abandoned (the router's deadline, a client hanging up).
CANCELLED = "cancelled"


class MeteredAdapter:
    """An adapter that counts and times every call of the adapter it wraps."""

    def __init__(self, inner: Adapter) -> None:
        self._inner = inner
        self.provider = inner.provider
        # wrapped is the adapter itself, for the calls not metered here (embeddings).
        self.wrapped = inner

    async def generate(
        self, deployment: Deployment, request: chat_pb2.ChatRequest, deadline: float | None, request_id: str = ""
    ) -> tuple[chat_pb2.ChatCompletion, providers_pb2.UpstreamRecord]:
        provider, model = label(deployment.provider), label(deployment.model)
        CALLS.labels(provider, model, "complete").inc()
        started = time.monotonic()
        try:
            return await self._inner.generate(deployment, request, deadline, request_id)
        except SwitchyardError as error:
            ERRORS.labels(provider, model, reason_name(error.reason)).inc()
            raise
        except asyncio.CancelledError:
            ERRORS.labels(provider, model, CANCELLED).inc()
            raise
        finally:
            LATENCY.labels(provider, model).observe(time.monotonic() - started)

    async def stream(
        self, deployment: Deployment, request: chat_pb2.ChatRequest, deadline: float | None, request_id: str = ""
    ) -> AsyncIterator[StreamItem]:
        provider, model = label(deployment.provider), label(deployment.model)
        CALLS.labels(provider, model, "stream").inc()
        started = time.monotonic()
        first_token: float | None = None
        # outcome: "" while the stream runs, "ok" once its record came, else the error's reason.
        outcome = ""
        try:
            async for item in self._inner.stream(deployment, request, deadline, request_id):
                if isinstance(item, providers_pb2.UpstreamRecord):
                    outcome = "ok"
                    if item.ttft_ms > 0:
                        first_token = item.ttft_ms / 1000
                elif first_token is None and item:
                    first_token = time.monotonic() - started
                yield item
        except SwitchyardError as error:
            outcome = reason_name(error.reason)
            raise
        finally:
            if outcome != "ok":
                ERRORS.labels(provider, model, outcome or CANCELLED).inc()
            LATENCY.labels(provider, model).observe(time.monotonic() - started)
            if first_token is not None:
                TTFT.labels(provider, model).observe(first_token)

    async def probe(self, deployment: Deployment, deadline: float | None) -> ProbeResult:
        return await self._inner.probe(deployment, deadline)


def metered(adapters: Mapping[str, Adapter]) -> dict[str, Adapter]:
    """Returns the adapters, each wrapped so its calls are counted and timed."""
    return {name: MeteredAdapter(adapter) for name, adapter in adapters.items()}
