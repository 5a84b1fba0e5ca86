"""Highly available Redis for tests: a Redis Cluster and a Sentinel-watched primary, from redis-server processes.

Both start on free loopback ports, keep nothing on disk beyond their own temporary directories, and
are stopped by the test that started them:

    with redis_cluster(masters=3) as cluster:        # cluster.url: redis+cluster://127.0.0.1:p1,...
        ...
    with sentinel_group() as group:                   # group.url: redis+sentinel://127.0.0.1:s1,.../primary/0
        group.fail_over()                             # kills the primary; returns once the replica is promoted
    with gateway_on(cluster.url, workdir, master_key=..., models=..., key=...) as mesh:   # the mesh on it
        await load_across(mesh, headers, "model", cluster.fail_over)   # requests through the edge meanwhile

The cluster is joined with plain commands (CLUSTER MEET, ADDSLOTSRANGE, REPLICATE), so a bundled
redis-server without redis-cli will do.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.redis_support import RedisServer, server_binary
from tests.support import Mesh, free_port, require_mark, wait_until, wait_until_sync

SLOTS = 16384
MASTER_NAME = "primary"
# How soon a sentinel calls an unanswering primary down, and the longest one failover may take.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 10_000


def _client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)


def _info(port: int, section: str) -> dict[str, str]:
    with _client(port) as client:
        return {k: str(v) for k, v in client.info(section).items()}


class Cluster:
    """A Redis Cluster of masters (each with replicas_each replicas) on loopback ports."""

    def __init__(self, masters: int = 3, replicas_each: int = 0) -> None:
        # Each node's cluster bus port, said explicitly: by default it is its port + 10000, past 65535
        # for many free ports.
        self._bus: dict[int, int] = {}
        for _ in range(masters * (1 + replicas_each)):
            port, bus = free_port(), free_port()
            self._bus[port] = bus
        nodes = [_cluster_node(port, bus) for port, bus in self._bus.items()]
        self.masters, self.replicas = nodes[:masters], nodes[masters:]
        self._dead: list[RedisServer] = []
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{s.port}" for s in self.masters)

    def start(self) -> Cluster:
        require_mark("starts a Redis Cluster", "redis")
        nodes = [*self.masters, *self.replicas]
        for node in nodes:
            node.start()
        first = self.masters[0].port
        for node in nodes[1:]:
            with _client(node.port) as client:
                client.execute_command("CLUSTER", "MEET", "127.0.0.1", first, self._bus[first])
        wait_until_sync(lambda: self._known(len(nodes)), 20, "every node to know every other")
        share = SLOTS // len(self.masters)
        for index, master in enumerate(self.masters):
            last = SLOTS - 1 if index == len(self.masters) - 1 else (index + 1) * share - 1
            with _client(master.port) as client:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", index * share, last)
        for index, replica in enumerate(self.replicas):
            master = self.masters[index % len(self.masters)]
            with _client(master.port) as client:
                master_id = client.execute_command("CLUSTER", "MYID")
            with _client(replica.port) as client:
                client.execute_command("CLUSTER", "REPLICATE", master_id)
        wait_until_sync(self._ok, 30, "the cluster to cover every slot")
        # A replica that never synced may not take over: wait until each has.
        wait_until_sync(lambda: all(_synced(r.port) for r in self.replicas), 30, "the replicas to sync")
        return self

    def _known(self, count: int) -> bool:
        for node in [*self.masters, *self.replicas]:
            if int(_info_cluster(node.port).get("cluster_known_nodes", 0)) < count:
                return False
        return True

    def _ok(self) -> bool:
        return all(_info_cluster(n.port).get("cluster_state") == "ok" for n in [*self.masters, *self.replicas])

    def fail_over(self, index: int = 0, timeout: float = 30.0) -> float:
        """Kills master index and returns how long (seconds) the cluster took to promote its replica and
        cover every slot again (needs replicas_each >= 1)."""
        killed = time.monotonic()
        dead = self.masters.pop(index)
        self._dead.append(dead)
        dead.stop()
        replicas = [r for r in self.replicas if _info(r.port, "replication").get("role") == "slave"]
        survivors = [*self.masters, *replicas]

        def promoted() -> bool:
            found = [r for r in replicas if _info(r.port, "replication").get("role") == "master"]
            return bool(found) and all(_info_cluster(n.port).get("cluster_state") == "ok" for n in survivors)

        wait_until_sync(promoted, timeout, "a replica to take over the killed master's slots")
        self.masters += [r for r in replicas if _info(r.port, "replication").get("role") == "master"]
        self.replicas = [r for r in self.replicas if r not in self.masters]
        return time.monotonic() - killed

    def holds(self, master: RedisServer, key: str) -> bool:
        """Says whether master serves key's slot."""
        with _client(master.port) as client:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
            ranges = client.execute_command("CLUSTER", "SLOTS")
        return any(first <= slot <= last and int(node[1]) == master.port for first, last, node, *_ in ranges)

    def keys_per_master(self) -> list[int]:
        """Returns how many keys each live master holds."""
        counts = []
        for master in self.masters:
            with _client(master.port) as client:
                counts.append(int(client.dbsize()))
        return counts

    def close(self) -> None:
        for node in [*self.masters, *self.replicas, *self._dead]:
            node.close()


