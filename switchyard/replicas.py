"""How `switchyard up --replicas router=3,cache=2,...` lays out several processes of one service on one machine.

Replica 1 of a service keeps the address the config gives it; gRPC replicas 2.. listen on free
loopback ports picked free (`free_port`), and the edge's on the ports after the configured one (8080, 8081,
...), each printed at start: separate ports rather than one shared with SO_REUSEPORT, so each edge is
checked for readiness on its own and no stray process can quietly share a port with one.

Callers reach the replicas of a gRPC service through one target listing every address
(`ipv4:127.0.0.1:50051,127.0.0.1:40123`, gRPC's own syntax for a static list), and their channels'
round_robin policy (runtime/grpcio.py) spreads calls over them. Replicas share rate windows, budgets,
circuits and cache entries only through Redis, so more than one replica needs a Redis URL.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from switchyard.config import Config

REPLICABLE = ("router", "classifier", "cache", "providers", "edge")
MAX_REPLICAS = 16


def parse_replicas(spec: str) -> dict[str, int]:
    """Returns the replica count of each service named in spec (`router=3,cache=2`); argparse turns the
    ArgumentTypeError raised on an unknown service, a repeated one or a count below 1 into exit 2."""
    counts: dict[str, int] = {}
    for item in spec.split(","):
        service, sep, raw = item.strip().partition("=")
        if not sep or not service:
            raise argparse.ArgumentTypeError(f"{item.strip()!r} is not SERVICE=COUNT")
        if service not in REPLICABLE:
            raise argparse.ArgumentTypeError(f"unknown service {service!r} (one of {', '.join(REPLICABLE)})")
        if service in counts:
            raise argparse.ArgumentTypeError(f"{service} is given twice")
        try:
            count = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{service}={raw}: the count must be a whole number") from None
        if not 1 <= count <= MAX_REPLICAS:
            raise argparse.ArgumentTypeError(f"{service}={raw}: the count must be between 1 and {MAX_REPLICAS}")
        counts[service] = count
    return counts


@dataclass(frozen=True, slots=True)
class Replica:
    """One process of a service: its name in `up`'s output, where it listens, and its metrics and
    plaintext health ports (None: the service's own setting)."""

    service: str
    name: str
    host: str
    port: int
    metrics_port: int | None = None
    health_port: int | None = None

    def env(self) -> dict[str, str]:
        """Returns the variables that put this replica on its own ports."""
        prefix = f"SWITCHYARD_{self.service.upper()}_"
        found = {f"{prefix}PORT": str(self.port)}
        if self.metrics_port is not None:
            found[f"{prefix}METRICS_PORT"] = str(self.metrics_port)
        if self.health_port is not None:
            found[f"{prefix}HEALTH_PORT"] = str(self.health_port)
        return found


Layout = dict[str, list[Replica]]


def shared_state_problem(config: Config, counts: Mapping[str, int]) -> str | None:
    """Returns why config cannot run counts' replicas (they would each keep their own limits, budgets and
    cache), or None when it can."""
    many = sorted(name for name, count in counts.items() if count > 1)
    if not many:
        return None
    if not config.state_url():
        return (
            f"--replicas: more than one {'/'.join(many)} replica needs shared state: set switchyard.redis_url "
            "(or router_settings.redis_host) in the config, so replicas share rate limits, budgets, circuits "
            "and cache entries"
        )
    if counts.get("cache", 1) > 1 and config.switchyard.cache.backend == "memory":
        return "--replicas: cache replicas need the Redis cache backend, but switchyard.cache.backend is memory"
    return None


def layout(
    config: Config,
    counts: Mapping[str, int],
    grpc_services: Sequence[str],
    edge: tuple[str, int],
    environ: Mapping[str, str],
) -> Layout:
    """Returns the replicas of each of grpc_services and of the edge (at edge: host, port), with the ports
    they listen on."""
    edge_host, edge_port = edge
    services = config.switchyard.services
    found: Layout = {}
    for service in grpc_services:
        address = getattr(services, service)
        found[service] = _replicas(service, address.host, address.port, counts.get(service, 1), environ)
    found["edge"] = [
        Replica("edge", _name("edge", i, counts.get("edge", 1)), edge_host, edge_port + i)
        for i in range(counts.get("edge", 1))
    ]
    return found


def _replicas(service: str, host: str, port: int, count: int, environ: Mapping[str, str]) -> list[Replica]:
    if count == 1:
        return [Replica(service, service, host, port)]
    replicas = []
    metrics_off = environ.get(f"SWITCHYARD_{service.upper()}_METRICS_PORT") == "0"
    for i in range(count):
        own = port if i == 0 else free_port(host)
        metrics = None if i == 0 or metrics_off else free_port(host)
        # A configured health port is the first replica's; the others serve none.
        health = None if i == 0 else 0
        replicas.append(Replica(service, _name(service, i, count), host, own, metrics, health))
    return replicas


def _name(service: str, index: int, count: int) -> str:
    return service if count == 1 else f"{service}-{index + 1}"


def free_port(host: str = "127.0.0.1") -> int:
    """Returns a port on host that nothing listens on right now and this process has not handed out.

    It is picked below the ephemeral range: a port the kernel hands out for bind(0) comes from the range
    outgoing connections take their source ports from, so between the pick and the process listening on
    it a connection could take it (the process then fails to start, port in use). And a port handed out
    is not handed out again: `switchyard up` picks every replica's port before any of them listens.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    low = _ephemeral_low()
    for _ in range(200):
        port = _PORTS.randrange(max(1024, low - 16384), low)
        if port in _GIVEN:
            continue
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


_PORTS = random.SystemRandom()
# The ports this process handed out: none is handed out twice.
_GIVEN: set[int] = set()


def _ephemeral_low() -> int:
    """Returns the lowest port of the kernel's ephemeral range (Linux's default when it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def target(replicas: list[Replica]) -> str:
    """Returns the gRPC target reaching every replica: `host:port` for one, else gRPC's static address list
    (`ipv4:a:p1,a:p2` / `ipv6:[a]:p1,...`), a host name resolved to its first address."""
    if len(replicas) == 1:
        return f"{replicas[0].host}:{replicas[0].port}"
    address = _literal(replicas[0].host)
    if address.version == 6:
        return "ipv6:" + ",".join(f"[{address}]:{r.port}" for r in replicas)
    return "ipv4:" + ",".join(f"{address}:{r.port}" for r in replicas)


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        resolved = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0]
        return ipaddress.ip_address(resolved)


def describe(replicas: list[Replica], pids: Mapping[str, int]) -> str:
    """Returns one line per replica: name, address, metrics port and process id (what an operator needs to
    scrape or stop one)."""
    lines = []
    for replica in replicas:
        kind = "http" if replica.service == "edge" else "grpc"
        metrics = f"  metrics {replica.host}:{replica.metrics_port}" if replica.metrics_port else ""
        pid = pids.get(replica.name, 0)
        lines.append(f"  {replica.name:<12} {kind} {replica.host}:{replica.port}{metrics}  pid {pid}")
    return "\n".join(lines)
