"""The Redis degraded-mode policy every store shares: bounded calls, one flip each way, a probe that recovers.

Against real servers: the shared Redis, a throwaway redis-server this test kills and starts again, a
socket that accepts connections and never answers, and a port nobody listens on.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar, cast

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from switchyard.redisutil import RedisPolicy, Scripts, Unreachable, new_client
from tests.redis_support import throwaway_redis
from tests.support import free_port, wait_until

T = TypeVar("T")
LOGGER = "switchyard.redisutil"
# Echoes its key and arguments joined by '|', so a reply shows which call it answers.
ECHO = "return KEYS[1] .. '|' .. table.concat(ARGV, '|')"
COUNT = "return #ARGV"


def ping(client: aioredis.Redis) -> Callable[[], Awaitable[Any]]:
    return lambda: cast(Awaitable[Any], client.ping())


def policy_on(client: aioredis.Redis, **changes: Any) -> RedisPolicy:
    options: dict[str, Any] = {"timeout_s": 0.2, "retry_s": 0.05, "local": "serving locally", "shared": "shared again"}
    return RedisPolicy(client, "test store", **{**options, **changes})


def lines(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records if record.name == LOGGER)


async def within(seconds: float, call: Awaitable[T]) -> T:
    """Returns call's result, failing when it took longer than seconds (a generous bound, not a benchmark)."""
    started = time.monotonic()
    result = await call
    assert time.monotonic() - started < seconds
    return result


async def unreachable(policy: RedisPolicy, call: Callable[[], Awaitable[Any]]) -> str:
    """Returns the message of the Unreachable that policy.call(call) raised (failing when it returned)."""
    with pytest.raises(Unreachable) as raised:
        await policy.call(call)
    return str(raised.value)


