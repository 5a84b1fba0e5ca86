"""The router's peer clients wait for a restarting peer within their timeout instead of failing at once."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc import aio

from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.peers import Cache
from tests.support import free_port, wait_until


class _Misses(cache_pb2_grpc.CacheServiceServicer):
    async def Lookup(
        self, request: cache_pb2.LookupRequest, context: aio.ServicerContext[object, object]
    ) -> cache_pb2.LookupResponse:
        return cache_pb2.LookupResponse(hit=False)


async def test_a_call_started_while_the_peer_is_down_is_answered_once_it_is_back() -> None:
    port = free_port()
    target = f"127.0.0.1:{port}"
    async with aio.insecure_channel(target) as channel:
        cache = Cache(channel)
        call = asyncio.create_task(cache.lookup(cache_pb2.LookupRequest(model_group="g"), timeout=10.0))
        await wait_until(
            lambda: channel.get_state() == grpc.ChannelConnectivity.TRANSIENT_FAILURE,
            5.0,
            "the channel to find nothing listening",
        )
        assert not call.done(), "the call waits for the channel instead of failing UNAVAILABLE at once"
        server = aio.server()
        cache_pb2_grpc.add_CacheServiceServicer_to_server(_Misses(), server)
        server.add_insecure_port(target)
        await server.start()
        try:
            reply = await call
        finally:
            await server.stop(0)
    assert reply.hit is False


async def test_a_peer_that_stays_down_fails_the_call_within_its_timeout() -> None:
    async with aio.insecure_channel(f"127.0.0.1:{free_port()}") as channel:
        with pytest.raises(SwitchyardError):
            await asyncio.wait_for(Cache(channel).lookup(cache_pb2.LookupRequest(), timeout=0.3), 5.0)
