"""Route decision cost: `python -m bench.route`.

The CPU time of one routing decision with 50 deployments, no network: resolving the requested name
(content rules, experiment arm, alias policy) and planning it (residency, capability and window
filters, utilisation, circuits, then the strategy), including building the 50 candidates from a
stats snapshot. The stats are what a busy gateway sees: measured EWMAs, requests in flight, rpm/tpm
use near and far from the limits, one open and one half-open circuit.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

import yaml

from switchyard.config import Config, parse_config
from switchyard.services.router.routing import RoutingTable, candidates
from switchyard.services.router.strategies import DeploymentStats, RequestFacts

DEPLOYMENTS = 50
GROUPS = 5
STRATEGIES = ("simple-shuffle", "cost-based-routing", "latency-based-routing", "least-busy", "usage-based-routing")
REGIONS = ("us-east-1", "eu-west-1", "europe-west4", "us-central1", "westeurope")


def bench_config(deployments: int = DEPLOYMENTS) -> Config:
    """Returns a config of `deployments` priced, windowed, regioned deployments in five groups, each
    group with its own strategy, plus auto/fast/cheap aliases over all of them, two content rules and
    an A/B experiment."""
    rng = random.Random(42)
    model_list: list[dict[str, Any]] = []
    for index in range(deployments):
        price = rng.choice((1e-7, 6e-7, 2.5e-6, 1e-5))
        model_list.append(
            {
                "model_name": f"group-{index % GROUPS}",
                "litellm_params": {
                    "model": f"openai/model-{index}",
                    "rpm": 600,
                    "tpm": 400_000,
                    "region_name": REGIONS[index % len(REGIONS)],
                },
                "model_info": {
                    "id": f"d{index}",
                    "max_tokens": rng.choice((8192, 32_000, 128_000)),
                    "input_cost_per_token": price,
                    "output_cost_per_token": price * 3,
                    "quality": round(rng.uniform(0.3, 0.95), 2),
                    "supports_vision": index % 3 != 0,
                    "data_classification": rng.choice(("internal", "confidential", "restricted")),
                },
            }
        )
    groups = [f"group-{g}" for g in range(GROUPS)]
    switchyard = {
        "groups": {name: {"routing_strategy": STRATEGIES[g]} for g, name in enumerate(groups)},
        "aliases": {
            "auto": {"policy": "auto", "quality_floor": 0.8},
            "fast": {"policy": "fast"},
            "cheap": {"policy": "cheap"},
        },
        "rules": [
            {"name": "code", "match": {"category": "code"}, "models": ["auto"], "route_to": "group-1"},
            {"match": {"tags": {"team": ["legal"]}}, "route_to": "group-2"},
        ],
        "experiments": {
            "ab": {"model": "group-0", "arms": [{"name": "a", "group": "group-0"}, {"name": "b", "group": "group-3"}]}
        },
    }
    return parse_config(yaml.safe_dump({"model_list": model_list, "switchyard": switchyard}))


def busy_stats(config: Config, seed: int = 7) -> dict[str, DeploymentStats]:
    """Returns a snapshot of a busy gateway's state for every deployment."""
    rng = random.Random(seed)
    stats = {}
    for index, entry in enumerate(config.model_list):
        circuit = "open" if index == 7 else "half_open" if index == 13 else "closed"
        stats[entry.deployment_id] = DeploymentStats(
            latency_ms=rng.uniform(300, 3000),
            ttft_ms=rng.uniform(80, 900),
            samples=rng.randrange(20, 5000),
            in_flight=rng.randrange(0, 40),
            rpm_used=rng.randrange(0, 600),
            tpm_used=rng.randrange(0, 400_000),
            rpm_limit=600,
            tpm_limit=400_000,
            circuit=circuit,  # type: ignore[arg-type]
        )
    return stats


@dataclass(frozen=True)
class Scenario:
    name: str
    model: str
    facts: RequestFacts


SCENARIOS = (
    Scenario("group of 10, cost-based", "group-1", RequestFacts(prompt_tokens=800, max_output_tokens=400)),
    Scenario("A/B experiment arm, sticky", "group-0", RequestFacts(prompt_tokens=800, session_key="s-123")),
    Scenario("auto over 50, analysed", "auto", RequestFacts(prompt_tokens=800, p_cheap_ok=0.55)),
    Scenario("fast over 50, streaming", "fast", RequestFacts(prompt_tokens=800, stream=True)),
    Scenario(
        "cheap over 50, tools + image", "cheap", RequestFacts(prompt_tokens=2000, needs_tools=True, needs_vision=True)
    ),
    Scenario(
        "cheap over 50, EU confidential",
        "cheap",
        RequestFacts(prompt_tokens=800, region="eu", data_classification="confidential"),
    ),
    Scenario("content rule -> group", "auto", RequestFacts(prompt_tokens=800, category="code", p_cheap_ok=0.4)),
)


def measure(rounds: int) -> list[dict[str, Any]]:
    """Returns p50/p99 (µs) of resolve + candidates + plan for every scenario."""
    config = bench_config()
    table = RoutingTable.build(config, rng=random.Random(1))
    stats = busy_stats(config)
    rows = []
    for scenario in SCENARIOS:
        samples, cpu = [], []
        for index in range(rounds + rounds // 10):
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            resolution = table.resolve(scenario.model, scenario.facts)
            plan = table.plan(resolution, candidates(resolution.entries, stats), scenario.facts)
            elapsed, elapsed_cpu = time.perf_counter_ns() - started, time.thread_time_ns() - started_cpu
            if index >= rounds // 10:
                samples.append(elapsed / 1000)
                cpu.append(elapsed_cpu / 1000)
        samples.sort()
        rows.append(
            {
                "scenario": scenario.name,
                "candidates": len(resolution.entries),
                "planned": len(plan.order),
                "skipped": len(plan.skipped),
                "p50_us": statistics.median(samples),
                "p99_us": samples[int(len(samples) * 0.99) - 1],
                "cpu_p50_us": statistics.median(cpu),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.route", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000, help="timed decisions per scenario (default 5000)")
    rows = measure(parser.parse_args().rounds)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"Route decision cost, {DEPLOYMENTS} deployments (resolve + candidates + plan, no network)")
    print(f"load average while measuring: {load} (a busy machine slows every figure)\n")
    print("| scenario | candidates | planned | skipped | p50 µs | p99 µs | CPU p50 µs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['scenario']} | {row['candidates']} | {row['planned']} | {row['skipped']} | "
            f"{row['p50_us']:.1f} | {row['p99_us']:.1f} | {row['cpu_p50_us']:.1f} |"
        )


if __name__ == "__main__":
    main()
