"""The gateway on a Sentinel-watched Redis: the primary is killed under load and requests keep working.

`switchyard.redis_url: redis+sentinel://s1,s2,s3/primary/0` asks the sentinels where the primary is
on every new connection. When the primary dies, the stores serve locally (switchyard.redisutil's
degraded mode) until their probe reaches the promoted replica; a request is never held on the dead
server for more than one call's timeout, and what the gateway records after the promotion lands on
the new primary.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_ha import SentinelGroup, gateway_on, in_ledger, load_across, sentinel_group
from tests.support import Mesh

pytestmark = [pytest.mark.mesh, pytest.mark.redis, pytest.mark.slow]

MASTER = f"sk-master-{uuid.uuid4().hex}"
CALLER = f"sk-sentinel-caller-{uuid.uuid4().hex}"
WORKERS = 4
MODELS = """  - model_name: watched
    litellm_params: {model: openai/fake-watched, api_base: "$FAKE_URL/v1", api_key: sk-fake}
"""


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mesh, SentinelGroup]]:
    workdir = Path(tmp_path_factory.mktemp("sentinel"))
    caller = f"{{key: {CALLER}, models: [watched]}}"
    with (
        sentinel_group() as group,
        gateway_on(group.url, workdir, master_key=MASTER, models=MODELS, key=caller) as mesh,
    ):
        yield mesh, group


async def test_requests_keep_working_across_a_sentinel_failover(watched: tuple[Mesh, SentinelGroup]) -> None:
    mesh, group = watched
    headers = {"authorization": f"Bearer {CALLER}", "cache-control": "no-store"}
    across = await load_across(mesh, headers, "watched", group.fail_over, workers=WORKERS)
    failed = across.failed()
    print(
        f"sentinel failover: promoted in {across.event:.1f}s; {len(failed)} of {len(across.outcomes)} requests failed"
    )
    # Bounded: the stores answer locally while Redis is away, so no request waits on the dead primary.
    assert len(failed) <= WORKERS, failed
    # What was answered after the promotion is in the ledger on the new primary.
    later = across.answered_after()
    assert len(later) >= 40 and all(later)
    await in_ledger(mesh, MASTER, CALLER, later)
