"""The ProviderService handlers: find the deployment, call its adapter, map errors to gRPC statuses."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, NoReturn

from grpc import aio

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, internal_error
from switchyard.services.providers import convert
from switchyard.services.providers.adapters.base import Adapter, Deployment
from switchyard.services.providers.integrity.guard import embedding_layer

log = logging.getLogger("switchyard.services.providers")
R = errors_pb2.ErrorReason


async def _abort(context: aio.ServicerContext, error: SwitchyardError) -> NoReturn:
    await context.abort_with_status(error.to_rpc_status())
    raise AssertionError("abort_with_status returned")


def _check(request: chat_pb2.ChatRequest) -> None:
    if not request.messages:
        raise SwitchyardError(R.ERROR_REASON_INVALID_REQUEST, "the chat request has no messages", param="messages")


class ProviderServicer(providers_pb2_grpc.ProviderServiceServicer):  # type: ignore[misc]
    """Thin handlers over the adapters, one per wire format."""

    def __init__(self, deployments: Sequence[Deployment], adapters: Mapping[str, Adapter]) -> None:
        self._deployments = {d.id: d for d in deployments}
        self._adapters = adapters

    def replace_deployments(self, deployments: Sequence[Deployment]) -> None:
        """Swaps in a reloaded deployment table; calls in flight keep the Deployment they started with."""
        self._deployments = {d.id: d for d in deployments}

    def _target(self, deployment_id: str) -> tuple[Deployment, Adapter]:
        """Returns the deployment and its adapter, or raises MODEL_NOT_FOUND / DEPLOYMENT_UNAVAILABLE."""
        deployment = self._deployments.get(deployment_id)
        if deployment is None:
            raise SwitchyardError(
                R.ERROR_REASON_MODEL_NOT_FOUND,
                f"no deployment with id {deployment_id!r}",
                metadata={"deployment_id": deployment_id},
            )
        adapter = self._adapters.get(deployment.provider)
        if not deployment.available or adapter is None:
            reason = deployment.unavailable_reason or f"no adapter for {deployment.provider}"
            raise SwitchyardError(
                R.ERROR_REASON_DEPLOYMENT_UNAVAILABLE,
                f"deployment {deployment.id} is unavailable: {reason}",
                metadata={"deployment_id": deployment.id, "provider": deployment.provider},
            )
        return deployment, adapter

    async def Generate(
        self, request: providers_pb2.GenerateRequest, context: aio.ServicerContext
    ) -> providers_pb2.GenerateResponse:
        """Returns one deployment's completion and the record of the upstream call."""
        try:
            deployment, adapter = self._target(request.deployment_id)
            _check(request.request)
            completion, record = await adapter.generate(
                deployment, request.request, convert.deadline(context.time_remaining()), request.request_id
            )
        except SwitchyardError as error:
            await _abort(context, error)
        except Exception as exc:
            await _abort(context, internal_error(exc, "providers"))
        return providers_pb2.GenerateResponse(completion=completion, upstream=record)

    async def StreamGenerate(
        self, request: providers_pb2.StreamGenerateRequest, context: aio.ServicerContext
    ) -> AsyncIterator[providers_pb2.StreamGenerateResponse]:
        """Yields the chunks of each network read as they arrive, then the upstream record.

        A stream that breaks ends the call with the mapped error status, never a normal end; a
        cancelled call closes the upstream request (the adapter's stream closes its response).
        """
        try:
            deployment, adapter = self._target(request.deployment_id)
            _check(request.request)
        except SwitchyardError as error:
            await _abort(context, error)
        deadline = convert.deadline(context.time_remaining())
        try:
            async for item in adapter.stream(deployment, request.request, deadline, request.request_id):
                if isinstance(item, list):
                    yield convert.chunks_to_proto(item)
                else:
                    yield providers_pb2.StreamGenerateResponse(upstream=item)
        except SwitchyardError as error:
            await _abort(context, error)
        except Exception as exc:
            await _abort(context, internal_error(exc, "providers"))

    async def Embed(
        self, request: providers_pb2.EmbedRequest, context: aio.ServicerContext
    ) -> providers_pb2.EmbedResponse:
        """Returns one deployment's embeddings and the record of the upstream call."""
        try:
            deployment, adapter = self._target(request.deployment_id)
            embedder = embedding_layer(adapter)
            if embedder is None:
                raise SwitchyardError(
                    R.ERROR_REASON_INVALID_REQUEST,
                    f"deployment {deployment.id} speaks {deployment.provider}, which has no embeddings endpoint here",
                    metadata={"deployment_id": deployment.id, "provider": deployment.provider},
                )
            if not request.request.inputs:
                raise SwitchyardError(R.ERROR_REASON_INVALID_REQUEST, "the request has no input", param="input")
            embeddings, record = await embedder.embed(
                deployment, request.request, convert.deadline(context.time_remaining()), request.request_id
            )
        except SwitchyardError as error:
            await _abort(context, error)
        except Exception as exc:
            await _abort(context, internal_error(exc, "providers"))
        return providers_pb2.EmbedResponse(embeddings=embeddings, upstream=record)

    async def Probe(self, request: providers_pb2.ProbeRequest, context: aio.ServicerContext) -> Any:
        """Returns whether one deployment answers a cheap request."""
        deployment = self._deployments.get(request.deployment_id)
        if deployment is None:
            await _abort(
                context,
                SwitchyardError(R.ERROR_REASON_MODEL_NOT_FOUND, f"no deployment with id {request.deployment_id!r}"),
            )
        adapter = self._adapters.get(deployment.provider)
        if not deployment.available or adapter is None:
            return providers_pb2.ProbeResponse(
                healthy=False,
                message=deployment.unavailable_reason,
                reason=R.ERROR_REASON_DEPLOYMENT_UNAVAILABLE,
            )
        result = await adapter.probe(deployment, convert.deadline(context.time_remaining()))
        response = convert.probe_to_proto(result)
        response.reason = result.reason
        return response

    async def ListDeployments(
        self, request: providers_pb2.ListDeploymentsRequest, context: aio.ServicerContext
    ) -> providers_pb2.ListDeploymentsResponse:
        """Returns every configured deployment, without credentials, and whether it can be called."""
        return providers_pb2.ListDeploymentsResponse(
            deployments=[convert.deployment_to_proto(d) for d in self._deployments.values()]
        )
