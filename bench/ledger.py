"""Cost-ledger cost: `python -m bench.ledger`.

Times Ledger.append() one call at a time (it runs on every request: no I/O, a bounded buffer), then
the background writer's throughput: how many records per second it moves from the buffer into the
store (memory, and Redis at REDIS_URL, else the local default), one Lua script per batch that writes
the stream entry, the dedupe entry and seven dimensions' daily aggregates. The Redis keys written go
under a prefix of their own and are deleted at the end. Prints p50 / p99 in microseconds and
records per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Sequence

from bench.state import delete_prefix, percentile
from switchyard.services.router.governance.ledger import Ledger, LedgerOptions, LedgerRecord, open_ledger


def records(count: int, tag: str) -> list[LedgerRecord]:
    now = int(time.time() * 1000)
    return [
        LedgerRecord(
            time_ms=now,
            request_id=f"{tag}-{n}",
            key_prefix=f"sk-sy-abc{n % 50:03d}",
            team=f"team-{n % 10}",
            app=f"app-{n % 5}",
            feature="chat",
            alias="auto",
            deployment_id=f"dep-{n % 20}",
            provider="openai",
            model=f"model-{n % 20}",
            prompt_tokens=500,
            completion_tokens=120,
            cost_usd=0.00042,
            cache="hit" if n % 10 == 0 else "miss",
            status="ok",
            latency_ms=812.5,
            attempts=1,
        )
        for n in range(count)
    ]


def time_appends(ledger: Ledger, batch: Sequence[LedgerRecord]) -> list[float]:
    """Returns the duration of each append, in microseconds (the writer is not running)."""
    durations = []
    for record in batch:
        started = time.perf_counter_ns()
        ledger.append(record)
        durations.append((time.perf_counter_ns() - started) / 1000)
    return durations


async def throughput(ledger: Ledger, batch: Sequence[LedgerRecord]) -> float:
    """Returns records written per second when batch waits in the buffer as the writer starts (and closes it)."""
    for record in batch:
        ledger.append(record)
    started = time.perf_counter()
    await ledger.start()
    await ledger.close()  # returns once the writer has written everything (or close_s passed)
    if ledger.pending:
        raise SystemExit(f"{ledger.pending} records not written within close_s")
    return len(batch) / (time.perf_counter() - started)


async def run(url: str, count: int) -> None:
    options = LedgerOptions(memory_records=max(count, 1), close_s=600)
    appended = open_ledger(None, "", buffer=count, options=options)
    durations = time_appends(appended, records(count, "append"))
    await appended.close()
    print("| measure | p50 | p99 | n |")
    print("|---|---:|---:|---:|")
    print(f"| append() µs | {percentile(durations, 0.5):.2f} | {percentile(durations, 0.99):.2f} | {count} |")
    memory = open_ledger(None, "", buffer=count, options=options)
    print(f"| writer, memory, records/s | {await throughput(memory, records(count, 'mem')):,.0f} | | {count} |")
    prefix = f"bench:ledger:{uuid.uuid4().hex[:8]}:"
    shared = open_ledger(url, prefix, buffer=count, options=options)
    try:
        rate = await throughput(shared, records(count, "redis"))
        print(f"| writer, Redis, records/s | {rate:,.0f} | | {count} |")
    finally:
        await shared.close()
        delete_prefix(url, prefix)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--count", type=int, default=50_000, help="records appended and written")
    args = parser.parse_args(argv)
    asyncio.run(run(args.redis_url, args.count))


if __name__ == "__main__":
    main()
