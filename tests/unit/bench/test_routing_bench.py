"""The route-decision benchmark runs every scenario over its 50 deployments."""

from __future__ import annotations

from bench.route import DEPLOYMENTS, SCENARIOS, bench_config, measure


def test_route_bench_config_has_fifty_deployments_and_every_policy() -> None:
    config = bench_config()
    assert len(config.model_list) == DEPLOYMENTS
    assert set(config.switchyard.aliases) == {"auto", "fast", "cheap"}


def test_route_bench_plans_every_scenario_and_accounts_for_every_candidate() -> None:
    rows = measure(rounds=20)
    assert [row["scenario"] for row in rows] == [scenario.name for scenario in SCENARIOS]
    for row in rows:
        assert row["planned"] + row["skipped"] == row["candidates"] > 0
    eu = next(row for row in rows if "EU" in row["scenario"])
    assert eu["skipped"] >= DEPLOYMENTS // 2, "deployments outside the EU or below confidential are skipped"
