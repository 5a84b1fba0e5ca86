"""The CacheService handlers: validate, convert, delegate to the exact cache, map errors."""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

from grpc import aio
from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.common.v1 import chat_pb2, errors_pb2

from services.cache import convert
from services.cache.exact import ExactCache
from services.common.errors import SwitchyardError

log = logging.getLogger(__name__)


class CacheServicer(cache_pb2_grpc.CacheServiceServicer):
    """Serves Lookup, Store and Invalidate over an ExactCache."""

    def __init__(self, cache: ExactCache, offload_bytes: int) -> None:
        self._cache = cache
        self._offload_bytes = offload_bytes

    async def Lookup(self, request: cache_pb2.LookupRequest, context: aio.ServicerContext) -> cache_pb2.LookupResponse:
        """Returns the cached completion of an equal request in the caller's scope, or a miss."""
        if not request.HasField("request"):
            await _abort(context, _invalid("request is required", "request"))
        scope = convert.scope_of(request.tenant, request.model_group, request.request)
        canonical = await self._canonical(request.request)
        result = await self._cache.lookup(scope, canonical, convert.temperature_of(request.request))
        return convert.lookup_response(result)

    async def Store(self, request: cache_pb2.StoreRequest, context: aio.ServicerContext) -> cache_pb2.StoreResponse:
        """Stores a complete, successful completion; says why not otherwise."""
        problem = _invalid_store(request)
        if problem is not None:
            await _abort(context, problem)
        scope = convert.scope_of(request.tenant, request.model_group, request.request)
        canonical = await self._canonical(request.request)
        result = await self._cache.store(
            scope,
            canonical,
            convert.temperature_of(request.request),
            convert.completion_of(request.completion),
            ttl_s=request.ttl_seconds or None,
        )
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

    async def _canonical(self, request: chat_pb2.ChatRequest) -> bytes:
        """Returns the canonical bytes of request, computed off the event loop when it is large."""
        size = request.ByteSize()
        if size < self._offload_bytes:
            return convert.canonical_request(request)
        log.debug("canonicalising a %d-byte request in a worker thread", size)
        return await asyncio.to_thread(convert.canonical_request, request)


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
