"""What the router does with a prompt the classifier's injection guard flagged, or could not check
(switchyard.guard: `action` and `on_unavailable`)."""

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


# How soon a client refused for a missing analysis may try again (the classifier restarts or recovers).
UNANALYSED_RETRY_S = 1.0


def unanalysed(route: route_pb2.RouteRecord) -> SwitchyardError:
    """Returns the refusal of a request the classifier could not analyse under `on_unavailable: block`:
    503 with Retry-After, nothing forwarded (its injection verdict and data classification are unknown)."""
    return SwitchyardError(
        E.ERROR_REASON_SERVICE_UNAVAILABLE,
        "The request could not be checked for prompt injection and sensitive data right now "
        "(guard.on_unavailable: block); nothing was forwarded.",
        route=route,
        retry_after_s=UNANALYSED_RETRY_S,
    )
