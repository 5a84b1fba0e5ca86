"""The `switchyard` command: run the whole mesh on loopback, one service alone, or a health check.

switchyard up [--config PATH] [--host H] [--port P] [--replicas router=3,...]   all five services
                                                       (+ the fake provider), some as several replicas
switchyard serve SERVICE [ARGS...]                     one service, configured by environment
switchyard health HOST:PORT                            exit 0 when a gRPC service is SERVING
switchyard certs dev [--dir DIR]                       a development CA and a certificate per service role
switchyard config check FILE                           validate a config as start-up would, start nothing
switchyard analyze [FILE]                              analyse JSON-line requests
switchyard eval-router FILE [--cheap M] [--strong M] [--plot SVG]   how well the router routes logged traffic
switchyard train-router --from-store [--config FILE] [--store-url URL] [--out PATH] [--min-samples N]
                        [--dry-run] [--force]          refit deployments' quality from the store's judgements
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from switchyard.config import Config, ConfigError, load_config
from switchyard.replicas import Layout, Replica, describe, layout, parse_replicas, shared_state_problem, target
from switchyard.runtime.logs import log_format, stamp_line

if TYPE_CHECKING:
    from switchyard.runtime.tls import Identity

SERVICES: dict[str, str] = {
    "router": "switchyard.services.router",
    "classifier": "switchyard.services.classifier",
    "cache": "switchyard.services.cache",
    "providers": "switchyard.services.providers",
    "evaluator": "switchyard.services.evaluator",
    "edge": "switchyard.services.edge",
    "fake": "switchyard.fakes",
}
GRPC_SERVICES = ("classifier", "cache", "providers", "router", "evaluator")
# The services the edge checks in /readyz (the evaluator is off the request path).
EDGE_PEERS = ("classifier", "cache", "providers", "router")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass
class Child:
    """One service process started by `switchyard up`."""

    name: str
    proc: asyncio.subprocess.Process
    last_line: str = ""
    service: str = ""


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


def plan(config: Config, config_path: str, replicas: Layout) -> list[tuple[str, list[str], dict[str, str]]]:
    """Returns (name, argv, env) for every process `up` starts, in start order (each replica its own)."""
    services = config.switchyard.services
    edge_host, edge_port = replicas["edge"][0].host, replicas["edge"][0].port
    targets = {n: target(replicas[n]) for n in GRPC_SERVICES}
    env = {"SWITCHYARD_CONFIG": config_path, "PYTHONUNBUFFERED": "1"}
    for name in GRPC_SERVICES:
        address = getattr(services, name)
        env[f"SWITCHYARD_{name.upper()}_HOST"] = address.host
        env[f"SWITCHYARD_{name.upper()}_PORT"] = str(address.port)
    for name in ("classifier", "cache", "providers"):
        env[f"SWITCHYARD_ROUTER_{name.upper()}_TARGET"] = targets[name]
    env["SWITCHYARD_ROUTER_EVALUATOR_TARGET"] = targets["evaluator"]
    env["SWITCHYARD_EVALUATOR_ROUTER_TARGET"] = targets["router"]
    for name in EDGE_PEERS:
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
    for name in (*GRPC_SERVICES, "edge"):
        plan += [(r.name, [*py, SERVICES[name]], {**env, **r.env()}) for r in replicas[name]]
    return plan


def _addresses(config: Config, replicas: Layout) -> list[tuple[str, str, int]]:
    found = [(r.name, r.host, r.port) for name in (*GRPC_SERVICES, "edge") for r in replicas[name]]
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


async def _ready(config: Config, replica: Replica | None, identity: Identity | None) -> bool:
    """Returns whether a replica (None: the fake provider) answers its health check."""
    from switchyard.runtime.grpcio import check_health

    if replica is None:
        fake = config.switchyard.fake_provider
        return await _http_ok(fake.host, fake.port, "/health")
    if replica.service in GRPC_SERVICES:
        address = f"{replica.host}:{replica.port}"
        return await check_health(address, timeout=0.5, identity=identity, peer=replica.service)
    return await _http_ok(replica.host, replica.port, "/healthz")


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


async def _wait_ready(child: Child, config: Config, replica: Replica | None, identity: Identity | None) -> str | None:
    """Returns None once child is ready, or the reason it is not."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.proc.returncode is not None:
            return f"{child.name} failed to start: {child.last_line or f'exit code {child.proc.returncode}'}"
        if await _ready(config, replica, identity):
            return None
        await asyncio.sleep(0.05)
    return f"{child.name} did not become ready within {START_TIMEOUT:.0f}s"


DEMO_NOTICE = (
    "switchyard: no --config given: serving the embedded demo config, whose models answer from a built-in "
    "fake provider (switchyard up --config FILE for real providers)"
)


