"""switchyard.router.v1.RouterService: thin handlers over the pipeline."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from grpc import aio
from opentelemetry import trace

from switchyard.common.v1 import errors_pb2 as E
from switchyard.common.v1 import route_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.runtime import attributes as attr
from switchyard.runtime.errors import SwitchyardError, internal_error, reason_name
from switchyard.runtime.logs import REQUEST_ID
from switchyard.runtime.route import cache_name
from switchyard.services.router.conversations import Conversations
from switchyard.services.router.convert import validate_request
from switchyard.services.router.counting import TokenCounter
from switchyard.services.router.embeddings import Embedder
from switchyard.services.router.feedback import FeedbackDesk
from switchyard.services.router.governance.admin import authorization_of
from switchyard.services.router.pipeline import Pipeline

Reply = TypeVar("Reply")


def annotate(span: trace.Span, route: route_pb2.RouteRecord | None) -> None:
    """Puts a request's route record on its span as switchyard.route.* attributes."""
    if route is None or not span.is_recording():
        return
    outcomes: dict[int, list[str]] = {route_pb2.ATTEMPT_OUTCOME_FAILED: [], route_pb2.ATTEMPT_OUTCOME_SKIPPED: []}
    for attempt in route.attempts:
        if attempt.outcome in outcomes:
            outcomes[attempt.outcome].append(f"{attempt.deployment_id}:{reason_name(attempt.error_reason)}")
    span.set_attributes(
        {
            attr.ROUTE_GROUP: route.group,
            attr.ROUTE_STRATEGY: route.strategy,
            attr.ROUTE_REASON: route.reason,
            attr.ROUTE_DEPLOYMENT: route.deployment_id,
            attr.ROUTE_ATTEMPTS: sum(1 for a in route.attempts if a.number > 0),
            attr.ROUTE_GROUPS_TRIED: list(route.groups_tried),
            attr.ROUTE_FAILED: outcomes[route_pb2.ATTEMPT_OUTCOME_FAILED],
            attr.ROUTE_SKIPPED: outcomes[route_pb2.ATTEMPT_OUTCOME_SKIPPED],
            attr.ROUTE_ARM: route.arm,
            attr.ROUTE_EXPERIMENT: route.experiment,
            attr.ROUTE_RULE: route.rule,
            attr.ROUTE_SHADOW: route.shadow,
            attr.ROUTE_SCORE: route.score,
            attr.CACHE_RESULT: cache_name(route.cache),
            attr.COST_USD: route.cost_usd,
            attr.ANALYSIS_DEGRADED: route.analysis_degraded,
        }
    )


async def _answered(
    context: aio.ServicerContext, work: Callable[[], Awaitable[Reply]], span: trace.Span | None = None
) -> Reply:
    """Returns what a unary RPC's work answers; aborts the call with the rich status of a SwitchyardError
    (its route on the span, when given) or, for anything else, of a logged INTERNAL error."""
    try:
        return await work()
    except SwitchyardError as err:
        if span is not None:
            annotate(span, err.route)
        await context.abort_with_status(err.to_rpc_status())
    except Exception as exc:
        await context.abort_with_status(internal_error(exc, "router").to_rpc_status())
    raise AssertionError("unreachable")  # abort_with_status always raises


