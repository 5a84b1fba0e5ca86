"""The ledger through the whole mesh: Redis killed and restarted in the middle of a load run loses no record.

Requests go through the edge (with the master key, so admission itself needs no Redis) while the
Redis that holds the ledger is killed and started again from its append-only file. Every request
that was answered must then be in the ledger exactly once: the records written before the kill
survive it, and those that arrived while Redis was down wait in the router's buffer until it is back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from switchyard.router.v1 import admin_pb2, admin_pb2_grpc
from tests.redis_support import throwaway_redis, unique_prefix
from tests.support import Mesh, aio_channel, wait_until

pytestmark = [pytest.mark.mesh, pytest.mark.slow]

MASTER = "sk-test-master-ledger-0123"
REQUESTS = 240
WORKERS = 8


async def ledger_ids(target: str) -> list[str]:
    """Returns the request id of every record in the ledger, one entry per record."""
    async with aio_channel(target) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        logs = await admin.GetSpendLogs(
            admin_pb2.GetSpendLogsRequest(limit=10 * REQUESTS),
            metadata=(("authorization", f"Bearer {MASTER}"),),
            timeout=10,
        )
    return [record.request_id for record in logs.records if record.status == "ok"]


async def test_answered_requests_are_all_in_the_ledger_after_a_redis_restart_mid_load(tmp_path: Path) -> None:
    with throwaway_redis(persist=True) as server:
        mesh = Mesh(
            tmp_path,
            env={"SWITCHYARD_ROUTER_STATE_PREFIX": unique_prefix("ledger-restart")},
            general_settings=f"general_settings:\n  master_key: {MASTER}\n",
            switchyard_extra=f'  redis_url: "{server.url}"\n',
        ).start()
        try:
            answered: list[str] = []
            restarted = asyncio.Event()
            queue = iter(range(REQUESTS))

            async def worker(client: httpx.AsyncClient) -> None:
                for _ in queue:
                    request_id = f"req_{uuid.uuid4().hex}"
                    reply = await client.post(
                        "/v1/chat/completions",
                        headers={"x-request-id": request_id, "cache-control": "no-cache, no-store"},
                        json={"model": "default", "messages": [{"role": "user", "content": request_id}]},
                    )
                    if reply.status_code == 200:
                        answered.append(request_id)

            async def kill_and_restart() -> None:
                await wait_until(lambda: len(answered) >= REQUESTS // 3, timeout=60, what="a third of the load")
                await asyncio.to_thread(server.restart)
                restarted.set()

            headers = {"authorization": f"Bearer {MASTER}"}
            async with httpx.AsyncClient(base_url=mesh.edge_url, headers=headers, timeout=30) as client:
                await asyncio.gather(kill_and_restart(), *(worker(client) for _ in range(WORKERS)))
            assert restarted.is_set()
            assert len(answered) >= REQUESTS * 0.9, "the gateway keeps answering while Redis is down"

            async def all_recorded() -> bool:
                return set(answered) <= set(await ledger_ids(mesh.router_target))

            await wait_until(all_recorded, timeout=60, what="every answered request in the ledger")
            recorded = Counter(await ledger_ids(mesh.router_target))
            assert set(recorded) >= set(answered)
            assert max(recorded.values()) == 1, "a retried write counted a request twice"
        finally:
            mesh.stop()
