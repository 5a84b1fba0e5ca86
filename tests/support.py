"""Test support: free ports, waiting on conditions with a deadline, and real service processes."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

# free_port: a loopback port nothing listens on, below the ephemeral range, never handed out twice.
from switchyard.replicas import free_port

if TYPE_CHECKING:
    import grpc
    from grpc import aio

    from switchyard.runtime.tls import Identity

ROOT = Path(__file__).resolve().parent.parent
POLL_INTERVAL = 0.02
# The markers of the test being set up or run (tests/conftest.py keeps them current). A test may start
# processes only when marked `mesh`, and Redis only when marked `redis` or `mesh`, so `make test-fast`
# (which leaves those out) never starts one.
CURRENT_MARKS: set[str] = set()


def require_mark(what: str, *marks: str) -> None:
    """Fails the running test when it does `what` without one of `marks`."""
    if not CURRENT_MARKS.intersection(marks):
        names = " or ".join(f"pytest.mark.{m}" for m in marks)
        raise AssertionError(f"this test {what}: mark it {names}, so `make test-fast` leaves it out")


async def wait_until(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Returns once predicate() is true; fails the test when timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL)


def wait_until_sync(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Blocking twin of wait_until for synchronous tests."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


_TLS_DIR: list[Path] = []


def tls_dir() -> Path:
    """Returns this test session's development CA and role certificates (`switchyard certs dev`'s layout),
    which every process a test starts uses unless its env says otherwise."""
    if not _TLS_DIR:
        from switchyard.runtime.certs import write_dev_ca

        _TLS_DIR.append(write_dev_ca(Path(tempfile.mkdtemp(prefix="switchyard-tls-"))))
    return _TLS_DIR[0]


def tls_env() -> dict[str, str]:
    """Returns the variables that give a started service its identity from tls_dir()."""
    return {"SWITCHYARD_TLS": "on", "SWITCHYARD_TLS_DIR": str(tls_dir())}


def identity(role: str = "client") -> Identity:
    """Returns the session CA's identity for role (`client` is what an external gRPC caller holds)."""
    from switchyard.runtime.settings import TlsSettings
    from switchyard.runtime.tls import load_identity

    loaded = load_identity(role, TlsSettings(tls="on", tls_dir=str(tls_dir())))
    assert loaded is not None
    return loaded


def aio_channel(target: str, role: str = "client", peer: str = "") -> aio.Channel:
    """Returns an asyncio gRPC channel to a started service, over mutual TLS as role."""
    from switchyard.runtime.grpcio import secure_channel

    return secure_channel(target, identity(role), peer)


def grpc_channel(target: str, role: str = "client", peer: str = "") -> grpc.Channel:
    """Returns a blocking gRPC channel to a started service, over mutual TLS as role."""
    import grpc

    from switchyard.runtime.tls import dns_name

    options = [("grpc.ssl_target_name_override", dns_name(peer))] if peer else []
    return grpc.secure_channel(target, identity(role).channel_credentials(), options=options)


