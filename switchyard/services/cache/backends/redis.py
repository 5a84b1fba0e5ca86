"""The Redis cache backend: entries shared by every cache replica, each change published on a stream.

Redis failures follow switchyard.redisutil's policy: every call is bounded by `timeout` seconds; a
failure marks the store down (logged once), and lookups miss and stores are dropped at once instead
of waiting on a dead server, until the policy's probe gets an answer (every `retry_after` seconds). The
change feed (a Redis stream, see redis_scripts) is followed by a background task that tells the
replica's index of every store, eviction and invalidation made by any replica, usually within
milliseconds. When the task cannot trust what it has seen (first start, Redis back after an outage,
or events trimmed away before it read them) it reloads the index from Redis before following again,
oldest first and only as many entries per tenant as the index may hold (`index_limit`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.exceptions import ResponseError

from switchyard.redisutil import FAILURES, RedisPolicy, Scripts, Unreachable, new_client, one_slot
from switchyard.runtime.tasks import cancel_and_wait
from switchyard.services.cache.backends import Entry, Health, IndexListener, Selector, SilentListener
from switchyard.services.cache.backends import redis_scripts as scripts

log = logging.getLogger(__name__)
T = TypeVar("T")

FEED_MAXLEN = 20_000
_FEED_BLOCK_MS = 500
_FEED_BATCH = 500
_GAP_CHECK_S = 5.0
_RELOAD_CHUNK = 500
_UNBOUNDED = 1 << 62


class RedisBackend:
    """Entries in Redis under a key prefix, with a per-tenant memory bound and a change feed."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        prefix: str,
        timeout: float = 0.1,
        retry_after: float = 1.0,
        max_tenant_bytes: int | None = None,
        *,
        index_limit: int | None = None,
    ) -> None:
        # The scripts reach keys they build from the prefix: all of them share its slot on a Redis Cluster,
        # and each script names the feed as its key, so a cluster client sends it to that slot's node.
        self._prefix = one_slot(prefix)
        self._slot = (self._prefix + "feed",)
        # index_limit: a reload tells the listener of at most this many entries per tenant, the most recent.
        self._index_limit = index_limit or _UNBOUNDED
        self._retry_after = retry_after
        self._bound = max_tenant_bytes or _UNBOUNDED
        self._client = new_client(url, timeout)
        # The feed blocks on XREAD, so it has its own connection with a timeout longer than the block.
        self._feed_client = new_client(url, timeout, read_timeout_s=_FEED_BLOCK_MS / 1000 + 1.0)
        self._lua = Scripts(self._client, (scripts.STORE, scripts.GET, scripts.DELETE, scripts.CLEAR_TENANT))
        self._policy = RedisPolicy(
            self._client,
            "cache store",
            timeout_s=timeout,
            retry_s=retry_after,
            local="lookups miss and stores are dropped",
            shared="back on shared entries",
        )
        self._listener: IndexListener = SilentListener()
        self._follower: asyncio.Task[None] | None = None
        # synced is set once the index holds what Redis holds (tests and readiness wait on it).
        self.synced = asyncio.Event()

    def now(self) -> float:
        return time.time()

    def watch(self, listener: IndexListener) -> None:
        self._listener = listener

    def health(self) -> Health:
        if self._policy.degraded:
            return Health(up=False, detail=f"redis unreachable: {self._policy.cause}")
        return Health(up=True)

    async def start(self) -> None:
        self._follower = asyncio.create_task(self._follow(), name="cache-feed")

    async def close(self) -> None:
        if self._follower is not None:
            await cancel_and_wait([self._follower])
        await self._policy.close()
        await self._client.aclose()
        await self._feed_client.aclose()

    async def get(self, key: str) -> Entry | None:
        """Returns the live entry under key and marks it recently hit; None when gone or Redis is down."""
        fields = await self._call(lambda: self._lua.one(scripts.GET, self._slot, [self._prefix, key]), None)
        if not fields:
            return None
        return _entry(key, dict(zip(fields[::2], fields[1::2], strict=True)))

    async def put(self, entry: Entry, ttl_s: float) -> bool:
        """Stores entry atomically with its bookkeeping and evictions; False when Redis is down."""
        ttl_ms = max(1, round(ttl_s * 1000))
        args: list[Any] = [self._prefix, FEED_MAXLEN, entry.key, entry.tenant, entry.model_group, ttl_ms]
        args += [self._bound, entry.size, *_fields(entry)]
        result = await self._call(lambda: self._lua.one(scripts.STORE, self._slot, args), None)
        if result is None:
            return False
        evicted = [k.decode() for k in result[1:]]
        self._listener.added(entry, int(result[0]) / 1000)
        if evicted:
            self._listener.removed(evicted)
        return True

    async def remove(self, selector: Selector) -> int:
        """Removes the selected entries in Redis (and so on every replica); returns how many existed."""
        if selector.key is not None:
            return await self._delete_keys([selector.key])
        if selector.tenant is not None:
            return await self._clear_tenant(selector.tenant)
        if selector.everything:
            tenants: set[bytes | str] = await self._call(lambda: self._client.smembers(self._prefix + "tenants"), set())
            removed = 0
            for tenant in tenants:
                removed += await self._clear_tenant(_text(tenant))
            self._listener.cleared(None)
            return removed
        if selector.model_group is not None:
            return await self._remove_group(selector.model_group)
        return 0

    async def _delete_keys(self, keys: list[str]) -> int:
        removed = await self._call(
            lambda: self._lua.one(scripts.DELETE, self._slot, [self._prefix, FEED_MAXLEN, *keys]), 0
        )
        self._listener.removed(keys)
        return int(removed)

    async def _clear_tenant(self, tenant: str) -> int:
        removed = await self._call(
            lambda: self._lua.one(scripts.CLEAR_TENANT, self._slot, [self._prefix, FEED_MAXLEN, tenant]), 0
        )
        self._listener.cleared(tenant)
        return int(removed)

    async def _remove_group(self, group: str) -> int:
        """Removes a model group's entries, found by scanning the key -> group map in batches."""
        wanted = group.encode()
        removed, cursor = 0, 0
        while True:
            page = await self._call(functools.partial(self._scan_groups, cursor), None)
            if page is None:
                return removed
            cursor, mapping = page
            keys = [_text(key) for key, value in mapping.items() if value == wanted]
            if keys:
                removed += await self._delete_keys(keys)
            if cursor == 0:
                return removed

    async def _scan_groups(self, cursor: int) -> tuple[int, dict[bytes, bytes]]:
        found: Any = await self._client.hscan(self._prefix + "group", cursor, count=1000)
        return int(found[0]), dict(found[1])

    async def _call(self, command: Callable[[], Awaitable[T]], fallback: T) -> T:
        """Returns the command's result from Redis, or fallback while the policy says Redis is unreachable."""
        try:
            return await self._policy.call(command)
        except Unreachable:
            return fallback

    async def _follow(self) -> None:
        """Keeps the listener in step with the feed; reloads after outages and gaps. Runs until cancelled."""
        last: str | None = None
        checked = 0.0
        while True:
            try:
                if last is None:
                    last = await self._reload()
                    checked = time.monotonic()
                    self.synced.set()
                last = await self._read_feed(last)
                if time.monotonic() - checked > _GAP_CHECK_S:
                    checked = time.monotonic()
                    if await self._gap_after(last):
                        log.warning("cache feed: events were trimmed before this replica read them; reloading")
                        last = None
            except FAILURES as exc:
                # The feed's own connection failing is an outage too; the policy's probe ends it.
                self._policy.fail(exc)
                self.synced.clear()
                last = None
                await asyncio.sleep(min(self._retry_after, 0.5))
            except Exception:
                # A malformed event (another version writing the feed, say) must not stop this replica
                # following it: the index is rebuilt from the entries themselves.
                log.exception("cache feed: cannot apply an event; reloading the index from redis")
                self.synced.clear()
                last = None
                await asyncio.sleep(0.5)

    async def _read_feed(self, last: str) -> str:
        reply: Any = await self._feed_client.xread(
            {self._prefix + "feed": last}, count=_FEED_BATCH, block=_FEED_BLOCK_MS
        )
        for _stream, events in reply or ():
            for event_id, fields in events:
                self._apply({k.decode(): v for k, v in fields.items()})
                last = event_id.decode()
        return last

    def _apply(self, event: dict[str, bytes]) -> None:
        op = event.get("op", b"").decode()
        if op == "put":
            entry = Entry(
                key=event["key"].decode(),
                tenant=event["t"].decode(),
                model_group="",
                payload=b"",
                fingerprint=event.get("f", b"").decode(),
                vector=event.get("v", b""),
            )
            self._listener.added(entry, int(event["exp"]) / 1000)
        elif op == "del":
            self._listener.removed(event["keys"].decode().split(","))
        elif op == "clear":
            tenant = event.get("t")
            self._listener.cleared(tenant.decode() if tenant is not None else None)

    async def _gap_after(self, last: str) -> bool:
        """Returns whether the feed no longer holds the events right after last (trimmed, or Redis restarted)."""
        try:
            info: Any = await self._feed_client.xinfo_stream(self._prefix + "feed")
        except ResponseError:
            return last != "0-0"
        first = info.get("first-entry")
        newest = info.get("last-generated-id", b"0-0")
        if _id(newest) < _id(last):
            return True
        return first is not None and _id(first[0]) > _id(last) and last != "0-0"

    async def _reload(self) -> str:
        """Loads the live semantic entries into the listener, least recently used first (so a capped index
        keeps the most recent), at most index_limit per tenant; returns the feed position to follow from."""
        started = time.monotonic()
        newest: Any = await self._feed_client.xrevrange(self._prefix + "feed", count=1)
        position = _text(newest[0][0]) if newest else "0-0"
        self._listener.cleared(None)
        tenants: Any = await self._feed_client.smembers(self._prefix + "tenants")
        loaded = 0
        for raw in tenants:
            # Pages of the recency order keep every reply small, however many entries a tenant has.
            tenant = _text(raw)
            count: Any = await self._feed_client.zcard(f"{self._prefix}t:{tenant}:lru")
            for start in range(max(0, int(count) - self._index_limit), int(count), _RELOAD_CHUNK):
                loaded += await self._load_chunk(tenant, start, start + _RELOAD_CHUNK - 1)
        log.info("cache index loaded from redis: %d semantic entries in %.1fs", loaded, time.monotonic() - started)
        return position

    async def _load_chunk(self, tenant: str, first: int, last: int) -> int:
        """Loads the tenant's entries ranked first..last in recency order; returns how many were semantic."""
        keys: Any = await self._feed_client.zrange(f"{self._prefix}t:{tenant}:lru", first, last)
        if not keys:
            return 0
        pipe = self._feed_client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self._prefix + "e:" + key.decode(), "f", "v")
            pipe.zscore(f"{self._prefix}t:{tenant}:exp", key)
        rows = await pipe.execute()
        loaded = 0
        for key, (fingerprint, vector), expires_ms in zip(keys, rows[::2], rows[1::2], strict=True):
            if not fingerprint or not vector or expires_ms is None:
                continue
            entry = Entry(key.decode(), tenant, "", b"", fingerprint=fingerprint.decode(), vector=vector)
            self._listener.added(entry, expires_ms / 1000)
            loaded += 1
        return loaded


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id(stream_id: bytes | str) -> tuple[int, int]:
    ms, _, seq = _text(stream_id).partition("-")
    return int(ms), int(seq or 0)


def _fields(entry: Entry) -> list[Any]:
    """Returns the entry's hash fields as a flat field/value list (empty semantic fields left out)."""
    fields: list[Any] = ["p", entry.payload, "t", entry.tenant, "g", entry.model_group, "s", entry.size]
    fields += ["k", entry.tokens, "c", repr(entry.cost_usd), "d", entry.deployment_id]
    if entry.semantic:
        fields += ["f", entry.fingerprint, "v", entry.vector, "x", entry.text.encode()]
    return fields


def _entry(key: str, fields: dict[bytes, bytes]) -> Entry:
    return Entry(
        key=key,
        tenant=fields.get(b"t", b"").decode(),
        model_group=fields.get(b"g", b"").decode(),
        payload=fields.get(b"p", b""),
        fingerprint=fields.get(b"f", b"").decode(),
        vector=fields.get(b"v", b""),
        text=fields.get(b"x", b"").decode(),
        tokens=int(fields.get(b"k", b"0")),
        cost_usd=float(fields.get(b"c", b"0")),
        deployment_id=fields.get(b"d", b"").decode(),
    )
