"""The routing table: filters before every plan (fallbacks too), utilisation, circuits, and explanations."""

from __future__ import annotations

import random

import pytest

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import parse_config
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.failover import GroupChain, Next
from switchyard.services.router.planning import no_route_error, ramp_weight
from switchyard.services.router.routing import RoutingTable, candidates
from switchyard.services.router.strategies import DeploymentStats, Plan, RequestFacts

MODELS = """
model_list:
  - model_name: chat
    litellm_params: {model: openai/us-big, region_name: us-east-1}
    model_info: {id: us-big, max_tokens: 128000, input_cost_per_token: 5.0e-6, output_cost_per_token: 1.5e-5,
                 quality: 0.9, data_classification: internal}
  - model_name: chat
    litellm_params: {model: hosted_vllm/eu-small}
    model_info: {id: eu-small, max_tokens: 8192, input_cost_per_token: 1.0e-7, output_cost_per_token: 1.0e-7,
                 quality: 0.4, region: europe-west4, supports_function_calling: false, supports_vision: false}
  - model_name: chat
    litellm_params: {model: openai/eu-mid, region_name: eu-west-1, rpm: 100, tpm: 100000}
    model_info: {id: eu-mid, max_input_tokens: 32000, max_output_tokens: 4096, input_cost_per_token: 1.0e-6,
                 output_cost_per_token: 2.0e-6, quality: 0.7, data_classification: confidential}
  - model_name: us-only
    litellm_params: {model: openai/us-backup, region_name: us-west-2}
    model_info: {id: us-backup}
router_settings:
  routing_strategy: cost-based-routing
  fallbacks: [{chat: [us-only]}]
"""


def table(extra: str = "", seed: int = 5) -> RoutingTable:
    return RoutingTable.build(parse_config(MODELS + extra), rng=random.Random(seed))


def plan_for(
    routing: RoutingTable, facts: RequestFacts, stats: dict[str, DeploymentStats] | None = None, model: str = "chat"
) -> Plan:
    resolution = routing.resolve(model, facts)
    return routing.plan(resolution, candidates(resolution.entries, stats or {}), facts)


def order(plan: Plan) -> list[str]:
    return [c.deployment_id for c in plan.order]


def skipped(plan: Plan) -> dict[str, tuple[int, str]]:
    return {s.deployment_id: (s.reason, s.detail) for s in plan.skipped}


def test_cost_based_group_ranks_the_cheapest_first_with_its_reason() -> None:
    plan = plan_for(table(), RequestFacts(prompt_tokens=100))
    assert order(plan) == ["eu-small", "eu-mid", "us-big"]
    assert plan.strategy == "cost-based-routing"
    assert "cheapest: eu-small" in plan.reason and plan.score > 0 and plan.skipped == ()


def test_too_small_context_windows_are_skipped_with_the_reason() -> None:
    plan = plan_for(table(), RequestFacts(prompt_tokens=10_000, max_output_tokens=5_000))
    assert order(plan) == ["us-big"]
    reasons = skipped(plan)
    assert reasons["eu-small"][0] == E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED
    assert "8192-token window" in reasons["eu-small"][1]
    assert reasons["eu-mid"][0] == E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED
    assert "max_output_tokens 4096" in reasons["eu-mid"][1]
    assert "2 skipped (context_window_exceeded: 2)" in plan.reason
    error = no_route_error("chat", plan_for(table(), RequestFacts(prompt_tokens=200_000)).skipped)
    assert error.reason == E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED and error.status == 400


def test_requests_with_tools_or_images_skip_deployments_without_the_capability() -> None:
    for facts, field in (
        (RequestFacts(prompt_tokens=10, needs_tools=True), "supports_function_calling"),
        (RequestFacts(prompt_tokens=10, needs_vision=True), "supports_vision"),
    ):
        plan = plan_for(table(), facts)
        assert "eu-small" not in order(plan) and order(plan) == ["eu-mid", "us-big"]
        reason, detail = skipped(plan)["eu-small"]
        assert reason == E.ERROR_REASON_INVALID_REQUEST and field in detail


