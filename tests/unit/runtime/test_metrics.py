"""Metrics as a scrape sees them: the router's request hook, budgets, circuits and rate limits from the
real in-memory state, the cache's counters, label bounds and the /metrics HTTP endpoint."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from switchyard.common.v1 import errors_pb2, route_pb2
from switchyard.config import load_config
from switchyard.router.v1 import admin_pb2
from switchyard.runtime.metrics import NONE, OTHER, REGISTRY, Bounded, observe_http, serve_metrics
from switchyard.services.cache import metrics as cache_metrics
from switchyard.services.cache.stats import Stats
from switchyard.services.router import metrics
from switchyard.services.router.state import CircuitPolicy, MemoryState
from switchyard.services.router.walk import Policies
from tests.support import free_port, port_open


def value(name: str, **labels: str) -> float:
    """Returns a sample's current value in the shared registry (0 when it does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _attempt(error_class: str, reason: errors_pb2.ErrorReason.ValueType) -> route_pb2.Attempt:
    return route_pb2.Attempt(outcome=route_pb2.ATTEMPT_OUTCOME_FAILED, error_class=error_class, error_reason=reason)


def test_one_request_moves_requests_latency_ttft_tokens_cost_and_failovers() -> None:
    record = admin_pb2.LedgerRecord(
        alias="unit-alias",
        provider="openai",
        model="unit-model",
        team="unit-team",
        app="unit-app",
        feature="summaries",
        prompt_tokens=12,
        completion_tokens=30,
        cost_usd=0.25,
        latency_ms=1500,
        ttft_ms=200,
        cache="miss",
        status="ok",
        stream=True,
    )
    route = route_pb2.RouteRecord(
        attempts=[
            _attempt("RateLimitError", errors_pb2.ERROR_REASON_UPSTREAM_RATE_LIMITED),
            _attempt("", errors_pb2.ERROR_REASON_UPSTREAM_TIMEOUT),
            route_pb2.Attempt(outcome=route_pb2.ATTEMPT_OUTCOME_SUCCESS),
            route_pb2.Attempt(outcome=route_pb2.ATTEMPT_OUTCOME_SKIPPED),
        ]
    )
    labels = {"provider": "openai", "model": "unit-model"}
    before_rate = value("switchyard_router_failovers_total", cause="RateLimitError")
    before_timeout = value("switchyard_router_failovers_total", cause="upstream_timeout")
    before_miss = value("switchyard_router_cache_results_total", result="miss")

    metrics.observe_request(record, route)

    requests = {**labels, "alias": "unit-alias", "status": "ok", "stream": "true"}
    assert value("switchyard_router_requests_total", **requests) == 1
    assert value("switchyard_router_request_duration_seconds_sum", **labels) == 1.5
    assert value("switchyard_router_request_duration_seconds_bucket", **labels, le="1.0") == 0
    assert value("switchyard_router_request_duration_seconds_bucket", **labels, le="2.5") == 1
    assert value("switchyard_router_time_to_first_token_seconds_sum", **labels) == 0.2
    assert value("switchyard_router_tokens_total", **labels, kind="prompt") == 12
    assert value("switchyard_router_tokens_total", **labels, kind="completion") == 30
    cost = {"model": "unit-model", "team": "unit-team", "app": "unit-app", "feature": "summaries"}
    assert value("switchyard_router_cost_usd_total", **cost) == 0.25
    assert value("switchyard_router_cache_results_total", result="miss") == before_miss + 1
    assert value("switchyard_router_failovers_total", cause="RateLimitError") == before_rate + 1
    assert value("switchyard_router_failovers_total", cause="upstream_timeout") == before_timeout + 1


def test_a_cache_hit_counts_its_saving_and_no_cost_or_first_token() -> None:
    record = admin_pb2.LedgerRecord(alias="unit-hit", cache="hit", saved_usd=0.5, status="ok", latency_ms=3)
    metrics.observe_request(record, None)
    assert value("switchyard_router_cache_saved_usd_total", alias="unit-hit") == 0.5
    none = {"provider": NONE, "model": NONE}
    assert value("switchyard_router_requests_total", alias="unit-hit", status="ok", stream="false", **none) == 1
    assert value("switchyard_router_time_to_first_token_seconds_count", **none) == 0


def test_budget_use_and_alerts_are_published_per_scope_id_and_window() -> None:
    use = admin_pb2.BudgetUse(scope="team", id="unit-ml", window="daily", spent_usd=8, reserved_usd=0.5, hard_usd=10)
    metrics.set_budget_use(use)
    labels = {"scope": "team", "id": "unit-ml", "window": "daily"}
    assert value("switchyard_router_budget_spent_usd", **labels) == 8
    assert value("switchyard_router_budget_reserved_usd", **labels) == 0.5
    assert value("switchyard_router_budget_hard_cap_usd", **labels) == 10
    metrics.set_budget_use(admin_pb2.BudgetUse(scope="team", id="unit-ml", window="daily", spent_usd=9, hard_usd=10))
    assert value("switchyard_router_budget_spent_usd", **labels) == 9, "a gauge, replaced by the newest use"
    metrics.budget_alert("team", "unit-ml", "daily", "80")
    metrics.budget_alert("team", "unit-ml", "daily", "80")
    assert value("switchyard_router_budget_alerts_total", **labels, level="80") == 2
    assert value("switchyard_router_budget_alerts_total", **labels, level="100") == 0