@pytest.fixture
def silent_url() -> Iterator[str]:
    """The URL of a server that accepts connections and never answers, as a hung Redis does."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        yield f"redis://127.0.0.1:{silent.getsockname()[1]}/0"


@pytest.fixture
async def shared_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = new_client(redis_url, 1.0, decode=True)
    yield client
    await client.aclose()


# -- against the shared Redis ------------------------------------------------------------------------


async def test_a_call_returns_what_redis_answered(shared_client: aioredis.Redis) -> None:
    policy = policy_on(shared_client)
    assert await policy.call(ping(shared_client)) is True
    assert (policy.degraded, policy.cause) == (False, "")
    await policy.close()


async def test_scripts_run_together_and_are_loaded_again_when_redis_forgot_them(
    shared_client: aioredis.Redis, redis_prefix: str
) -> None:
    scripts = Scripts(shared_client, (ECHO, COUNT))
    key = f"{redis_prefix}k"
    assert await scripts.one(ECHO, [key], ["a", 1]) == f"{key}|a|1"
    await shared_client.script_flush()
    replies = await scripts.run([(ECHO, [key], ["b"]), (COUNT, [], [1, 2, 3])])
    assert replies == [f"{key}|b", 3]
    await shared_client.script_flush()
    assert await scripts.one(COUNT, [], []) == 0


async def test_a_reader_that_blocks_on_purpose_gets_a_longer_read_timeout(redis_url: str, redis_prefix: str) -> None:
    hasty = new_client(redis_url, 0.1)
    patient = new_client(redis_url, 0.1, read_timeout_s=2.0, max_connections=1)
    try:
        with pytest.raises(RedisTimeoutError):
            await hasty.blpop([f"{redis_prefix}nothing"], timeout=0.3)
        assert await patient.blpop([f"{redis_prefix}nothing"], timeout=0.3) is None
    finally:
        await hasty.aclose()
        await patient.aclose()


async def test_a_failing_resync_keeps_the_store_degraded_until_it_succeeds(
    shared_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    attempts = 0
    ready = False

    async def resync() -> None:
        nonlocal attempts
        attempts += 1
        if not ready:
            raise RedisConnectionError("the mirror could not be read")

    policy = policy_on(shared_client, resync=resync)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        policy.fail(RedisConnectionError("the feed's connection was reset"))
        assert policy.degraded and policy.cause == "ConnectionError: the feed's connection was reset"
        await wait_until(lambda: attempts >= 3, what="the probe to try again after a failed resync")
        assert policy.degraded
        ready = True
        await wait_until(lambda: not policy.degraded, what="the probe to end degraded mode")
    assert (lines(caplog, "Redis unreachable"), lines(caplog, "Redis answers again")) == (1, 1)
    assert await policy.call(ping(shared_client)) is True
    await policy.close()


# -- outages -----------------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.mesh
async def test_a_killed_redis_degrades_once_and_the_probe_brings_it_back(caplog: pytest.LogCaptureFixture) -> None:
    seeded = 0
    resynced_while_degraded: list[bool] = []

    def on_degrade() -> None:
        nonlocal seeded
        seeded += 1

    async def resync() -> None:
        resynced_while_degraded.append(policy.degraded)

    with throwaway_redis() as server, caplog.at_level(logging.WARNING, logger=LOGGER):
        client = new_client(server.url, 0.2, decode=True)
        policy = policy_on(client, on_degrade=on_degrade, resync=resync)
        try:
            assert await policy.call(ping(client)) is True
            server.stop()
            failed = await within(1.0, asyncio.gather(*(unreachable(policy, ping(client)) for _ in range(10))))
            assert policy.degraded and seeded == 1
            assert "ConnectionError" in policy.cause and all(message == policy.cause for message in failed)
            assert lines(caplog, "test store: Redis unreachable") == 1 and lines(caplog, "serving locally") == 1

            called = False

            async def never() -> None:
                nonlocal called
                called = True

            await within(0.05, unreachable(policy, never))
            assert not called, "a call while degraded never reaches Redis"

            server.start()
            await wait_until(lambda: not policy.degraded, what="the probe to find Redis again")
            assert resynced_while_degraded[-1] is True
            assert policy.cause == ""
            assert lines(caplog, "Redis answers again") == 1 and lines(caplog, "shared again") == 1
            assert await policy.call(ping(client)) is True
            assert seeded == 1
        finally:
            await policy.close()
            await client.aclose()


async def test_a_hung_redis_costs_one_timeout_then_nothing(silent_url: str) -> None:
    client = new_client(silent_url, 0.1)
    policy = policy_on(client, timeout_s=0.1)
    try:
        await within(1.0, unreachable(policy, ping(client)))
        # Whichever fires first, the client's read timeout or the policy's, it is a timeout.
        assert policy.degraded and policy.cause.startswith("TimeoutError: ")
        await within(0.05, unreachable(policy, ping(client)))
    finally:
        await policy.close()
        await client.aclose()


async def test_a_call_off_the_request_path_may_wait_longer_than_the_policy_timeout(silent_url: str) -> None:
    client = new_client(silent_url, 0.1, read_timeout_s=5.0)
    policy = policy_on(client, timeout_s=0.1)
    try:
        started = time.monotonic()
        with pytest.raises(Unreachable):
            await policy.call(ping(client), timeout_s=0.4)
        assert 0.4 <= time.monotonic() - started < 1.5
        assert policy.cause == "TimeoutError: no answer within 0.4s"
    finally:
        await policy.close()
        await client.aclose()


async def test_no_server_at_all_degrades_at_once_and_close_stops_the_probe() -> None:
    client = new_client(f"redis://127.0.0.1:{free_port()}/0", 0.2)
    policy = policy_on(client)
    try:
        message = await within(1.0, unreachable(policy, ping(client)))
        assert policy.degraded and "ConnectionError" in message
        assert any(task.get_name() == "redis-probe: test store" for task in asyncio.all_tasks())
    finally:
        await within(1.0, policy.close())
        await client.aclose()
    assert not any(task.get_name() == "redis-probe: test store" for task in asyncio.all_tasks())
    assert policy.degraded, "closing does not pretend Redis came back"


def test_timeouts_and_retries_must_be_positive() -> None:
    client = new_client("redis://127.0.0.1:1/0", 0.1)
    with pytest.raises(ValueError, match="must be positive"):
        policy_on(client, retry_s=0)