def test_an_eu_request_is_never_planned_on_a_us_deployment() -> None:
    routing = table()
    facts = RequestFacts(prompt_tokens=10, region="eu")
    for strategy in ("simple-shuffle", "latency-based-routing", "least-busy", "usage-based-routing", "cost-quality"):
        routed = table(f"switchyard:\n  groups:\n    chat: {{routing_strategy: {strategy}}}\n")
        for _ in range(50):
            assert "us-big" not in order(plan_for(routed, facts))
    plan = plan_for(routing, facts)
    assert set(order(plan)) == {"eu-small", "eu-mid"}, "europe-west4 and eu-west-1 both lie in eu"
    assert skipped(plan)["us-big"] == (
        E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT,
        "runs in us-east-1; the request's data must stay in eu",
    )


def test_confidential_data_never_reaches_a_deployment_allowed_only_internal_data() -> None:
    plan = plan_for(table(), RequestFacts(prompt_tokens=10, data_classification="confidential"))
    assert order(plan) == ["eu-small", "eu-mid"], "eu-small has no class: the residency default allows all"
    assert "may receive internal data at most" in skipped(plan)["us-big"][1]
    strict = table("switchyard:\n  residency: {default_deployment_classification: internal}\n")
    assert order(plan_for(strict, RequestFacts(prompt_tokens=10, data_classification="confidential"))) == ["eu-mid"]
    restricted = plan_for(strict, RequestFacts(prompt_tokens=10, data_classification="restricted"))
    assert order(restricted) == []


def test_a_configured_region_map_admits_its_named_regions() -> None:
    routing = table("switchyard:\n  residency:\n    regions: {emea: [eu-*, europe-*]}\n")
    assert set(order(plan_for(routing, RequestFacts(prompt_tokens=10, region="emea")))) == {"eu-small", "eu-mid"}
    assert order(plan_for(routing, RequestFacts(prompt_tokens=10, region="us"))) == ["us-big"]


def test_nothing_allowed_and_healthy_fails_closed_fallbacks_included() -> None:
    routing = table()
    facts = RequestFacts(prompt_tokens=10, region="eu")
    down = {"eu-small": DeploymentStats(circuit="open"), "eu-mid": DeploymentStats(circuit="open")}
    first = plan_for(routing, facts, down)
    assert order(first) == []
    chain = GroupChain(routing.fallback_tables, "chat", "chat")
    assert [chain.next(), chain.next(), chain.next()] == ["chat", "us-only", None]
    us_only = routing.target("us-only")
    fallback = routing.plan(us_only, candidates(us_only.entries, {}), facts)
    assert order(fallback) == [], "the fallback group is filtered by the same residency rule"
    error = no_route_error("chat", [*first.skipped, *fallback.skipped])
    assert isinstance(error, SwitchyardError) and error.reason == E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT
    assert error.status == 403
    assert "eu-mid: circuit open" in error.message and "us-backup: runs in us-west-2" in error.message


def test_deployments_near_their_rate_limits_are_tried_last_not_dropped() -> None:
    routing = table()
    facts = RequestFacts(prompt_tokens=10, needs_tools=True)
    hot = plan_for(routing, facts, {"eu-mid": DeploymentStats(rpm_used=80, rpm_limit=100)})
    assert order(hot) == ["us-big", "eu-mid"]
    assert "1 deprioritised at >= 80% of rpm/tpm" in hot.reason
    by_tokens = plan_for(routing, facts, {"eu-mid": DeploymentStats(tpm_used=85_000)})
    assert order(by_tokens) == ["us-big", "eu-mid"], "the configured tpm counts when the state has no limit"
    cool = plan_for(routing, facts, {"eu-mid": DeploymentStats(rpm_used=79, rpm_limit=100)})
    assert order(cool) == ["eu-mid", "us-big"]
    lower = table("switchyard:\n  routing: {utilisation_threshold: 0.5}\n")
    assert order(plan_for(lower, facts, {"eu-mid": DeploymentStats(rpm_used=60)})) == ["us-big", "eu-mid"]


def test_open_circuits_are_skipped_and_half_open_ones_probed_first() -> None:
    """A half-open deployment heads the plan: the next request claims its probe, so a deployment that
    recovered gets real traffic back while the others still answer (not only when they all fail)."""
    routing = table()
    plan = plan_for(
        routing,
        RequestFacts(prompt_tokens=10),
        {"eu-small": DeploymentStats(circuit="open"), "eu-mid": DeploymentStats(circuit="half_open")},
    )
    assert order(plan) == ["eu-mid", "us-big"]
    assert skipped(plan)["eu-small"][0] == E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE
    assert "half-open probe" in plan.reason
    chat = routing.target("chat")
    unavailable = routing.plan(chat, candidates(chat.entries, {}), RequestFacts(), {"us-big": "missing OPENAI_API_KEY"})
    assert skipped(unavailable)["us-big"] == (E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, "missing OPENAI_API_KEY")


