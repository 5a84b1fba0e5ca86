"""A key's reach: which deployments its allowed names stand for, along the whole chain of a request."""

from __future__ import annotations

import random

from switchyard.cache.v1 import cache_pb2
from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import context_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import parse_config
from switchyard.services.router import caching
from switchyard.services.router.failover import FallbackTables, reachable_groups
from switchyard.services.router.planning import no_route_error
from switchyard.services.router.routing import RoutingTable
from switchyard.services.router.scope import EVERYTHING
from switchyard.services.router.strategies import RequestFacts, Skip

CONFIG = """
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-1}
    model_info: {id: cheap-1, input_cost_per_token: 1.0e-6, output_cost_per_token: 1.0e-6}
  - model_name: pricey
    litellm_params: {model: openai/pricey-1}
    model_info: {id: pricey-1, input_cost_per_token: 1.0e-4, output_cost_per_token: 1.0e-4}
  - model_name: long
    litellm_params: {model: openai/long-1}
    model_info: {id: long-1, data_classification: public}
  - model_name: other
    litellm_params: {model: openai/other-1}
    model_info: {id: other-1}
router_settings:
  fallbacks: [{cheap: [pricey]}]
  context_window_fallbacks: [{pricey: [long]}]
switchyard:
  aliases:
    budget: {policy: cheap, groups: [cheap, other]}
"""


def table() -> RoutingTable:
    return RoutingTable.build(parse_config(CONFIG), rng=random.Random(1))


def ids(entries: object) -> set[str]:
    return {e.deployment_id for e in entries}  # type: ignore[attr-defined]


def test_no_list_reaches_everything_and_names_stand_for_their_deployments() -> None:
    routing = table()
    assert routing.reach([(), ()], "key sk-a...").everything
    assert routing.reach([], "").everything
    group = routing.reach([("cheap",)], "key sk-a...")
    assert group.deployments == frozenset({"cheap-1"})
    alias = routing.reach([("budget",)], "key sk-a...")
    assert alias.deployments == frozenset({"cheap-1", "other-1"})
    # The key and its team must both allow a name.
    both = routing.reach([("cheap", "pricey"), ("pricey", "long")], "key sk-a...")
    assert both.deployments == frozenset({"pricey-1"})
    assert "key sk-a..." in both.refusal("cheap")


def test_the_chain_covers_every_kind_of_fallback() -> None:
    tables = FallbackTables.from_settings(parse_config(CONFIG).router_settings)
    assert reachable_groups(tables, "cheap", "cheap") == ("cheap", "pricey", "long")
    assert reachable_groups(tables, "other", "budget") == ("other",)


def test_reachable_deployments_are_those_of_the_chain_within_reach() -> None:
    routing = table()
    resolution = routing.resolve("cheap", RequestFacts())
    assert ids(routing.reachable(resolution, EVERYTHING)) == {"cheap-1", "pricey-1", "long-1"}
    narrow = routing.reach([("cheap",)], "key sk-a...")
    assert ids(routing.reachable(resolution, narrow)) == {"cheap-1"}


def test_nothing_within_reach_is_a_403_naming_the_key() -> None:
    why = "key sk-a... may not use 'pricey' (not among its allowed models)"
    error = no_route_error("cheap", [Skip("pricey-1", E.ERROR_REASON_PERMISSION_DENIED, why)])
    assert error.reason == E.ERROR_REASON_PERMISSION_DENIED and error.status == 403
    assert why in error.message


def test_a_hit_is_served_only_from_a_deployment_within_reach_and_allowed_the_data() -> None:
    routing = table()
    narrow = routing.reach([("cheap",)], "key sk-a...")
    public = RequestFacts(data_classification="public")
    internal = RequestFacts(data_classification="internal")
    from_cheap = cache_pb2.LookupResponse(hit=True, deployment_id="cheap-1")
    from_long = cache_pb2.LookupResponse(hit=True, deployment_id="long-1")
    unknown = cache_pb2.LookupResponse(hit=True)
    assert caching.hit_allowed(routing, narrow, public, from_cheap)
    assert not caching.hit_allowed(routing, narrow, public, from_long)
    assert caching.hit_allowed(routing, EVERYTHING, public, from_long)
    assert not caching.hit_allowed(routing, EVERYTHING, internal, from_long), "long may receive public data only"
    assert caching.hit_allowed(routing, EVERYTHING, public, unknown)
    assert not caching.hit_allowed(routing, narrow, public, unknown)
    assert not caching.hit_allowed(routing, EVERYTHING, RequestFacts(region="eu"), unknown)


def test_the_cache_is_bypassed_for_sensitive_or_unchecked_requests() -> None:
    settings = parse_config(CONFIG).switchyard
    declared = context_pb2.RequestContext(data_classification=context_pb2.DATA_CLASSIFICATION_CONFIDENTIAL)
    assert caching.bypass_before_analysis(settings, declared) == "reason=classified-confidential"
    assert caching.bypass_before_analysis(settings, context_pb2.RequestContext()) is None
    analysis = classifier_pb2.AnalyzeResponse()
    restricted = RequestFacts(data_classification="restricted")
    assert caching.bypass_after_analysis(settings, restricted, analysis) == "reason=classified-restricted"
    assert caching.bypass_after_analysis(settings, RequestFacts(), None) == caching.ANALYSIS_UNAVAILABLE
    assert caching.bypass_after_analysis(settings, RequestFacts(data_classification="internal"), analysis) is None
    looser = parse_config(CONFIG + "  cache: {max_data_classification: confidential}\n").switchyard
    assert caching.bypass_before_analysis(looser, declared) is None
