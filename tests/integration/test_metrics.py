"""Prometheus metrics across the real mesh: each gRPC service's /metrics moves as a user expects.

A few requests go through the edge (plain, streamed, a cache hit, a failover after a scripted 429);
then every service's endpoint is scraped and parsed with prometheus_client's own parser, and the
change in each counter and histogram is compared with what those requests did.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from switchyard.config import load_config
from tests.support import Mesh, free_port, port_open, python_module, wait_until_sync

pytestmark = pytest.mark.mesh

PRICED = (
    "  - model_name: priced\n"
    '    litellm_params: {model: openai/fake-priced, api_base: "$FAKE_URL/v1", api_key: sk-fake}\n'
    "    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.00001}\n"
)
SERVICES = ("router", "classifier", "cache", "providers", "evaluator")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    started = Mesh(Path(tmp_path_factory.mktemp("metrics")), extra_models=PRICED).start()
    yield started
    started.stop()


def scrape(mesh: Mesh, service: str) -> Samples:
    """Returns every sample a service's /metrics serves, keyed by (sample name, labels)."""
    url = f"{mesh.edge_url}/metrics" if service == "edge" else mesh.metrics_url(service)
    reply = httpx.get(url, timeout=5)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def total(samples: Samples, name: str, **labels: str) -> float:
    """Returns the sum of the samples of name whose labels include the given ones."""
    wanted = set(labels.items())
    return sum(value for (sample, have), value in samples.items() if sample == name and wanted <= have)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def chat(mesh: Mesh, model: str, text: str, *, stream: bool = False) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}
    reply = httpx.post(f"{mesh.edge_url}/v1/chat/completions", json=body, timeout=20)
    assert reply.status_code == 200, reply.text
    return reply


@pytest.fixture(scope="module")
def traffic(mesh: Mesh) -> tuple[dict[str, Samples], dict[str, Samples]]:
    """Scrapes every service, sends the four requests, scrapes again: (before, after) per service."""
    before = {service: scrape(mesh, service) for service in (*SERVICES, "edge")}
    prompt = f"what does a switchyard do? {uuid.uuid4().hex}"
    assert chat(mesh, "priced", prompt).headers["x-switchyard-cache"] == "miss"
    # The answer is stored off the response path: the replay is asked for once the cache counts the store.
    stores = "switchyard_cache_stores_total"
    wait_until_sync(lambda: delta(before["cache"], scrape(mesh, "cache"), stores) >= 1, 20, "the answer's store")
    assert chat(mesh, "priced", prompt).headers["x-switchyard-cache"] == "hit; tier=exact"
    streamed = chat(mesh, "priced", f"stream a story {uuid.uuid4().hex}", stream=True)
    assert "data: [DONE]" in streamed.text
    with mesh.fake_admin() as fake:
        scripted = fake.post("/_fake/scripts", json={"model": "fake-primary", "status": 429, "times": 1})
        assert scripted.status_code == 200
        chat(mesh, "failover", f"fail over {uuid.uuid4().hex}")
        models = [str(r["body"].get("model")) for r in fake.get("/_fake/requests").json()]
        assert models == ["fake-primary", "fake-secondary"]
    after = {service: scrape(mesh, service) for service in (*SERVICES, "edge")}
    return before, after


def test_each_grpc_service_serves_prometheus_metrics_on_its_own_port(mesh: Mesh) -> None:
    assert len(set(mesh.metrics_ports.values())) == len(SERVICES)
    names = {service: {name for name, _ in scrape(mesh, service)} for service in SERVICES}
    assert "switchyard_shared_state_up" in names["router"]
    assert "switchyard_cache_lookups_total" in names["cache"]
    # Each service serves its own metrics, not another's.
    assert not any(name.startswith("switchyard_cache_") for name in names["providers"])
    assert not any(name.startswith("switchyard_router_circuit") for name in names["cache"])


def test_provider_calls_errors_latency_and_ttft_follow_the_upstream_calls(
    traffic: tuple[dict[str, Samples], dict[str, Samples]],
) -> None:
    before, after = traffic[0]["providers"], traffic[1]["providers"]
    calls = "switchyard_provider_calls_total"
    assert delta(before, after, calls, model="fake-priced", kind="complete") == 1, "the hit never reached upstream"
    assert delta(before, after, calls, model="fake-priced", kind="stream") == 1
    assert delta(before, after, calls, model="fake-primary") == 1
    assert delta(before, after, calls, model="fake-secondary") == 1
    errors = "switchyard_provider_errors_total"
    assert delta(before, after, errors, model="fake-primary", reason="upstream_rate_limited") == 1
    assert delta(before, after, errors, model="fake-priced") == 0
    assert delta(before, after, "switchyard_provider_latency_seconds_count", model="fake-priced") == 2
    assert delta(before, after, "switchyard_provider_latency_seconds_sum", model="fake-priced") > 0
    ttft = "switchyard_provider_time_to_first_token_seconds_count"
    assert delta(before, after, ttft, model="fake-priced") == 1, "only the streamed call has a first token"