def test_a_half_open_probe_heads_its_own_order_tier() -> None:
    tiered = MODELS.replace("region_name: us-east-1}", "region_name: us-east-1, order: 1}")
    routing = RoutingTable.build(parse_config(tiered), rng=random.Random(1))
    facts = RequestFacts(prompt_tokens=10)
    backup_probe = plan_for(routing, facts, {"eu-mid": DeploymentStats(circuit="half_open")})
    assert order(backup_probe) == ["us-big", "eu-mid", "eu-small"], "a lower tier's probe waits for its tier"
    primary_probe = plan_for(routing, facts, {"us-big": DeploymentStats(circuit="half_open")})
    assert order(primary_probe) == ["us-big", "eu-small", "eu-mid"]
    assert "1 half-open probe(s) first" in primary_probe.reason


def test_ramp_weight_grows_linearly_from_a_tenth_over_slow_start() -> None:
    assert ramp_weight(DeploymentStats(), 30.0) == 1.0, "a deployment that never recovered has its full weight"
    assert ramp_weight(DeploymentStats(recovered_s=0.0), 30.0) == pytest.approx(0.1)
    assert ramp_weight(DeploymentStats(recovered_s=15.0), 30.0) == pytest.approx(0.5)
    assert ramp_weight(DeploymentStats(recovered_s=27.0), 30.0) == pytest.approx(0.9)
    assert ramp_weight(DeploymentStats(recovered_s=30.0), 30.0) == 1.0
    assert ramp_weight(DeploymentStats(recovered_s=0.0), 0.0) == 1.0, "slow_start_s 0 turns the ramp off"


@pytest.mark.parametrize(("recovered_s", "share"), [(0.0, 0.1), (15.0, 0.5), (24.0, 0.8), (30.0, 1.0), (None, 1.0)])
def test_a_recovered_deployment_gets_its_first_places_back_along_the_ramp(
    recovered_s: float | None, share: float
) -> None:
    """eu-small is the cheapest, so cost-based routing ranks it first; while it ramps up after its circuit
    closed it keeps that place only in the ramp weight's share of plans, else it follows the others."""
    routing = table("  slow_start_s: 30\n", seed=11)
    facts = RequestFacts(prompt_tokens=10)
    stats = {"eu-small": DeploymentStats(recovered_s=recovered_s)}
    rounds = 2000
    first = sum(order(plan_for(routing, facts, stats))[0] == "eu-small" for _ in range(rounds))
    assert first / rounds == pytest.approx(share, abs=0.04)
    demoted = [order(plan_for(routing, facts, stats)) for _ in range(50)]
    assert all(o[-1] == "eu-small" for o in demoted if o[0] != "eu-small"), "a demoted one follows, never dropped"


def test_order_tiers_come_before_the_strategy() -> None:
    tiered = MODELS.replace("region_name: us-east-1}", "region_name: us-east-1, order: 1}")
    routing = RoutingTable.build(parse_config(tiered), rng=random.Random(1))
    assert order(plan_for(routing, RequestFacts(prompt_tokens=10))) == ["us-big", "eu-small", "eu-mid"]


def test_unknown_models_are_not_found() -> None:
    with pytest.raises(SwitchyardError) as caught:
        table().resolve("gpt-9", RequestFacts())
    assert caught.value.reason == E.ERROR_REASON_MODEL_NOT_FOUND and caught.value.param == "model"


def test_fallbacks_follow_router_settings_for_the_target_and_the_requested_name() -> None:
    extra = "  default_fallbacks: [us-only]\nswitchyard:\n  aliases:\n    cheap: {policy: cheap, groups: [chat]}\n"
    text = MODELS.replace("fallbacks: [{chat: [us-only]}]", "fallbacks: [{cheap: [chat]}]") + extra
    routing = RoutingTable.build(parse_config(text), rng=random.Random(1))
    resolution = routing.resolve("cheap", RequestFacts())
    chain = GroupChain(routing.fallback_tables, resolution.target, resolution.requested)
    assert [chain.next() for _ in range(4)] == ["cheap", "chat", "us-only", None]
    alone = GroupChain(routing.fallback_tables, "us-only", "us-only")
    assert [alone.next(), alone.next()] == ["us-only", None], "a group is not its own fallback"
    assert not alone.switch(Next.CONTEXT_WINDOW, "us-only"), "no context_window_fallbacks are configured"
