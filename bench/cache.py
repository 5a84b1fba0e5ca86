"""Semantic cache lookup latency and memory at 100,000 entries: `python -m bench.cache`.

Starts its own redis-server and a cache service process on free ports, fills Redis with N entries
(questions on 1,000 topics embedded with the shared static embedder, ~300-byte completions) and waits
until the service's index holds them all (fed by the change feed, as a replica is). Then it times
sequential Lookup calls over gRPC, one at a time; the cache embeds every request itself:

- exact hit: a stored request again;
- semantic hit: a request that differs from a stored one only in its sampled temperature, so the
  exact tier misses and the semantic tier embeds it, searches, re-reads and serves the candidate;
- semantic miss: the same question about another number, which the near-miss guard refuses after
  searching (the most work a lookup does).

Two layouts: every entry in one (tenant, fingerprint) bucket (the approximate IVF search), and
entries spread over 1,000 buckets (exact search). It reports p50/p99 per path and the service's CPU
time per lookup (on a shared machine wall time also counts waiting for a core; CPU time does not),
how long a store on one replica takes to reach another's index, the IVF search's recall for
near-duplicates, how long a restarted replica takes to load its index from Redis, and memory per
entry: the index's own accounting, the service's RSS growth, and Redis's used_memory growth.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
import redis
from grpc import aio

from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.common.v1 import chat_pb2
from switchyard.ml.embedder import StaticEmbedder
from switchyard.replicas import free_port
from switchyard.runtime.grpcio import check_health
from switchyard.services.cache import convert
from switchyard.services.cache.backends import Entry, SilentListener
from switchyard.services.cache.backends.redis import RedisBackend
from switchyard.services.cache.exact import exact_key
from switchyard.services.cache.fingerprint import cache_request
from switchyard.services.cache.index import VectorIndex

ROOT = Path(__file__).resolve().parent.parent
EMBEDDER = StaticEmbedder.load()
DIM = EMBEDDER.dim
TOPICS = 1000
PREFIX = "bench:cache:"
Array = npt.NDArray[np.float32]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def unit(rows: Array) -> Array:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def vectors(count: int, seed: int = 0) -> Array:
    """Returns count unit vectors clustered around TOPICS centres, like sentence embeddings of many topics."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((TOPICS, DIM)).astype(np.float32))
    noise = rng.standard_normal((count, DIM)).astype(np.float32) * 0.05
    return unit(centres[np.arange(count) % TOPICS] + noise)


def request(text: str, temperature: float = 0.3, system: str = "You are helpful.") -> chat_pb2.ChatRequest:
    result = chat_pb2.ChatRequest(model="bench", temperature=temperature)
    result.messages.add(role=chat_pb2.ROLE_SYSTEM, text=system)
    result.messages.add(role=chat_pb2.ROLE_USER, text=text)
    return result


def scope(index: int, spread: bool) -> tuple[str, str]:
    """Returns (tenant, system prompt) of entry index: one bucket, or 100 tenants x 10 prompts."""
    if not spread:
        return "tenant-0", "You are helpful."
    return f"tenant-{index % 100}", f"You are helpful ({index // 100 % 10})."


def text_of(index: int) -> str:
    return f"Question {index}: what should I know about topic {index % TOPICS}?"


def completion(index: int) -> chat_pb2.ChatCompletion:
    result = chat_pb2.ChatCompletion(id=f"chatcmpl-{index}", model="bench")
    choice = result.choices.add(index=0, finish_reason=chat_pb2.FINISH_REASON_STOP)
    choice.message.text = f"Answer {index}: " + "a thoughtful paragraph about the topic. " * 6
    result.usage.total_tokens = 120
    return result


