"""Each routing strategy ranks the deployments a request may go to as its config name promises."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
import yaml

from switchyard.config import ModelEntry, parse_config
from switchyard.services.router.strategies import (
    Candidate,
    DeploymentStats,
    RequestFacts,
    ShareRule,
    StrategyOptions,
    lookup,
)
from switchyard.services.router.strategies.cost import CostBased
from switchyard.services.router.strategies.latency import LatencyBased
from switchyard.services.router.strategies.least_busy import LeastBusy
from switchyard.services.router.strategies.quality import CostQuality, length_p_cheap_ok
from switchyard.services.router.strategies.shuffle import SimpleShuffle
from switchyard.services.router.strategies.usage import UsageBased


def entries(*specs: dict[str, Any]) -> list[ModelEntry]:
    """Returns one deployment per spec: id (required), params (litellm_params extras), info (model_info)."""
    model_list = [
        {
            "model_name": "g",
            "litellm_params": {"model": f"openai/{spec['id']}", **spec.get("params", {})},
            "model_info": {"id": spec["id"], **spec.get("info", {})},
        }
        for spec in specs
    ]
    return parse_config(yaml.safe_dump({"model_list": model_list})).model_list


def ids(candidates: tuple[Candidate, ...] | list[Candidate]) -> list[str]:
    return [c.deployment_id for c in candidates]


def options(seed: int = 7, **kwargs: Any) -> StrategyOptions:
    return StrategyOptions(rng=random.Random(seed), **kwargs)


def test_every_litellm_strategy_name_is_registered() -> None:
    litellm = {
        "simple-shuffle",
        "latency-based-routing",
        "least-busy",
        "usage-based-routing",
        "usage-based-routing-v2",
        "cost-based-routing",
    }
    for name in litellm:
        strategy = lookup(name)
        assert strategy is not None and strategy.plan([], RequestFacts()).order == ()


def test_cost_based_picks_the_cheapest_for_this_request_and_puts_unpriced_last() -> None:
    pool = entries(
        {"id": "pricey", "info": {"input_cost_per_token": 1e-5, "output_cost_per_token": 3e-5}},
        {"id": "unpriced"},
        # Cheap to read, dear to write: wins for a long prompt with a short answer only.
        {"id": "reader", "info": {"input_cost_per_token": 1e-7, "output_cost_per_token": 1e-4}},
        {"id": "even", "info": {"input_cost_per_token": 2e-6, "output_cost_per_token": 2e-6}},
    )
    strategy = CostBased(options(expected_output_tokens=256))
    long_prompt = strategy.plan([Candidate(e) for e in pool], RequestFacts(prompt_tokens=50_000, max_output_tokens=10))
    assert ids(long_prompt.order) == ["reader", "even", "pricey", "unpriced"]
    assert "reader" in long_prompt.reason and long_prompt.score == pytest.approx(50_000 * 1e-7 + 10 * 1e-4)
    chatty = strategy.plan([Candidate(e) for e in pool], RequestFacts(prompt_tokens=100))
    assert ids(chatty.order)[0] == "even", "256 expected output tokens make the reader dear"


def test_latency_based_picks_the_lowest_ewma_and_the_one_that_matters_for_streams() -> None:
    pool = entries({"id": "a"}, {"id": "b"}, {"id": "c"})
    stats = [
        DeploymentStats(latency_ms=900, ttft_ms=100, samples=50),
        DeploymentStats(latency_ms=400, ttft_ms=350, samples=50),
        DeploymentStats(latency_ms=600, ttft_ms=200, samples=50),
    ]
    candidates = [Candidate(e, s) for e, s in zip(pool, stats, strict=True)]
    strategy = LatencyBased(options(exploration_rate=0.0))
    assert ids(strategy.plan(candidates, RequestFacts()).order) == ["b", "c", "a"]
    streamed = strategy.plan(candidates, RequestFacts(stream=True))
    assert ids(streamed.order) == ["a", "c", "b"] and streamed.score == 100


def test_latency_based_measures_unmeasured_deployments_first() -> None:
    pool = entries({"id": "known"}, {"id": "new"})
    candidates = [Candidate(pool[0], DeploymentStats(latency_ms=50, samples=9)), Candidate(pool[1])]
    plan = LatencyBased(options(exploration_rate=0.0)).plan(candidates, RequestFacts())
    assert ids(plan.order) == ["new", "known"] and "not measured" in plan.reason


def test_latency_based_explores_at_the_configured_rate() -> None:
    pool = entries({"id": "quick"}, {"id": "recovered"}, {"id": "slow"})
    spoilt = [DeploymentStats(latency_ms=ms, samples=20) for ms in (100, 5000, 800)]
    candidates = [Candidate(e, s) for e, s in zip(pool, spoilt, strict=True)]
    strategy = LatencyBased(options(seed=11, exploration_rate=0.1))
    firsts = Counter(strategy.plan(candidates, RequestFacts()).order[0].deployment_id for _ in range(5000))
    explored = firsts["recovered"] + firsts["slow"]
    assert 0.08 * 5000 < explored < 0.12 * 5000
    assert firsts["recovered"] > 150, "the deployment with the spoilt EWMA gets measured again"
    never = LatencyBased(options(exploration_rate=0.0))
    assert {never.plan(candidates, RequestFacts()).order[0].deployment_id for _ in range(500)} == {"quick"}


def test_least_busy_picks_the_fewest_in_flight_and_spreads_ties() -> None:
    pool = entries({"id": "busy"}, {"id": "idle-1"}, {"id": "idle-2"})
    flights = [DeploymentStats(in_flight=n) for n in (7, 0, 0)]
    candidates = [Candidate(e, s) for e, s in zip(pool, flights, strict=True)]
    strategy = LeastBusy(options())
    plans = [strategy.plan(candidates, RequestFacts()) for _ in range(400)]
    assert all(ids(p.order)[-1] == "busy" for p in plans)
    firsts = Counter(p.order[0].deployment_id for p in plans)
    assert firsts["idle-1"] > 150 and firsts["idle-2"] > 150


def test_usage_based_picks_the_most_rpm_tpm_headroom() -> None:
    pool = entries(
        {"id": "tight-rpm", "params": {"rpm": 100, "tpm": 100_000}},
        {"id": "roomy", "params": {"rpm": 100, "tpm": 100_000}},
        {"id": "provider-says-low", "params": {"rpm": 100, "tpm": 100_000}},
    )
    usage = [
        DeploymentStats(rpm_used=90, tpm_used=1_000),
        DeploymentStats(rpm_used=30, tpm_used=40_000),
        DeploymentStats(rpm_used=5, tpm_used=1_000, remaining_requests=20),
    ]
    candidates = [Candidate(e, s) for e, s in zip(pool, usage, strict=True)]
    plan = UsageBased(options()).plan(candidates, RequestFacts(prompt_tokens=1_000))
    assert ids(plan.order) == ["roomy", "provider-says-low", "tight-rpm"]
    assert plan.score == pytest.approx(0.59)


def test_weighted_shuffle_draws_first_in_proportion_to_weight() -> None:
    pool = entries(
        {"id": "w1", "params": {"weight": 1}},
        {"id": "w3", "params": {"weight": 3}},
        {"id": "w0", "params": {"weight": 0}},
    )
    strategy = SimpleShuffle(options(seed=3))
    firsts = Counter(
        strategy.plan([Candidate(e) for e in pool], RequestFacts()).order[0].deployment_id for _ in range(8000)
    )
    assert firsts["w0"] == 0, "weight 0 is only a last resort"
    assert firsts["w3"] / 8000 == pytest.approx(0.75, abs=0.02)


def test_shuffle_keeps_order_tiers() -> None:
    pool = entries(
        {"id": "backup", "params": {"order": 2}},
        {"id": "p1", "params": {"order": 1}},
        {"id": "p2", "params": {"order": 1}},
    )
    strategy = SimpleShuffle(options())
    for _ in range(200):
        order = ids(strategy.plan([Candidate(e) for e in pool], RequestFacts()).order)
        assert order[-1] == "backup" and set(order[:2]) == {"p1", "p2"}


def test_cost_quality_picks_the_cheapest_whose_predicted_quality_meets_the_floor() -> None:
    pool = entries(
        {"id": "strong", "info": {"quality": 0.95, "input_cost_per_token": 1e-5, "output_cost_per_token": 1e-5}},
        {"id": "mid", "info": {"quality": 0.6, "input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}},
        {"id": "small", "info": {"quality": 0.2, "input_cost_per_token": 1e-7, "output_cost_per_token": 1e-7}},
    )
    strategy = CostQuality(options(quality_floor=0.8))
    candidates = [Candidate(e) for e in pool]
    # Q = p + (1 - p) * quality: small needs p >= 0.75, mid needs p >= 0.5, strong always meets 0.8.
    assert ids(strategy.plan(candidates, RequestFacts(p_cheap_ok=0.9)).order)[0] == "small"
    assert ids(strategy.plan(candidates, RequestFacts(p_cheap_ok=0.6)).order)[0] == "mid"
    hard = strategy.plan(candidates, RequestFacts(p_cheap_ok=0.1))
    assert ids(hard.order) == ["strong", "mid", "small"], "failover falls back towards quality"
    assert hard.score == pytest.approx(0.1 + 0.9 * 0.95)


def test_cost_quality_uses_category_quality_and_length_without_analysis() -> None:
    pool = entries(
        {"id": "coder", "info": {"quality": 0.3, "quality_by_category": {"code": 0.9}, "input_cost_per_token": 1e-7}},
        {"id": "general", "info": {"quality": 0.9, "input_cost_per_token": 1e-5}},
    )
    strategy = CostQuality(options(quality_floor=0.8, length_midpoint_tokens=1000))
    candidates = [Candidate(e) for e in pool]
    assert ids(strategy.plan(candidates, RequestFacts(p_cheap_ok=0.2, category="code")).order)[0] == "coder"
    assert ids(strategy.plan(candidates, RequestFacts(p_cheap_ok=0.2, category="math")).order)[0] == "general"
    assert length_p_cheap_ok(1000, 1000) == 0.5
    short = strategy.plan(candidates, RequestFacts(prompt_tokens=20))
    assert ids(short.order)[0] == "coder" and "length-based" in short.reason
    long = strategy.plan(candidates, RequestFacts(prompt_tokens=20_000))
    assert ids(long.order)[0] == "general"


def test_cost_quality_by_strong_share_sends_easy_requests_to_the_cheapest_and_the_rest_to_the_best() -> None:
    pool = entries(
        {"id": "strong", "info": {"quality": 0.95, "input_cost_per_token": 1e-5}},
        {"id": "small", "info": {"quality": 0.2, "input_cost_per_token": 1e-7}},
        {"id": "mid", "info": {"quality": 0.6, "input_cost_per_token": 1e-6}},
    )
    strategy = CostQuality(options(share=ShareRule(strong_share=0.3, threshold=0.5)))
    candidates = [Candidate(e) for e in pool]
    easy = strategy.plan(candidates, RequestFacts(prompt_tokens=10, p_cheap_ok=0.5))
    assert ids(easy.order) == ["small", "mid", "strong"]
    assert easy.reason.startswith("p_cheap_ok 0.50 >= 0.50 (for 30% strong): cheapest small")
    hard = strategy.plan(candidates, RequestFacts(prompt_tokens=10, p_cheap_ok=0.49))
    assert ids(hard.order) == ["strong", "mid", "small"] and "highest quality strong (quality 0.95)" in hard.reason
    unanalysed = strategy.plan(candidates, RequestFacts(prompt_tokens=10))
    assert ids(unanalysed.order)[0] == "strong" and unanalysed.reason.startswith("no analysis")


def test_cost_quality_by_strong_share_reads_a_pool_without_prices_or_qualities_cheap_to_strong() -> None:
    text = """
model_list:
  - {model_name: strong, litellm_params: {model: openai/second, order: 2}, model_info: {id: second}}
  - {model_name: cheap, litellm_params: {model: openai/solo}, model_info: {id: solo}}
  - {model_name: strong, litellm_params: {model: openai/first, order: 1}, model_info: {id: first}}
"""
    candidates = [Candidate(e) for e in parse_config(text).model_list]
    strategy = CostQuality(options(share=ShareRule(strong_share=0.5, threshold=0.4, groups=("cheap", "strong"))))
    easy = strategy.plan(candidates, RequestFacts(p_cheap_ok=0.9))
    assert ids(easy.order) == ["solo", "first", "second"] and "cheapest solo (unpriced)" in easy.reason
    hard = strategy.plan(candidates, RequestFacts(p_cheap_ok=0.1))
    assert ids(hard.order) == ["first", "second", "solo"], "the later group is the stronger; `order` within it"
    assert "highest quality first (unrated)" in hard.reason