def _synced(port: int) -> bool:
    return _info(port, "replication").get("master_link_status") == "up"


def _cluster_node(port: int, bus: int) -> RedisServer:
    options = ["--cluster-enabled", "yes", "--cluster-port", str(bus), "--cluster-node-timeout", "2000"]
    return RedisServer(port, extra=[*options, "--cluster-config-file", "nodes.conf"])


def _info_cluster(port: int) -> dict[str, str]:
    with _client(port) as client:
        text = str(client.execute_command("CLUSTER", "INFO"))
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


class Sentinel:
    """One `redis-server --sentinel` watching MASTER_NAME at a primary's port."""

    def __init__(self, primary_port: int, quorum: int) -> None:
        self.port = free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="switchyard-sentinel-"))
        # A sentinel rewrites its config file as it learns the topology, so each has a file of its own.
        (self._dir / "sentinel.conf").write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self._dir}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} {quorum}\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Sentinel:
        self._process = subprocess.Popen(
            [server_binary(), str(self._dir / "sentinel.conf"), "--sentinel"],
            cwd=self._dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_sync(self._answers, 15, f"the sentinel on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            with _client(self.port) as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def master_port(self) -> int:
        """Returns the port of the primary this sentinel names now."""
        with _client(self.port) as client:
            _, port = client.sentinel_get_master_addr_by_name(MASTER_NAME)
        return int(port)

    def sees(self, replicas: int, sentinels: int) -> bool:
        """Says whether this sentinel knows that many replicas and other sentinels (what a failover needs)."""
        with _client(self.port) as client:
            master = client.sentinel_master(MASTER_NAME)
        return int(master["num-slaves"]) >= replicas and int(master["num-other-sentinels"]) >= sentinels

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)


class SentinelGroup:
    """A primary, one replica and three sentinels (quorum two) watching them."""

    def __init__(self) -> None:
        self.primary = RedisServer()
        self.replica = RedisServer(extra=["--replicaof", "127.0.0.1", str(self.primary.port)])
        self.sentinels = [Sentinel(self.primary.port, quorum=2) for _ in range(3)]
        self.url = "redis+sentinel://" + ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels) + f"/{MASTER_NAME}/0"

    def start(self) -> SentinelGroup:
        require_mark("starts Redis Sentinel", "redis")
        self.primary.start()
        self.replica.start()
        wait_until_sync(lambda: _synced(self.replica.port), 20, "the replica to sync with the primary")
        for sentinel in self.sentinels:
            sentinel.start()
        others = len(self.sentinels) - 1
        wait_until_sync(lambda: all(s.sees(1, others) for s in self.sentinels), 30, "the sentinels to see everyone")
        return self

    def fail_over(self, timeout: float = 30.0) -> float:
        """Kills the primary and returns how long (seconds) the sentinels took to promote the replica."""
        killed = time.monotonic()
        self.primary.stop()
        wait_until_sync(
            lambda: all(s.master_port() == self.replica.port for s in self.sentinels), timeout, "the promotion"
        )
        wait_until_sync(lambda: _info(self.replica.port, "replication").get("role") == "master", timeout, "a primary")
        return time.monotonic() - killed

    def close(self) -> None:
        for sentinel in self.sentinels:
            sentinel.close()
        self.replica.close()
        self.primary.close()