def test_cache_counts_the_miss_the_store_and_the_exact_hit(
    traffic: tuple[dict[str, Samples], dict[str, Samples]],
) -> None:
    before, after = traffic[0]["cache"], traffic[1]["cache"]
    lookups = delta(before, after, "switchyard_cache_lookups_total")
    hits = delta(before, after, "switchyard_cache_hits_total", tier="exact")
    misses = delta(before, after, "switchyard_cache_misses_total")
    assert hits == 1
    assert misses >= 3, "the first ask, the stream and the failover request missed"
    assert lookups == hits + misses + delta(before, after, "switchyard_cache_hits_total", tier="semantic")
    assert delta(before, after, "switchyard_cache_stores_total") >= 1
    assert delta(before, after, "switchyard_cache_tokens_saved_total") > 0
    assert delta(before, after, "switchyard_cache_cost_saved_usd_total") > 0, "the replayed answer had a price"
    assert total(after, "switchyard_cache_store_up") == 1


def test_edge_counts_each_http_response_by_route_and_status(
    mesh: Mesh, traffic: tuple[dict[str, Samples], dict[str, Samples]]
) -> None:
    before, after = traffic[0]["edge"], traffic[1]["edge"]
    requests = "switchyard_edge_http_requests_total"
    assert delta(before, after, requests, route="/v1/chat/completions", method="POST", status="200") == 4
    duration = "switchyard_edge_http_request_duration_seconds_count"
    assert delta(before, after, duration, route="/v1/chat/completions") == 4
    # A path Switchyard does not serve is counted under one label, not under the path a scanner made up.
    assert httpx.get(f"{mesh.edge_url}/wp-admin/{uuid.uuid4().hex}", timeout=5).status_code == 404
    later = scrape(mesh, "edge")
    assert delta(after, later, requests, route="unmatched", status="404") == 1
    assert not any("wp-admin" in value for (_, labels) in later for _, value in labels)


def test_classifier_counts_and_times_each_analysis(traffic: tuple[dict[str, Samples], dict[str, Samples]]) -> None:
    before, after = traffic[0]["classifier"], traffic[1]["classifier"]
    analysed = delta(before, after, "switchyard_classifier_analyses_total", status="ok")
    assert analysed >= 4
    assert delta(before, after, "switchyard_classifier_analyses_total", status="error") == 0
    assert delta(before, after, "switchyard_classifier_analysis_duration_seconds_count") == analysed


def test_router_reports_circuits_and_shared_state_of_every_deployment(mesh: Mesh) -> None:
    samples = scrape(mesh, "router")
    deployments = {entry.deployment_id for entry in load_config(mesh.config_path).model_list}
    circuits = {
        dict(labels)["deployment"]: value
        for (name, labels), value in samples.items()
        if name == "switchyard_router_circuit_state"
    }
    assert set(circuits) == deployments
    assert set(circuits.values()) == {0.0}, "nothing failed often enough to open a circuit"
    assert total(samples, "switchyard_shared_state_up") == 1


def test_router_counts_requests_tokens_cost_cache_and_failovers(
    traffic: tuple[dict[str, Samples], dict[str, Samples]],
) -> None:
    before, after = traffic[0]["router"], traffic[1]["router"]
    requests = "switchyard_router_requests_total"
    assert delta(before, after, requests, alias="priced", status="ok", stream="false") == 2, "the miss and the hit"
    assert delta(before, after, requests, alias="priced", status="ok", stream="true") == 1
    assert delta(before, after, requests, alias="failover", model="fake-secondary", status="ok") == 1
    assert delta(before, after, "switchyard_router_failovers_total", cause="RateLimitError") == 1
    assert delta(before, after, "switchyard_router_cache_results_total", result="hit") == 1
    assert delta(before, after, "switchyard_router_cache_saved_usd_total", alias="priced") > 0
    assert delta(before, after, "switchyard_router_tokens_total", model="fake-priced", kind="prompt") > 0
    assert delta(before, after, "switchyard_router_tokens_total", model="fake-priced", kind="completion") > 0
    assert delta(before, after, "switchyard_router_cost_usd_total", model="fake-priced") > 0
    assert delta(before, after, "switchyard_router_time_to_first_token_seconds_count", model="fake-priced") == 1
    assert delta(before, after, "switchyard_router_request_duration_seconds_count") == 4, "one per request"


def test_the_metrics_endpoint_starts_and_stops_with_its_service_and_a_taken_port_does_not_stop_it() -> None:
    grpc_port, metrics_port = free_port(), free_port()
    env = {"SWITCHYARD_PROVIDERS_PORT": str(grpc_port), "SWITCHYARD_PROVIDERS_METRICS_PORT": str(metrics_port)}
    providers = python_module("switchyard.services.providers", env=env)
    try:
        wait_until_sync(lambda: port_open(metrics_port), 30, "the metrics endpoint")
        assert httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).status_code == 200
    finally:
        assert providers.stop() == 0, providers.output()
    assert not port_open(metrics_port), "the endpoint outlived its service"

    with socket.socket() as taken:
        # The stopped endpoint's connections linger in TIME_WAIT; a listener holds the port all the same.
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", metrics_port))
        taken.listen()
        again = python_module("switchyard.services.providers", env=env)
        try:
            wait_until_sync(lambda: "metrics endpoint off" in again.output(), 30, "the port clash to be logged")
            wait_until_sync(lambda: "serving switchyard.providers" in again.output(), 30, "the service to serve")
            assert again.alive()
        finally:
            assert again.stop() == 0, again.output()