@contextmanager
def redis_server() -> Iterator[str]:
    """Runs a redis-server of the benchmark's own on a free port, keeping nothing on disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (scripts/ensure_redis.sh installs one)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        proc.kill()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stops a cache service: SIGTERM (it drains), then SIGKILL if it has not exited within 15 s."""
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def start_cache(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SWITCHYARD_", "OTEL_"))},
        "SWITCHYARD_CACHE_PORT": str(port),
        "SWITCHYARD_CACHE_REDIS_URL": url,
        "SWITCHYARD_CACHE_REDIS_PREFIX": PREFIX,
        "SWITCHYARD_CACHE_REDIS_TIMEOUT": "1.0",
        "SWITCHYARD_LOG_LEVEL": "WARNING",
        # The cache's own work is measured, alone on loopback: plaintext, said explicitly (mutual TLS is the default).
        "SWITCHYARD_TLS": "off",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "switchyard.services.cache"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_for(predicate_coro: object, what: str, timeout: float = 600.0) -> float:
    """Polls an async predicate until true; returns the seconds it took."""
    started = time.monotonic()
    while not await predicate_coro():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def fill(url: str, count: int, spread: bool) -> float:
    """Stores count entries through the Redis backend (what a replica's Store does); returns seconds taken."""
    backend = RedisBackend(url, PREFIX, timeout=5.0)
    started = time.monotonic()
    pending = iter(range(count))

    async def worker() -> None:
        for index in pending:
            if not await backend.put(entry_of(index, spread), 86_400):
                raise SystemExit(f"storing entry {index} failed: {backend.health().detail}")

    await asyncio.gather(*(worker() for _ in range(16)))
    await backend.close()
    return time.monotonic() - started


def entry_of(index: int, spread: bool) -> Entry:
    tenant, system = scope(index, spread)
    seen = cache_request(tenant, "bench", request(text_of(index), system=system))
    assert seen.text is not None
    done = convert.completion_of(completion(index))
    return Entry(
        key=exact_key(seen.scope, seen.canonical),
        tenant=tenant,
        model_group="bench",
        payload=done.payload,
        fingerprint=seen.fingerprint,
        vector=EMBEDDER.embed_one(seen.text).tobytes(),
        text=seen.text,
        tokens=done.tokens,
    )


def cpu_seconds(pid: int) -> float:
    """Returns the CPU time (user + system) a process has used: its cost, whatever else runs on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed(
    stub: cache_pb2_grpc.CacheServiceStub, calls: list[cache_pb2.LookupRequest], pid: int
) -> dict[str, float]:
    for call in calls[:20]:
        await stub.Lookup(call)
    times, hits = [], 0
    cpu_before = cpu_seconds(pid)
    for call in calls[20:]:
        started = time.perf_counter()
        found = await stub.Lookup(call)
        times.append((time.perf_counter() - started) * 1000)
        hits += found.hit
    cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / len(times)
    return {
        "p50": statistics.median(times),
        "p99": percentile(times, 0.99),
        "hit_rate": hits / len(times),
        "cpu": cpu_ms,
    }


def lookups(count: int, spread: bool, rounds: int) -> dict[str, list[cache_pb2.LookupRequest]]:
    rng = np.random.default_rng(1)
    picks = rng.choice(count, rounds + 20, replace=False)
    paths: dict[str, list[cache_pb2.LookupRequest]] = {"exact": [], "semantic": [], "miss": []}
    for index in picks:
        tenant, system = scope(int(index), spread)
        same = request(text_of(int(index)), system=system)
        paths["exact"].append(cache_pb2.LookupRequest(tenant=tenant, model_group="bench", request=same))
        hotter = request(text_of(int(index)), temperature=0.4, system=system)
        paths["semantic"].append(cache_pb2.LookupRequest(tenant=tenant, model_group="bench", request=hotter))
        other = request(text_of(int(index)).replace("Question", "Question 0"), temperature=0.4, system=system)
        paths["miss"].append(cache_pb2.LookupRequest(tenant=tenant, model_group="bench", request=other))
    return paths


async def measure(url: str, count: int, spread: bool, rounds: int) -> dict[str, object]:
    redis.Redis.from_url(url).flushall()
    port = free_port()
    proc = start_cache(url, port)
    target = f"127.0.0.1:{port}"
    try:
        await wait_for(lambda: check_health(target), "the cache service")
        rss_empty = rss_bytes(proc.pid)
        used_before = int(redis.Redis.from_url(url).info("memory")["used_memory"])
        async with aio.insecure_channel(target) as channel:
            stub = cache_pb2_grpc.CacheServiceStub(channel)

            async def indexed() -> bool:
                stats = await stub.Stats(cache_pb2.StatsRequest())
                return bool(stats.indexed_entries >= count)

            fill_s = await fill(url, count, spread)
            catch_up_s = await wait_for(indexed, "the index to hold every entry")
            stats = await stub.Stats(cache_pb2.StatsRequest())
            rss_full = rss_bytes(proc.pid)
            used_after = int(redis.Redis.from_url(url).info("memory")["used_memory"])
            paths = lookups(count, spread, rounds)
            results = {name: await timed(stub, calls, proc.pid) for name, calls in paths.items()}
    finally:
        stop(proc)
    reload_s = await reload_time(url, count)
    return {
        "results": results,
        "fill_s": fill_s,
        "catch_up_s": catch_up_s,
        "reload_s": reload_s,
        "index_bytes_per_entry": stats.index_bytes / count,
        "rss_bytes_per_entry": (rss_full - rss_empty) / count,
        "redis_bytes_per_entry": (used_after - used_before) / count,
    }


async def reload_time(url: str, count: int) -> float:
    """Returns how long a replica started on a full Redis takes until its index holds every entry."""
    port = free_port()
    started = time.monotonic()
    proc = start_cache(url, port)
    target = f"127.0.0.1:{port}"
    try:
        await wait_for(lambda: check_health(target), "the cache service")
        async with aio.insecure_channel(target) as channel:
            stub = cache_pb2_grpc.CacheServiceStub(channel)

            async def indexed() -> bool:
                return bool((await stub.Stats(cache_pb2.StatsRequest())).indexed_entries >= count)

            await wait_for(indexed, "the restarted replica's index")
        return time.monotonic() - started
    finally:
        stop(proc)


async def propagation(url: str, rounds: int = 300) -> dict[str, float]:
    """Returns p50/p99 ms from a store on one replica's backend to the other replica's index hearing of it."""
    heard: dict[str, float] = {}
    arrived = asyncio.Event()

    class Recorder(SilentListener):
        def added(self, entry: Entry, expires_at: float) -> None:
            heard.setdefault(entry.key, time.perf_counter())
            arrived.set()

    writer = RedisBackend(url, PREFIX + "feed:", timeout=5.0)
    reader = RedisBackend(url, PREFIX + "feed:", timeout=5.0)
    reader.watch(Recorder())
    await reader.start()
    await reader.synced.wait()
    vector = vectors(1)[0].tobytes()
    delays = []
    for n in range(rounds):
        key = f"propagation-{n}"
        arrived.clear()
        started = time.perf_counter()
        await writer.put(Entry(key, "t", "bench", b"x" * 300, fingerprint="f", vector=vector, text="q"), 600)
        await asyncio.wait_for(arrived.wait(), 10)
        delays.append((heard[key] - started) * 1000)
    await writer.close()
    await reader.close()
    return {"p50": statistics.median(delays), "p99": percentile(delays, 0.99)}


def recall(count: int, noise: float = 0.02) -> tuple[float, float]:
    """Returns (mean similarity, recall@1) of the split index for near-duplicates of stored vectors."""
    vecs = vectors(count)
    index = VectorIndex(DIM)
    for row, vector in enumerate(vecs):
        index.add("t", "f", f"k{row}", vector, expires_at=float("inf"))
    asyncio.run(index.settle())
    rng = np.random.default_rng(5)
    rows = range(0, count, max(1, count // 500))
    queries = [(row, unit(vecs[row] + noise * rng.standard_normal(DIM).astype(np.float32))) for row in rows]
    similarity = float(np.mean([float(query @ vecs[row]) for row, query in queries]))
    found = [index.search("t", "f", query, 1, 0.0) for _, query in queries]
    hits = sum(bool(top) and top[0].key == f"k{row}" for (row, _), top in zip(queries, found, strict=True))
    return similarity, hits / len(queries)


def report(layout: str, found: dict[str, object]) -> None:
    results = found["results"]
    assert isinstance(results, dict)
    print(f"\n{layout}")
    print("| lookup path | p50 ms | p99 ms | service CPU ms/lookup | hit rate |")
    print("|---|---|---|---|---|")
    names = {
        "exact": "exact hit",
        "semantic": "semantic hit (embedded, searched, re-read)",
        "miss": "semantic miss (embedded, searched, guard refuses)",
    }
    for key, label in names.items():
        row = results[key]
        print(f"| {label} | {row['p50']:.2f} | {row['p99']:.2f} | {row['cpu']:.2f} | {row['hit_rate']:.2f} |")
    print(
        f"fill {found['fill_s']:.1f} s; index caught up {found['catch_up_s']:.1f} s after the fill; "
        f"a restarted replica served its full index after {found['reload_s']:.1f} s"
    )
    print(
        f"memory per entry: index {found['index_bytes_per_entry']:.0f} B (its accounting), "
        f"service RSS {found['rss_bytes_per_entry']:.0f} B, Redis {found['redis_bytes_per_entry']:.0f} B"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cache", description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--layout", choices=["one-bucket", "spread", "both"], default="both")
    args = parser.parse_args()
    layouts = ["one-bucket", "spread"] if args.layout == "both" else [args.layout]
    with redis_server() as url:
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        spread = asyncio.run(propagation(url))
        print(f"store on one replica -> the other's index: p50 {spread['p50']:.2f} ms, p99 {spread['p99']:.2f} ms")
        similarity, share = recall(args.entries)
        print(
            f"approximate search, one bucket of {args.entries:,}: recall@1 {share:.3f} at similarity {similarity:.2f}"
        )
        for layout in layouts:
            found = asyncio.run(measure(url, args.entries, layout == "spread", args.lookups))
            report(f"{args.entries:,} entries, {layout}", found)
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