def test_client_chosen_label_values_are_bounded() -> None:
    bounded = Bounded(limit=3)
    assert [bounded(v) for v in ("a", "b", "", "c", "d", "a", "e")] == ["a", "b", NONE, "c", OTHER, "a", OTHER]


CONFIG = """
model_list:
  - model_name: limited
    litellm_params: {model: openai/unit-limited, api_base: "http://127.0.0.1:9/v1", api_key: sk-x, rpm: 4, tpm: 1000}
  - model_name: flaky
    litellm_params: {model: openai/unit-flaky, api_base: "http://127.0.0.1:9/v1", api_key: sk-x}
"""


def _gauges(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


async def test_circuits_rate_limits_and_shared_state_are_read_from_the_state_at_scrape_time(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    policies = Policies.build(load_config(path), None, (0.1, 1.0), random.Random(1))
    limited, flaky = (entry for entry in policies.config.model_list)
    state = MemoryState()
    metrics.watch_state(state, lambda: policies)
    for _ in range(3):
        assert (await state.admit(policies.limits_of(limited), 100)).ok
    policy = CircuitPolicy(allowed_fails=1, cooldown_s=60)
    while await state.record_failure(flaky.deployment_id, policy) != "open":
        pass
    # A scrape comes from the metrics thread; the collector reads the state on this event loop.
    scraped = _gauges((await asyncio.to_thread(generate_latest, REGISTRY)).decode())
    circuit = "switchyard_router_circuit_state"
    limited_labels = {("deployment", limited.deployment_id), ("group", "limited"), ("provider", "openai")}
    flaky_labels = {("deployment", flaky.deployment_id), ("group", "flaky"), ("provider", "openai")}
    assert scraped[(circuit, frozenset(limited_labels))] == 0
    assert scraped[(circuit, frozenset(flaky_labels))] == 2
    use = "switchyard_router_rate_limit_utilization_ratio"
    by_limit = {("deployment", limited.deployment_id), ("group", "limited")}
    assert scraped[(use, frozenset({*by_limit, ("limit", "rpm")}))] == 0.75
    assert scraped[(use, frozenset({*by_limit, ("limit", "tpm")}))] == 0.3
    assert not any(name == use and ("group", "flaky") in labels for name, labels in scraped)
    assert scraped[("switchyard_router_in_flight_requests", frozenset(by_limit))] == 3
    assert scraped[("switchyard_shared_state_up", frozenset())] == 1
    await state.close()


def test_cache_counters_become_counters_and_a_cumulative_similarity_histogram() -> None:
    stats = Stats(lookups=5, guard_rejections=1)
    stats.hit(semantic=False, tokens=10, cost_usd=0.01)
    stats.hit(semantic=True, tokens=20, cost_usd=0.02)
    for best in (0.3, 0.72, 0.97):
        stats.similarity(best)
    stats.refused("too_large")
    samples = {}
    for family in cache_metrics.families(stats, None):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    assert samples[("switchyard_cache_misses_total", ())] == 3
    assert samples[("switchyard_cache_hits_total", (("tier", "semantic"),))] == 1
    assert samples[("switchyard_cache_tokens_saved_total", ())] == 30
    assert samples[("switchyard_cache_store_refusals_total", (("reason", "too_large"),))] == 1
    buckets = {labels[0][1]: count for (name, labels), count in samples.items() if name.endswith("_bucket")}
    assert buckets["0.5"] == 1 and buckets["0.7"] == 1 and buckets["0.75"] == 2 and buckets["0.95"] == 2
    assert buckets["1.0"] == 3 and buckets["+Inf"] == 3


def test_edge_requests_are_counted_by_route_method_and_status() -> None:
    observe_http("/v1/unit", "post", 429, 0.02)
    assert value("switchyard_edge_http_requests_total", route="/v1/unit", method="POST", status="429") == 1
    assert value("switchyard_edge_http_request_duration_seconds_count", route="/v1/unit", method="POST") == 1


def test_the_endpoint_serves_the_registry_until_closed_and_port_zero_turns_it_off() -> None:
    assert serve_metrics("127.0.0.1", 0).port == 0
    port = free_port()
    endpoint = serve_metrics("127.0.0.1", port)
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert reply.status_code == 200
        assert "switchyard_router_requests_total" in reply.text
    finally:
        endpoint.close()
    assert not port_open(port)