class RouterServicer(router_pb2_grpc.RouterServiceServicer):
    """The front door: the edge and internal services call these RPCs alike."""

    def __init__(
        self,
        pipeline: Pipeline,
        feedback: FeedbackDesk,
        embedder: Embedder | None = None,
        counter: TokenCounter | None = None,
        conversations: Conversations | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._feedback = feedback
        self._embedder = embedder
        self._counter = counter
        self._conversations = conversations

    def _kept(self) -> Conversations:
        if self._conversations is None:
            raise SwitchyardError(E.ERROR_REASON_SERVICE_UNAVAILABLE, "this router keeps no responses")
        return self._conversations

    async def SaveResponse(
        self, request: router_pb2.SaveResponseRequest, context: aio.ServicerContext
    ) -> router_pb2.SaveResponseResponse:
        return await _answered(context, lambda: self._kept().save(request, authorization_of(context)))

    async def GetResponse(
        self, request: router_pb2.GetResponseRequest, context: aio.ServicerContext
    ) -> router_pb2.GetResponseResponse:
        return await _answered(context, lambda: self._kept().get(request, authorization_of(context)))

    async def DeleteResponse(
        self, request: router_pb2.DeleteResponseRequest, context: aio.ServicerContext
    ) -> router_pb2.DeleteResponseResponse:
        return await _answered(context, lambda: self._kept().delete(request, authorization_of(context)))

    async def CountTokens(
        self, request: router_pb2.CountTokensRequest, context: aio.ServicerContext
    ) -> router_pb2.CountTokensResponse:
        async def count() -> router_pb2.CountTokensResponse:
            if self._counter is None:
                raise SwitchyardError(E.ERROR_REASON_SERVICE_UNAVAILABLE, "this router counts no tokens")
            return await self._counter.count(request, authorization_of(context))

        return await _answered(context, count)

    async def Embed(self, request: router_pb2.EmbedRequest, context: aio.ServicerContext) -> router_pb2.EmbedResponse:
        span = trace.get_current_span()
        REQUEST_ID.set(request.context.request_id)

        async def embed() -> router_pb2.EmbedResponse:
            if self._embedder is None:
                raise SwitchyardError(E.ERROR_REASON_SERVICE_UNAVAILABLE, "this router serves no embeddings")
            return await self._embedder.embed(request, self._deadline(context), authorization_of(context))

        reply = await _answered(context, embed, span)
        annotate(span, reply.route)
        return reply

    async def SubmitFeedback(
        self, request: router_pb2.SubmitFeedbackRequest, context: aio.ServicerContext
    ) -> router_pb2.SubmitFeedbackResponse:
        return await _answered(context, lambda: self._feedback.submit(request, authorization_of(context)))

    def _deadline(self, context: aio.ServicerContext) -> float:
        remaining = context.time_remaining()
        limit = self._pipeline.request_timeout
        budget = limit if remaining is None else min(remaining, limit)
        return time.monotonic() + budget

    async def ChatCompletion(
        self, request: router_pb2.ChatCompletionRequest, context: aio.ServicerContext
    ) -> router_pb2.ChatCompletionResponse:
        span = trace.get_current_span()
        REQUEST_ID.set(request.context.request_id)  # this RPC's task only: its log lines carry the id

        async def complete() -> router_pb2.ChatCompletionResponse:
            validate_request(request.request)
            deadline, authorization = self._deadline(context), authorization_of(context)
            return await self._pipeline.complete(request.request, request.context, deadline, authorization)

        reply = await _answered(context, complete, span)
        annotate(span, reply.route)
        return reply

    async def StreamChatCompletion(
        self, request: router_pb2.StreamChatCompletionRequest, context: aio.ServicerContext
    ) -> AsyncIterator[router_pb2.StreamChatCompletionResponse]:
        span = trace.get_current_span()
        REQUEST_ID.set(request.context.request_id)
        try:
            validate_request(request.request)
            deadline, authorization = self._deadline(context), authorization_of(context)
            async for message in self._pipeline.stream(request.request, request.context, deadline, authorization):
                if not message.chunks:
                    annotate(span, message.route)  # the last message carries the whole route
                yield message
        except SwitchyardError as err:
            annotate(span, err.route)
            await context.abort_with_status(err.to_rpc_status())
        except Exception as exc:
            await context.abort_with_status(internal_error(exc, "router").to_rpc_status())

    async def ListModels(
        self, request: router_pb2.ListModelsRequest, context: aio.ServicerContext
    ) -> router_pb2.ListModelsResponse:
        governor = self._pipeline.governance.governor
        try:
            identity = await governor.authenticate(authorization_of(context))
        except SwitchyardError as err:
            await context.abort_with_status(err.to_rpc_status())
            raise AssertionError("unreachable") from None
        allowed = identity.key.limits.allows if identity is not None and identity.key is not None else None
        return router_pb2.ListModelsResponse(
            models=[
                router_pb2.ModelCard(id=name, owned_by="switchyard", kind=kind)
                for name, kind in self._pipeline.models()
                if allowed is None or allowed(name)
            ]
        )
