"""Governance while Redis is down: hard budgets fail closed, everything else keeps answering.

A request under a hard budget cannot be checked against spend the other replicas share, so it is
refused (503 with Retry-After) and never reaches a provider; a key without a hard budget keeps
working on the replica's own counts. When Redis is back — empty, as a Redis that keeps nothing on
disk restarts — the config file's keys are stored again and the budgeted key is served again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.redis_support import RedisServer, throwaway_redis, unique_prefix
from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

MASTER = "sk-test-master-outage-0123"
BUDGETED = "sk-test-budgeted-0123456789"
OPEN = "sk-test-unbudgeted-01234567"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with throwaway_redis() as server:
        yield server


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[Mesh]:
    governance = (
        f'  redis_url: "{redis_server.url}"\n'
        "  governance:\n"
        "    keys:\n"
        f"      - {{key: {BUDGETED}, max_budget: 100, budget_duration: 1d}}\n"
        f"      - {{key: {OPEN}}}\n"
    )
    started = Mesh(
        Path(tmp_path_factory.mktemp("governance-outage")),
        env={"SWITCHYARD_ROUTER_STATE_PREFIX": unique_prefix("governance-outage")},
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
        switchyard_extra=governance,
    ).start()
    yield started
    started.stop()


def ask(mesh: Mesh, key: str, text: str) -> httpx.Response:
    return httpx.post(
        f"{mesh.edge_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}", "cache-control": "no-cache, no-store"},
        json={"model": "default", "messages": [{"role": "user", "content": text}], "max_tokens": 16},
        timeout=30,
    )


def upstream_calls(mesh: Mesh) -> int:
    return len(httpx.get(f"{mesh.fake_url}/_fake/requests", timeout=5).json())


def test_a_hard_budget_fails_closed_while_redis_is_down_and_others_keep_answering(
    mesh: Mesh, redis_server: RedisServer
) -> None:
    assert ask(mesh, BUDGETED, "before the outage").status_code == 200
    assert ask(mesh, OPEN, "before the outage").status_code == 200

    redis_server.stop()
    httpx.delete(f"{mesh.fake_url}/_fake/requests", timeout=5)
    refused = ask(mesh, BUDGETED, "during the outage")
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "service_unavailable"
    assert upstream_calls(mesh) == 0, "a request whose budget cannot be checked never reaches a provider"
    assert ask(mesh, OPEN, "during the outage").status_code == 200
    assert upstream_calls(mesh) == 1

    redis_server.start()
    wait_until_sync(
        lambda: ask(mesh, BUDGETED, "after the outage").status_code == 200, 30, "the budgeted key to be served again"
    )
    # The SDK sees the outage's refusal as a retryable server error, not as a bad key.
    client = openai.OpenAI(base_url=f"{mesh.edge_url}/v1", api_key=BUDGETED, max_retries=0)
    assert client.chat.completions.create(model="default", messages=[{"role": "user", "content": "hi"}]).choices
