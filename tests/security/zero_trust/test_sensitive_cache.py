"""Confidential and restricted data is never cached: neither stored nor served, whoever classified it.

The attack: a prompt with a card number and a password (restricted to the classifier), or one the
caller declared confidential (`x-switchyard-data-classification`), was stored and served as a hit.
Now a request above `switchyard.cache.max_data_classification` (default `internal`) bypasses the cache
both ways, and `x-switchyard-cache` says why.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from grpc import aio

from tests.security.zero_trust.conftest import Gateway, new_key
from tests.support import wait_until_sync

pytestmark = pytest.mark.mesh


def _body(text: str) -> dict[str, Any]:
    return {"model": "cheap-a", "messages": [{"role": "user", "content": text}], "max_tokens": 200}


async def test_a_card_number_and_a_password_are_never_cached(gateway: Gateway, router: aio.Channel) -> None:
    key = await new_key(router, ["cheap-a"])
    secret = f"My card is 4111 1111 1111 1111 and my password is hunter2 ({uuid.uuid4().hex[:6]}), check my balance"
    with gateway.edge(key) as client:
        replies = [client.post("/v1/chat/completions", json=_body(secret)) for _ in range(3)]
    for reply in replies:
        assert reply.status_code == 200, reply.text
        assert reply.headers["x-switchyard-cache"] == "bypass; reason=classified-restricted"


async def test_data_declared_confidential_is_never_cached(gateway: Gateway, router: aio.Channel) -> None:
    key = await new_key(router, ["cheap-a"])
    text = f"Summarise the board minutes {uuid.uuid4().hex}"
    headers = {"x-switchyard-data-classification": "confidential"}
    with gateway.edge(key) as client:
        replies = [client.post("/v1/chat/completions", json=_body(text), headers=headers) for _ in range(3)]
    for reply in replies:
        assert reply.status_code == 200, reply.text
        assert reply.headers["x-switchyard-cache"] == "bypass; reason=classified-confidential"


async def test_ordinary_data_is_still_cached(gateway: Gateway, router: aio.Channel) -> None:
    key = await new_key(router, ["cheap-a"])
    text = f"What is the capital of France? {uuid.uuid4().hex[:6]}"
    headers = {"x-switchyard-data-classification": "internal"}
    with gateway.edge(key) as client:
        first = client.post("/v1/chat/completions", json=_body(text), headers=headers)
        assert first.status_code == 200 and first.headers["x-switchyard-cache"].startswith("miss")

        def hit() -> bool:
            reply = client.post("/v1/chat/completions", json=_body(text), headers=headers)
            return reply.headers["x-switchyard-cache"].startswith("hit")

        wait_until_sync(hit, timeout=10, what="an internal answer served from the cache")
