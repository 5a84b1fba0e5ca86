"""Governance through real processes and a real Redis: two router replicas share keys, limits and budgets.

The mesh runs with a master key and one configured key; the tests create more keys through the admin
API (gRPC, with the master key in the `authorization` metadata) and call RouterService on either
replica as a client of the edge would, with `authorization: Bearer <key>`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
import redis
from google.rpc import error_details_pb2, status_pb2
from grpc import aio

from switchyard.common.v1 import chat_pb2, context_pb2, route_pb2
from switchyard.router.v1 import admin_pb2, admin_pb2_grpc, router_pb2, router_pb2_grpc
from tests.redis_support import unique_prefix
from tests.support import Mesh, Process, aio_channel, wait_until

pytestmark = pytest.mark.mesh

MASTER = "sk-test-master-0123456789"
LIMITED = "sk-test-limited-0123456789"
GOVERNED_MODELS = """  - model_name: governed
    litellm_params: {model: openai/fake-governed, api_base: "$FAKE_URL/v1", api_key: sk-fake}
    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.00001}
"""
NO_CACHE = context_pb2.RequestContext(hints=context_pb2.RoutingHints(cache_bypass=True))
OUTPUT_TOKENS = 16


class Gateway:
    """The governed mesh: its two router replicas' targets and the fake provider's admin URL."""

    def __init__(self, mesh: Mesh, second: str) -> None:
        self.mesh, self.targets = mesh, (mesh.router_target, second)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Gateway]:
    prefix = unique_prefix("governance")
    governance = (
        f'  redis_url: "{redis_url}"\n'
        "  governance:\n"
        f"    estimate_output_tokens: {OUTPUT_TOKENS}\n"
        "    keys:\n"
        f"      - {{key: {LIMITED}, models: [governed], rpm_limit: 3}}\n"
    )
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("governance")),
        env={"SWITCHYARD_ROUTER_STATE_PREFIX": prefix},
        extra_models=GOVERNED_MODELS,
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
        switchyard_extra=governance,
    ).start()
    second: Process | None = None
    try:
        second, target = mesh.start_router()
        yield Gateway(mesh, target)
    finally:
        if second is not None:
            second.stop()
        mesh.stop()
        client = redis.Redis.from_url(redis_url)
        found = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if found:
            client.delete(*found)
        client.close()


@pytest.fixture
async def channels(gateway: Gateway) -> AsyncIterator[tuple[aio.Channel, aio.Channel]]:
    async with aio_channel(gateway.targets[0]) as one, aio_channel(gateway.targets[1]) as two:
        yield one, two


def bearer(secret: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {secret}"),)


def request_of(model: str = "governed", text: str = "", **fields: object) -> chat_pb2.ChatRequest:
    # Same length every time (a uuid hex), so every request costs the same.
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text or f"governed {uuid.uuid4().hex}")
    return chat_pb2.ChatRequest(model=model, messages=[message], max_tokens=OUTPUT_TOKENS, **fields)  # type: ignore[arg-type]


def reason_of(error: grpc.aio.AioRpcError) -> str:
    raw = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    for detail in status_pb2.Status.FromString(raw).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


def retry_after_of(error: grpc.aio.AioRpcError) -> float | None:
    raw = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    for detail in status_pb2.Status.FromString(raw).details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            return retry.retry_delay.ToMilliseconds() / 1000
    return None


async def new_key(channel: aio.Channel, limits: admin_pb2.Limits | None = None) -> str:
    """Returns a new key's secret, created through the admin API with the master key."""
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    spec = admin_pb2.KeySpec(limits=limits)
    reply = await admin.GenerateKey(admin_pb2.GenerateKeyRequest(spec=spec), metadata=bearer(MASTER))
    return reply.key


async def complete(
    channel: aio.Channel, secret: str, request: chat_pb2.ChatRequest
) -> router_pb2.ChatCompletionResponse:
    stub = router_pb2_grpc.RouterServiceStub(channel)
    return await stub.ChatCompletion(
        router_pb2.ChatCompletionRequest(request=request, context=NO_CACHE), metadata=bearer(secret), timeout=30
    )


async def provider_calls(gateway: Gateway, model: str) -> int:
    """Returns how many requests for an upstream model the fake provider received since its log was cleared."""
    async with httpx.AsyncClient(base_url=gateway.mesh.fake_url, timeout=5) as client:
        log = (await client.get("/_fake/requests")).json()
    return sum(1 for entry in log if (entry.get("body") or {}).get("model") == model)


async def clear_provider_log(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.mesh.fake_url, timeout=5) as client:
        await client.delete("/_fake/requests")


