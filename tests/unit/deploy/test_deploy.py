"""deploy/: the compose file is valid Compose and wired consistently; the image and config fit it.

No Docker engine is needed: compose.yaml is checked against the official Compose Specification
schema (tests/data/compose-spec.json) and its wiring is checked by reading it.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from switchyard.config import load_config
from tests.support import ROOT

DEPLOY = ROOT / "deploy"
SWITCHYARD_SERVICES = {"router", "classifier", "cache", "providers", "evaluator", "edge", "fake"}
GRPC_SERVICES = {"router", "classifier", "cache", "providers", "evaluator"}


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _switchyard_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Returns the compose services that run the Switchyard image, by compose name."""
    return {
        name: svc
        for name, svc in compose["services"].items()
        if svc.get("build", {}).get("dockerfile") == "deploy/Dockerfile"
    }


def _served(svc: dict[str, Any]) -> str:
    """Returns the Switchyard service a container runs: the X in `switchyard serve X`."""
    command = svc["command"]
    assert isinstance(command, list) and len(command) >= 2 and command[0] == "serve", command
    return str(command[1])


def _by_served(compose: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {_served(svc): (name, svc) for name, svc in _switchyard_services(compose).items()}


def _port(svc: dict[str, Any], served: str) -> int:
    return int(svc["environment"][f"SWITCHYARD_{served.upper()}_PORT"])


def test_compose_matches_the_compose_specification() -> None:
    errors = sorted(_validator().iter_errors(_compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c["services"]["router"].update(healthcheck_typo={"test": ["CMD", "true"]}),
        lambda c: c["services"]["edge"]["depends_on"]["router"].update(condition="healthy"),
        lambda c: c["services"]["cache"].update(command=42),
    ],
    ids=["unknown-key", "bad-condition", "bad-command"],
)
def test_the_schema_rejects_a_broken_compose_file(break_it: Any) -> None:
    broken = copy.deepcopy(_compose())
    break_it(broken)
    assert list(_validator().iter_errors(broken)), "the schema accepted a broken compose file"


def test_every_dependency_exists_and_waits_for_health_where_it_can() -> None:
    compose = _compose()
    services = compose["services"]
    for name, svc in services.items():
        for dep, spec in svc.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on missing service {dep}"
            assert dep != name
            if "healthcheck" in services[dep]:
                assert spec["condition"] == "service_healthy", f"{name} -> {dep} does not wait for health"


def test_the_stack_has_every_service_redis_a_collector_and_a_trace_viewer() -> None:
    compose = _compose()
    assert set(_by_served(compose)) == SWITCHYARD_SERVICES
    images = {svc.get("image", "") for svc in compose["services"].values()}
    assert any(i.startswith("redis:7") for i in images)
    assert any(i.startswith("otel/opentelemetry-collector-contrib") for i in images)
    assert any(i.startswith(("jaegertracing/all-in-one", "jaegertracing/jaeger")) for i in images)


def test_every_switchyard_container_serves_a_real_service_with_config_and_telemetry() -> None:
    compose = _compose()
    for name, svc in _switchyard_services(compose).items():
        assert _served(svc) in SWITCHYARD_SERVICES, f"{name} runs unknown service {_served(svc)}"
        env = svc["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
        assert env["SWITCHYARD_REDIS_URL"] == "redis://redis:6379/0"
        mounted = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
        assert mounted.get(env["SWITCHYARD_CONFIG"]) == "./config.yaml", f"{name} does not mount its config"
        assert env[f"SWITCHYARD_{_served(svc).upper()}_HOST"] == "0.0.0.0"


def test_each_grpc_service_checks_its_own_health_over_grpc() -> None:
    by_served = _by_served(_compose())
    for served in GRPC_SERVICES:
        _, svc = by_served[served]
        test = svc["healthcheck"]["test"]
        assert test == ["CMD", "switchyard", "health", f"127.0.0.1:{_port(svc, served)}"], served
    _, edge = by_served["edge"]
    edge_check = " ".join(edge["healthcheck"]["test"])
    assert f"http://127.0.0.1:{_port(edge, 'edge')}/healthz" in edge_check


def test_peer_targets_name_the_right_container_and_port() -> None:
    compose = _compose()
    by_served = _by_served(compose)
    wanted = {
        ("router", "SWITCHYARD_ROUTER_CLASSIFIER_TARGET"): "classifier",
        ("router", "SWITCHYARD_ROUTER_CACHE_TARGET"): "cache",
        ("router", "SWITCHYARD_ROUTER_PROVIDERS_TARGET"): "providers",
        ("edge", "SWITCHYARD_EDGE_ROUTER_TARGET"): "router",
    }
    for (caller, variable), callee in wanted.items():
        caller_name, caller_svc = by_served[caller]
        callee_name, callee_svc = by_served[callee]
        target = caller_svc["environment"][variable]
        assert target == f"{callee_name}:{_port(callee_svc, callee)}", variable
        assert callee_name in caller_svc["depends_on"], f"{caller_name} does not wait for {callee_name}"


def test_dockerfile_builds_one_image_for_all_services() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert instructions[0].startswith("FROM python:3.11-slim")
    install = next(line for line in instructions if line.startswith("RUN pip install ."))
    # A plain install is the whole product: nothing is installed beside the package.
    assert install == "RUN pip install ." and not any("--no-deps" in line for line in instructions)
    assert any(re.fullmatch(r"USER (?!root\b|0\b)\S+", line) for line in instructions), "runs as root"
    assert 'ENTRYPOINT ["switchyard"]' in instructions
    assert 'CMD ["serve", "router"]' in instructions
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'name = "llm-switchyard"' in pyproject
    assert re.search(r'^switchyard = "switchyard\.cli:main"$', pyproject, re.M)


def test_collector_pipelines_use_defined_components_and_reach_the_trace_viewer() -> None:
    compose = _compose()
    collector = compose["services"]["otel-collector"]
    assert "./otel-collector.yaml:/etc/otelcol-contrib/config.yaml:ro" in collector["volumes"]
    config = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    pipelines = config["service"]["pipelines"]
    assert "traces" in pipelines
    for kind in ("receivers", "processors", "exporters"):
        for pipeline in pipelines.values():
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"{component} is not defined under {kind}"
    trace_exporters = [config["exporters"][e] for e in pipelines["traces"]["exporters"]]
    hosts = {e["endpoint"].rsplit(":", 1)[0] for e in trace_exporters if "endpoint" in e}
    assert "jaeger" in hosts and "jaeger" in compose["services"]
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317")


def test_deploy_config_loads_and_every_group_reaches_the_fake_provider_container() -> None:
    config = load_config(DEPLOY / "config.yaml")
    groups = config.groups()
    assert {"default", "fast", "cheap"} <= set(groups)
    by_served = _by_served(_compose())
    fake_name, fake_svc = by_served["fake"]
    expected_base = f"http://{fake_name}:{_port(fake_svc, 'fake')}/v1"
    for group, deployments in groups.items():
        assert deployments, f"group {group} has no deployment"
        for entry in deployments:
            base = entry.litellm_params.api_base
            assert base == expected_base, f"{entry.deployment_id} points at {base}"
            assert urlsplit(base).hostname in _compose()["services"]
    assert not config.switchyard.fake_provider.enabled, "the fake runs as its own container"


def test_deploy_paths_referenced_by_compose_exist() -> None:
    compose = _compose()
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), f"{name} mounts missing {source}"
        build = svc.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file()
            assert (context / "pyproject.toml").is_file()


def test_prometheus_scrapes_every_service_where_it_serves_metrics() -> None:
    compose = _compose()
    prometheus = compose["services"]["prometheus"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"]}
    assert mounted["/etc/prometheus/prometheus.yml"] == "./prometheus/prometheus.yml"
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert mounted[config["rule_files"][0]] == "./prometheus/alerts.yml"
    scraped = {target for job in config["scrape_configs"] for sc in job["static_configs"] for target in sc["targets"]}
    wanted = set()
    for served, (name, svc) in _by_served(compose).items():
        if served in GRPC_SERVICES:
            wanted.add(f"{name}:{int(svc['environment'][f'SWITCHYARD_{served.upper()}_METRICS_PORT'])}")
        elif served == "edge":
            wanted.add(f"{name}:{_port(svc, served)}")
    assert scraped == wanted


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboard() -> None:
    compose = _compose()
    grafana = compose["services"]["grafana"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    source = yaml.safe_load((DEPLOY / "grafana" / "datasource.yml").read_text())["datasources"][0]
    assert source["url"] == f"http://prometheus:{compose['services']['prometheus']['ports'][0].split(':')[1]}"
    provider = yaml.safe_load((DEPLOY / "grafana" / "dashboards.yml").read_text())["providers"][0]
    dashboards = [path for path in mounted if path.startswith(provider["options"]["path"] + "/")]
    assert [mounted[path] for path in dashboards] == ["./grafana/switchyard.json"]
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
