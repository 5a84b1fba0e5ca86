"""Hedged requests: another deployment of the group is called when the first attempt is slow.

A group or alias with `hedge` set (`switchyard.groups.<name>.hedge` or `switchyard.aliases.<name>.hedge`)
starts its next candidate too once the first attempt has not answered after `after_ms`, or after the
group's observed latency percentile in this router (`after: p95`; no hedge until the group has
MIN_SAMPLES answers to read it from). The first answer wins; the other attempts are cancelled, which
releases their gate passes, and only the winner is settled, priced and written to the ledger. A
stream is hedged only until its first token: the walk's call for a stream returns at the first token.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from switchyard.config import Config, HedgeSettings
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.metrics import hedged

A = TypeVar("A")
# The answers a group's percentile is read from: the latest WINDOW, once there are MIN_SAMPLES.
WINDOW = 256
MIN_SAMPLES = 20


def hedge_of(config: Config, group: str) -> HedgeSettings | None:
    """Returns the hedge settings of a group or alias, None when it is not hedged."""
    settings = config.switchyard.groups.get(group)
    if settings is not None and settings.hedge is not None:
        return settings.hedge
    alias = config.switchyard.aliases.get(group)
    return alias.hedge if alias is not None else None


class GroupLatencies:
    """The latest answer latencies of each group in this router process (seconds)."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[float]] = {}

    def observe(self, group: str, seconds: float) -> None:
        self._samples.setdefault(group, deque(maxlen=WINDOW)).append(seconds)

    def percentile(self, group: str, q: float) -> float | None:
        """Returns the q-th percentile of the group's latencies, None while it has fewer than MIN_SAMPLES."""
        samples = sorted(self._samples.get(group, ()))
        if len(samples) < MIN_SAMPLES:
            return None
        return samples[min(len(samples) - 1, int(len(samples) * q / 100))]

    def delay(self, hedge: HedgeSettings, group: str) -> float | None:
        """Returns how long a first attempt of group runs before it is hedged (seconds), None for no hedge yet."""
        if hedge.after_ms is not None:
            return hedge.after_ms / 1000
        assert hedge.after is not None
        return self.percentile(group, float(hedge.after.removeprefix("p")))


NextAttempt = Callable[[], Awaitable[Coroutine[Any, Any, A] | None]]


async def first_answer(
    group: str,
    first: Coroutine[Any, Any, A],
    next_attempt: NextAttempt[A],
    *,
    delay: float,
    extra: int,
    discard: Callable[[A], Awaitable[None]],
) -> A:
    """Returns the first attempt to succeed: `first` at once, then up to `extra` more from next_attempt (None:
    no candidate to hedge with), each when `delay` passed with no answer. The others are cancelled, and an
    attempt that also answered is discarded. Raises the last error once every attempt has failed."""
    tasks = [asyncio.create_task(first)]
    leader, started = tasks[0], 1
    error: BaseException | None = None
    try:
        while tasks:
            timeout = delay if started <= extra else None
            done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                started += 1
                attempt = await next_attempt()
                if attempt is not None:
                    hedged(group, "fired")
                    tasks.append(asyncio.create_task(attempt))
                continue
            winner = next((task for task in tasks if task in done and task.exception() is None), None)
            if winner is not None:
                tasks.remove(winner)
                if winner is not leader:
                    hedged(group, "won")
                return winner.result()
            for task in done:
                tasks.remove(task)
                error = task.exception()
        assert error is not None
        raise error
    finally:
        await _cancel(tasks, discard)


async def _cancel(tasks: list[asyncio.Task[A]], discard: Callable[[A], Awaitable[None]]) -> None:
    """Cancels the attempts still running; discards the answer of one that finished all the same (its
    failure, if it failed, the walk's call has recorded already)."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, SwitchyardError):
            await discard(await task)