async def up(config_path: str, host: str | None, port: int | None, counts: Mapping[str, int] | None = None) -> int:
    """Starts every service as its own process (counts: how many replicas of some), waits until all are
    ready, and runs until signalled or until every replica of a service has exited."""
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
    problem = shared_state_problem(config, counts or {})
    if problem is not None:
        print(f"switchyard: {problem}", file=sys.stderr)
        return 2
    edge = config.switchyard.services.edge
    edge_address = (host or edge.host, edge.port if port is None else port)
    replicas = layout(config, counts or {}, GRPC_SERVICES, edge_address, os.environ)
    by_name = {r.name: r for group in replicas.values() for r in group}
    for name, address_host, address_port in _addresses(config, replicas):
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
        for name, argv, env in plan(config, config_path, replicas):
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env={**os.environ, **env, **tls_env},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            replica = by_name.get(name)
            child = Child(name, proc, service=replica.service if replica else name)
            children.append(child)
            pumps.append(asyncio.create_task(_pump(child, fmt)))
            problem = await _wait_ready(child, config, replica, identity)
            if problem is not None:
                print(f"switchyard: {problem}", file=sys.stderr)
                return 1
            if stop.is_set():
                return 0
        _banner(replicas["edge"], next(iter(config.groups())))
        if len(by_name) > len(replicas):
            pids = {c.name: c.proc.pid for c in children}
            print("Replicas:\n" + describe([r for group in replicas.values() for r in group], pids) + "\n", flush=True)
        return await _watch(children, stop)
    finally:
        await _stop(children)
        for pump in pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(pump, 2.0)


async def _watch(children: Sequence[Child], stop: asyncio.Event) -> int:
    """Returns 0 once stop is set, or 1 once every replica of some service (or the fake provider) has exited;
    a replica exiting while others of its service run is reported and the rest serve on."""
    reported: set[str] = set()
    while True:
        live = [c for c in children if c.proc.returncode is None]
        waits = [asyncio.create_task(stop.wait())] + [asyncio.create_task(c.proc.wait()) for c in live]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        if stop.is_set():
            return 0
        for child in children:
            if child.proc.returncode is None or child.name in reported:
                continue
            reported.add(child.name)
            left = sum(1 for c in children if c.service == child.service and c.proc.returncode is None)
            if left == 0:
                print(f"switchyard: {child.name} exited with code {child.proc.returncode}; stopping", file=sys.stderr)
                return 1
            print(
                f"switchyard: {child.name} exited with code {child.proc.returncode}; "
                f"{left} {child.service} replica(s) serve on",
                file=sys.stderr,
                flush=True,
            )


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


def _banner(edges: Sequence[Replica], model: str) -> None:
    url = f"http://{edges[0].host}:{edges[0].port}"
    more = "".join(f"\n                  http://{e.host}:{e.port}/v1" for e in edges[1:])
    print(
        f"\nSwitchyard is up: {url}/v1 (OpenAI-compatible){more}\n\n"
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
    run_up.add_argument(
        "--replicas",
        type=parse_replicas,
        default={},
        metavar="SERVICE=N,...",
        help="run several replicas of router, classifier, cache, providers or edge (needs switchyard.redis_url)",
    )
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
    run_train = commands.add_parser("train-router", help="refit deployments' quality from judged traffic")
    run_train.add_argument("--from-store", action="store_true", required=True, help="learn from the analytics store")
    run_train.add_argument("--config", default="", help="YAML config (default: the embedded demo config)")
    run_train.add_argument("--store-url", default="", help="the analytics store (default: the config's analytics.url)")
    run_train.add_argument("--out", default="", help="the artifact (default: the config's routing.quality_file)")
    run_train.add_argument("--min-samples", type=int, default=10, help="judgements a category needs to be refitted")
    run_train.add_argument("--dry-run", action="store_true", help="evaluate and print, write nothing")
    run_train.add_argument("--force", action="store_true", help="write the refit even when it evaluates worse")
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
        sys.exit(asyncio.run(up(config_path, args.host, args.port, args.replicas)))
    if args.command == "serve":
        sys.exit(serve(args.service, args.args))
    if args.command == "config":
        sys.exit(check_config(args.file))
    if args.command == "certs":
        sys.exit(certs_dev(args.dir, args.keep))
    if args.command == "eval-router":
        from switchyard.services.classifier import evaluate

        sys.exit(evaluate.main(args.file, args.cheap, args.strong, args.plot, args.rounds))
    if args.command == "train-router":
        from switchyard.services.router import train

        options = train.Options(
            args.config, args.store_url, args.out, args.min_samples, dry_run=args.dry_run, force=args.force
        )
        sys.exit(train.run(options))
    if args.command == "analyze":
        from switchyard.services.classifier import cli as analyze_cli

        if args.file:
            with open(args.file, encoding="utf-8") as source:
                sys.exit(analyze_cli.main(source))
        sys.exit(analyze_cli.main())
    sys.exit(asyncio.run(health(args.target)))


if __name__ == "__main__":
    main()