async def test_two_replicas_never_spend_past_a_hard_budget(
    gateway: Gateway, channels: tuple[aio.Channel, aio.Channel]
) -> None:
    one, two = channels
    probe = await new_key(one)
    cost = (await complete(one, probe, request_of())).route.cost_usd
    assert cost > 0
    budget = 50 * cost
    limits = admin_pb2.Limits(budgets=[admin_pb2.Budget(window="daily", hard_usd=budget)])
    secret = await new_key(one, limits=limits)
    await clear_provider_log(gateway)

    async def one_request(index: int) -> str:
        try:
            await complete(channels[index % 2], secret, request_of())
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
            return reason_of(error)
        return "ok"

    outcomes = await asyncio.gather(*(one_request(i) for i in range(200)))
    answered = outcomes.count("ok")
    assert set(outcomes) <= {"ok", "BUDGET_EXCEEDED"}
    # Holds are estimates a little above the real cost, so a request may be refused while others' holds are
    # still out; a budget that blocks far short of its cap is as wrong as one that lets requests past it.
    # Near the cap a request holds what remains with its output capped, so a cheaper answer or two may
    # follow the 50th.
    assert answered >= 45 and outcomes.count("BUDGET_EXCEEDED") == 200 - answered
    # Refused requests never reached a provider.
    assert await provider_calls(gateway, "fake-governed") == answered
    admin = admin_pb2_grpc.AdminServiceStub(two)
    # The ledger has every one of the 200 requests, refusals included, and its total is what was spent.
    records: list[admin_pb2.LedgerRecord] = []
    mine: list[admin_pb2.BudgetUse] = []

    async def settled() -> bool:
        logs = await admin.GetSpendLogs(
            admin_pb2.GetSpendLogsRequest(key_prefix=secret[:12], limit=1000), metadata=bearer(MASTER)
        )
        records[:] = logs.records
        budgets = await admin.GetBudgets(admin_pb2.GetBudgetsRequest(), metadata=bearer(MASTER))
        mine[:] = [b for b in budgets.budgets if b.id == secret[:12]]
        return len(records) == 200 and len(mine) == 1 and mine[0].reserved_usd == 0

    await wait_until(settled, timeout=20, what="the 200 requests settled and in the ledger")
    info = await admin.GetKeyInfo(admin_pb2.GetKeyInfoRequest(key=secret), metadata=bearer(MASTER))
    # Every answer's real cost stayed within its hold: the cap is never passed, not even by one request.
    assert info.info.spend_usd <= budget + 1e-12
    assert mine[0].hard_usd == pytest.approx(budget) and mine[0].spent_usd == pytest.approx(info.info.spend_usd)
    statuses = [r.status for r in records]
    assert statuses.count("ok") == answered and statuses.count("budget_exceeded") == 200 - answered
    assert sum(r.cost_usd for r in records) == pytest.approx(info.info.spend_usd, rel=1e-9)
    assert all(r.cost_usd == 0 for r in records if r.status != "ok")
    # An answer cheaper than the others had its output capped to what was left, and its record says so.
    answers = [r for r in records if r.status == "ok"]
    assert all(r.cost_usd <= cost * (1 + 1e-9) for r in answers)
    assert all("output capped" in r.route_reason for r in answers if r.cost_usd < cost * (1 - 1e-9))


async def test_a_key_revoked_on_one_replica_is_refused_by_the_other(channels: tuple[aio.Channel, aio.Channel]) -> None:
    one, two = channels
    secret = await new_key(one)
    await complete(two, secret, request_of())  # the second replica now has the key cached
    admin = admin_pb2_grpc.AdminServiceStub(one)
    deleted = await admin.DeleteKeys(admin_pb2.DeleteKeysRequest(keys=[secret]), metadata=bearer(MASTER))
    assert list(deleted.deleted_keys) == [secret]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await complete(two, secret, request_of())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert secret not in (caught.value.details() or "")


