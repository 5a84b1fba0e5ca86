"""What a request's route record says about where it went: the resolution, the deployment, the cost."""

from __future__ import annotations

from switchyard.common.v1 import chat_pb2, route_pb2
from switchyard.config import ModelEntry
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.pricing import prices_of
from switchyard.services.router.facts import CHARS_PER_TOKEN
from switchyard.services.router.routing import Resolution


def cost_of(entry: ModelEntry, usage: chat_pb2.Usage) -> float:
    """Returns the cost in USD of usage at the deployment's configured prices (0 when unpriced)."""
    return prices_of(entry).cost(usage)


def counted_usage(completion: chat_pb2.ChatCompletion, prompt_tokens: int) -> chat_pb2.Usage:
    """Returns usage counted by the router for an answer whose provider reported none.

    The prompt is the routing estimate; the completion is counted at four characters a token (what
    the router's own estimates assume), its text, refusals and tool-call arguments included.
    """
    chars = 0
    for choice in completion.choices:
        message = choice.message
        chars += len(message.text) + len(message.refusal)
        chars += sum(len(call.function.name) + len(call.function.arguments) for call in message.tool_calls)
    completion_tokens = -(-chars // CHARS_PER_TOKEN)
    return chat_pb2.Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )


def describe(route: route_pb2.RouteRecord, resolution: Resolution) -> None:
    """Writes where a request resolved to, and why, into its route record."""
    route.group, route.strategy, route.reason = resolution.target, resolution.strategy.name, resolution.reason
    route.experiment, route.arm, route.rule = resolution.experiment, resolution.arm, resolution.rule
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