class Process:
    """A real OS process of ours, with its output kept in a file for failure messages."""

    def __init__(self, args: list[str], env: Mapping[str, str] | None = None, name: str = "", cwd: Path = ROOT) -> None:
        require_mark("starts a process", "mesh")
        self.name = name or args[-1]
        self.log = tempfile.NamedTemporaryFile(prefix=f"switchyard-{self.name}-", suffix=".log", delete=False)
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **tls_env(), **(env or {})}
        self.proc = subprocess.Popen(args, env=full_env, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Sends sig and returns the exit code, killing the process if it outlives timeout."""
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def python_module(module: str, *args: str, env: Mapping[str, str] | None = None, name: str = "") -> Process:
    """Starts `python -m module args...` from the repository root."""
    return Process([sys.executable, "-m", module, *args], env=env, name=name or module.rsplit(".", 1)[-1])


MESH_MODELS = """
model_list:
  - model_name: default
    litellm_params: {{model: openai/fake-gpt-4o, api_base: "{fake_url}/v1", api_key: sk-fake}}
    model_info: {{input_cost_per_token: 0.000002, output_cost_per_token: 0.00001}}
  - model_name: default
    litellm_params: {{model: hosted_vllm/fake-llama-3.1-70b, api_base: "{fake_url}/v1"}}
  - model_name: failover
    litellm_params: {{model: openai/fake-primary, api_base: "{fake_url}/v1", api_key: sk-fake, order: 1}}
  - model_name: failover
    litellm_params: {{model: openai/fake-secondary, api_base: "{fake_url}/v1", api_key: sk-fake, order: 2}}
  - model_name: solo
    litellm_params: {{model: openai/fake-solo, api_base: "{fake_url}/v1", api_key: sk-fake}}
  - model_name: keyless
    litellm_params:
      model: openai/fake-keyless
      api_base: "{fake_url}/v1"
      api_key: os.environ/SWITCHYARD_TEST_MISSING_KEY
{extra_models}{general_settings}router_settings:
  num_retries: 2
  timeout: 10
  allowed_fails: {allowed_fails}
  cooldown_time: {cooldown_time}
{router_settings}switchyard:
  aliases:
{aliases}  request_timeout: {request_timeout}
  max_body_bytes: 65536
  fake_provider: {{enabled: true, port: {fake_port}}}
  services:
    edge: {{port: {edge}}}
    router: {{port: {router}}}
    classifier: {{port: {classifier}}}
    cache: {{port: {cache}}}
    providers: {{port: {providers}}}
    evaluator: {{port: {evaluator}}}
{switchyard_extra}"""
DEFAULT_ALIASES = "    auto: {policy: auto, groups: [solo, failover], strong_share: 0.5}\n"


class Mesh:
    """The whole gateway started by `switchyard up` as real processes, on free loopback ports."""

    def __init__(
        self,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        request_timeout: float = 4.0,
        extra_models: str = "",
        router_settings: str = "",
        *,
        aliases: str = DEFAULT_ALIASES,
        switchyard_extra: str = "",
        allowed_fails: int = 1000,
        cooldown_time: float = 60.0,
        general_settings: str = "",
    ) -> None:
        """Writes the test config; extra_models is more `model_list` YAML (two-space indented entries),
        where `$FAKE_URL` stands for the built-in fake provider's root URL; router_settings is more
        `router_settings` YAML (two-space indented keys); aliases replaces the `switchyard.aliases`
        entries (four-space indented) and switchyard_extra adds keys to `switchyard` (two-space indented);
        general_settings is a whole top-level `general_settings:` block (e.g. with a master_key).

        Circuits open only after allowed_fails failures of one deployment within a minute: a high
        default, so tests that script failures do not trip circuits other tests would then meet.
        """
        self.ports = {
            name: free_port() for name in ("edge", "router", "classifier", "cache", "providers", "evaluator", "fake")
        }
        self.fake_url = f"http://127.0.0.1:{self.ports['fake']}"
        self.edge_url = f"http://127.0.0.1:{self.ports['edge']}"
        self.router_target = f"127.0.0.1:{self.ports['router']}"
        self.providers_target = f"127.0.0.1:{self.ports['providers']}"
        self.request_timeout = request_timeout
        self.workdir = workdir
        self._fixed = {
            "aliases": aliases,
            "switchyard_extra": switchyard_extra,
            "allowed_fails": allowed_fails,
            "cooldown_time": cooldown_time,
            "general_settings": general_settings,
        }
        self.config_path = workdir / "switchyard.yaml"
        self.config_path.write_text(self.render(extra_models, router_settings))
        # Each gRPC service serves Prometheus /metrics on a port of its own (SWITCHYARD_<SERVICE>_METRICS_PORT).
        self.metrics_ports = {name: free_port() for name in ("router", "classifier", "cache", "providers", "evaluator")}
        metrics_env = {f"SWITCHYARD_{name.upper()}_METRICS_PORT": str(p) for name, p in self.metrics_ports.items()}
        # Its own state directory: what the services keep on disk (the evaluator's numbers) is this mesh's alone.
        self.env = {"XDG_STATE_HOME": str(workdir / "state"), **metrics_env, **(env or {})}
        self.process: Process | None = None

    def render(self, extra_models: str = "", router_settings: str = "", switchyard_extra: str | None = None) -> str:
        """Returns the test config on this mesh's ports with other extra models, router settings and
        `switchyard` additions (what a test writes over config_path to exercise a hot reload)."""
        fixed = dict(self._fixed)
        if switchyard_extra is not None:
            fixed["switchyard_extra"] = switchyard_extra
        return MESH_MODELS.format(
            fake_url=self.fake_url,
            fake_port=self.ports["fake"],
            request_timeout=self.request_timeout,
            extra_models=extra_models.replace("$FAKE_URL", self.fake_url),
            router_settings=router_settings,
            **fixed,
            **self.ports,
        )

    def start(self, timeout: float = 60.0, args: Sequence[str] = ()) -> Mesh:
        """Starts `switchyard up` (with more args, e.g. `--replicas`) and returns once /readyz answers 200."""

        self.process = python_module(
            "switchyard.cli",
            "up",
            "--config",
            str(self.config_path),
            "--port",
            str(self.ports["edge"]),
            *args,
            env={"SWITCHYARD_GRACE_PERIOD": "2", **self.env},
            name="mesh",
        )

        def ready() -> bool:
            assert self.process is not None
            if not self.process.alive():
                raise AssertionError(f"switchyard up exited early:\n{self.process.output()[-4000:]}")
            try:
                return httpx.get(f"{self.edge_url}/readyz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until_sync(ready, timeout, "the mesh to become ready")
        return self

    def stop(self) -> int:
        return self.process.stop() if self.process else 0

    def start_router(self, env: Mapping[str, str] | None = None, timeout: float = 60.0) -> tuple[Process, str]:
        """Starts one more router process (`python -m switchyard.services.router`) on this mesh's config and peers;
        returns it and its gRPC target once it reports SERVING."""
        from switchyard.runtime.grpcio import check_health

        port = free_port()
        router_env = {
            "SWITCHYARD_CONFIG": str(self.config_path),
            "SWITCHYARD_ROUTER_PORT": str(port),
            "SWITCHYARD_ROUTER_CLASSIFIER_TARGET": f"127.0.0.1:{self.ports['classifier']}",
            "SWITCHYARD_ROUTER_CACHE_TARGET": f"127.0.0.1:{self.ports['cache']}",
            "SWITCHYARD_ROUTER_PROVIDERS_TARGET": self.providers_target,
            "SWITCHYARD_GRACE_PERIOD": "2",
            **self.env,
            "SWITCHYARD_ROUTER_METRICS_PORT": str(free_port()),
            **(env or {}),
        }
        process = python_module("switchyard.services.router", env=router_env, name="router-2")
        target = f"127.0.0.1:{port}"

        def serving() -> bool:
            if not process.alive():
                raise AssertionError(f"the extra router exited early:\n{process.output()[-4000:]}")
            return asyncio.run(check_health(target, timeout=0.5, identity=identity()))

        wait_until_sync(serving, timeout, "the extra router to serve")
        return process, target

    def output(self) -> str:
        return self.process.output() if self.process else ""

    def metrics_url(self, service: str) -> str:
        """Returns the URL of a gRPC service's Prometheus endpoint (router, classifier, cache or providers)."""
        return f"http://127.0.0.1:{self.metrics_ports[service]}/metrics"

    @contextmanager
    def fake_admin(self, timeout: float = 5.0) -> Iterator[httpx.Client]:
        """An HTTP client on the fake provider's admin API, starting from an empty request log; the
        test's scripts and requests are cleared when it is done."""
        with httpx.Client(base_url=self.fake_url, timeout=timeout) as client:
            client.delete("/_fake/requests")
            yield client
            client.delete("/_fake/scripts")
            client.delete("/_fake/requests")
