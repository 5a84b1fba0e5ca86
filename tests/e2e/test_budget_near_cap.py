"""A key's budget near its cap, through the REST edge: what remains is spent on capped answers, never overspent.

The issue this guards: a key with `max_budget: 0.2`, a deployment at $0.001 per token and requests of
about 20 tokens that set no max_tokens were all refused, because each reserved its prompt plus
`estimate_output_tokens` (1,024) output tokens ($1.04) although each really costs about $0.02. Now a
request that does not fit whole holds what the budget has left and its output is capped to what that
pays for; the budget admits one such request at a time and refuses once it cannot pay a prompt and one
output token. The mesh keeps its budgets in Redis (the Lua admission), with the default estimate.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import redis
from openai.types import CompletionUsage

from tests.redis_support import unique_prefix
from tests.support import Mesh, wait_until

pytestmark = pytest.mark.mesh

MASTER_KEY = f"sk-master-{uuid.uuid4().hex}"
CAP_USD = 0.2
PRICE = 0.001
METERED = """  - model_name: metered
    litellm_params: {model: openai/fake-metered, api_base: "$FAKE_URL/v1", api_key: sk-fake}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.001}
"""
CAPPED = re.compile(r"output capped at (\d+) tokens")


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Mesh]:
    prefix = unique_prefix("budget-near-cap")
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("metered")),
        env={"SWITCHYARD_ROUTER_STATE_PREFIX": prefix},
        request_timeout=30.0,
        extra_models=METERED,
        general_settings=f"general_settings:\n  master_key: {MASTER_KEY}\n",
        switchyard_extra=f'  redis_url: "{redis_url}"\n',
    ).start()
    try:
        yield mesh
    finally:
        mesh.stop()
        client = redis.Redis.from_url(redis_url)
        found = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if found:
            client.delete(*found)
        client.close()


def admin(mesh: Mesh) -> httpx.Client:
    return httpx.Client(base_url=mesh.edge_url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10)


def new_key(mesh: Mesh) -> str:
    """Returns a key allowed the metered group, with a $0.20 daily hard budget."""
    with admin(mesh) as client:
        made = client.post(
            "/key/generate", json={"models": ["metered"], "max_budget": CAP_USD, "budget_duration": "1d"}
        )
    assert made.status_code == 200, made.text
    return str(made.json()["key"])


def ask(tag: str) -> list[Any]:
    # About 20 tokens a request at the fake's count: a prompt of 8 and a reply of 12.
    return [{"role": "user", "content": f"{tag} {uuid.uuid4().hex[:8]}"}]


def cap_of(route: str) -> int:
    """Returns the output cap the x-switchyard-route header's reason names."""
    found = CAPPED.search(route)
    assert found is not None, route
    return int(found.group(1))


def budget_of(mesh: Mesh, key: str) -> dict[str, Any]:
    """Returns the key's daily budget as /budget/list shows it (spent and reserved in USD)."""
    with admin(mesh) as client:
        budgets = client.get("/budget/list").json()
    mine = [b for b in budgets if b["scope"] == "key" and b["id"] == key[:12]]
    assert len(mine) == 1, budgets
    return dict(mine[0])


async def settled(mesh: Mesh, key: str, requests: int) -> dict[str, Any]:
    """Returns the key's budget once every request is in the ledger and no reservation is left."""

    def done() -> bool:
        with admin(mesh) as client:
            logs = client.get("/spend/logs", params={"api_key": key[:12], "limit": "1000"}).json()
        return len(logs) == requests and budget_of(mesh, key)["reserved_usd"] == 0

    await wait_until(done, timeout=30, what=f"{requests} requests settled and recorded")
    return budget_of(mesh, key)


def forwarded(mesh: Mesh, tag: str) -> list[dict[str, Any]]:
    """Returns the bodies the fake provider received for prompts carrying tag, oldest first."""
    log = httpx.get(f"{mesh.fake_url}/_fake/requests", timeout=5).json()
    bodies = [entry.get("body") or {} for entry in log]
    return [b for b in bodies if any(tag in str(m.get("content")) for m in b.get("messages", ()))]


