"""Hedging's parts: the delay a group's settings give, and the race of a first attempt and its hedges."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from pydantic import ValidationError

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import HedgeSettings
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.hedging import MIN_SAMPLES, GroupLatencies, first_answer


def test_hedge_takes_a_fixed_delay_or_a_percentile_not_both_nor_neither() -> None:
    assert HedgeSettings(after_ms=250).after_ms == 250
    assert HedgeSettings(after="p95").max == 1
    for bad in ({}, {"after_ms": 250, "after": "p95"}, {"after": "p42"}, {"after_ms": 250, "max": 4}):
        with pytest.raises(ValidationError):
            HedgeSettings(**bad)


def test_a_percentile_delay_waits_for_enough_answers() -> None:
    latencies, hedge = GroupLatencies(), HedgeSettings(after="p95")
    for n in range(MIN_SAMPLES - 1):
        latencies.observe("chat", n / 100)
    assert latencies.delay(hedge, "chat") is None
    latencies.observe("chat", 1.0)
    assert latencies.delay(hedge, "chat") == 1.0
    assert latencies.delay(HedgeSettings(after_ms=300), "other") == 0.3


async def _answer(value: str, after: float, log: list[str]) -> str:
    try:
        await asyncio.sleep(after)
    except asyncio.CancelledError:
        log.append(f"cancelled {value}")
        raise
    return value


async def test_the_hedge_answers_first_and_the_slow_attempt_is_cancelled() -> None:
    log: list[str] = []

    async def hedge() -> Coroutine[Any, Any, str]:
        return _answer("fast", 0.0, log)

    async def discard(value: str) -> None:
        log.append(f"discarded {value}")

    won = await first_answer("chat", _answer("slow", 30, log), hedge, delay=0.01, extra=1, discard=discard)

    assert won == "fast" and log == ["cancelled slow"]


async def test_a_first_attempt_that_fails_before_the_delay_raises_without_a_hedge() -> None:
    hedges: list[str] = []

    async def failing() -> str:
        raise SwitchyardError(E.ERROR_REASON_UPSTREAM_UNAVAILABLE, "503")

    async def hedge() -> None:
        hedges.append("asked")

    async def discard(value: str) -> None:
        pass

    with pytest.raises(SwitchyardError):
        await first_answer("chat", failing(), hedge, delay=5, extra=1, discard=discard)
    assert hedges == []
