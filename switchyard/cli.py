"""The `switchyard` command: run the whole mesh on loopback, one service alone, or a health check.

switchyard up [--config PATH] [--host H] [--port P]   all five services (+ the fake provider)
switchyard serve SERVICE [ARGS...]                     one service, configured by environment
switchyard health HOST:PORT                            exit 0 when a gRPC service is SERVING
switchyard certs dev [--dir DIR]                       a development CA and a certificate per service role
switchyard config check FILE                           validate a config as start-up would, start nothing
switchyard analyze [FILE]                              analyse JSON-line requests
switchyard eval-router FILE [--cheap M] [--strong M] [--plot SVG]   how well the router routes logged traffic
switchyard --version

Unknown flags and subcommands are refused (exit 2) rather than ignored: a mistyped `--config` must
never start the embedded demo config, which answers from a fake provider.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from switchyard.config import Config, ConfigError, load_config
from switchyard.runtime.logs import log_format, stamp_line

if TYPE_CHECKING:
    from switchyard.runtime.tls import Identity

SERVICES: dict[str, str] = {
    "router": "switchyard.services.router",
    "classifier": "switchyard.services.classifier",
    "cache": "switchyard.services.cache",
    "providers": "switchyard.services.providers",
    "edge": "switchyard.services.edge",
    "fake": "switchyard.fakes",
}
GRPC_SERVICES = ("classifier", "cache", "providers", "router")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass
class Child:
    """One service process started by `switchyard up`."""

    name: str
    proc: asyncio.subprocess.Process
    last_line: str = ""


def _port_taken(host: str, port: int) -> bool:
    """Returns whether another process listens on host:port.

    A failed test bind alone is not proof: connections of an earlier run lingering in TIME_WAIT
    also fail it, yet the services (which bind with SO_REUSEADDR) start fine, so a connect decides.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            pass
        else:
            return False
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _plan(
    config: Config, config_path: str, host: str | None, port: int | None
) -> list[tuple[str, list[str], dict[str, str]]]:
    """Returns (name, argv, env) for every process `up` starts, in start order."""
    services = config.switchyard.services
    edge_host = host or services.edge.host
    edge_port = services.edge.port if port is None else port
    targets = {n: f"{getattr(services, n).host}:{getattr(services, n).port}" for n in GRPC_SERVICES}
    env = {"SWITCHYARD_CONFIG": config_path, "PYTHONUNBUFFERED": "1"}
    for name in GRPC_SERVICES:
        address = getattr(services, name)
        env[f"SWITCHYARD_{name.upper()}_HOST"] = address.host
        env[f"SWITCHYARD_{name.upper()}_PORT"] = str(address.port)
    for name in ("classifier", "cache", "providers"):
        env[f"SWITCHYARD_ROUTER_{name.upper()}_TARGET"] = targets[name]
    for name in GRPC_SERVICES:
        env[f"SWITCHYARD_EDGE_{name.upper()}_TARGET"] = targets[name]
    env["SWITCHYARD_EDGE_HOST"], env["SWITCHYARD_EDGE_PORT"] = edge_host, str(edge_port)
    py = [sys.executable, "-m"]
    plan: list[tuple[str, list[str], dict[str, str]]] = []
    fake = config.switchyard.fake_provider
    if fake.enabled:
        plan.append(
            (
                "fake",
                [
                    *py,
                    SERVICES["fake"],
                    "--host",
                    fake.host,
                    "--port",
                    str(fake.port),
                    "--latency-ms",
                    str(fake.latency_ms),
                ],
                env,
            )
        )
    plan += [(name, [*py, SERVICES[name]], env) for name in (*GRPC_SERVICES, "edge")]
    return plan


def _addresses(config: Config, host: str | None, port: int | None) -> list[tuple[str, str, int]]:
    services = config.switchyard.services
    found = [(n, getattr(services, n).host, getattr(services, n).port) for n in GRPC_SERVICES]
    found.append(("edge", host or services.edge.host, services.edge.port if port is None else port))
    if config.switchyard.fake_provider.enabled:
        found.append(("fake provider", config.switchyard.fake_provider.host, config.switchyard.fake_provider.port))
    return found


