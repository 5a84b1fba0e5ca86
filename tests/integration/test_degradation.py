"""DESIGN §5: with the classifier and the cache down, requests still flow and readiness says why."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchyard.common.v1 import chat_pb2, route_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.runtime.grpcio import check_health
from tests.support import Mesh, Process, grpc_channel, identity, python_module, wait_until_sync

pytestmark = pytest.mark.mesh


@pytest.fixture
def partial_mesh(tmp_path: Path) -> Iterator[Mesh]:
    """Edge, router, providers and the fake each run alone; nothing listens for classifier or cache."""
    mesh = Mesh(tmp_path)
    ports, config = mesh.ports, str(mesh.config_path)
    targets = {name: f"127.0.0.1:{ports[name]}" for name in ("router", "classifier", "cache", "providers")}
    started: list[Process] = []

    def start(module: str, *args: str, env: dict[str, str] | None = None) -> Process:
        process = python_module(module, *args, env={"SWITCHYARD_CONFIG": config, **(env or {})})
        started.append(process)
        return process

    def serving(process: Process, target: str) -> bool:
        assert process.alive(), process.output()
        return asyncio.run(check_health(target, identity=identity()))

    def answering() -> bool:
        for process in started:
            assert process.alive(), process.output()
        try:
            services = httpx.get(f"{mesh.edge_url}/readyz", timeout=2).json()["services"]
        except httpx.HTTPError:
            return False
        return bool(services["router"] == services["providers"] == "serving")

    try:
        start("switchyard.fakes", "--port", str(ports["fake"]))
        providers = start("switchyard.services.providers", env={"SWITCHYARD_PROVIDERS_PORT": str(ports["providers"])})
        # As `switchyard up` does: the router starts once the peer it cannot do without answers.
        wait_until_sync(lambda: serving(providers, targets["providers"]), 30.0, "the providers service")
        peers = {f"SWITCHYARD_ROUTER_{n.upper()}_TARGET": targets[n] for n in ("classifier", "cache", "providers")}
        start("switchyard.services.router", env={"SWITCHYARD_ROUTER_PORT": str(ports["router"]), **peers})
        checks = {f"SWITCHYARD_EDGE_{n.upper()}_TARGET": t for n, t in targets.items()}
        start("switchyard.services.edge", env={"SWITCHYARD_EDGE_PORT": str(ports["edge"]), **checks})
        wait_until_sync(answering, 30.0, "edge, router and providers to answer")
        yield mesh
    finally:
        for process in reversed(started):
            process.stop()


def test_readiness_names_the_services_that_are_down(partial_mesh: Mesh) -> None:
    reply = httpx.get(f"{partial_mesh.edge_url}/readyz", timeout=5)
    assert reply.status_code == 503
    services = reply.json()["services"]
    assert services == {
        "router": "serving",
        "providers": "serving",
        "classifier": "not_serving",
        "cache": "not_serving",
    }


def test_requests_flow_on_defaults_without_classifier_and_cache(partial_mesh: Mesh) -> None:
    reply = httpx.post(
        f"{partial_mesh.edge_url}/v1/chat/completions",
        timeout=10,
        json={"model": "solo", "messages": [{"role": "user", "content": "still there?"}]},
    )
    assert reply.status_code == 200, reply.text
    # Nothing is known of an unanalysed prompt (it may hold restricted data): it is neither looked up nor stored.
    assert reply.headers["x-switchyard-cache"] == "bypass; reason=analysis-unavailable"

    with grpc_channel(partial_mesh.router_target) as channel:
        stub = router_pb2_grpc.RouterServiceStub(channel)
        message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="degraded?")
        answer = stub.ChatCompletion(
            router_pb2.ChatCompletionRequest(request=chat_pb2.ChatRequest(model="solo", messages=[message])),
            timeout=10,
        )
    assert answer.route.analysis_degraded
    assert answer.route.cache == route_pb2.CACHE_RESULT_BYPASS
    assert answer.completion.choices[0].message.text
