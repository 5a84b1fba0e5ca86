"""When a request may use the cache, and which cached answer it may be served.

The cache is bypassed both ways (no hit served, nothing stored) when the client asked (no-cache), and
fail-closed when leaking is worse than a miss (DESIGN §5):

    the caller declared data above `cache.max_data_classification`    reason=classified-<class>
    the classifier was unavailable (nothing is known of the prompt)    reason=analysis-unavailable
    the injection guard flagged the prompt                             reason=injection
    the classifier found data above `cache.max_data_classification`   reason=classified-<class>

The reason is the route record's `cache_detail` (`x-switchyard-cache: bypass; reason=...`). A hit is
served only when the deployment that produced it is one this request could be sent to now: within
its key's reach (scope.py) and allowed its data (residency). A hit whose deployment is not known (an
entry stored before deployments were recorded, or one no longer configured) is served only to a
request with neither limit.
"""

from __future__ import annotations

from switchyard.cache.v1 import cache_pb2
from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import context_pb2
from switchyard.config import DATA_CLASSES, SwitchyardSection
from switchyard.services.router.routing import RoutingTable
from switchyard.services.router.scope import Reach
from switchyard.services.router.strategies import RequestFacts

ANALYSIS_UNAVAILABLE = "reason=analysis-unavailable"
INJECTION = "reason=injection"
HIT_NOT_ALLOWED = "reason=hit-not-allowed"


def _class_name(value: int) -> str:
    return DATA_CLASSES[value - 1] if 1 <= value <= len(DATA_CLASSES) else ""


def bypass_before_analysis(settings: SwitchyardSection, context: context_pb2.RequestContext) -> str | None:
    """Returns why the cache is bypassed whatever the analysis finds ("" when the client asked for it),
    None when the analysis decides."""
    if not settings.cache_enabled or context.hints.cache_bypass:
        return ""
    declared = _class_name(context.data_classification)
    if not settings.cache.admits(declared):
        return f"reason=classified-{declared}"
    return None


def bypass_after_analysis(
    settings: SwitchyardSection, facts: RequestFacts, analysis: classifier_pb2.AnalyzeResponse | None
) -> str | None:
    """Returns why the analysis (or its absence) keeps the request out of the cache, None when it may use it."""
    if analysis is None:
        return ANALYSIS_UNAVAILABLE
    if analysis.injection.detected:
        return INJECTION
    if not settings.cache.admits(facts.data_classification):
        return f"reason=classified-{facts.data_classification}"
    return None


def hit_allowed(table: RoutingTable, reach: Reach, facts: RequestFacts, found: cache_pb2.LookupResponse) -> bool:
    """Returns whether a hit may be served: the deployment that produced it is within the request's reach
    and allowed its data."""
    entry = table.deployment(found.deployment_id) if found.deployment_id else None
    if entry is None:
        return reach.everything and not facts.region and facts.data_classification in ("", "public")
    return reach.allows(entry) and table.data_problem(entry, facts) is None


def lookup_detail(found: cache_pb2.LookupResponse) -> str:
    """Returns what the route record says of a lookup beyond hit or miss (see RouteRecord.cache_detail)."""
    if found.hit:
        return "semantic" if found.tier == cache_pb2.CACHE_TIER_SEMANTIC else "exact"
    return "semantic=skipped" if found.semantic == cache_pb2.SEMANTIC_SEARCH_SKIPPED else ""