async def _pump(child: Child, fmt: str) -> None:
    """Prints a child's output lines, each with its service and time (logs.stamp_line)."""
    assert child.proc.stdout is not None
    async for raw in child.proc.stdout:
        line = raw.decode(errors="replace").rstrip()
        if line:
            child.last_line = line
            print(stamp_line(line, child.name, fmt), flush=True)


async def _ready(name: str, config: Config, host: str | None, port: int | None, identity: Identity | None) -> bool:
    from switchyard.runtime.grpcio import check_health

    services = config.switchyard.services
    if name in GRPC_SERVICES:
        address = getattr(services, name)
        return await check_health(f"{address.host}:{address.port}", timeout=0.5, identity=identity, peer=name)
    if name == "fake":
        fake = config.switchyard.fake_provider
        return await _http_ok(fake.host, fake.port, "/health")
    return await _http_ok(host or services.edge.host, services.edge.port if port is None else port, "/healthz")


async def _http_ok(host: str, port: int, path: str) -> bool:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 0.5)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        status = await asyncio.wait_for(reader.readline(), 1.0)
        return b" 200 " in status
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()


async def _stop(children: Sequence[Child]) -> None:
    for child in reversed(children):
        if child.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.proc.send_signal(signal.SIGTERM)
    for child in children:
        try:
            await asyncio.wait_for(child.proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                child.proc.kill()
            await child.proc.wait()


async def _wait_ready(
    child: Child, config: Config, host: str | None, port: int | None, identity: Identity | None
) -> str | None:
    """Returns None once child is ready, or the reason it is not."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.proc.returncode is not None:
            return f"{child.name} failed to start: {child.last_line or f'exit code {child.proc.returncode}'}"
        if await _ready(child.name, config, host, port, identity):
            return None
        await asyncio.sleep(0.05)
    return f"{child.name} did not become ready within {START_TIMEOUT:.0f}s"


DEMO_NOTICE = (
    "switchyard: no --config given: serving the embedded demo config, whose models answer from a built-in "
    "fake provider (switchyard up --config FILE for real providers)"
)


async def up(config_path: str, host: str | None, port: int | None) -> int:
    """Starts every service as its own process, waits until all are ready, and runs until signalled."""
    if not config_path:
        print(DEMO_NOTICE, flush=True)
    try:
        config = load_config(config_path)
        fmt = log_format()
    except (ConfigError, ValueError) as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 2
    from switchyard.runtime.tls import TlsConfigError

    try:
        tls_env, identity = mesh_tls()
    except (TlsConfigError, ValueError) as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 2
    for name, address_host, address_port in _addresses(config, host, port):
        if _port_taken(address_host, address_port):
            print(f"switchyard: port {address_port} on {address_host} ({name}) is already in use", file=sys.stderr)
            return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    children: list[Child] = []
    pumps: list[asyncio.Task[None]] = []
    try:
        for name, argv, env in _plan(config, config_path, host, port):
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env={**os.environ, **env, **tls_env},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            child = Child(name, proc)
            children.append(child)
            pumps.append(asyncio.create_task(_pump(child, fmt)))
            problem = await _wait_ready(child, config, host, port, identity)
            if problem is not None:
                print(f"switchyard: {problem}", file=sys.stderr)
                return 1
            if stop.is_set():
                return 0
        edge_host = host or config.switchyard.services.edge.host
        edge_port = config.switchyard.services.edge.port if port is None else port
        _banner(edge_host, edge_port, next(iter(config.groups())))
        waits = [asyncio.create_task(stop.wait())] + [asyncio.create_task(c.proc.wait()) for c in children]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        died = [c for c in children if c.proc.returncode is not None]
        if died and not stop.is_set():
            print(f"switchyard: {died[0].name} exited with code {died[0].proc.returncode}; stopping", file=sys.stderr)
            return 1
        return 0
    finally:
        await _stop(children)
        for pump in pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(pump, 2.0)


TLS_OFF_WARNING = (
    "switchyard: WARNING: SWITCHYARD_TLS=off: the services call each other in plaintext and accept any caller "
    "that reaches their ports"
)


def mesh_tls() -> tuple[dict[str, str], Identity | None]:
    """Returns the TLS variables every service of `up` gets, and the identity `up`'s own health checks present.

    SWITCHYARD_TLS_DIR (a CA and a certificate per role) is used as given; with no TLS variable set, a
    development CA in the per-user state directory (made on first use). SWITCHYARD_TLS=off: plaintext,
    said loudly. Raises TlsConfigError when the files do not serve.
    """
    from switchyard.runtime.certs import ensure_dev_ca, state_dir
    from switchyard.runtime.settings import TlsSettings
    from switchyard.runtime.tls import TlsConfigError, load_identity

    settings = TlsSettings()
    if settings.tls == "off":
        print(TLS_OFF_WARNING, file=sys.stderr, flush=True)
        return {}, None
    if settings.tls_cert or settings.tls_key:
        raise TlsConfigError(
            "switchyard up gives every service its own certificate from SWITCHYARD_TLS_DIR (ca.crt, <role>.crt, "
            "<role>.key); SWITCHYARD_TLS_CERT and SWITCHYARD_TLS_KEY name a single one: unset them"
        )
    directory = settings.tls_dir or str(ensure_dev_ca(state_dir()))
    env = {"SWITCHYARD_TLS": "on", "SWITCHYARD_TLS_DIR": directory}
    return env, load_identity("client", TlsSettings(tls_dir=directory, tls_ca=settings.tls_ca))


def certs_dev(directory: str, keep: bool = False) -> int:
    """Writes a development CA and a certificate and key per role into directory (`switchyard certs dev`);
    with keep, a usable set already there stays as it is."""
    from switchyard.runtime.certs import ensure_dev_ca, write_dev_ca
    from switchyard.runtime.tls import ROLES

    written = ensure_dev_ca(Path(directory)) if keep else write_dev_ca(Path(directory))
    print(f"wrote a development CA and certificates for {', '.join(ROLES)} to {written}")
    print(f"use them with: SWITCHYARD_TLS_DIR={written} switchyard up")
    return 0


def _banner(host: str, port: int, model: str) -> None:
    url = f"http://{host}:{port}"
    print(
        f"\nSwitchyard is up: {url}/v1 (OpenAI-compatible)\n\n"
        f"  curl {url}/v1/chat/completions -H 'content-type: application/json' \\\n"
        f'    -d \'{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello!"}}]}}\'\n\n'
        "Press Ctrl-C to stop.\n",
        flush=True,
    )


def serve(service: str, args: Sequence[str]) -> int:
    """Runs one service in this process (what a container runs); args go to the service's own parser."""
    import runpy

    sys.argv = [SERVICES[service], *args]
    runpy.run_module(SERVICES[service], run_name="__main__", alter_sys=True)
    return 0


def check_config(path: str) -> int:
    """Validates a config file as the services do at start-up; prints what it found and starts nothing.

    Returns 0 when every service would start on it, 1 when one would refuse it. Deployments whose key
    variable is unset are warnings: the providers service starts and marks them unavailable.
    """
    from switchyard.services.providers.config import resolve_deployments
    from switchyard.services.router.config import governance_secrets
    from switchyard.services.router.routing import RoutingTable

    try:
        config = load_config(path)
        RoutingTable.build(config)
        governance_secrets(config)
    except ConfigError as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 1
    logging.disable(logging.WARNING)  # resolve_deployments logs each unavailable one; said once below instead
    try:
        deployments = resolve_deployments(config)
    finally:
        logging.disable(logging.NOTSET)
    for deployment in deployments:
        if not deployment.available:
            print(f"{path}: warning: deployment {deployment.id} is unavailable: {deployment.unavailable_reason}")
    names = len(config.groups()) + len(config.switchyard.aliases)
    print(f"{path}: ok ({len(deployments)} deployment(s), {names} model name(s))")
    return 0


async def health(target: str) -> int:
    from switchyard.runtime.grpcio import check_health
    from switchyard.runtime.tls import TlsConfigError, client_identity

    try:
        identity = client_identity()
    except TlsConfigError as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 2
    ok = await check_health(target, timeout=2.0, identity=identity)
    print("SERVING" if ok else "NOT_SERVING")
    return 0 if ok else 1


def version() -> str:
    """Returns the installed package's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("llm-switchyard")
    except PackageNotFoundError:
        return "0+unknown"


def parser() -> argparse.ArgumentParser:
    """Returns the command line's parser: every subcommand and flag it accepts, nothing else."""
    root = argparse.ArgumentParser(prog="switchyard", description="Switchyard LLM gateway")
    root.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_up = commands.add_parser("up", help="start all services on loopback")
    run_up.add_argument("--config", default="", help="YAML config (default: the embedded demo config)")
    run_up.add_argument("--host", default=None, help="edge host (default 127.0.0.1)")
    run_up.add_argument("--port", type=int, default=None, help="edge port (default 8080)")
    run_serve = commands.add_parser("serve", help="run one service alone")
    run_serve.add_argument("service", choices=sorted(SERVICES))
    run_serve.add_argument("args", nargs=argparse.REMAINDER, help="the fake provider's own flags (--wire, --port, ...)")
    run_health = commands.add_parser("health", help="check a gRPC service's health")
    run_health.add_argument("target", help="HOST:PORT")
    run_analyze = commands.add_parser("analyze", help="analyse JSON-line requests (file or stdin)")
    run_analyze.add_argument("file", nargs="?", help="JSON lines; stdin when absent")
    run_eval = commands.add_parser("eval-router", help="measure the cost-quality router on logged traffic")
    run_eval.add_argument(
        "file", help='JSON lines: {"prompt", "scores": {model: score}} or cheap_correct/strong_correct'
    )
    run_eval.add_argument("--cheap", help="the cheap model's name in scores (default: lowest mean score)")
    run_eval.add_argument("--strong", help="the strong model's name in scores (default: highest mean score)")
    run_eval.add_argument("--plot", help="write the quality-vs-cost curves to this SVG file")
    run_eval.add_argument("--rounds", type=int, default=200, help="bootstrap rounds for the intervals")
    run_config = commands.add_parser("config", help="work with config files")
    config_commands = run_config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    run_check = config_commands.add_parser("check", help="validate a config file without starting anything")
    run_check.add_argument("file", help="the YAML config")
    run_certs = commands.add_parser("certs", help="certificates for mutual TLS between services")
    certs_commands = run_certs.add_subparsers(dest="certs_command", required=True, metavar="COMMAND")
    run_dev = certs_commands.add_parser("dev", help="write a development CA and a certificate per service role")
    run_dev.add_argument("--dir", default="switchyard-tls", help="where to write them (default ./switchyard-tls)")
    run_dev.add_argument("--keep", action="store_true", help="keep a usable set already in --dir")
    return root


def main(argv: Sequence[str] | None = None) -> None:
    cli = parser()
    args = cli.parse_args(argv)
    if args.command == "serve" and args.args and args.service != "fake":
        cli.error(f"serve {args.service} takes no arguments: it is configured by SWITCHYARD_* variables")
    if args.command == "up":
        config_path = str(Path(args.config).resolve()) if args.config else ""
        sys.exit(asyncio.run(up(config_path, args.host, args.port)))
    if args.command == "serve":
        sys.exit(serve(args.service, args.args))
    if args.command == "config":
        sys.exit(check_config(args.file))
    if args.command == "certs":
        sys.exit(certs_dev(args.dir, args.keep))
    if args.command == "eval-router":
        from switchyard.services.classifier import evaluate

        sys.exit(evaluate.main(args.file, args.cheap, args.strong, args.plot, args.rounds))
    if args.command == "analyze":
        from switchyard.services.classifier import cli as analyze_cli

        if args.file:
            with open(args.file, encoding="utf-8") as source:
                sys.exit(analyze_cli.main(source))
        sys.exit(analyze_cli.main())
    sys.exit(asyncio.run(health(args.target)))


if __name__ == "__main__":
    main()
