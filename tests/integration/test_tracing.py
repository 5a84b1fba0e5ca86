"""One request is one trace across all five processes, received over OTLP by a collector in the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

EDGES_FILE = Path(__file__).with_name("trace_edges.txt")


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """A minimal OTLP/gRPC trace receiver keeping every span with its service name."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    def Export(self, request: Any, context: Any) -> Any:
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), "?"
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    attributes = {a.key: a.value for a in span.attributes}
                    self.spans.append(
                        {
                            "service": service,
                            "name": span.name,
                            "trace": span.trace_id.hex(),
                            "id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "kind": span.kind,
                            "attributes": attributes,
                        }
                    )
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    from concurrent import futures

    servicer = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(0)


def _expected_edges() -> set[tuple[str, str]]:
    edges = set()
    for line in EDGES_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            parent, child = (part.strip() for part in line.split("->"))
            edges.add((parent, child))
    return edges


def _service_edges(spans: list[dict[str, Any]]) -> set[tuple[str, str]]:
    by_id = {s["id"]: s for s in spans}
    return {
        (by_id[s["parent"]]["service"], s["service"])
        for s in spans
        if s["parent"] in by_id and by_id[s["parent"]]["service"] != s["service"]
    }


def test_one_trace_across_the_mesh(tmp_path: Path, collector: tuple[Collector, int]) -> None:
    received, port = collector
    priced = (
        "  - model_name: priced\n"
        '    litellm_params: {model: openai/fake-solo, api_base: "$FAKE_URL/v1", api_key: sk-fake}\n'
        "    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.00001}\n"
    )
    otlp = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"}
    mesh = Mesh(tmp_path, env=otlp, extra_models=priced).start()
    try:
        reply = httpx.post(
            f"{mesh.edge_url}/v1/chat/completions",
            timeout=10,
            json={"model": "priced", "messages": [{"role": "user", "content": "trace me"}]},
        )
        assert reply.status_code == 200, reply.text
        expected = _expected_edges()
        wait_until_sync(lambda: expected <= _service_edges(received.spans), 20.0, f"spans forming {sorted(expected)}")
    finally:
        mesh.stop()
    request_spans = [s for s in received.spans if s["name"] == "POST /v1/chat/completions"]
    assert len(request_spans) == 1
    trace_id = request_spans[0]["trace"]
    in_trace = [s for s in received.spans if s["trace"] == trace_id]
    assert {s["service"] for s in in_trace} >= {
        "switchyard-edge",
        "switchyard-router",
        "switchyard-classifier",
        "switchyard-cache",
        "switchyard-providers",
    }
    upstream = [s for s in in_trace if "gen_ai.request.model" in s["attributes"]]
    assert upstream, "the provider's outbound HTTP call has a GenAI span"
    attributes = upstream[0]["attributes"]
    assert attributes["gen_ai.request.model"].string_value == "fake-solo"
    assert attributes["gen_ai.usage.output_tokens"].int_value > 0
    # The call's cost rides on its GenAI span (what Langfuse and other OTLP backends read), priced as the
    # router prices it for budgets and the ledger.
    tokens_in, tokens_out = (attributes[f"gen_ai.usage.{k}_tokens"].int_value for k in ("input", "output"))
    cost = attributes["gen_ai.usage.cost"].double_value
    assert cost == pytest.approx(tokens_in * 0.000002 + tokens_out * 0.00001, rel=1e-9)
    router_span = next(s for s in in_trace if "switchyard.cost_usd" in s["attributes"])
    assert router_span["attributes"]["switchyard.cost_usd"].double_value == pytest.approx(cost, rel=1e-9)
    # The router says which trained models (and which version of each) its routing facts came from.
    models = dict(
        item.split("=") for item in router_span["attributes"]["switchyard.analysis.models"].string_value.split(",")
    )
    assert {"category", "complexity", "injection", "tokens"} <= set(models)
    assert all(len(version) == 12 for version in models.values())
    parent = next(s for s in in_trace if s["id"] == upstream[0]["parent"])
    assert parent["service"] == "switchyard-providers"
