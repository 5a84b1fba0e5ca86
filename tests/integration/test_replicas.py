"""`switchyard up --replicas router=2,cache=2,providers=2` over one Redis: replicas behave as one gateway.

Through the edge (whose one channel round-robins over both routers): one RPM limit for all replicas,
calls on every router, a cached answer a hit whichever replica serves it, and a router killed under
load costing only the requests it held.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from tests.redis_support import unique_prefix
from tests.support import Mesh, wait_until, wait_until_sync

pytestmark = [pytest.mark.mesh, pytest.mark.redis]

MASTER = "sk-test-master-0123456789"
LIMITED = "sk-test-replicas-limited-0123"
OPEN = "sk-test-replicas-open-0123456"
RPM = 6
MODELS = """  - model_name: replicated
    litellm_params: {model: openai/fake-replicated, api_base: "$FAKE_URL/v1", api_key: sk-fake}
"""
REPLICAS = "router=2,cache=2,providers=2"
# A line of `up`'s replica table: name, gRPC address, metrics address, process id.
ROW = re.compile(r"^\s+(?P<name>[a-z]+-\d+)\s+grpc (?P<grpc>\S+)(?:\s+metrics (?P<metrics>\S+))?\s+pid (?P<pid>\d+)$")


@dataclass
class Replicated:
    """The mesh and what its replica table says: each router's metrics URL and process id."""

    mesh: Mesh
    router_metrics: dict[str, str]
    router_pids: dict[str, int]


def _table(mesh: Mesh) -> tuple[dict[str, str], dict[str, int]]:
    metrics = {"router-1": mesh.metrics_url("router")}
    pids: dict[str, int] = {}
    for line in mesh.output().splitlines():
        row = ROW.match(line)
        if row is None or not row["name"].startswith("router-"):
            continue
        pids[row["name"]] = int(row["pid"])
        if row["metrics"] and row["name"] != "router-1":
            metrics[row["name"]] = f"http://{row['metrics']}/metrics"
    return metrics, pids


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Replicated]:
    prefix = unique_prefix("replicas")
    shared = (
        f'  redis_url: "{redis_url}"\n'
        "  governance:\n"
        "    keys:\n"
        f"      - {{key: {LIMITED}, models: [replicated], rpm_limit: {RPM}}}\n"
        f"      - {{key: {OPEN}, models: [replicated]}}\n"
    )
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("replicas")),
        env={"SWITCHYARD_ROUTER_STATE_PREFIX": prefix, "SWITCHYARD_CACHE_REDIS_PREFIX": f"{prefix}cache:"},
        extra_models=MODELS,
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
        switchyard_extra=shared,
    )
    try:
        mesh.start(timeout=180, args=("--replicas", REPLICAS))
        # `up` prints its replica table once the mesh is ready; its output reaches the reader a moment later.
        wanted = {"router-1", "router-2"}
        wait_until_sync(lambda: set(_table(mesh)[1]) == wanted, 15, "the replica table")
        metrics, pids = _table(mesh)
        assert set(pids) == wanted and len(metrics) == 2, mesh.output()[-3000:]
        yield Replicated(mesh, metrics, pids)
    finally:
        mesh.stop()
        client = redis.Redis.from_url(redis_url)
        found = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if found:
            client.delete(*found)
        client.close()


def _body(text: str = "") -> dict[str, object]:
    return {"model": "replicated", "messages": [{"role": "user", "content": text or f"replicas {uuid.uuid4().hex}"}]}


def _headers(key: str, cache: bool = False) -> dict[str, str]:
    headers = {"authorization": f"Bearer {key}"}
    return headers if cache else {**headers, "cache-control": "no-store"}


async def test_one_rpm_limit_holds_across_router_replicas(replicated: Replicated) -> None:
    async with httpx.AsyncClient(base_url=replicated.mesh.edge_url, timeout=15) as client:
        replies = await asyncio.gather(
            *(client.post("/v1/chat/completions", json=_body(), headers=_headers(LIMITED)) for _ in range(2 * RPM))
        )
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200] * RPM + [429] * RPM, statuses


def _requests_counted(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("switchyard_router_requests_total{")
    )


async def test_calls_spread_over_every_router_replica(replicated: Replicated) -> None:
    async with httpx.AsyncClient(base_url=replicated.mesh.edge_url, timeout=15) as client:
        for _ in range(10):
            reply = await client.post("/v1/chat/completions", json=_body(), headers=_headers(OPEN))
            assert reply.status_code == 200, reply.text
        counted = {}
        for name, url in replicated.router_metrics.items():
            counted[name] = _requests_counted((await client.get(url)).text)
    assert all(n > 0 for n in counted.values()), counted


async def test_a_cached_answer_is_a_hit_on_every_replica_within_a_second(replicated: Replicated) -> None:
    body = _body(f"cached across replicas {uuid.uuid4().hex}")
    async with httpx.AsyncClient(base_url=replicated.mesh.edge_url, timeout=15) as client:

        async def ask() -> str:
            reply = await client.post("/v1/chat/completions", json=body, headers=_headers(OPEN, cache=True))
            assert reply.status_code == 200, reply.text
            return reply.headers.get("x-switchyard-cache", "")

        assert (await ask()).startswith("miss")
        seen: list[str] = []

        async def hit() -> bool:
            seen.append(await ask())
            return seen[-1].startswith("hit")

        await wait_until(hit, timeout=1.0, what="the answer to be a cache hit")
        # Round robin alternates routers and cache replicas: four more asks meet every replica.
        later = [await ask() for _ in range(4)]
    assert all(result.startswith("hit") for result in later), later


@dataclass
class Outcome:
    started: float
    status: int


def _since(outcomes: list[Outcome], moment: float) -> int:
    return sum(o.started > moment for o in outcomes)


async def test_killing_a_router_replica_loses_only_its_in_flight_requests(replicated: Replicated) -> None:
    workers, outcomes, killed_at = 6, list[Outcome](), [float("inf")]
    stop = asyncio.Event()
    with replicated.mesh.fake_admin() as fake:
        # Slow answers, so each router holds some requests when one is killed.
        assert fake.post("/_fake/scripts", json={"model": "fake-replicated", "latency_ms": 200}).status_code == 200
        async with httpx.AsyncClient(base_url=replicated.mesh.edge_url, timeout=15) as client:

            async def worker() -> None:
                while not stop.is_set():
                    started = time.monotonic()
                    reply = await client.post("/v1/chat/completions", json=_body(), headers=_headers(OPEN))
                    outcomes.append(Outcome(started, reply.status_code))

            tasks = [asyncio.create_task(worker()) for _ in range(workers)]
            try:
                await wait_until(lambda: len(outcomes) >= 20, timeout=30, what="load on both routers")
                os.kill(replicated.router_pids["router-2"], signal.SIGKILL)
                killed_at[0] = time.monotonic()
                await wait_until(lambda: _since(outcomes, killed_at[0]) >= 30, timeout=30, what="load after the kill")
            finally:
                stop.set()
                await asyncio.gather(*tasks)
    failed = [o for o in outcomes if o.status >= 500]
    # Only requests already in flight when the replica died may fail: at most one per worker.
    assert len(failed) <= workers, [o.status for o in failed]
    assert all(o.started <= killed_at[0] for o in failed), "a request sent after the kill failed"
    assert all(o.status == 200 for o in outcomes if o.status < 500)
    output = replicated.mesh.output()
    assert "router-2 exited" in output and replicated.mesh.process is not None and replicated.mesh.process.alive()
