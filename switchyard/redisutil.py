"""Redis for the stores that share state through it: bounded clients, Lua scripts, one degraded-mode policy.

Every store that keeps shared state in Redis (the router's state, governance, the cache) meets a
failing Redis through a RedisPolicy of its own, under one set of rules:

- Every call is bounded by timeout_s, connecting included; clients from new_client never retry on
  their own. On a Redis Cluster, calls get CLUSTER_WARMUP_S at least during the CLUSTER_WARMUP_S
  after the store's first call: the first calls learn the slot map and the command table and load
  the scripts on every master (about 0.2 s on loopback, more on a busy machine). Any failure
  counts: a refused or reset connection, an error reply, no answer in time.
- The first failure makes the store degraded: one warning is logged with the cause, the store's
  on_degrade hook runs (seeding its local twin with what was last seen), and the call raises
  Unreachable, which the store answers locally (what "locally" means is the store's own choice).
- While degraded, calls raise Unreachable at once, without touching Redis: a request never waits on
  a server already known to be down.
- A background probe tries Redis again retry_s after the failure, and every retry_s after that:
  PING, then the store's resync hook (the router re-reads its mirror before trusting it again), both
  within max(timeout_s, PROBE_TIMEOUT_S). When they answer, the store is back: one warning is logged
  with how long it was degraded. Requests never probe.
- `degraded` and `cause` are there for health checks and metrics.

Scripts runs Lua scripts by their SHA and loads them into Redis when it no longer knows them (a
restarted or flushed server).

Where Redis is, said by the URL every store is given (switchyard.redis_url, a cache's redis_url):

    redis://[user:password@]host:6379/0                   one server (or a managed primary endpoint)
    rediss://...                                          the same over TLS
    redis+sentinel://[user:password@]s1:26379,s2:26379/<master>[/<db>]
                                                          the primary that Sentinel names, followed
                                                          across failovers (the password is the data
                                                          nodes'; the sentinels take none)
    redis+cluster://[user:password@]n1:6379,n2:6379       Redis Cluster, from any reachable nodes

Every store keeps the keys that one script or transaction touches under one hash tag ({...}), so each
call lands in one cluster slot.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import unquote

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from switchyard.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)
T = TypeVar("T")

# What a failing Redis raises: redis-py's errors (its TimeoutError among them), socket errors, and
# the TimeoutError of asyncio.timeout.
FAILURES = (RedisError, OSError, TimeoutError)
# The probe runs off the request path, so it may wait longer than a request's call (the router's
# resync reads every deployment it knows in one round trip).
PROBE_TIMEOUT_S = 0.5
CLUSTER_WARMUP_S = 2.0

Arg = str | bytes | int | float
Call = tuple[str, Sequence[str], Sequence[Arg]]
SENTINEL, CLUSTER = "redis+sentinel://", "redis+cluster://"
# redis-py's cluster client cannot queue calls for a free connection (it raises instead), so each node
# gets a connection per concurrent call, as a single server does without max_connections.
_CLUSTER_CONNECTIONS_PER_NODE = 1 << 16


class Unreachable(Exception):
    """Redis did not answer in time, or is known to be down: the store serves this call locally."""


def new_client(
    url: str,
    timeout_s: float,
    *,
    read_timeout_s: float | None = None,
    max_connections: int | None = None,
    decode: bool = False,
) -> aioredis.Redis:
    """Returns a client on the Redis at url that never retries and gives up connecting after timeout_s.

    A reply is waited for read_timeout_s (timeout_s when None; longer for a reader that blocks on
    purpose). With max_connections, calls share that many connections and wait for a free one (the
    wait is bounded by each call's own timeout); without, and always on Sentinel and Cluster URLs,
    each concurrent call gets a connection. decode returns str instead of bytes.
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout_s if read_timeout_s is None else read_timeout_s,
        "socket_connect_timeout": timeout_s,
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": decode,
    }
    if url.startswith(SENTINEL):
        return _sentinel_client(url, options)
    if url.startswith(CLUSTER):
        return _cluster_client(url, options)
    pool: aioredis.ConnectionPool
    if max_connections is None:
        pool = aioredis.ConnectionPool.from_url(url, **options)
    else:
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=None, **options)
    return aioredis.Redis.from_pool(pool)


