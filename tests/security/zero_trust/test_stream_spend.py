"""A stream that ends early still costs what it produced: the budget and the ledger see the relayed tokens.

The attack: a client that reads 9 of 10 chunks and disconnects was recorded as `cancelled` with spend 0,
although the provider bills every token it produced; a stream the upstream cut was free as well. Now
the router settles what it relayed, the prompt included, into the key's budget and the ledger.
"""

from __future__ import annotations

import math
import uuid

import grpc
import httpx
import pytest
from grpc import aio

from switchyard.common.v1 import chat_pb2
from switchyard.router.v1 import admin_pb2, router_pb2, router_pb2_grpc
from tests.security.zero_trust.conftest import (
    CHEAP_USD,
    Gateway,
    ask,
    bearer,
    ledger_of,
    new_key,
    reserved_of,
    spend_of,
)
from tests.support import wait_until

pytestmark = pytest.mark.mesh


def _text_of(message: router_pb2.StreamChatCompletionResponse) -> list[str]:
    return [c.delta.content for chunk in message.chunks for c in chunk.choices if c.delta.content]


async def _settled(channel: aio.Channel, key: str, status: str) -> admin_pb2.LedgerRecord:
    """Returns the key's one ledger record once it has `status` and its budget holds nothing back."""
    found: list[admin_pb2.LedgerRecord] = []

    async def recorded() -> bool:
        found[:] = [r for r in await ledger_of(channel, key) if r.status == status]
        return bool(found) and await reserved_of(channel, key) == 0

    await wait_until(recorded, timeout=15, what=f"a {status} stream in the ledger, its hold settled")
    return found[0]


def _streamed(request: chat_pb2.ChatRequest) -> router_pb2.StreamChatCompletionRequest:
    return router_pb2.StreamChatCompletionRequest(request=request)


async def test_a_client_that_stops_reading_pays_for_what_it_was_sent(
    gateway: Gateway, router: aio.Channel, fake: httpx.Client
) -> None:
    key = await new_key(router, ["cheap-a"], budget_usd=1.0)
    # Ten pieces of text, 300 ms apart: the client leaves after the ninth, long before the tenth.
    slow = {"fake_chunks": "10", "fake_chunk_delay_ms": "300"}
    request = ask("cheap-a", text=f"stream me {uuid.uuid4().hex}", stream=True, metadata=slow)
    stub = router_pb2_grpc.RouterServiceStub(router)
    call = stub.StreamChatCompletion(_streamed(request), metadata=bearer(key), timeout=30)
    pieces: list[str] = []
    async for message in call:
        pieces += _text_of(message)
        if len(pieces) >= 9:
            break
    call.cancel()
    record = await _settled(router, key, "cancelled")
    read = "".join(pieces)
    assert record.prompt_tokens > 0
    assert record.completion_tokens == math.ceil(len(read) / 4)
    expected = (record.prompt_tokens + record.completion_tokens) * CHEAP_USD
    assert record.cost_usd == pytest.approx(expected, rel=1e-9)
    assert (await spend_of(router, key)).spend_usd == pytest.approx(record.cost_usd, rel=1e-9)


async def test_a_stream_the_upstream_cut_pays_for_what_was_relayed(
    gateway: Gateway, router: aio.Channel, fake: httpx.Client
) -> None:
    key = await new_key(router, ["cheap-a"], budget_usd=1.0)
    cut = {"fake_chunks": "10", "fake_cut_after": "6"}
    request = ask("cheap-a", text=f"cut me {uuid.uuid4().hex}", stream=True, metadata=cut)
    stub = router_pb2_grpc.RouterServiceStub(router)
    pieces: list[str] = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for message in stub.StreamChatCompletion(_streamed(request), metadata=bearer(key), timeout=30):
            pieces += _text_of(message)
    assert caught.value.code() == grpc.StatusCode.ABORTED and pieces
    record = await _settled(router, key, "stream_interrupted")
    assert record.completion_tokens == math.ceil(len("".join(pieces)) / 4) and record.prompt_tokens > 0
    assert record.cost_usd == pytest.approx((record.prompt_tokens + record.completion_tokens) * CHEAP_USD, rel=1e-9)
    assert (await spend_of(router, key)).spend_usd == pytest.approx(record.cost_usd, rel=1e-9)
