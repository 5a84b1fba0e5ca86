"""The client span every adapter opens per upstream call, and how it is closed.

Shared by all adapters so their spans carry the same GenAI attributes: `start_span` opens the
`chat {model}` CLIENT span, `StreamSummary` collects what a stream said overall, and `end_span` /
`end_span_error` record the outcome and end the span.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from switchyard.common.v1 import chat_pb2
from switchyard.runtime import attributes as attr
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.pricing import Prices
from switchyard.services.providers.adapters.base import Deployment
from switchyard.wire.openai import FINISH_NAMES


def start_span(
    tracer: trace.Tracer, provider: str, deployment: Deployment, request: chat_pb2.ChatRequest
) -> trace.Span:
    """Returns a started `chat {model}` CLIENT span for one call to a deployment, with the GenAI request
    attributes: provider (by the conventions' names), model, sampling limits and the upstream's host."""
    return tracer.start_span(
        f"chat {deployment.model}", kind=SpanKind.CLIENT, attributes=request_attributes(provider, deployment, request)
    )


def request_attributes(
    provider: str, deployment: Deployment, request: chat_pb2.ChatRequest
) -> dict[str, AttributeValue]:
    """Returns the GenAI and server attributes of a call, as the OpenTelemetry conventions name them."""
    name = provider_name(provider, deployment.api_base)
    found: dict[str, AttributeValue] = {
        attr.GEN_AI_OPERATION_NAME: "chat",
        attr.GEN_AI_PROVIDER_NAME: name,
        # The conventions' earlier name for the same value, still what several backends read.
        attr.GEN_AI_SYSTEM: name,
        attr.GEN_AI_REQUEST_MODEL: deployment.model,
        attr.ROUTE_DEPLOYMENT: deployment.id,
        attr.STREAMING: request.stream,
    }
    max_tokens = request.max_completion_tokens or request.max_tokens
    if max_tokens:
        found[attr.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    if request.HasField("temperature"):
        found[attr.GEN_AI_REQUEST_TEMPERATURE] = request.temperature
    if request.HasField("top_p"):
        found[attr.GEN_AI_REQUEST_TOP_P] = request.top_p
    upstream = urlsplit(deployment.api_base)
    if upstream.hostname:
        found[attr.SERVER_ADDRESS] = upstream.hostname
        found[attr.SERVER_PORT] = upstream.port or (443 if upstream.scheme == "https" else 80)
    return found


def provider_name(provider: str, api_base: str) -> str:
    """Returns the conventions' gen_ai.provider.name for a wire format at an API base (`gcp.gemini`)."""
    host = urlsplit(api_base).hostname or ""
    if provider == "openai" and host.endswith(attr.AZURE_OPENAI_HOST_SUFFIX):
        return attr.GEN_AI_PROVIDER_AZURE_OPENAI
    return attr.GEN_AI_PROVIDER_VALUES.get(provider, provider)


class StreamSummary:
    """What a stream said overall, for its span: id, model, finish reasons, usage, and whether [DONE] came."""

    __slots__ = ("done", "finish_reasons", "id", "model", "usage")

    def __init__(self) -> None:
        self.done = False
        self.id = ""
        self.model = ""
        self.finish_reasons: list[str] = []
        self.usage: chat_pb2.Usage | None = None

    def add(self, chunk: chat_pb2.ChatCompletionChunk) -> None:
        """Takes in one chunk: the first one's id and model, every finish reason, the latest usage."""
        if not self.id:
            self.id, self.model = chunk.id, chunk.model
        for choice in chunk.choices:
            if choice.finish_reason:
                self.finish_reasons.append(FINISH_NAMES.get(choice.finish_reason) or "")
        if chunk.HasField("usage"):
            self.usage = chunk.usage


def end_span(
    span: trace.Span,
    response_id: str,
    model: str,
    usage: chat_pb2.Usage | None,
    finish_reasons: list[str],
    *,
    prices: Prices,
) -> None:
    """Records what the upstream answered (id, model, finish reasons, token usage, cost) and ends the span.

    The cost (`gen_ai.usage.cost`, USD at the deployment's configured prices) is what an OTLP backend
    such as Langfuse shows per call; it is only set when the provider reported usage.
    """
    span.set_attribute(attr.GEN_AI_RESPONSE_ID, response_id)
    span.set_attribute(attr.GEN_AI_RESPONSE_MODEL, model)
    span.set_attribute(attr.GEN_AI_RESPONSE_FINISH_REASONS, finish_reasons)
    if usage is not None:
        span.set_attribute(attr.GEN_AI_USAGE_INPUT_TOKENS, usage.prompt_tokens)
        span.set_attribute(attr.GEN_AI_USAGE_OUTPUT_TOKENS, usage.completion_tokens)
        span.set_attribute(attr.GEN_AI_USAGE_COST, prices.cost(usage))
    span.end()


def end_span_error(span: trace.Span | None, exc: BaseException) -> None:
    """Marks the span (if any) failed with the error's name as `error.type`, and ends it."""
    if span is None:
        return
    name = exc.name if isinstance(exc, SwitchyardError) else type(exc).__name__
    span.set_attribute(attr.ERROR_TYPE, name)
    span.set_status(Status(StatusCode.ERROR, name))
    span.end()