def refusal_is_openai_insufficient_quota(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["type"] == "insufficient_quota" and error["code"] == "budget_exceeded", error
    assert error["message"] and float(response.headers["retry-after"]) > 0


def answer(client: openai.OpenAI, messages: list[Any], *, stream: bool) -> tuple[CompletionUsage, Any]:
    """Returns the usage of an answered request and its raw response (for its headers), streamed or not."""
    if not stream:
        raw = client.chat.completions.with_raw_response.create(model="metered", messages=messages)
        reply = raw.parse()
        assert reply.usage is not None and reply.choices[0].message.content
        return reply.usage, raw
    streamed = client.chat.completions.with_raw_response.create(
        model="metered", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(streamed.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = chunks[-1].usage
    assert usage is not None
    return usage, streamed


async def test_sequential_requests_are_answered_until_the_budget_cannot_pay(metered: Mesh) -> None:
    # Every other request is streamed: a stream's output is capped alike.
    key, tag = new_key(metered), f"seq{uuid.uuid4().hex[:6]}"
    client = openai.OpenAI(base_url=f"{metered.edge_url}/v1", api_key=key, max_retries=0)
    costs: list[float] = []
    caps: list[int] = []
    refusal: openai.RateLimitError | None = None
    for index in range(40):
        try:
            usage, raw = answer(client, ask(tag), stream=index % 2 == 1)
        except openai.RateLimitError as exc:
            refusal = exc
            break
        costs.append((usage.prompt_tokens + usage.completion_tokens) * PRICE)
        caps.append(cap_of(raw.headers["x-switchyard-route"]))
        # Each request held what remained, so its output was capped to what that pays for.
        remaining = CAP_USD - sum(costs[:-1])
        assert (usage.prompt_tokens + caps[-1]) * PRICE <= remaining + 1e-9
    assert refusal is not None, "the budget never refused"
    # About ten answers of about $0.02: every one the budget could pay for.
    assert 8 <= len(costs) <= 14, costs
    assert refusal.status_code == 429 and refusal.code == "budget_exceeded"
    assert float(refusal.response.headers["retry-after"]) > 0
    # The fake received the capped limit, never the 1,024-token estimate.
    bodies = forwarded(metered, tag)
    assert [b["max_completion_tokens"] for b in bodies] == caps
    budget = await settled(metered, key, len(costs) + 1)
    assert budget["spent_usd"] == pytest.approx(sum(costs), abs=1e-9)
    # Never past the cap, and what is left cannot pay for another prompt.
    assert budget["spent_usd"] <= CAP_USD + 1e-12
    assert CAP_USD - budget["spent_usd"] < costs[0]


async def test_concurrent_requests_near_the_cap_are_answered_or_refused_and_never_overspend(metered: Mesh) -> None:
    key, tag = new_key(metered), f"par{uuid.uuid4().hex[:6]}"
    headers = {"Authorization": f"Bearer {key}"}

    async with httpx.AsyncClient(base_url=metered.edge_url, headers=headers, timeout=60) as client:

        async def one() -> httpx.Response:
            return await client.post("/v1/chat/completions", json={"model": "metered", "messages": ask(tag)})

        responses = await asyncio.gather(*(one() for _ in range(60)))
    answered = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert answered, "not one request was answered"
    assert len(answered) + len(refused) == 60
    for response in refused:
        refusal_is_openai_insufficient_quota(response)
    for response in answered:
        assert response.json()["choices"][0]["message"]["content"]
    # Only answered requests reached the provider, each with max tokens capped to what its hold paid for.
    bodies = forwarded(metered, tag)
    assert len(bodies) == len(answered)
    caps = sorted(cap_of(r.headers["x-switchyard-route"]) for r in answered)
    assert sorted(b["max_completion_tokens"] for b in bodies) == caps
    # The first admitted held the whole $0.20: about 200 tokens, far below the 1,024 estimate.
    assert 150 <= max(caps) < 200
    budget = await settled(metered, key, 60)
    costs = [sum(r.json()["usage"][k] for k in ("prompt_tokens", "completion_tokens")) * PRICE for r in answered]
    assert budget["spent_usd"] == pytest.approx(sum(costs), abs=1e-9)
    assert budget["spent_usd"] <= CAP_USD + 1e-12
