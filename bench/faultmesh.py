"""The mesh the fault matrix runs on: every process its own, so that any one can be killed and started again.

`switchyard up` stops the whole gateway once a service exits; the fault matrix kills one service and
starts it again, so it starts the processes `up` would (`switchyard.cli.plan`, mutual TLS on) itself,
in front of two fake upstreams — the primary and the secondary deployment of one model group, so one
can fail while the other answers — with the shared state in a redis-server of its own on a free port
(appending to a file in the run's directory, so a killed Redis comes back with what it held).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.run import Child, _child_env, _get_status, _tls_env
from switchyard.cli import plan
from switchyard.config import load_config
from switchyard.replicas import free_port, layout
from switchyard.runtime.grpcio import check_health
from switchyard.runtime.settings import TlsSettings
from switchyard.runtime.tls import Identity, load_identity

GROUP = "faults"
UPSTREAMS = ("primary", "secondary")
GRPC_SERVICES = ("classifier", "cache", "providers", "router", "evaluator")
START_TIMEOUT = 120.0
# Short enough that a fault's window sees a circuit open, cool down and close again.
ROUTER_SETTINGS = {
    "routing_strategy": "simple-shuffle",
    "num_retries": 2,
    "timeout": 3,
    "allowed_fails": 3,
    "cooldown_time": 5,
    "stream_idle_timeout": 2,
}
REQUEST_TIMEOUT = 20.0


def mesh_config(ports: dict[str, int], redis_url: str) -> dict[str, Any]:
    """Returns the config of the matrix: one group of two deployments (one fake upstream each, on the ports
    named after them), the exact
    cache (a semantic hit would answer a prompt with another's reply, which the matrix counts as lost),
    shared state in redis_url and every service on the given port."""
    models = [
        {
            "model_name": GROUP,
            "litellm_params": {
                "model": "openai/fake-gpt-4o",
                "api_base": f"http://127.0.0.1:{ports[name]}/v1",
                "api_key": "sk-fake",
            },
            "model_info": {"id": name, "input_cost_per_token": 0.0000025, "output_cost_per_token": 0.00001},
        }
        for name in UPSTREAMS
    ]
    services = {name: {"host": "127.0.0.1", "port": ports[name]} for name in (*GRPC_SERVICES, "edge")}
    return {
        "model_list": models,
        "router_settings": dict(ROUTER_SETTINGS),
        "switchyard": {
            "fake_provider": {"enabled": False},
            "redis_url": redis_url,
            "request_timeout": REQUEST_TIMEOUT,
            "cache": {"semantic": False},
            "services": services,
        },
    }


@dataclass
class FaultMesh:
    """The running processes of the matrix, by name: redis, the upstreams, every service and the edge."""

    workdir: Path
    children: dict[str, Child] = field(default_factory=dict)
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    identity: Identity | None = None

    @property
    def config_path(self) -> Path:
        return self.workdir / "switchyard.yaml"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['edge']}/v1"

    def upstream_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    async def start(self) -> None:
        """Starts Redis, the two upstreams and every service in `up`'s order, each once it is ready."""
        names = ("redis", *UPSTREAMS, *GRPC_SERVICES, "edge")
        self.ports = {name: free_port() for name in names}
        tls = _tls_env("on", self.workdir)
        self.identity = load_identity("client", TlsSettings(tls="on", tls_dir=tls["SWITCHYARD_TLS_DIR"]))
        redis_url = f"redis://127.0.0.1:{self.ports['redis']}/0"
        self.config_path.write_text(yaml.safe_dump(mesh_config(self.ports, redis_url)))
        env = _child_env(self.config_path, tls)
        self.commands["redis"] = (self._redis_command(), env)
        for name in UPSTREAMS:
            fake = [sys.executable, "-m", "switchyard.fakes", "--host", "127.0.0.1", "--port", str(self.ports[name])]
            self.commands[name] = (fake, env)
        config = load_config(str(self.config_path))
        replicas = layout(config, {}, GRPC_SERVICES, ("127.0.0.1", self.ports["edge"]), {})
        # The services follow their file within half a second: the reload fault waits on that.
        quick = {"SWITCHYARD_ROUTER_CONFIG_POLL": "0.5", "SWITCHYARD_GRACE_PERIOD": "10"}
        for name, argv, service_env in plan(config, str(self.config_path), replicas):
            metrics_off = {f"SWITCHYARD_{name.upper()}_METRICS_PORT": "0"}
            self.commands[name] = (argv, {**env, **service_env, **quick, **metrics_off})
        for name in names:
            await self.launch(name)

    def _redis_command(self) -> list[str]:
        binary = shutil.which("redis-server") or shutil.which("redis-server", path=str(Path(sys.executable).parent))
        if binary is None:
            raise SystemExit("bench.faults: no redis-server on PATH (make redis installs one into the venv)")
        data = self.workdir / "redis"
        data.mkdir(exist_ok=True)
        port = str(self.ports["redis"])
        return [binary, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", str(data)]

    async def launch(self, name: str) -> float:
        """Starts the named process and returns the moment it was ready (its health check answered)."""
        argv, env = self.commands[name]
        if name in self.children:
            self.children[name].log.unlink(missing_ok=True)
        self.children[name] = child = Child(name, argv, env)
        deadline = time.monotonic() + START_TIMEOUT
        while not await self.ready(name):
            if child.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {child.proc.returncode}:\n{child.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {START_TIMEOUT:.0f}s:\n{child.tail()}")
            await asyncio.sleep(0.05)
        return time.monotonic()

    async def ready(self, name: str) -> bool:
        """Returns whether the named process answers its health check (SERVING for a gRPC service)."""
        port = self.ports[name]
        if name in GRPC_SERVICES:
            return await check_health(f"127.0.0.1:{port}", timeout=0.5, identity=self.identity, peer=name)
        if name == "redis":
            return await _redis_pong(port)
        path = "readyz" if name == "edge" else "health"
        try:
            async with asyncio.timeout(2):
                return await _get_status(f"http://127.0.0.1:{port}/{path}") == 200
        except (OSError, TimeoutError, ValueError, IndexError):
            return False

    async def all_ready(self) -> bool:
        return all([await self.ready(name) for name in self.children])

    async def kill(self, name: str) -> None:
        """Kills the named process at once (SIGKILL), as a crash or an OOM kill would."""
        child = self.children[name]
        child.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.proc.wait)

    async def terminate(self, name: str) -> None:
        """Asks the named process to stop (SIGTERM) and returns once it has drained and exited."""
        child = self.children[name]
        child.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(child.proc.wait, 60)

    async def script(self, upstream: str, **values: Any) -> None:
        """Makes the named upstream answer every request as the fake's options say (status, cut_after, ...)."""
        async with httpx.AsyncClient(base_url=self.upstream_url(upstream), timeout=5) as client:
            (await client.post("/_fake/scripts", json=values)).raise_for_status()

    async def clear_scripts(self) -> None:
        """Makes every upstream answer normally again."""
        async with httpx.AsyncClient(timeout=5) as client:
            for name in UPSTREAMS:
                if self.children[name].proc.poll() is None:
                    (await client.delete(f"{self.upstream_url(name)}/_fake/scripts")).raise_for_status()

    def stop(self) -> None:
        """Stops every process, the edge first and Redis last."""
        for child in reversed(list(self.children.values())):
            child.stop()
            child.log.unlink(missing_ok=True)


async def _redis_pong(port: int) -> bool:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 0.5)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(b"PING\r\n")
        return (await asyncio.wait_for(reader.readline(), 1.0)).startswith(b"+PONG")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="switchyard-faults-"))


def remove(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
