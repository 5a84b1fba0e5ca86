"""What a request's route record says about where it went: the resolution, the deployment, the cost."""

from __future__ import annotations

from switchyard.common.v1 import chat_pb2, route_pb2
from switchyard.providers.v1 import providers_pb2

from services.common.config import ModelEntry
from services.router.routing import Resolution


def cost_of(entry: ModelEntry, usage: chat_pb2.Usage) -> float:
    """Returns the cost in USD of usage at the deployment's configured prices (0 when unpriced)."""
    info = entry.model_info
    return usage.prompt_tokens * (info.input_cost_per_token or 0.0) + usage.completion_tokens * (
        info.output_cost_per_token or 0.0
    )


def describe(route: route_pb2.RouteRecord, resolution: Resolution) -> None:
    """Writes where a request resolved to, and why, into its route record."""
    route.group, route.strategy, route.reason = resolution.target, resolution.strategy.name, resolution.reason
    route.experiment, route.arm, route.rule = resolution.experiment, resolution.arm, resolution.rule_name
    if resolution.shadow is not None:
        route.shadow = resolution.shadow.target


def finish_route(
    route: route_pb2.RouteRecord,
    entry: ModelEntry,
    upstream: providers_pb2.UpstreamRecord | None,
    usage: chat_pb2.Usage,
) -> None:
    """Writes the deployment that answered, its cost and the upstream's status and time to first token."""
    route.deployment_id, route.provider, route.model = entry.deployment_id, entry.provider, entry.upstream_model
    route.cost_usd = cost_of(entry, usage)
    if upstream is not None and route.attempts:
        route.attempts[-1].upstream_status = upstream.http_status
        route.attempts[-1].ttft_ms = upstream.ttft_ms
