"""What the router does with a prompt the classifier's injection guard flagged (switchyard.guard)."""

from __future__ import annotations

import dataclasses

from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.common.v1 import route_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.routing import Resolution, RoutingTable


def guard(
    table: RoutingTable,
    analysis: classifier_pb2.AnalyzeResponse,
    route: route_pb2.RouteRecord,
    resolution: Resolution,
) -> Resolution:
    """Acts on an injection verdict: raises PROMPT_BLOCKED (block), records it (flag), or returns the
    hardened group's resolution (route), then planned with the request's facts like any other."""
    settings = table.config.switchyard.guard
    kind = analysis.injection.kind or "injection"
    if settings.action == "block":
        raise SwitchyardError(
            E.ERROR_REASON_PROMPT_BLOCKED,
            f"The prompt was blocked by Switchyard's prompt-injection guard ({kind}).",
            param="messages",
            route=route,
        )
    if settings.action == "flag":
        route.guard = "flagged"
        return resolution
    route.guard = "rerouted"
    hardened = table.target(settings.route_to)
    why = f"guard: {kind} -> {settings.route_to}"
    return dataclasses.replace(hardened, requested=resolution.requested, reason=why, shadow=None)
