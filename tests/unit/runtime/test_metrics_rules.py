"""deploy/prometheus and deploy/grafana: alert rules are well-formed, and every metric an alert or a
dashboard panel queries is one Switchyard exports (read from the registry all services register in)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

import switchyard.services.cache.metrics
import switchyard.services.classifier.metrics
import switchyard.services.evaluator.metrics
import switchyard.services.providers.metrics
import switchyard.services.router.metrics
from switchyard.runtime.metrics import REGISTRY
from tests.support import ROOT

DEPLOY = ROOT / "deploy"
METRIC = re.compile(r"\bswitchyard_[a-z0-9_]+\b")
# Series Prometheus itself adds to every scrape target.
PROMETHEUS_SERIES = {"up"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
METRICS_MODULES = (
    switchyard.services.cache.metrics,
    switchyard.services.classifier.metrics,
    switchyard.services.evaluator.metrics,
    switchyard.services.providers.metrics,
    switchyard.services.router.metrics,
)


def exported() -> set[str]:
    """Returns every sample name the services' metrics modules can expose."""
    assert METRICS_MODULES
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def _rules() -> list[dict[str, Any]]:
    data = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def _dashboard() -> dict[str, Any]:
    data = json.loads((DEPLOY / "grafana" / "switchyard.json").read_text())
    assert isinstance(data, dict)
    return data


def _panel_exprs() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in _dashboard()["panels"] for target in panel["targets"]]


def test_the_registry_exports_the_metrics_the_rules_build_on() -> None:
    names = exported()
    for name in (
        "switchyard_router_requests_total",
        "switchyard_router_circuit_state",
        "switchyard_shared_state_up",
        "switchyard_cache_hits_total",
        "switchyard_provider_errors_total",
        "switchyard_classifier_analyses_total",
    ):
        assert name in names


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: str(rule.get("alert")))
def test_each_alert_rule_is_well_formed(rule: dict[str, Any]) -> None:
    assert re.fullmatch(r"Switchyard[A-Z][A-Za-z0-9]+", rule["alert"])
    assert isinstance(rule["expr"], str) and rule["expr"].strip()
    assert re.fullmatch(r"\d+[smh]", rule["for"]), "an alert waits before it fires"
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert rule["expr"].count("(") == rule["expr"].count(")")


def test_alert_rules_cover_what_operators_are_paged_for() -> None:
    by_metric = " ".join(rule["expr"] for rule in _rules())
    for needed in (
        "switchyard_router_failovers_total",
        "switchyard_provider_errors_total",
        "switchyard_router_budget_hard_cap_usd",
        "switchyard_shared_state_up",
        "switchyard_router_circuit_state",
    ):
        assert needed in by_metric, f"no alert on {needed}"
    assert any("0.8" in rule["expr"] and "budget" in rule["expr"] for rule in _rules()), "no 80 % budget alert"


def test_every_metric_an_alert_queries_is_exported() -> None:
    names = exported()
    for rule in _rules():
        used = set(METRIC.findall(rule["expr"]))
        assert used or PROMETHEUS_SERIES & set(re.findall(r"\b[a-z_]+\b", rule["expr"])), rule["alert"]
        assert used <= names, f"{rule['alert']} queries unknown metrics {sorted(used - names)}"


def test_every_metric_a_dashboard_panel_queries_is_exported() -> None:
    names = exported()
    exprs = _panel_exprs()
    assert exprs
    for title, expr in exprs:
        used = set(METRIC.findall(expr))
        assert used, f"panel {title!r} queries no Switchyard metric"
        assert used <= names, f"panel {title!r} queries unknown metrics {sorted(used - names)}"


def test_the_dashboard_shows_cost_traffic_latency_cache_failovers_and_budgets() -> None:
    text = " ".join(expr for _, expr in _panel_exprs())
    for shown in (
        "sum by (model) (rate(switchyard_router_cost_usd_total",
        "sum by (team) (rate(switchyard_router_cost_usd_total",
        "switchyard_provider_calls_total",
        "switchyard_provider_errors_total",
        "histogram_quantile(0.95, sum by (le, provider, model) (rate(switchyard_router_request_duration_seconds_bucket",
        "switchyard_router_time_to_first_token_seconds_bucket",
        "switchyard_cache_hits_total",
        "switchyard_router_cache_saved_usd_total",
        "switchyard_router_failovers_total",
        "switchyard_router_budget_spent_usd",
    ):
        assert shown in text, f"no panel queries {shown}"
    dashboard = _dashboard()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    sources = {target["datasource"]["uid"] for panel in dashboard["panels"] for target in panel["targets"]}
    provisioned = yaml.safe_load((DEPLOY / "grafana" / "datasource.yml").read_text())["datasources"]
    assert sources == {source["uid"] for source in provisioned}
