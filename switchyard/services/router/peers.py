"""The router's gRPC clients for its peers; every failure comes back as a SwitchyardError.

Every call waits for its channel to be ready (`wait_for_ready`), bounded by the call's own timeout: a
peer restarting, or reconnecting after one, is waited for instead of failing the call at once (the
channel's reconnect backoff is short: runtime/grpcio.py). The optional peers keep short timeouts
(analysis_timeout, cache_timeout), so one that is down costs a request that much at most.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import grpc
from grpc import aio

from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from switchyard.common.v1 import chat_pb2, context_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, from_rpc_error


class Classifier:
    """Client of switchyard.classifier.v1; address is the target it was dialled at, for log lines."""

    def __init__(self, channel: aio.Channel, address: str = "") -> None:
        self._stub = classifier_pb2_grpc.ClassifierServiceStub(channel)
        self.address = address

    async def analyze(
        self,
        request: chat_pb2.ChatRequest,
        context: context_pb2.RequestContext,
        timeout: float,
    ) -> classifier_pb2.AnalyzeResponse:
        """Returns the analysis of a request."""
        analyze = classifier_pb2.AnalyzeRequest(request=request, context=context)
        try:
            return await self._stub.Analyze(analyze, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None


class Cache:
    """Client of switchyard.cache.v1; address is the target it was dialled at, for log lines."""

    def __init__(self, channel: aio.Channel, address: str = "") -> None:
        self._stub = cache_pb2_grpc.CacheServiceStub(channel)
        self.address = address

    async def lookup(self, lookup: cache_pb2.LookupRequest, timeout: float) -> cache_pb2.LookupResponse:
        try:
            return await self._stub.Lookup(lookup, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def store(self, store: cache_pb2.StoreRequest, timeout: float) -> cache_pb2.StoreResponse:
        try:
            return await self._stub.Store(store, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def invalidate(self, request: cache_pb2.InvalidateRequest, timeout: float) -> cache_pb2.InvalidateResponse:
        try:
            return await self._stub.Invalidate(request, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None


class Providers:
    """Client of switchyard.providers.v1.

    A call that waited out its timeout for a channel that never connected did not reach any deployment:
    it fails SERVICE_UNAVAILABLE (the providers service is down), which ends the request with a 503 and
    counts toward no deployment's circuit — else a restart of the providers service would open every
    circuit and keep the whole gateway failing for a cooldown after it is back.
    """

    def __init__(self, channel: aio.Channel) -> None:
        self._channel = channel
        self._stub = providers_pb2_grpc.ProviderServiceStub(channel)

    def connected(self) -> bool:
        """Returns whether the channel to the providers service is connected."""
        return self._channel.get_state() == grpc.ChannelConnectivity.READY

    def unreachable(self) -> SwitchyardError:
        """Returns the error of a call that could not reach the providers service."""
        return SwitchyardError(E.ERROR_REASON_SERVICE_UNAVAILABLE, "the providers service is unreachable")

    def _failure(self, error: grpc.RpcError) -> SwitchyardError:
        failure = from_rpc_error(error)
        if failure.reason == E.ERROR_REASON_DEADLINE_EXCEEDED and not self.connected():
            return self.unreachable()
        return failure

    async def generate(self, generate: providers_pb2.GenerateRequest, timeout: float) -> providers_pb2.GenerateResponse:
        try:
            return await self._stub.Generate(generate, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as error:
            raise self._failure(error) from None

    async def stream(
        self, generate: providers_pb2.StreamGenerateRequest, timeout: float
    ) -> AsyncGenerator[providers_pb2.StreamGenerateResponse, None]:
        """Yields the provider's chunk batches; closing the iterator cancels the upstream call."""
        call = self._stub.StreamGenerate(generate, timeout=timeout, wait_for_ready=True)
        try:
            async for message in call:
                yield message
        except grpc.RpcError as error:
            raise self._failure(error) from None
        finally:
            call.cancel()

    async def embed(self, embed: providers_pb2.EmbedRequest, timeout: float) -> providers_pb2.EmbedResponse:
        try:
            return await self._stub.Embed(embed, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def probe(self, probe: providers_pb2.ProbeRequest, timeout: float) -> providers_pb2.ProbeResponse:
        try:
            return await self._stub.Probe(probe, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def list_deployments(self, timeout: float) -> providers_pb2.ListDeploymentsResponse:
        try:
            listing = providers_pb2.ListDeploymentsRequest()
            return await self._stub.ListDeployments(listing, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