def one_slot(prefix: str) -> str:
    """Returns prefix as a hash tag ("{prefix}") unless it holds one: every key under it lands in one
    cluster slot, for stores whose scripts reach keys they compute from the prefix."""
    opening = prefix.find("{")
    if opening >= 0 and prefix.find("}", opening) > opening + 1:
        return prefix
    return f"{{{prefix}}}"


def _sentinel_client(url: str, options: dict[str, Any]) -> aioredis.Redis:
    """Returns a client on the primary that the sentinels in url name; it asks them again on every new
    connection, so after a failover the next connection reaches the promoted replica."""
    credentials, nodes, path = _split(url, SENTINEL)
    master, _, db = path.partition("/")
    if not master or not (db or "0").isdigit():
        shown = _without_credentials(url)
        raise ValueError(f"a Sentinel URL reads {SENTINEL}host:port[,host:port...]/<master>[/<db>], not {shown!r}")
    timeouts = {k: options[k] for k in ("socket_timeout", "socket_connect_timeout")}
    sentinel = Sentinel(nodes, sentinel_kwargs={**timeouts, "retry": Retry(NoBackoff(), 0)})
    return sentinel.master_for(master, db=int(db or 0), **credentials, **options)


def _cluster_client(url: str, options: dict[str, Any]) -> aioredis.Redis:
    """Returns a Redis Cluster client that learns the slot map from the nodes in url."""
    credentials, nodes, path = _split(url, CLUSTER)
    if path not in ("", "0"):
        raise ValueError(f"Redis Cluster has database 0 only; {_without_credentials(url)!r} names /{path}")
    # Learning the slot map and the command table takes longer than a call may: replies get
    # CLUSTER_WARMUP_S at least, and each call stays bounded by its caller (RedisPolicy.call).
    reads = max(options["socket_timeout"], CLUSTER_WARMUP_S)
    client = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in nodes],
        max_connections=_CLUSTER_CONNECTIONS_PER_NODE,
        **credentials,
        **{**options, "socket_timeout": reads},
    )
    # The stores call the commands a single server and a cluster both answer (each call's keys in one
    # slot), so they hold either as a Redis client.
    return cast(aioredis.Redis, client)


def _split(url: str, scheme: str) -> tuple[dict[str, Any], list[tuple[str, int]], str]:
    """Returns the credentials, the host:port list and the path (without slashes) of a multi-host URL."""
    rest = url.removeprefix(scheme)
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    credentials: dict[str, Any] = {}
    if userinfo:
        username, _, password = userinfo.partition(":")
        credentials = {k: unquote(v) for k, v in (("username", username), ("password", password)) if v}
    nodes = []
    for node in hosts.split(","):
        host, _, port = node.rpartition(":")
        if not host or not port.isdigit():
            shown = _without_credentials(url)
            raise ValueError(f"{scheme} URLs list host:port pairs, comma-separated; {node!r} in {shown!r} is not one")
        nodes.append((host.strip("[]"), int(port)))
    return credentials, nodes, path.strip("/")


def _without_credentials(url: str) -> str:
    """Returns url without its user and password, for error messages."""
    scheme, _, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"


