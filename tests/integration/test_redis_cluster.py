"""The gateway on a Redis Cluster (three masters, a replica each, started here): shared state works
through the edge, and requests keep working when a master is killed.

`switchyard.redis_url: redis+cluster://...` puts the router's state, governance, the ledger and the
cache on the cluster. Every Lua script and transaction keeps its keys in one slot (a CROSSSLOT
error would fail the request), and the keys spread over the masters.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.redis_ha import Cluster, gateway_on, in_ledger, load_across, redis_cluster
from tests.support import Mesh, wait_until

pytestmark = [pytest.mark.mesh, pytest.mark.redis]

MASTER = f"sk-master-{uuid.uuid4().hex}"
LIMITED = f"sk-cluster-limited-{uuid.uuid4().hex}"
RPM = 5
CAP_USD = 0.1
# About $0.02 a request: a prompt of about 8 tokens and a reply of about 12 at the fake's count.
MODELS = """  - model_name: metered
    litellm_params: {model: openai/fake-metered, api_base: "$FAKE_URL/v1", api_key: sk-fake}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.001}
"""


@pytest.fixture(scope="module")
def clustered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mesh, Cluster]]:
    workdir = Path(tmp_path_factory.mktemp("cluster"))
    limited = f"{{key: {LIMITED}, models: [metered], rpm_limit: {RPM}}}"
    with (
        redis_cluster(masters=3, replicas_each=1) as cluster,
        gateway_on(cluster.url, workdir, master_key=MASTER, models=MODELS, key=limited) as mesh,
    ):
        yield mesh, cluster


async def _new_key(mesh: Mesh, settings: dict[str, Any]) -> str:
    """Returns a virtual key made through the admin API with settings."""
    async with httpx.AsyncClient(base_url=mesh.edge_url, timeout=15) as client:
        made = await client.post("/key/generate", headers={"authorization": f"Bearer {MASTER}"}, json=settings)
    assert made.status_code == 200, made.text
    return str(made.json()["key"])


def _body(text: str = "") -> dict[str, Any]:
    return {"model": "metered", "messages": [{"role": "user", "content": text or f"cluster {uuid.uuid4().hex[:8]}"}]}


def _bearer(key: str, cache: bool = False) -> dict[str, str]:
    headers = {"authorization": f"Bearer {key}"}
    return headers if cache else {**headers, "cache-control": "no-store"}


def test_every_store_reaches_the_cluster_from_its_first_call(clustered: tuple[Mesh, Cluster]) -> None:
    """The first call on a cluster learns its slot map: no store may mistake that for an outage."""
    mesh, _ = clustered
    assert "Redis unreachable" not in mesh.output(), mesh.output()[-4000:]


async def test_one_rpm_limit_on_the_cluster(clustered: tuple[Mesh, Cluster]) -> None:
    mesh, _ = clustered
    async with httpx.AsyncClient(base_url=mesh.edge_url, timeout=15) as client:
        replies = await asyncio.gather(
            *(client.post("/v1/chat/completions", json=_body(), headers=_bearer(LIMITED)) for _ in range(2 * RPM))
        )
    assert sorted(r.status_code for r in replies) == [200] * RPM + [429] * RPM, [r.text for r in replies]


async def test_a_cached_answer_is_a_hit_from_the_cluster(clustered: tuple[Mesh, Cluster]) -> None:
    mesh, _ = clustered
    body = _body(f"cached on the cluster {uuid.uuid4().hex}")
    async with httpx.AsyncClient(base_url=mesh.edge_url, timeout=15) as client:

        async def cache_header() -> str:
            reply = await client.post("/v1/chat/completions", json=body, headers=_bearer(MASTER, cache=True))
            assert reply.status_code == 200, reply.text
            return reply.headers.get("x-switchyard-cache", "")

        assert (await cache_header()).startswith("miss")
        seen: list[str] = []

        async def hit() -> bool:
            seen.append(await cache_header())
            return seen[-1].startswith("hit")

        await wait_until(hit, timeout=2.0, what="the answer to be a cache hit")


async def test_a_budget_holds_and_the_ledger_counts_each_request_once(clustered: tuple[Mesh, Cluster]) -> None:
    mesh, cluster = clustered
    admin = {"authorization": f"Bearer {MASTER}"}
    key = await _new_key(mesh, {"models": ["metered"], "max_budget": CAP_USD, "budget_duration": "1d"})
    async with httpx.AsyncClient(base_url=mesh.edge_url, timeout=15) as client:
        statuses = []
        for _ in range(20):
            reply = await client.post("/v1/chat/completions", json=_body(), headers=_bearer(key))
            statuses.append(reply.status_code)
            if reply.status_code == 429:
                assert reply.json()["error"]["code"] == "budget_exceeded", reply.text
                break
        answered = statuses.count(200)
        assert statuses[-1] == 429 and answered == len(statuses) - 1 and answered >= 3, statuses

        records: list[dict[str, Any]] = []

        async def recorded() -> bool:
            logs = await client.get("/spend/logs", headers=admin, params={"api_key": key[:12], "limit": "100"})
            records[:] = logs.json() if logs.status_code == 200 else []
            return len(records) >= len(statuses)

        await wait_until(recorded, timeout=15, what=f"{len(statuses)} ledger records")
        budgets = (await client.get("/budget/list", headers=admin)).json()
    # One record per request, the refused one included, and none twice.
    assert sorted(r["status"] for r in records) == ["budget_exceeded"] + ["ok"] * answered, records
    assert len({r["request_id"] for r in records}) == len(records)
    (mine,) = [b for b in budgets if b["scope"] == "key" and b["id"] == key[:12]]
    # Never overspent: a request that does not fit whole is capped to what the budget has left.
    assert mine["spent_usd"] <= CAP_USD + 1e-9, mine
    # The state, governance, ledger and cache keys do not all sit on one master.
    assert sum(count > 0 for count in cluster.keys_per_master()) >= 2, cluster.keys_per_master()


async def test_requests_keep_working_when_a_master_dies(clustered: tuple[Mesh, Cluster]) -> None:
    mesh, cluster = clustered
    workers = 4
    key = await _new_key(mesh, {"models": ["metered"]})
    # Kill the master holding the ledger's slot, which every request writes to.
    ledger = next(i for i, m in enumerate(cluster.masters) if cluster.holds(m, "switchyard:router:{ledger}"))
    across = await load_across(mesh, _bearer(key), "metered", lambda: cluster.fail_over(ledger), workers=workers)
    failed, sent = across.failed(), len(across.outcomes)
    print(f"cluster failover: replica took over in {across.event:.1f}s; {len(failed)} of {sent} requests failed")
    # Bounded: the stores answer locally while the slots are away, so no request waits on the dead master.
    assert len(failed) <= workers, failed
    # The ledger's slot moved to the promoted replica; what was answered after is recorded there.
    later = across.answered_after()
    assert len(later) >= 40
    await in_ledger(mesh, MASTER, key, later)
