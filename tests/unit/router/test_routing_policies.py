"""Aliases as policies, content rules, A/B experiments and shadow traffic."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from switchyard.config import ConfigError, load_config, parse_config
from switchyard.ml.complexity import ComplexityModel
from switchyard.services.router.routing import Resolution, RoutingTable, candidates
from switchyard.services.router.strategies import DeploymentStats, Plan, RequestFacts

MODELS = """
model_list:
  - model_name: big
    litellm_params: {model: openai/big}
    model_info: {id: big, max_tokens: 128000, input_cost_per_token: 5.0e-6, output_cost_per_token: 1.5e-5,
                 quality: 0.95}
  - model_name: mid
    litellm_params: {model: openai/mid}
    model_info: {id: mid, max_tokens: 128000, input_cost_per_token: 6.0e-7, output_cost_per_token: 1.2e-6,
                 quality: 0.6}
  - model_name: small
    litellm_params: {model: hosted_vllm/small}
    model_info: {id: small, max_tokens: 8192, input_cost_per_token: 1.0e-7, output_cost_per_token: 1.0e-7,
                 quality: 0.3, supports_vision: false}
  - model_name: coder
    litellm_params: {model: openai/coder}
    model_info: {id: coder}
  - model_name: long
    litellm_params: {model: gemini/long}
    model_info: {id: long, max_tokens: 1000000}
"""
ALIASES = """
switchyard:
  aliases:
    cheap: {policy: cheap}
    fast: {policy: fast, groups: [big, mid, small]}
    smart: {policy: auto, groups: [big, mid, small], quality_floor: 0.8}
    see: {policy: cheap, groups: [big, mid, small], needs: [vision]}
    roomy: {policy: cheap, groups: [big, small], min_context_tokens: 100000}
