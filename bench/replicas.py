"""Throughput with 1, 2, 3... router replicas on this machine: `python -m bench.replicas`.

Each run starts `switchyard up --replicas router=N` (one edge, every other service single) over one
Redis (REDIS_URL when it answers, else a throwaway redis-server), drives the edge with the load
generator, and prints a Markdown table of requests/s and latency per replica count. On a small
machine the replicas compete for the same cores as the edge, the other services and the load
generator, so more replicas can cost throughput rather than add it: what the table shows is this
machine, not a scaling law.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import redis
import yaml

from bench.loadgen import LoadSpec, LoadStats, run_load
from bench.run import (
    SERVICES,
    Child,
    _child_env,
    _switchyard_command,
    _tls_env,
    fake_command,
    mesh_config,
    wait_ready,
)
from switchyard.replicas import free_port


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--routers", default="1,2,3", help="comma-separated router replica counts (default 1,2,3)")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per run (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first (default 1)")
    parser.add_argument("--concurrency", type=int, default=16, help="load generator workers (default 16)")
    parser.add_argument("--upstream-delay-ms", type=float, default=0.0, help="the fake provider's latency")
    parser.add_argument("--model", default="default", help="model (group) to request")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""), help="shared state (default: own)")
    parser.add_argument("--tls", choices=("on", "off"), default="on", help="mutual TLS between services")
    return parser.parse_args(argv)


def _answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


@contextmanager
def shared_redis(url: str) -> Iterator[str]:
    """Yields url when a Redis answers there, else the URL of a redis-server started for the run."""
    if url and _answers(url):
        yield url
        return
    binary = shutil.which("redis-server") or shutil.which("redis-server", path=str(Path(sys.executable).parent))
    if binary is None:
        raise SystemExit("bench.replicas: no Redis at --redis-url / REDIS_URL and no redis-server to start")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    own = f"redis://127.0.0.1:{port}/0"
    try:
        _until(lambda: _answers(own), 15.0)
        yield own
    finally:
        proc.kill()
        proc.wait()


def _until(ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench.replicas: the redis-server started for the run did not answer in {timeout:g}s")
        time.sleep(0.05)


async def measure(args: argparse.Namespace, routers: int, upstream: str, redis_url: str, workdir: Path) -> LoadStats:
    """Returns the load generator's figures against a mesh with `routers` router replicas."""
    ports = {name: free_port() for name in SERVICES}
    config = mesh_config(upstream, ports, redis_url=redis_url)
    config["switchyard"]["services"]["evaluator"] = {"host": "127.0.0.1", "port": free_port()}
    config_path = workdir / f"routers-{routers}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    up = [*_switchyard_command(), "up", "--config", str(config_path), "--port", str(ports["edge"])]
    up += ["--replicas", f"router={routers}"]
    env = _child_env(config_path, _tls_env(args.tls, workdir))
    # The classifier's models are what the routers wait on alike; a run measures the routers' share.
    env["SWITCHYARD_CLASSIFIER_MODELS"] = os.environ.get("SWITCHYARD_CLASSIFIER_MODELS", "true")
    mesh = Child(f"up-routers-{routers}", up, env)
    base_url = f"http://127.0.0.1:{ports['edge']}/v1"
    try:
        await wait_ready(base_url.removesuffix("/v1") + "/readyz", mesh, 180.0)
        await wait_ready(base_url, mesh, 30.0, args.model)
        spec = LoadSpec(base_url, args.model, False, args.concurrency, args.duration, args.warmup)
        return await run_load(spec)
    finally:
        mesh.stop()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    counts = [int(n) for n in args.routers.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="switchyard-bench-replicas-"))
    port = free_port()
    fake = Child(
        "fake", [*fake_command(port), "--latency-ms", f"{args.upstream_delay_ms:g}"], _child_env(workdir / "x.yaml")
    )
    rows: list[tuple[int, LoadStats]] = []
    try:
        with shared_redis(args.redis_url) as redis_url:
            for routers in counts:
                stats = asyncio.run(measure(args, routers, f"http://127.0.0.1:{port}/v1", redis_url, workdir))
                rows.append((routers, stats))
    finally:
        fake.stop()
    print(f"{os.cpu_count()} CPU(s), {args.concurrency} workers, {args.duration:g}s measured per run, non-streaming\n")
    print("| routers | requests/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---:|---:|---:|---:|---:|---:|")
    for routers, stats in rows:
        print(
            f"| {routers} | {stats.rps:.0f} | {stats.p50_ms:.1f} | {stats.p95_ms:.1f} | {stats.p99_ms:.1f} | "
            f"{stats.errors} |"
        )


if __name__ == "__main__":
    main()
