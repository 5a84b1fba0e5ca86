"""Governance latency: `python -m bench.governance`.

Times, one request at a time, what governance adds to a request's path: the key check (a cached
key: hashing the secret and a dictionary lookup) and the admission (one round trip that checks the
key's revocation, its rpm window and reserves the estimate in its key, team and app budgets), then
the settlement that runs after the answer, off the response path. Each runs in memory and against
Redis (REDIS_URL, else the local default); the keys written go under a prefix of their own and are
deleted at the end. With auth off the same path costs nothing (no identity: no store call); that row
is timed too. Prints p50 and p99 in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Sequence

from bench.state import delete_prefix, print_table
from switchyard.config import ModelEntry
from switchyard.services.router.governance.alerts import AlertSink
from switchyard.services.router.governance.governor import Governor
from switchyard.services.router.governance.keys import Keys
from switchyard.services.router.governance.memory import MemoryGovernance
from switchyard.services.router.governance.model import Allowance, Cap, TeamRecord
from switchyard.services.router.governance.redis_store import RedisGovernance
from switchyard.services.router.governance.store import GovernanceStore
from switchyard.services.router.state import StateOptions

ENTRY = ModelEntry.model_validate(
    {
        "model_name": "bench",
        "litellm_params": {"model": "openai/bench"},
        "model_info": {"input_cost_per_token": 2e-6, "output_cost_per_token": 1e-5},
    }
)


async def measure(store: GovernanceStore, count: int) -> dict[str, list[float]]:
    """Returns per-request durations of the key check + admission, and of the settlement, in µs."""
    keys = Keys(store)
    governor = Governor(
        store,
        keys,
        AlertSink(""),
        master_token=None,
        auth=True,
        apps={"bench-app": (Cap("monthly", 1e9),)},
    )
    await keys.put_team(TeamRecord("bench-team", limits=Allowance(budgets=(Cap("daily", 1e9),))))
    limits = Allowance(rpm_limit=10**9, budgets=(Cap("daily", 1e9, 1e8),))
    secret, _ = await keys.create(limits=limits, team_id="bench-team", app="bench-app")
    header = f"Bearer {secret}"
    off = Governor(store, keys, AlertSink(""), master_token=None, auth=False)
    checks, settles, idle = [], [], []
    for _ in range(count):
        started = time.perf_counter_ns()
        identity = await governor.authenticate(header)
        governor.permit(identity, "bench")
        hold = await governor.admit(identity, [ENTRY], 200, 256, 60.0)
        checked = time.perf_counter_ns()
        assert hold is not None
        await store.settle(hold, 1000, 300)
        settled = time.perf_counter_ns()
        checks.append((checked - started) / 1000)
        settles.append((settled - checked) / 1000)
        started = time.perf_counter_ns()
        nobody = await off.authenticate("")
        off.permit(nobody, "bench")
        await off.admit(nobody, [ENTRY], 200, 256, 60.0)
        idle.append((time.perf_counter_ns() - started) / 1000)
    return {
        "key check + reservation (3 budgets, rpm)": checks,
        "settle (background)": settles,
        "auth off: nothing to check": idle,
    }


async def run(url: str, count: int) -> list[tuple[str, str, list[float]]]:
    rows: list[tuple[str, str, list[float]]] = []
    rows.extend(("memory", name, values) for name, values in (await measure(MemoryGovernance(), count)).items())
    prefix = f"bench:governance:{uuid.uuid4().hex[:8]}:"
    shared = RedisGovernance.connect(url, prefix, StateOptions(timeout_s=1.0))
    try:
        rows.extend(("redis", name, values) for name, values in (await measure(shared, count)).items())
        if shared.degraded:
            raise SystemExit(f"no Redis answers at {url}")
    finally:
        await shared.close()
        delete_prefix(url, prefix)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--count", type=int, default=2000, help="requests timed per store")
    args = parser.parse_args(argv)
    print_table(asyncio.run(run(args.redis_url, args.count)), "step", "requests")


if __name__ == "__main__":
    main()
