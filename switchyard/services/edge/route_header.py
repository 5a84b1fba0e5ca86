"""The x-switchyard-route response header: a request's route record on one ASCII header line."""

from __future__ import annotations

import re
from collections.abc import Sequence

from switchyard.common.v1 import route_pb2
from switchyard.runtime.errors import reason_name

_ROUTE_HEADER_MAX = 1024
_LIST_MAX = 6
_TOKEN_MAX = 80
_REASON_MAX = 240
_UNSAFE = re.compile(r"[^A-Za-z0-9!#$%&'*+.^_`|~:/@-]")
_UNQUOTABLE = re.compile(r"[^ -~]")


def _token(text: str) -> str:
    """Returns text as a header token: characters that could break the line's syntax become "_"."""
    return _UNSAFE.sub("_", text[:_TOKEN_MAX]) or "-"


def _quoted(text: str) -> str:
    cut = text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 3] + "..."
    return '"' + _UNQUOTABLE.sub("?", cut).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _listed(items: Sequence[str]) -> str:
    shown = [_token(item) for item in items[:_LIST_MAX]]
    return ",".join(shown + ([f"+{len(items) - _LIST_MAX}"] if len(items) > _LIST_MAX else []))


def route_header(route: route_pb2.RouteRecord) -> tuple[bytes, bytes]:
    """Returns the x-switchyard-route header: the route record on one ASCII line of at most 1 KiB.

    `group=chat; served=backup; strategy=simple-shuffle; deployment=backup-1a2b; attempts=3; cache=miss;
    reason="..."; groups=chat,backup; failed=chat-3c4d:upstream_rate_limited,...; skipped=...; arm=b;
    experiment=ab; rule=code; shadow=candidate; score=0.42` —
    the parts after `cache` appear only when they say something, and one that would pass the limit is left
    out. Names are cut to header tokens, lists to six items (then `+N`), the quoted reason to 240 characters.
    """
    calls = [a for a in route.attempts if a.number > 0]
    served = next((a.group for a in calls if a.outcome == route_pb2.ATTEMPT_OUTCOME_SUCCESS), "")
    failed = [
        f"{a.deployment_id}:{reason_name(a.error_reason)}"
        for a in calls
        if a.outcome == route_pb2.ATTEMPT_OUTCOME_FAILED
    ]
    skipped = [
        f"{a.deployment_id}:{reason_name(a.error_reason)}"
        for a in route.attempts
        if a.outcome == route_pb2.ATTEMPT_OUTCOME_SKIPPED
    ]
    parts = [
        f"group={_token(route.group)}",
        f"served={_token(served)}",
        f"strategy={_token(route.strategy)}",
        f"deployment={_token(route.deployment_id)}",
        f"attempts={len(calls)}",
        f"cache={route_pb2.CacheResult.Name(route.cache).removeprefix('CACHE_RESULT_').lower()}",
    ]
    optional = [
        f"reason={_quoted(route.reason)}" if route.reason else "",
        f"groups={_listed(route.groups_tried)}" if len(route.groups_tried) > 1 else "",
        f"failed={_listed(failed)}" if failed else "",
        f"skipped={_listed(skipped)}" if skipped else "",
        f"arm={_token(route.arm)}" if route.arm else "",
        f"experiment={_token(route.experiment)}" if route.experiment else "",
        f"rule={_token(route.rule)}" if route.rule else "",
        f"shadow={_token(route.shadow)}" if route.shadow else "",
        f"score={route.score:.4g}" if route.deployment_id and route.score else "",
    ]
    line = "; ".join(parts)
    for part in optional:
        if part and len(line) + 2 + len(part) <= _ROUTE_HEADER_MAX:
            line = f"{line}; {part}"
    return b"x-switchyard-route", line.encode("ascii")