"""


def table(extra: str, seed: int = 1) -> RoutingTable:
    return RoutingTable.build(parse_config(MODELS + extra), rng=random.Random(seed))


def first(
    routing: RoutingTable, model: str, facts: RequestFacts, stats: dict[str, DeploymentStats] | None = None
) -> str:
    resolution = routing.resolve(model, facts)
    plan = routing.plan(resolution, candidates(resolution.entries, stats or {}), facts)
    return plan.order[0].deployment_id


def test_cheap_is_the_cheapest_deployment_that_can_take_the_request() -> None:
    routing = table(ALIASES)
    assert first(routing, "cheap", RequestFacts(prompt_tokens=100)) == "small"
    assert first(routing, "cheap", RequestFacts(prompt_tokens=100, needs_vision=True)) == "mid"
    assert first(routing, "cheap", RequestFacts(prompt_tokens=20_000)) == "mid", "small's window is 8k"
    resolution = routing.resolve("cheap", RequestFacts())
    assert len(resolution.entries) == 5, "an empty pool is every deployment"


def test_fast_is_the_lowest_expected_latency() -> None:
    routing = table(ALIASES + "  routing: {exploration_rate: 0.0}\n")
    stats = {
        "big": DeploymentStats(latency_ms=900, ttft_ms=150, samples=30),
        "mid": DeploymentStats(latency_ms=300, ttft_ms=250, samples=30),
        "small": DeploymentStats(latency_ms=500, ttft_ms=90, samples=30),
    }
    assert first(routing, "fast", RequestFacts(prompt_tokens=10), stats) == "mid"
    assert first(routing, "fast", RequestFacts(prompt_tokens=10, stream=True), stats) == "small"


def test_auto_is_the_cheapest_deployment_predicted_to_meet_the_quality_floor() -> None:
    routing = table(ALIASES)
    # Q = p + (1 - p) * quality >= 0.8: small needs p >= 0.71, mid p >= 0.5, big always.
    assert first(routing, "smart", RequestFacts(prompt_tokens=50, p_cheap_ok=0.9)) == "small"
    assert first(routing, "smart", RequestFacts(prompt_tokens=50, p_cheap_ok=0.6)) == "mid"
    assert first(routing, "smart", RequestFacts(prompt_tokens=50, p_cheap_ok=0.3)) == "big"
    assert first(routing, "smart", RequestFacts(prompt_tokens=50)) == "small", "a short prompt without analysis"


def test_alias_needs_apply_to_every_request_of_the_alias() -> None:
    routing = table(ALIASES)
    assert first(routing, "see", RequestFacts(prompt_tokens=10)) == "mid"
    resolution = routing.resolve("roomy", RequestFacts(prompt_tokens=10))
    plan = routing.plan(resolution, candidates(resolution.entries, {}), RequestFacts(prompt_tokens=10))
    assert [c.deployment_id for c in plan.order] == ["big"]
    assert "min_context_tokens 100000" in plan.skipped[0].detail


def test_embedded_default_demonstrates_auto_fast_and_cheap() -> None:
    routing = RoutingTable.build(load_config(None), rng=random.Random(0))
    assert {("auto", "alias"), ("fast", "alias"), ("cheap", "alias")} <= set(routing.names())
    easy, hard = RequestFacts(prompt_tokens=20, p_cheap_ok=0.95), RequestFacts(prompt_tokens=20, p_cheap_ok=0.1)
    assert first(routing, "auto", easy).startswith("llama-3.1-8b")
    assert not first(routing, "auto", hard).startswith(("llama-3.1-8b", "gpt-4o-mini"))
    assert first(routing, "cheap", easy).startswith("llama-3.1-8b")
    eu = RequestFacts(prompt_tokens=20, region="eu", data_classification="confidential")
    resolution = routing.resolve("default", eu)
    plan = routing.plan(resolution, candidates(resolution.entries, {}), eu)
    assert [c.entry.upstream_model for c in plan.order] == ["fake-llama-3.1-70b"]


def test_auto_by_strong_share_goes_cheap_above_the_calibrated_threshold_and_strong_below() -> None:
    threshold = ComplexityModel.load().threshold_for_share(0.5)
    routing = table("switchyard:\n  aliases:\n    auto: {policy: auto, groups: [small, big], strong_share: 0.5}\n")
    assert first(routing, "auto", RequestFacts(prompt_tokens=10, p_cheap_ok=min(threshold + 0.05, 1.0))) == "small"
    assert first(routing, "auto", RequestFacts(prompt_tokens=10, p_cheap_ok=max(threshold - 0.05, 0.0))) == "big"
    resolution = routing.resolve("auto", RequestFacts(prompt_tokens=10))
    unanalysed = routing.plan(resolution, candidates(resolution.entries, {}), RequestFacts(prompt_tokens=10))
    assert unanalysed.order[0].deployment_id == "big" and "no analysis" in unanalysed.reason
    assert resolution.target == "auto" and routing.fixed_target("auto") == "auto", "the cache is the alias's"


def test_the_deprecated_two_group_auto_alias_routes_as_its_pool_form() -> None:
    with pytest.warns(DeprecationWarning, match="switchyard.aliases.auto: the two-group form"):
        migrated = table("switchyard:\n  aliases:\n    auto: {cheap: small, strong: big, strong_share: 0.5}\n")
    pool = table("switchyard:\n  aliases:\n    auto: {policy: auto, groups: [small, big], strong_share: 0.5}\n")
    assert migrated.config.switchyard.aliases == pool.config.switchyard.aliases
    chosen = {p: first(migrated, "auto", RequestFacts(prompt_tokens=10, p_cheap_ok=p)) for p in (0.0, 1.0, None)}
    assert chosen == {0.0: "big", 1.0: "small", None: "big"}


RULES = """
switchyard:
  aliases:
    cheap: {policy: cheap, groups: [mid, small]}
  rules:
    - {name: code, match: {category: code, min_category_confidence: 0.5}, route_to: coder}
    - {name: summaries, match: {category: [summarization], min_prompt_tokens: 5000}, models: [cheap], route_to: long}
    - {match: {tags: {team: [legal, compliance]}, metadata: {tier: gold}}, route_to: big}
