"""A peer that is down is logged once for its outage, not once per request, and once when it is back."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from switchyard.common.v1 import chat_pb2, route_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.runtime.grpcio import check_health
from tests.support import Mesh, Process, grpc_channel, identity, python_module, wait_until_sync

pytestmark = pytest.mark.mesh

REQUESTS = 20


def _ask(stub: router_pb2_grpc.RouterServiceStub, n: int) -> router_pb2.ChatCompletionResponse:
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=f"outage question {n}")
    request = chat_pb2.ChatRequest(model="solo", messages=[message])
    reply: router_pb2.ChatCompletionResponse = stub.ChatCompletion(
        router_pb2.ChatCompletionRequest(request=request), timeout=10
    )
    return reply


def test_a_cache_outage_is_two_lines_for_many_requests(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path)
    ports, config = mesh.ports, str(mesh.config_path)
    targets = {name: f"127.0.0.1:{ports[name]}" for name in ("classifier", "cache", "providers")}
    started: list[Process] = []

    def start(module: str, *args: str, env: dict[str, str]) -> Process:
        process = python_module(module, *args, env={"SWITCHYARD_CONFIG": config, **env})
        started.append(process)
        return process

    def serving(process: Process, target: str) -> bool:
        assert process.alive(), process.output()
        return asyncio.run(check_health(target, identity=identity()))

    try:
        start("switchyard.fakes", "--port", str(ports["fake"]), env={})
        providers = start("switchyard.services.providers", env={"SWITCHYARD_PROVIDERS_PORT": str(ports["providers"])})
        # Without its trained models the classifier starts at once; the router asks it all the same.
        classifier_env = {
            "SWITCHYARD_CLASSIFIER_PORT": str(ports["classifier"]),
            "SWITCHYARD_CLASSIFIER_MODELS": "false",
        }
        classifier = start("switchyard.services.classifier", env=classifier_env)
        wait_until_sync(lambda: serving(providers, targets["providers"]), 30.0, "the providers service")
        wait_until_sync(lambda: serving(classifier, targets["classifier"]), 60.0, "the classifier service")
        peers = {f"SWITCHYARD_ROUTER_{n.upper()}_TARGET": t for n, t in targets.items()}
        router = start("switchyard.services.router", env={"SWITCHYARD_ROUTER_PORT": str(ports["router"]), **peers})
        wait_until_sync(lambda: serving(router, mesh.router_target), 30.0, "the router")

        with grpc_channel(mesh.router_target) as channel:
            stub = router_pb2_grpc.RouterServiceStub(channel)
            answers = [_ask(stub, n) for n in range(REQUESTS)]
            assert {a.route.cache for a in answers} == {route_pb2.CACHE_RESULT_ERROR}
            outage = [line for line in router.output().splitlines() if f"cache at {targets['cache']}" in line]
            assert len(outage) == 1, "\n".join(outage)
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING ", outage[0]), outage[0]

            cache = start("switchyard.services.cache", env={"SWITCHYARD_CACHE_PORT": str(ports["cache"])})
            wait_until_sync(lambda: serving(cache, targets["cache"]), 30.0, "the cache service")

            def back() -> bool:
                _ask(stub, REQUESTS)
                return "is back after" in router.output()

            wait_until_sync(back, 30.0, "the router to say the cache is back")
        outage = [line for line in router.output().splitlines() if f"cache at {targets['cache']}" in line]
        assert len(outage) == 2, "\n".join(outage)
        back = re.search(r" INFO .* is back after [\d.]+ s, (\d+) calls failed$", outage[1])
        # The requests above, and any asked while the cache was starting.
        assert back is not None and int(back.group(1)) >= REQUESTS, outage[1]
    finally:
        for process in reversed(started):
            process.stop()