@contextmanager
def redis_cluster(masters: int = 3, replicas_each: int = 0) -> Iterator[Cluster]:
    """A Redis Cluster this test alone owns."""
    cluster = Cluster(masters, replicas_each)
    try:
        yield cluster.start()
    finally:
        cluster.close()


@contextmanager
def sentinel_group() -> Iterator[SentinelGroup]:
    """A Sentinel-watched primary and replica this test alone owns."""
    group = SentinelGroup()
    try:
        yield group.start()
    finally:
        group.close()


@contextmanager
def gateway_on(redis_url: str, workdir: Path, *, master_key: str, models: str, key: str) -> Iterator[Mesh]:
    """The gateway (`switchyard up`) keeping its shared state at redis_url, with a master key, more
    `model_list` entries (Mesh's extra_models) and one `switchyard.governance.keys` entry (a YAML flow
    mapping such as `{key: sk-..., models: [m], rpm_limit: 5}`)."""
    shared = f'  redis_url: "{redis_url}"\n  governance:\n    keys:\n      - {key}\n'
    mesh = Mesh(
        workdir,
        extra_models=models,
        general_settings=f"general_settings:\n  master_key: {master_key}\n",
        switchyard_extra=shared,
    )
    try:
        yield mesh.start(timeout=120)
    finally:
        mesh.stop()


@dataclass(frozen=True)
class Outcome:
    """One request sent through the edge: when it started (monotonic), its status, its x-request-id and,
    when it failed, the start of its body."""

    started: float
    status: int
    request_id: str
    error: str = ""


@dataclass(frozen=True)
class Across:
    """What load_across saw: every request, what the event returned, and when it returned (monotonic)."""

    outcomes: list[Outcome]
    event: float
    ended_at: float

    def failed(self) -> list[tuple[int, str]]:
        return [(o.status, o.error) for o in self.outcomes if o.status != 200]

    def answered_after(self) -> set[str]:
        """Returns the request ids of the requests answered that started after the event."""
        return {o.request_id for o in self.outcomes if o.started > self.ended_at and o.status == 200}


async def load_across(
    mesh: Mesh, headers: Mapping[str, str], model: str, event: Callable[[], float], *, workers: int = 4, after: int = 40
) -> Across:
    """Sends chat requests for model through the edge from workers loops; once 20 are answered runs event
    (blocking, in a thread: e.g. a failover), and stops when `after` requests started after it returned."""
    outcomes: list[Outcome] = []
    ended_at = [float("inf")]
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=mesh.edge_url, timeout=15) as client:

        async def worker() -> None:
            while not stop.is_set():
                started = time.monotonic()
                body = {"model": model, "messages": [{"role": "user", "content": f"across {uuid.uuid4().hex}"}]}
                reply = await client.post("/v1/chat/completions", json=body, headers=dict(headers))
                error = "" if reply.status_code == 200 else reply.text[:300]
                outcomes.append(Outcome(started, reply.status_code, reply.headers.get("x-request-id", ""), error))

        tasks = [asyncio.create_task(worker()) for _ in range(workers)]
        try:
            await wait_until(lambda: len(outcomes) >= 20, timeout=30, what="load before the event")
            returned = await asyncio.to_thread(event)
            ended_at[0] = time.monotonic()
            await wait_until(
                lambda: sum(o.started > ended_at[0] for o in outcomes) >= after,
                timeout=60,
                what=f"{after} requests after the event",
            )
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    return Across(outcomes, returned, ended_at[0])


async def in_ledger(mesh: Mesh, master_key: str, key: str, request_ids: set[str]) -> None:
    """Returns once every one of request_ids is in /spend/logs for key (read from the ledger in Redis)."""
    admin = {"authorization": f"Bearer {master_key}"}
    async with httpx.AsyncClient(base_url=mesh.edge_url, timeout=15) as client:

        async def recorded() -> bool:
            logs = await client.get("/spend/logs", headers=admin, params={"api_key": key[:12], "limit": "10000"})
            records: list[dict[str, Any]] = logs.json() if logs.status_code == 200 else []
            return request_ids <= {r["request_id"] for r in records}

        await wait_until(recorded, timeout=30, what=f"{len(request_ids)} requests in the ledger")
