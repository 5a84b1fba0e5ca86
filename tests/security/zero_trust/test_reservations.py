"""A budget's reservation prices the request as it may really run: every choice of `n`, and the priciest
deployment it can reach, fallback groups included, so a hard cap is never overspent.

The attack: a key with a tiny hard budget asked for a cheap group whose fallback is 100 times pricier,
with the cheap group failing; the reservation was priced at the cheap group, the pricey fallback
answered, and the key spent several times its cap. Likewise `n: 128` must be refused up front rather
than spend 128 answers' worth.
"""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest
from grpc import aio

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import from_rpc_error
from tests.security.zero_trust.conftest import (
    PRICEY,
    Gateway,
    ask,
    complete,
    new_key,
    reserved_of,
    spend_of,
)
from tests.support import wait_until

pytestmark = pytest.mark.mesh


async def _spent(channel: aio.Channel, key: str) -> float:
    """Returns the key's spend once its budget holds no reservation."""

    async def settled() -> bool:
        return await reserved_of(channel, key) == 0

    await wait_until(settled, timeout=10, what="the key's holds settled")
    return (await spend_of(channel, key)).spend_usd


async def test_n_choices_are_reserved_so_a_tiny_budget_refuses_n_128(
    gateway: Gateway, router: aio.Channel, fake: httpx.Client
) -> None:
    cap = 0.01
    key = await new_key(router, ["metered"], budget_usd=cap)
    nonce = uuid.uuid4().hex
    body = {"model": "metered", "messages": [{"role": "user", "content": f"many {nonce}"}], "n": 128, "max_tokens": 8}
    with gateway.edge(key) as client:
        reply = client.post("/v1/chat/completions", json=body)
    assert reply.status_code == 429, reply.text
    assert reply.json()["error"]["code"] == "budget_exceeded"
    assert not gateway.calls("fake-metered", nonce), "nothing was forwarded"
    assert await _spent(router, key) == 0


async def test_a_pricier_fallback_cannot_overspend_a_hard_cap(
    gateway: Gateway, router: aio.Channel, fake: httpx.Client
) -> None:
    cap = 0.001
    # The key may use both groups; budget-a costs a hundredth of its fallback pricey-b.
    key = await new_key(router, ["budget-a", "pricey-b"], budget_usd=cap)
    fake.post("/_fake/scripts", json={"model": "fake-budget-a", "status": 500})
    request = ask("budget-a", max_tokens=16)
    answered = True
    try:
        reply = await complete(router, key, request)
    except grpc.aio.AioRpcError as error:
        answered = False
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    spent = await _spent(router, key)
    assert spent <= cap + 1e-12, f"spent ${spent:.6f} of a ${cap} hard cap"
    if answered:
        # Priced at pricey-b from the start, so its output was capped to what the hold pays for there.
        assert reply.route.model == PRICEY and "output capped" in reply.route.reason


async def test_the_reservation_is_priced_at_the_priciest_reachable_group(
    gateway: Gateway, router: aio.Channel, fake: httpx.Client
) -> None:
    # budget-a alone would fit the cap; what its fallback could cost does not, so nothing is forwarded.
    key = await new_key(router, ["budget-a", "pricey-b"], budget_usd=0.001)
    request = ask("budget-a", max_tokens=16)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await complete(router, key, request)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert from_rpc_error(caught.value).reason == errors_pb2.ERROR_REASON_BUDGET_EXCEEDED
    assert not gateway.calls("fake-budget-a", request.messages[0].text)
