"""switchyard.router.v1.RouterService: thin handlers over the pipeline."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from grpc import aio
from switchyard.router.v1 import router_pb2, router_pb2_grpc

from services.common.errors import SwitchyardError, internal_error
from services.router.convert import validate_request
from services.router.pipeline import Pipeline


class RouterServicer(router_pb2_grpc.RouterServiceServicer):
    """The front door: the edge and internal services call these RPCs alike."""

    def __init__(self, pipeline: Pipeline, request_timeout: float) -> None:
        self._pipeline = pipeline
        self._request_timeout = request_timeout

    def _deadline(self, context: aio.ServicerContext) -> float:
        remaining = context.time_remaining()
        budget = self._request_timeout if remaining is None else min(remaining, self._request_timeout)
        return time.monotonic() + budget

    async def ChatCompletion(
        self, request: router_pb2.ChatCompletionRequest, context: aio.ServicerContext
    ) -> router_pb2.ChatCompletionResponse:
        try:
            validate_request(request.request)
            return await self._pipeline.complete(request.request, request.context, self._deadline(context))
        except SwitchyardError as err:
            await context.abort_with_status(err.to_rpc_status())
        except Exception as exc:
            await context.abort_with_status(internal_error(exc, "router").to_rpc_status())
        raise AssertionError("unreachable")  # abort_with_status always raises

    async def StreamChatCompletion(
        self, request: router_pb2.StreamChatCompletionRequest, context: aio.ServicerContext
    ) -> AsyncIterator[router_pb2.StreamChatCompletionResponse]:
        try:
            validate_request(request.request)
            async for message in self._pipeline.stream(request.request, request.context, self._deadline(context)):
                yield message
        except SwitchyardError as err:
            await context.abort_with_status(err.to_rpc_status())
        except Exception as exc:
            await context.abort_with_status(internal_error(exc, "router").to_rpc_status())

    async def ListModels(
        self, request: router_pb2.ListModelsRequest, context: aio.ServicerContext
    ) -> router_pb2.ListModelsResponse:
        return router_pb2.ListModelsResponse(
            models=[
                router_pb2.ModelCard(id=name, owned_by="switchyard", kind=kind)
                for name, kind in self._pipeline.models()
            ]
        )