class Scripts:
    """Lua scripts run by their SHA, several in one round trip, loaded into Redis when it does not know them."""

    def __init__(self, client: aioredis.Redis, scripts: Sequence[str]) -> None:
        self._client, self._scripts = client, tuple(scripts)
        self._shas = {script: hashlib.sha1(script.encode()).hexdigest() for script in self._scripts}

    async def run(self, calls: Sequence[Call]) -> list[Any]:
        """Returns each call's reply, in order (loading every script once when Redis had none of them)."""
        try:
            return await self._run_once(calls)
        except NoScriptError:
            for script in self._scripts:
                await cast(Awaitable[Any], self._client.script_load(script))
            return await self._run_once(calls)

    async def one(self, script: str, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Returns the reply of one script run with keys and args."""
        (reply,) = await self.run([(script, keys, args)])
        return reply

    async def _run_once(self, calls: Sequence[Call]) -> list[Any]:
        if len(calls) == 1:
            script, keys, args = calls[0]
            return [await self._client.evalsha(self._shas[script], len(keys), *keys, *args)]
        pipe = self._client.pipeline(transaction=False)
        for script, keys, args in calls:
            pipe.evalsha(self._shas[script], len(keys), *keys, *args)
        return list(await pipe.execute())


class RedisPolicy:
    """Bounds one store's Redis calls and decides when the store serves locally (see the module docstring).

    name starts every log line ("shared state"); local says what the store does while degraded
    ("serving from local state") and shared what it does once back ("back on shared state").
    on_degrade runs once per outage, before the failed call raises; resync runs in the probe, after
    a PING answered, and must succeed before the store is back.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        name: str,
        *,
        timeout_s: float,
        retry_s: float,
        local: str,
        shared: str,
        on_degrade: Callable[[], None] | None = None,
        resync: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if not (timeout_s > 0 and retry_s > 0):
            raise ValueError(f"{name}: timeout_s and retry_s must be positive, not {timeout_s!r} and {retry_s!r}")
        self._client = client
        self._name = name
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self._local, self._shared = local, shared
        self._on_degrade = on_degrade
        self._resync = resync
        self._since: float | None = None
        self._cause = ""
        self._probe: asyncio.Task[None] | None = None
        self._closed = False
        # When a cluster client's warm-up ends (None: before its first call; 0: no warm-up).
        self._warm_until: float | None = None if isinstance(client, RedisCluster) else 0.0

    @property
    def degraded(self) -> bool:
        """Returns whether the store serves locally because Redis failed and has not answered since."""
        return self._since is not None

    @property
    def cause(self) -> str:
        """Returns the failure that made the store degraded ("" when it is not)."""
        return self._cause

    async def call(self, call: Callable[[], Awaitable[T]], timeout_s: float | None = None) -> T:
        """Returns call()'s result within timeout_s (this policy's when None).

        Raises Unreachable without calling while degraded, and when the call fails (degrading).
        """
        if self._since is not None:
            raise Unreachable(self._cause)
        limit = self._limit(timeout_s or self.timeout_s)
        try:
            async with asyncio.timeout(limit):
                return await call()
        except FAILURES as exc:
            self.fail(exc, limit)
            raise Unreachable(self._cause) from exc

    def _limit(self, timeout_s: float) -> float:
        """Returns how long a call may take: timeout_s, or CLUSTER_WARMUP_S during a cluster's warm-up."""
        now = time.monotonic()
        if self._warm_until is None:
            self._warm_until = now + CLUSTER_WARMUP_S
        return max(timeout_s, CLUSTER_WARMUP_S) if now < self._warm_until else timeout_s

    def fail(self, exc: BaseException, timeout_s: float | None = None) -> None:
        """Makes the store degraded because of exc (a failure seen on a connection of the store's own)."""
        if self._since is not None:
            return
        self._since = time.monotonic()
        why = str(exc) or f"no answer within {timeout_s or self.timeout_s}s"
        self._cause = f"{type(exc).__name__}: {why}"
        log.warning("%s: Redis unreachable (%s); %s", self._name, self._cause, self._local)
        if self._on_degrade is not None:
            self._on_degrade()
        if not self._closed and (self._probe is None or self._probe.done()):
            self._probe = asyncio.create_task(self._run_probe(), name=f"redis-probe: {self._name}")

    async def _run_probe(self) -> None:
        """Tries Redis every retry_s until it answers (and the store resynced), then ends degraded mode."""
        while self._since is not None and not self._closed:
            await asyncio.sleep(self.retry_s)
            try:
                async with asyncio.timeout(max(self.timeout_s, PROBE_TIMEOUT_S)):
                    await cast(Awaitable[Any], self._client.ping())
                    if self._resync is not None:
                        await self._resync()
            except FAILURES:
                continue
            except Exception:
                # A reply the store cannot read is a bug to see in the log; the probe keeps trying.
                log.exception("%s: could not resync with Redis", self._name)
                continue
            if self._closed:
                return
            seconds = time.monotonic() - self._since
            self._since, self._cause = None, ""
            log.warning("%s: Redis answers again after %.1fs degraded; %s", self._name, seconds, self._shared)

    async def close(self) -> None:
        """Stops the probe (the client is the store's to close)."""
        # The flag ends the probe even when a cancellation is lost (see runtime.tasks).
        self._closed = True
        if self._probe is not None:
            await cancel_and_wait([self._probe], timeout=max(self.timeout_s, PROBE_TIMEOUT_S) + self.retry_s)
            self._probe = None
