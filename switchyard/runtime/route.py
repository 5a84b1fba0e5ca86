"""What a route record's cache result is called in headers, spans, the ledger and metrics."""

from __future__ import annotations

from switchyard.common.v1 import route_pb2

_CACHE_NAMES = {
    route_pb2.CACHE_RESULT_HIT: "hit",
    route_pb2.CACHE_RESULT_MISS: "miss",
    route_pb2.CACHE_RESULT_BYPASS: "bypass",
    route_pb2.CACHE_RESULT_ERROR: "error",
}


def cache_name(result: route_pb2.CacheResult.ValueType) -> str:
    """Returns "hit", "miss", "bypass" or "error" (an unset result is a miss)."""
    return _CACHE_NAMES.get(result, "miss")


def cache_header(route: route_pb2.RouteRecord) -> str:
    """Returns the x-switchyard-cache value: the result, then the tier of a hit or a skipped semantic
    search ("hit; tier=semantic", "miss; semantic=skipped", "miss")."""
    name, detail = cache_name(route.cache), route.cache_detail
    if not detail:
        return name
    return f"{name}; {detail}" if "=" in detail else f"{name}; tier={detail}"
