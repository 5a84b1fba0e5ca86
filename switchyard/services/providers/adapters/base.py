"""What every provider adapter shares: the deployment it calls, its HTTP clients and its Protocol.

An adapter speaks one wire format (OpenAI, vLLM, later Anthropic and Gemini). It turns a
ChatRequest into the provider's request, the provider's reply into a ChatCompletion (or chunk
batches) plus an UpstreamRecord, and every failure into a SwitchyardError of the taxonomy.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import httpx

from switchyard.common.v1 import chat_pb2, embeddings_pb2, errors_pb2
from switchyard.config.secrets import SecretRef
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.pricing import Prices
from switchyard.services.providers.adapters.transport import Http1Transport
from switchyard.services.providers.credentials.aws import AwsIdentity

# A stream yields lists of chunks (one list per network read), then one UpstreamRecord.
StreamItem = list[chat_pb2.ChatCompletionChunk] | providers_pb2.UpstreamRecord


@dataclass(frozen=True)
class Deployment:
    """One configured deployment with its resolved credentials; `api_key` is never shown."""

    id: str
    group: str
    provider: str
    model: str
    api_base: str
    api_key: str | None = field(default=None, repr=False)
    available: bool = True
    unavailable_reason: str = ""
    # timeout caps one upstream call (seconds) when the caller's deadline is longer or absent.
    timeout: float = 600.0
    # api_version is the provider API version to speak (Anthropic's anthropic-version, Gemini's v1/v1beta);
    # empty means the adapter's default.
    api_version: str = ""
    # prices put the cost of each call on its span (gen_ai.usage.cost), as the router computes it.
    prices: Prices = field(default_factory=Prices)
    # key_ref says where api_key comes from when it is not written in the config (a variable, a file, a
    # secret manager); the key itself is only ever in api_key.
    key_ref: SecretRef | None = None
    # The most prompt tokens and completion tokens (per choice) the model takes, from model_info (0: not
    # configured); a reply counting far more is an integrity violation.
    max_input_tokens: int = 0
    max_output_tokens: int = 0
    # The Google Cloud project and location a Vertex AI deployment runs in (vertex_project, vertex_location).
    project: str = ""
    location: str = ""
    # aws signs a Bedrock deployment's requests (SigV4) together with api_key, its secret access key.
    aws: AwsIdentity | None = None


@dataclass(frozen=True)
class ProbeResult:
    """Whether a deployment answered a cheap request, how fast, and what it said; reason classifies a failure."""

    healthy: bool
    latency_ms: float
    message: str
    reason: errors_pb2.ErrorReason.ValueType = errors_pb2.ERROR_REASON_UNSPECIFIED


class Adapter(Protocol):
    """One wire format. `deadline` is a time.monotonic() instant, or None for the deployment's timeout."""

    provider: str

    async def generate(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> tuple[chat_pb2.ChatCompletion, providers_pb2.UpstreamRecord]:
        """Returns the deployment's completion and the record of the call; raises SwitchyardError."""
        ...

    def stream(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> AsyncIterator[StreamItem]:
        """Yields chunk batches as they arrive, then the UpstreamRecord; raises SwitchyardError."""
        ...

    async def probe(self, deployment: Deployment, deadline: float | None) -> ProbeResult:
        """Returns whether the deployment answers a cheap request; never raises for upstream failures."""
        ...


@runtime_checkable
class EmbeddingAdapter(Protocol):
    """A wire format that also has an embeddings endpoint (OpenAI's, and those reusing its adapter)."""

    async def embed(
        self,
        deployment: Deployment,
        request: embeddings_pb2.EmbeddingRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> tuple[embeddings_pb2.Embeddings, providers_pb2.UpstreamRecord]:
        """Returns the deployment's vectors and the record of the call; raises SwitchyardError."""
        ...


def remaining(deployment: Deployment, deadline: float | None) -> float:
    """Returns the seconds an upstream call may take: the caller's deadline capped by the deployment's."""
    if deadline is None:
        return deployment.timeout
    left = deadline - time.monotonic()
    # Leave a sliver so a timeout surfaces as UPSTREAM_TIMEOUT (with metadata) before the caller gives up.
    return max(0.001, min(deployment.timeout, left - min(0.05, left * 0.1)))


class ClientPool:
    """One pooled keep-alive httpx.AsyncClient per upstream base URL, created at start-up."""

    def __init__(self, base_urls: Iterable[str], max_connections: int = 1000, max_keepalive: int = 200) -> None:
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_keepalive, keepalive_expiry=60.0
        )
        self._clients: dict[str, httpx.AsyncClient] = {
            base: httpx.AsyncClient(
                # Plain-http upstreams (self-hosted, fakes) get the lean transport; TLS keeps httpx's own.
                # httpx hands `limits` only to a transport it builds itself, so the lean one gets them here.
                transport=Http1Transport(limits) if base.startswith("http://") else None,
                limits=limits,
                timeout=httpx.Timeout(600.0, connect=10.0),
                http1=True,
                http2=False,
                follow_redirects=False,
                trust_env=False,
            )
            for base in dict.fromkeys(base_urls)
            if base
        }

    def get(self, base_url: str) -> httpx.AsyncClient:
        """Returns the client for a base URL configured at start-up."""
        return self._clients[base_url]

    async def aclose(self) -> None:
        """Closes every client and its connections."""
        for client in self._clients.values():
            await client.aclose()
