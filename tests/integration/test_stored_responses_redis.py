"""Stored Responses API conversations on a real Redis: shared by router replicas, scoped to the key that
made them, kept for the retention window (the key's expiry), and kept locally while Redis is unreachable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from switchyard.config import Config
from switchyard.router.v1 import router_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.conversations import Conversations, ResponseStore, open_responses
from switchyard.services.router.governance.governor import Governor

pytestmark = pytest.mark.redis
RETENTION_S = 600


CONFIG = Config.model_validate(
    {
        "model_list": [{"model_name": "default", "litellm_params": {"model": "openai/gpt-4o"}}],
        "switchyard": {"responses": {"retention_s": RETENTION_S, "max_local": 100}},
    }
)


def _store(url: str, prefix: str, timeout_s: float = 2.0) -> ResponseStore:
    return open_responses(lambda: CONFIG, url, prefix, timeout_s=timeout_s)


def _desk(store: ResponseStore) -> Conversations:
    # Auth off: the owner is the bearer that was sent, as for a gateway without keys (no key store is read).
    governor = Governor(None, None, None, master_token=None, auth=False)  # type: ignore[arg-type]
    return Conversations(store, governor, lambda: CONFIG.switchyard.responses)


@pytest_asyncio.fixture
async def replicas(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[Conversations, Conversations]]:
    first, second = _store(redis_url, redis_prefix), _store(redis_url, redis_prefix)
    yield _desk(first), _desk(second)
    await first.close()
    await second.close()


async def test_a_response_saved_by_one_replica_is_read_by_another_only_with_the_same_key(
    replicas: tuple[Conversations, Conversations], redis_url: str, redis_prefix: str
) -> None:
    one, two = replicas
    saved = await one.save(router_pb2.SaveResponseRequest(id="resp_a", state=b'{"x": 1}'), "Bearer sk-alice")
    assert saved.retention_seconds == RETENTION_S
    found = await two.get(router_pb2.GetResponseRequest(id="resp_a"), "Bearer sk-alice")
    assert found.state == b'{"x": 1}'
    with pytest.raises(SwitchyardError) as other_key:
        await two.get(router_pb2.GetResponseRequest(id="resp_a"), "Bearer sk-mallory")
    assert other_key.value.status == 404
    client = aioredis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(f"{redis_prefix}responses:*")]
    assert len(keys) == 1 and 0 < await client.ttl(keys[0]) <= RETENTION_S
    await client.aclose()
    with pytest.raises(SwitchyardError):
        await two.delete(router_pb2.DeleteResponseRequest(id="resp_a"), "Bearer sk-mallory")
    await two.delete(router_pb2.DeleteResponseRequest(id="resp_a"), "Bearer sk-alice")
    with pytest.raises(SwitchyardError) as gone:
        await one.get(router_pb2.GetResponseRequest(id="resp_a"), "Bearer sk-alice")
    assert gone.value.status == 404


async def test_an_unreachable_redis_keeps_responses_in_the_router() -> None:
    store = _store("redis://127.0.0.1:1/0", "t:", timeout_s=0.2)
    desk = _desk(store)
    await desk.save(router_pb2.SaveResponseRequest(id="resp_b", state=b"{}"), "Bearer k")
    assert (await desk.get(router_pb2.GetResponseRequest(id="resp_b"), "Bearer k")).state == b"{}"
    await store.close()
