"""Config hot reload: the router and the providers service follow their config file (and SIGHUP)
without dropping requests in flight, and a broken file is rejected while the last good one serves."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from switchyard.common.v1 import chat_pb2
from switchyard.config import Config
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.runtime.grpcio import check_health
from switchyard.runtime.reload import ConfigWatcher
from tests.support import Mesh, Process, grpc_channel, identity, python_module, wait_until_sync

pytestmark = pytest.mark.mesh

_KEY = 'api_base: "$FAKE_URL/v1", api_key: sk-fake'
SLOWPOKE = f"  - model_name: slowpoke\n    litellm_params: {{model: openai/fake-slowpoke, {_KEY}}}\n"
FRESH = f"  - model_name: fresh\n    litellm_params: {{model: openai/fake-fresh, {_KEY}}}\n"
BROKEN_ENTRY = "  - model_name: broken\n    litellm_params: {model: nobody-knows/this-model}\n"


class Gateway:
    """The fake provider, the providers service and the router as real processes on one config file."""

    def __init__(self, workdir: Path, router_env: dict[str, str]) -> None:
        self.mesh = Mesh(workdir, request_timeout=20.0, extra_models=SLOWPOKE)
        self.processes: list[Process] = []
        self.router_env = router_env

    def start(self) -> Gateway:
        ports, config = self.mesh.ports, str(self.mesh.config_path)
        env = {"SWITCHYARD_CONFIG": config}
        self.fake = self._start("switchyard.fakes", "--port", str(ports["fake"]))
        self.providers = self._start(
            "switchyard.services.providers", env={**env, "SWITCHYARD_PROVIDERS_PORT": str(ports["providers"])}
        )
        self._wait_serving(self.providers, self.mesh.providers_target)
        peers = {f"SWITCHYARD_ROUTER_{n.upper()}_TARGET": f"127.0.0.1:{ports[n]}" for n in ("classifier", "cache")}
        self.router = self._start(
            "switchyard.services.router",
            env={
                **env,
                **peers,
                **self.router_env,
                "SWITCHYARD_ROUTER_PORT": str(ports["router"]),
                "SWITCHYARD_ROUTER_PROVIDERS_TARGET": self.mesh.providers_target,
            },
        )
        self._wait_serving(self.router, self.mesh.router_target)
        return self

    def _start(self, module: str, *args: str, env: dict[str, str] | None = None) -> Process:
        process = python_module(module, *args, env=env)
        self.processes.append(process)
        return process

    def _wait_serving(self, process: Process, target: str) -> None:
        def serving() -> bool:
            assert process.alive(), process.output()
            return asyncio.run(check_health(target, identity=identity()))

        wait_until_sync(serving, 30.0, f"{process.name} to serve")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def write(self, extra_models: str) -> None:
        self.mesh.config_path.write_text(self.mesh.render(extra_models))

    def ask(self, model: str, **metadata: str) -> router_pb2.ChatCompletionResponse:
        message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=f"reload {uuid.uuid4().hex}")
        request = chat_pb2.ChatRequest(model=model, messages=[message], metadata=metadata)
        with grpc_channel(self.mesh.router_target) as channel:
            reply: router_pb2.ChatCompletionResponse = router_pb2_grpc.RouterServiceStub(channel).ChatCompletion(
                router_pb2.ChatCompletionRequest(request=request), timeout=30
            )
        return reply

    def servable(self, model: str) -> bool:
        try:
            return bool(self.ask(model).completion.choices)
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):  # type: ignore[attr-defined]
                return False
            raise

    def models(self) -> set[str]:
        with grpc_channel(self.mesh.router_target) as channel:
            listing = router_pb2_grpc.RouterServiceStub(channel).ListModels(router_pb2.ListModelsRequest(), timeout=5)
        return {m.id for m in listing.models}

    def provider_groups(self) -> set[str]:
        with grpc_channel(self.mesh.providers_target, "router") as channel:
            stub = providers_pb2_grpc.ProviderServiceStub(channel)
            listing = stub.ListDeployments(providers_pb2.ListDeploymentsRequest(), timeout=5)
        return {d.model_group for d in listing.deployments}

    def upstream_models(self) -> list[str]:
        log = httpx.get(f"{self.mesh.fake_url}/_fake/requests", timeout=5).json()
        return [str(r["body"].get("model")) for r in log]


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    started = Gateway(tmp_path, {"SWITCHYARD_ROUTER_CONFIG_POLL": "0.2"})
    try:
        yield started.start()
    finally:
        started.stop()


@pytest.fixture
def sighup_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """The router does not poll its file here: only SIGHUP makes it reload."""
    started = Gateway(tmp_path, {"SWITCHYARD_ROUTER_CONFIG_POLL": "0"})
    try:
        yield started.start()
    finally:
        started.stop()


def test_a_changed_file_swaps_the_groups_without_dropping_requests_in_flight(gateway: Gateway) -> None:
    answers: list[router_pb2.ChatCompletionResponse | BaseException] = []

    def slow_request() -> None:
        try:
            # 7 s: longer than a reload takes, shorter than the deployments' 10 s timeout.
            answers.append(gateway.ask("slowpoke", fake_latency_ms="7000"))
        except BaseException as exc:
            answers.append(exc)

    in_flight = threading.Thread(target=slow_request)
    in_flight.start()
    wait_until_sync(lambda: "fake-slowpoke" in gateway.upstream_models(), 10.0, "the slow request to reach upstream")
    gateway.write(FRESH)  # drops `slowpoke`, whose request is still being answered, and adds `fresh`
    wait_until_sync(lambda: gateway.servable("fresh"), 15.0, "the new group to be served")
    assert in_flight.is_alive(), "the reload happened while the slow request was in flight"
    assert "slowpoke" not in gateway.models() and "fresh" in gateway.models()
    in_flight.join(30)
    answer = answers[0]
    assert isinstance(answer, router_pb2.ChatCompletionResponse), answer
    assert answer.completion.choices[0].message.text and answer.route.deployment_id.startswith("slowpoke-")
    with pytest.raises(grpc.RpcError) as caught:
        gateway.ask("slowpoke")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    assert "config reloaded" in gateway.router.output() and "deployments reloaded" in gateway.providers.output()


def test_a_broken_file_is_rejected_and_the_old_config_keeps_serving(gateway: Gateway) -> None:
    gateway.write(SLOWPOKE + BROKEN_ENTRY)

    def both_rejected() -> bool:
        return all(
            "config reload rejected" in p.output() and "model_list[7].litellm_params.model" in p.output()
            for p in (gateway.router, gateway.providers)
        )

    wait_until_sync(both_rejected, 15.0, "the router and the providers service to reject the file")
    assert gateway.servable("slowpoke") and gateway.servable("solo")
    assert "broken" not in gateway.models()

    gateway.write(SLOWPOKE + FRESH)
    wait_until_sync(lambda: gateway.servable("fresh"), 15.0, "the next good file to be served")


def test_sighup_reloads(sighup_gateway: Gateway) -> None:
    gateway = sighup_gateway
    gateway.write(SLOWPOKE + FRESH)
    wait_until_sync(lambda: "fresh" in gateway.provider_groups(), 15.0, "the providers service to reload")
    assert not gateway.servable("fresh"), "the router, not polling, still serves the old groups"
    gateway.router.proc.send_signal(signal.SIGHUP)
    wait_until_sync(lambda: gateway.servable("fresh"), 15.0, "the router to reload on SIGHUP")
    gateway.providers.proc.send_signal(signal.SIGHUP)
    wait_until_sync(lambda: "is unchanged" in gateway.providers.output(), 10.0, "the providers service to re-read")
    assert gateway.router.alive() and gateway.providers.alive()


# ---------------------------------------------------------------- the watcher alone


def _config_text(groups: str) -> str:
    return "model_list:\n" + "".join(
        f"  - model_name: {g}\n    litellm_params: {{model: openai/fake-{g}, api_base: http://127.0.0.1:9/v1}}\n"
        for g in groups.split()
    )


async def test_watcher_applies_changes_and_rejects_bad_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "switchyard.yaml"
    path.write_text(_config_text("a"))
    applied: list[Config] = []

    async def apply(config: Config) -> None:
        applied.append(config)

    watcher = ConfigWatcher(path, 0, logging.getLogger("test.reload"))
    watcher.start(apply)
    assert not await watcher.check(), "an unchanged file is not applied again"
    path.write_text(_config_text("a b"))
    assert await watcher.check()
    assert list(applied[-1].groups()) == ["a", "b"]

    path.write_text("model_list: []\n")
    with caplog.at_level(logging.ERROR, "test.reload"):
        assert not await watcher.check()
        assert not await watcher.check(force=True), "a rejected file stays rejected"
    assert "config reload rejected" in caplog.text and "model_list" in caplog.text
    assert len(applied) == 1

    path.write_text(_config_text("c"))
    assert await watcher.check()
    assert list(applied[-1].groups()) == ["c"]


async def test_watcher_keeps_the_old_config_when_applying_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "switchyard.yaml"
    path.write_text(_config_text("a"))

    async def apply(config: Config) -> None:
        raise RuntimeError("cannot build the routing table")

    watcher = ConfigWatcher(path, 0, logging.getLogger("test.reload"))
    watcher.start(apply)
    path.write_text(_config_text("b"))
    with caplog.at_level(logging.ERROR, "test.reload"):
        assert not await watcher.check()
    assert "failed to apply" in caplog.text and watcher.reloads == 0