"""


def test_content_rules_route_by_category_tags_and_metadata() -> None:
    routing = table(RULES)
    coded = routing.resolve("small", RequestFacts(category="code", category_confidence=0.9))
    assert coded.target == "coder" and coded.reason.startswith("rule code") and coded.requested == "small"
    assert coded.rule == "code"
    assert routing.resolve("small", RequestFacts(category="code", category_confidence=0.3)).target == "small"
    long_text = RequestFacts(category="summarization", category_confidence=0.8, prompt_tokens=9000)
    assert routing.resolve("cheap", long_text).target == "long"
    assert routing.resolve("mid", long_text).target == "mid", "the rule applies to requests for `cheap` only"
    short_text = RequestFacts(category="summarization", prompt_tokens=100)
    assert routing.resolve("cheap", short_text).target == "cheap"
    gold = RequestFacts(tags={"team": "legal"}, metadata={"tier": "gold"})
    assert routing.resolve("mid", gold).target == "big" and "rule #2" in routing.resolve("mid", gold).reason
    assert routing.resolve("mid", RequestFacts(tags={"team": "legal"})).target == "mid"


def test_rules_with_unknown_categories_are_refused() -> None:
    text = MODELS + "switchyard:\n  rules:\n    - {match: {category: cooking}, route_to: big}\n"
    with pytest.raises(ConfigError, match="unknown \\['cooking'\\]"):
        RoutingTable.build(parse_config(text))


EXPERIMENTS = """
switchyard:
  experiments:
    mid-vs-small:
      model: mid
      sticky: session
      arms: [{name: control, group: mid, weight: 3}, {name: candidate, group: small, weight: 1}]
    chat-test:
      model: chat-exp
      sticky: user
      arms: [{name: a, group: big}, {name: b, group: mid}]
      shadow: {group: small, share: 0.25}
"""


def test_ab_arms_are_sticky_per_session_and_recorded() -> None:
    routing = table(EXPERIMENTS)
    facts = RequestFacts(session_key="session-42", user="u1")
    arms = {routing.resolve("mid", facts).arm for _ in range(1000)}
    assert len(arms) == 1
    chosen = routing.resolve("mid", facts)
    assert chosen.experiment == "mid-vs-small" and f"arm {chosen.arm} (session)" in chosen.reason
    other_replica = table(EXPERIMENTS, seed=99)
    assert other_replica.resolve("mid", facts).arm == chosen.arm, "stickiness holds across replicas"


def test_ab_arms_split_keys_in_proportion_to_weight() -> None:
    routing = table(EXPERIMENTS)
    counts = Counter(routing.resolve("mid", RequestFacts(session_key=f"s{i}")).arm for i in range(4000))
    assert counts["control"] / 4000 == pytest.approx(0.75, abs=0.03)
    targets = {routing.resolve("mid", RequestFacts(session_key=f"s{i}")).target for i in range(50)}
    assert targets == {"mid", "small"}


def test_ab_sticky_key_falls_back_and_is_random_without_one() -> None:
    routing = table(EXPERIMENTS)
    by_user = {routing.resolve("chat-exp", RequestFacts(user="alice", session_key=f"s{i}")).arm for i in range(200)}
    assert len(by_user) == 1, "sticky: user ignores the session key"
    keyless = Counter(routing.resolve("chat-exp", RequestFacts()).arm for _ in range(400))
    assert set(keyless) == {"a", "b"}
    assert ("chat-exp", "alias") in routing.names()


def test_shadow_traffic_copies_a_share_of_requests_to_the_candidate() -> None:
    routing = table(EXPERIMENTS, seed=3)
    resolutions = [routing.resolve("chat-exp", RequestFacts(user=f"u{i}")) for i in range(4000)]
    shadows = [r.shadow for r in resolutions if r.shadow is not None]
    assert len(shadows) / 4000 == pytest.approx(0.25, abs=0.03)
    assert all(isinstance(s, Resolution) and s.target == "small" for s in shadows)
    assert all("shadow copy to small" in r.reason for r in resolutions if r.shadow is not None)
    shadow_plan: Plan = routing.plan(shadows[0], candidates(shadows[0].entries, {}), RequestFacts(region="eu"))
    assert shadow_plan.order == (), "a shadow copy obeys the same residency rules"