async def test_missing_keys_are_unauthenticated_and_other_models_forbidden(
    channels: tuple[aio.Channel, aio.Channel],
) -> None:
    one, _ = channels
    stub = router_pb2_grpc.RouterServiceStub(one)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ChatCompletion(router_pb2.ChatCompletionRequest(request=request_of(), context=NO_CACHE))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await complete(one, LIMITED, request_of("solo"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(caught.value) == "PERMISSION_DENIED"


async def test_a_key_over_its_rpm_gets_rate_limited_with_retry_after(channels: tuple[aio.Channel, aio.Channel]) -> None:
    one, two = channels
    for channel in (one, two, one):  # three requests in the minute, across both replicas
        await complete(channel, LIMITED, request_of())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await complete(two, LIMITED, request_of())
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason_of(caught.value) == "RATE_LIMITED"
    wait = retry_after_of(caught.value)
    assert wait is not None and 0 < wait <= 60


async def test_a_streamed_request_costs_what_its_unary_twin_costs(channels: tuple[aio.Channel, aio.Channel]) -> None:
    one, two = channels
    secret = await new_key(one)
    text = f"twins {uuid.uuid4().hex}"
    unary = await complete(one, secret, request_of(text=text))
    stub = router_pb2_grpc.RouterServiceStub(two)
    streamed = request_of(text=text, stream=True)  # the client did not ask for usage: the router still prices it
    messages = [
        m
        async for m in stub.StreamChatCompletion(
            router_pb2.StreamChatCompletionRequest(request=streamed, context=NO_CACHE), metadata=bearer(secret)
        )
    ]
    assert unary.route.cost_usd > 0
    assert messages[-1].route.cost_usd == pytest.approx(unary.route.cost_usd, rel=1e-12)
    admin = admin_pb2_grpc.AdminServiceStub(one)

    async def both_recorded() -> list[admin_pb2.LedgerRecord]:
        logs = await admin.GetSpendLogs(admin_pb2.GetSpendLogsRequest(key_prefix=secret[:12]), metadata=bearer(MASTER))
        return list(logs.records)

    await wait_until(lambda: _has_two(both_recorded), timeout=10, what="both twins in the ledger")
    records = await both_recorded()
    assert sorted(r.stream for r in records) == [False, True]
    assert records[0].cost_usd == pytest.approx(records[1].cost_usd, rel=1e-12)
    assert all(r.status == "ok" and r.alias == "governed" and r.key_prefix == secret[:12] for r in records)


async def _has_two(read: object) -> bool:
    assert callable(read)
    return len(await read()) == 2


async def test_the_admin_api_needs_the_master_key(channels: tuple[aio.Channel, aio.Channel]) -> None:
    one, _ = channels
    admin = admin_pb2_grpc.AdminServiceStub(one)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.ListKeys(admin_pb2.ListKeysRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.ListKeys(admin_pb2.ListKeysRequest(), metadata=bearer(LIMITED))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    keys = await admin.ListKeys(admin_pb2.ListKeysRequest(), metadata=bearer(MASTER))
    assert LIMITED[:12] in {k.key_prefix for k in keys.keys}
    assert all(not k.key_prefix or len(k.key_prefix) == 12 for k in keys.keys)


async def test_a_cache_hit_costs_nothing_and_records_what_it_saved(channels: tuple[aio.Channel, aio.Channel]) -> None:
    one, _ = channels
    secret = await new_key(one)
    stub = router_pb2_grpc.RouterServiceStub(one)
    request = request_of(text=f"cached {uuid.uuid4().hex}")
    request.max_tokens = 200  # an answer cut at max_tokens is not stored: this one ends by itself

    async def ask() -> router_pb2.ChatCompletionResponse:
        return await stub.ChatCompletion(router_pb2.ChatCompletionRequest(request=request), metadata=bearer(secret))

    first = await ask()
    replies: list[router_pb2.ChatCompletionResponse] = []

    async def hit() -> bool:
        replies.append(await ask())
        return replies[-1].route.cache == route_pb2.CACHE_RESULT_HIT

    await wait_until(hit, timeout=10, what="the answer to be served from the cache")
    admin = admin_pb2_grpc.AdminServiceStub(one)
    hits: list[admin_pb2.LedgerRecord] = []

    async def recorded() -> bool:
        logs = await admin.GetSpendLogs(admin_pb2.GetSpendLogsRequest(key_prefix=secret[:12]), metadata=bearer(MASTER))
        hits[:] = [r for r in logs.records if r.cache == "hit"]
        return bool(hits)

    await wait_until(recorded, timeout=10, what="the cache hit in the ledger")
    assert hits[0].cost_usd == 0 and hits[0].saved_usd == pytest.approx(first.route.cost_usd, rel=1e-12)
    # The saving is shown under the model whose answer was replayed.
    assert (hits[0].deployment_id, hits[0].model) == (first.route.deployment_id, first.route.model)
    info = await admin.GetKeyInfo(admin_pb2.GetKeyInfoRequest(key=secret), metadata=bearer(MASTER))
    misses = len(replies)  # every request before the hit was answered by the provider
    assert info.info.spend_usd == pytest.approx(first.route.cost_usd * misses, rel=1e-9)
