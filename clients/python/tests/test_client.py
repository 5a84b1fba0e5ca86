"""The installed client against a running gateway: chat, streams, typed errors, deadlines and retries."""

from __future__ import annotations

import importlib.util
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import switchyard_client
from switchyard_client import (
    NO_RETRIES,
    AsyncClient,
    AuthenticationError,
    ChatOptions,
    Client,
    DeadlineExceededError,
    PermissionDeniedError,
    StreamInterruptedError,
    UnavailableError,
)
from switchyard_client.protos.common.v1 import context_pb2

if TYPE_CHECKING:
    from conftest import Gateway

# Prompts differ by a nonce only: the semantic cache would answer them as paraphrases of each other.
NO_CACHE = context_pb2.RequestContext(hints=context_pb2.RoutingHints(cache_bypass=True))


def ask(text: str = "") -> list[dict[str, str]]:
    return [{"role": "user", "content": text or f"client hello {uuid.uuid4().hex}"}]


def client_of(gateway: Gateway, **kwargs: object) -> Client:
    return Client(gateway.target, api_key=gateway.api_key, tls=gateway.tls, **kwargs)  # type: ignore[arg-type]


def test_the_package_stands_alone() -> None:
    where = Path(switchyard_client.__file__).resolve()
    assert "site-packages" in where.parts, f"imported from {where}, not from an installed package"
    assert importlib.util.find_spec("switchyard") is None, "the server package must not be needed (or present)"


def test_chat_returns_a_typed_result(gateway: Gateway) -> None:
    with client_of(gateway) as client:
        result = client.chat("default", ask(), options=ChatOptions(max_tokens=32), context=NO_CACHE)
    assert result.text
    assert result.finish_reason == "stop"
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens > 0
    assert result.route.group == "default" and result.route.deployment_id.startswith("default-")
    assert result.route.attempts == 1 and result.route.cache == "bypass"


def test_chat_stream_yields_chunks_then_usage_and_route(gateway: Gateway) -> None:
    with client_of(gateway) as client, client.chat_stream("default", ask(), context=NO_CACHE) as stream:
        chunks = list(stream)
    texts = [c.text for c in chunks if c.text]
    assert len(texts) > 1, "the answer arrives in pieces"
    assert stream.text == "".join(texts)
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]
    assert stream.usage is not None and stream.usage.completion_tokens > 0
    assert stream.route is not None and stream.route.deployment_id.startswith("default-")


def test_a_bad_key_is_an_authentication_error(gateway: Gateway) -> None:
    stranger = Client(gateway.target, api_key="sk-not-a-key", tls=gateway.tls)
    with stranger, pytest.raises(AuthenticationError) as caught:
        stranger.chat("default", ask())
    assert caught.value.reason == "UNAUTHENTICATED"
    assert gateway.upstream_calls("fake-gpt-4o") == 0


def test_a_model_the_key_may_not_use_is_permission_denied(gateway: Gateway) -> None:
    with client_of(gateway) as client, pytest.raises(PermissionDeniedError) as caught:
        client.chat("failover", ask())
    assert caught.value.reason == "PERMISSION_DENIED" and "failover" in caught.value.message


def _fail_solo(gateway: Gateway, times: int) -> None:
    """Makes the upstream behind `solo` answer 503 with Retry-After: 1 for the next `times` requests."""
    gateway.fake("POST", "/_fake/scripts", {"model": "fake-solo", "status": 503, "retry_after": "1", "times": times})


def _unavailable_once(gateway: Gateway) -> int:
    """Returns how many upstream calls one gateway call makes before it answers UNAVAILABLE, with its
    RetryInfo checked: the failures a client retry has to outlast."""
    _fail_solo(gateway, 100)
    with client_of(gateway, retry=NO_RETRIES) as client, pytest.raises(UnavailableError) as caught:
        client.chat("solo", ask(), context=NO_CACHE)
    assert caught.value.retry_after == 1.0, "the gateway says when to come back"
    calls = gateway.upstream_calls("fake-solo")
    gateway.fake("DELETE", "/_fake/scripts")
    gateway.fake("DELETE", "/_fake/requests")
    return calls


def test_unavailable_is_retried_after_the_gateways_retry_info(gateway: Gateway) -> None:
    per_call = _unavailable_once(gateway)
    _fail_solo(gateway, per_call)
    started = time.monotonic()
    with client_of(gateway) as client:
        result = client.chat("solo", ask(), context=NO_CACHE)
    assert result.text and result.route.attempts == 1, "the second call's first attempt answered"
    assert gateway.upstream_calls("fake-solo") == per_call + 1
    assert time.monotonic() - started >= 1.0, "the client waited as RetryInfo asked"


def test_a_stream_that_delivered_output_is_not_retried(gateway: Gateway) -> None:
    gateway.fake("POST", "/_fake/scripts", {"model": "fake-solo", "cut_after": 2, "times": 1})
    received = []
    with client_of(gateway) as client, pytest.raises(StreamInterruptedError) as caught:
        for chunk in client.chat_stream("solo", ask(), context=NO_CACHE):
            received.append(chunk)
    assert received, "the chunks before the break were delivered"
    assert caught.value.reason == "STREAM_INTERRUPTED"
    assert gateway.upstream_calls("fake-solo") == 1, "a retry would have repeated the answer"


def test_a_call_ends_at_its_deadline(gateway: Gateway) -> None:
    gateway.fake("POST", "/_fake/scripts", {"model": "fake-solo", "latency_ms": 3000, "times": 1})
    started = time.monotonic()
    with client_of(gateway, timeout=0.5) as client, pytest.raises(DeadlineExceededError):
        client.chat("solo", ask(), context=NO_CACHE)
    assert time.monotonic() - started < 2.0


async def test_the_async_client_chats_and_streams(gateway: Gateway) -> None:
    async with AsyncClient(gateway.target, api_key=gateway.api_key, tls=gateway.tls) as client:
        result = await client.chat("default", ask(), context=NO_CACHE)
        stream = client.chat_stream("default", ask(), context=NO_CACHE)
        texts = [chunk.text async for chunk in stream]
    async with AsyncClient(gateway.target, api_key="sk-wrong", tls=gateway.tls) as stranger:
        with pytest.raises(AuthenticationError):
            await stranger.chat("default", ask())
    assert result.text and result.finish_reason == "stop"
    assert "".join(texts) == stream.text and stream.text
    assert stream.route is not None and stream.usage is not None
