"""Pure conversions between the providers service's domain values and its protobuf messages."""

from __future__ import annotations

import time

from switchyard.common.v1 import chat_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.services.providers.adapters.base import Deployment, ProbeResult


def deadline(time_remaining: float | None) -> float | None:
    """Returns the time.monotonic() instant a call must end by, from gRPC's seconds remaining."""
    return None if time_remaining is None else time.monotonic() + time_remaining


def deployment_to_proto(deployment: Deployment) -> providers_pb2.Deployment:
    """Returns a deployment as listed to callers: everything but its credentials."""
    return providers_pb2.Deployment(
        id=deployment.id,
        model_group=deployment.group,
        provider=deployment.provider,
        model=deployment.model,
        api_base=deployment.api_base,
        available=deployment.available,
        unavailable_reason=deployment.unavailable_reason,
    )


def probe_to_proto(result: ProbeResult) -> providers_pb2.ProbeResponse:
    return providers_pb2.ProbeResponse(healthy=result.healthy, latency_ms=result.latency_ms, message=result.message)


def chunks_to_proto(chunks: list[chat_pb2.ChatCompletionChunk]) -> providers_pb2.StreamGenerateResponse:
    """Returns one stream message carrying the chunks read together."""
    message = providers_pb2.StreamGenerateResponse()
    message.chunks.extend(chunks)
    return message
