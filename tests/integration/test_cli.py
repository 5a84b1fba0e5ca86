"""`switchyard up` starts every service as its own process and stops them all; `serve` runs one."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from switchyard.cli import DEMO_NOTICE, GRPC_SERVICES, version
from switchyard.config import load_config
from tests.support import Mesh, free_port, python_module, wait_until_sync

pytestmark = pytest.mark.mesh


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = next((line.split()[1] for line in text.splitlines() if line.startswith("PPid:")), "")
        if ppid == str(pid):
            found.append(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_up_runs_six_processes_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path).start()
    try:
        assert mesh.process is not None
        children = _children(mesh.process.proc.pid)
        assert len(children) == 7, "edge, router, classifier, cache, providers, evaluator and the fake provider"
        wait_until_sync(lambda: "Switchyard is up" in mesh.output(), 10.0, "the ready banner")
        output = mesh.output()
        assert "curl" in output
        for name in ("router", "classifier", "cache", "providers", "evaluator", "edge"):
            assert any(line.startswith(name) and "|" in line for line in output.splitlines()), name
    finally:
        code = mesh.stop()
    assert code == 0
    wait_until_sync(lambda: not any(_alive(p) for p in children), 10.0, "every service to exit")


def test_up_refuses_a_taken_port_with_one_line(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", mesh.ports["edge"]))
        taken.listen()
        process = python_module(
            "switchyard.cli",
            "up",
            "--config",
            str(mesh.config_path),
            "--port",
            str(mesh.ports["edge"]),
            name="up-taken",
        )
        code = process.proc.wait(30)
    assert code != 0
    lines = [line for line in process.output().splitlines() if line.startswith("switchyard:")]
    assert lines == [f"switchyard: port {mesh.ports['edge']} on 127.0.0.1 (edge) is already in use"]


def test_up_refuses_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list: []\n")
    process = python_module("switchyard.cli", "up", "--config", str(bad), name="up-bad")
    assert process.proc.wait(30) == 2
    assert "model_list" in process.output()


def test_serve_runs_one_service_and_health_reports_it() -> None:
    port = free_port()
    process = python_module(
        "switchyard.cli", "serve", "classifier", env={"SWITCHYARD_CLASSIFIER_PORT": str(port)}, name="serve-classifier"
    )
    try:

        def serving() -> bool:
            check = python_module("switchyard.cli", "health", f"127.0.0.1:{port}", name="health")
            return check.proc.wait(10) == 0

        wait_until_sync(serving, 30.0, "the classifier to serve")
    finally:
        assert process.stop() == 0


def test_embedded_default_serves_a_completion(tmp_path: Path) -> None:
    """`make run`'s configuration: the embedded default with its built-in fake provider."""
    config = load_config(None)
    services = config.switchyard.services
    fixed = [config.switchyard.fake_provider.port, *(getattr(services, n).port for n in GRPC_SERVICES)]
    edge_port = free_port()
    for port in fixed:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is taken by another program"
    # The default ports lie in the ephemeral range: a socket of an earlier test may linger on one in
    # TIME_WAIT for up to a minute. Wait for them to be bindable rather than fail at random.
    wait_until_sync(lambda: all(_bindable(port) for port in fixed), 90.0, "the default ports to be free")
    process = python_module("switchyard.cli", "up", "--port", str(edge_port), name="up-default")
    try:
        url = f"http://127.0.0.1:{edge_port}"
        wait_until_sync(lambda: "\n" in process.output(), 30.0, "the first line of `up`")
        assert process.output().splitlines()[0] == DEMO_NOTICE, "a demo config is announced before anything starts"

        def ready() -> bool:
            assert process.alive(), process.output()
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until_sync(ready, 60.0, "the embedded default to be ready")
        reply = httpx.post(
            f"{url}/v1/chat/completions", json={"model": "cheap", "messages": [{"role": "user", "content": "hi"}]}
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["content"]
    finally:
        assert process.stop() == 0


def _cli(*args: str, timeout: float = 30.0) -> tuple[int, str]:
    process = python_module("switchyard.cli", *args, name="cli")
    code = process.proc.wait(timeout)
    return code, process.output()


def test_a_mistyped_flag_is_refused_rather_than_serving_the_demo_config() -> None:
    code, output = _cli("up", "--cofig", "prod.yaml")
    assert code == 2
    assert "unrecognized arguments: --cofig prod.yaml" in output
    assert "demo" not in output and "listening" not in output, "nothing started"


def test_unknown_subcommands_and_service_arguments_are_refused() -> None:
    code, output = _cli("upp")
    assert code == 2 and "invalid choice: 'upp'" in output
    code, output = _cli("serve", "router", "--port", "1")
    assert code == 2 and "serve router takes no arguments" in output
    code, output = _cli("config", "chek", "x.yaml")
    assert code == 2 and "invalid choice: 'chek'" in output


def test_version() -> None:
    code, output = _cli("--version")
    assert code == 0 and output.strip() == f"switchyard {version()}"
    assert version()[0].isdigit()


def test_config_check_validates_without_starting_anything(tmp_path: Path) -> None:
    good = Mesh(tmp_path).config_path
    code, output = _cli("config", "check", str(good))
    assert code == 0, output
    assert f"{good}: ok (" in output
    assert "warning: deployment keyless" in output and "SWITCHYARD_TEST_MISSING_KEY" in output
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("num_retries: 2", "num_retries: many"))
    code, output = _cli("config", "check", str(bad))
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "num_retries" in text)
    assert code == 1
    assert f"{bad}:{line}: router_settings.num_retries" in output, output
    (tmp_path / "u").mkdir()
    unroutable = tmp_path / "unroutable.yaml"
    rule = "  rules: [{match: {category: [poetry]}, route_to: solo}]\n"
    unroutable.write_text(Mesh(tmp_path / "u", switchyard_extra=rule).config_path.read_text())
    code, output = _cli("config", "check", str(unroutable))
    assert code == 1 and "unknown ['poetry']" in output, "what the router refuses at start, the check refuses too"
