"""The CacheService handlers: validate, convert, delegate to the tiered cache, map errors."""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

from grpc import aio

from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.cache import convert
from switchyard.services.cache.fingerprint import cache_request
from switchyard.services.cache.tiers import Request, TieredCache

log = logging.getLogger(__name__)


class CacheServicer(cache_pb2_grpc.CacheServiceServicer):
    """Serves Lookup, Store, Invalidate and Stats over a TieredCache."""

    def __init__(self, cache: TieredCache, offload_bytes: int) -> None:
        self._cache = cache
        self._offload_bytes = offload_bytes

    async def Lookup(self, request: cache_pb2.LookupRequest, context: aio.ServicerContext) -> cache_pb2.LookupResponse:
        """Returns the cached completion of an equal or equivalent request in the caller's scope, or a miss."""
        if not request.HasField("request"):
            await _abort(context, _invalid("request is required", "request"))
        seen = await self._request(request.tenant, request.model_group, request.request)
        return convert.lookup_response(await self._cache.lookup(seen))

    async def Store(self, request: cache_pb2.StoreRequest, context: aio.ServicerContext) -> cache_pb2.StoreResponse:
        """Stores a complete, successful completion; says why not otherwise."""
        problem = _invalid_store(request)
        if problem is not None:
            await _abort(context, problem)
        seen = await self._request(request.tenant, request.model_group, request.request)
        completion = convert.completion_of(request.completion, request.cost_usd, request.deployment_id)
        result = await self._cache.store(seen, completion, ttl_s=request.ttl_seconds or None)
        return convert.store_response(result)

    async def Invalidate(
        self, request: cache_pb2.InvalidateRequest, context: aio.ServicerContext
    ) -> cache_pb2.InvalidateResponse:
        """Removes the selected entries and returns how many were removed."""
        selector = convert.selector_of(request)
        if selector is None:
            problem = _invalid("one of key, tenant, model_group or all=true is required", "selector")
            await _abort(context, problem)
        return convert.invalidate_response(await self._cache.invalidate(selector))

    async def Stats(self, request: cache_pb2.StatsRequest, context: aio.ServicerContext) -> cache_pb2.StatsResponse:
        """Returns this replica's counters and the state of its store and semantic tier."""
        return convert.stats_response(self._cache.stats, self._cache.status())

    async def _request(self, tenant: str, model_group: str, request: chat_pb2.ChatRequest) -> Request:
        """Returns the cache's view of request, computed off the event loop when the request is large."""
        size = request.ByteSize()
        if size < self._offload_bytes:
            return cache_request(tenant, model_group, request)
        log.debug("canonicalising a %d-byte request in a worker thread", size)
        return await asyncio.to_thread(cache_request, tenant, model_group, request)


async def _abort(context: aio.ServicerContext, error: SwitchyardError) -> NoReturn:
    """Ends the call with error's rich status (code, message, ErrorInfo)."""
    await context.abort_with_status(error.to_rpc_status())
    raise AssertionError("abort_with_status always raises")


def _invalid(message: str, param: str) -> SwitchyardError:
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, message, param=param)


def _invalid_store(request: cache_pb2.StoreRequest) -> SwitchyardError | None:
    """Returns the error of a StoreRequest that cannot be stored at all, or None."""
    if not request.HasField("request"):
        return _invalid("request is required", "request")
    if not request.HasField("completion"):
        return _invalid("completion is required", "completion")
    if request.ttl_seconds < 0:
        return _invalid("ttl_seconds must not be negative", "ttl_seconds")
    return None
