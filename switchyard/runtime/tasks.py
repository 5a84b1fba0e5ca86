"""Stopping background tasks at shutdown without ever waiting on one forever."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)
_RECANCEL_EVERY_S = 0.1


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], timeout: float = 2.0) -> None:
    """Cancels tasks and returns once they have ended, or after timeout seconds.

    A cancellation can be lost: redis-py's own timeouts on Python 3.11 may turn one that races a reply
    into a TimeoutError, which a retry loop then handles like any outage. So a task still running is
    cancelled again every 100 ms until it ends; one that outlives timeout is logged and left behind,
    and the service stops anyway.
    """
    pending = {task for task in tasks if not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pending:
        remaining = deadline - loop.time()
        if remaining <= 0:
            names = ", ".join(sorted(task.get_name() for task in pending))
            log.warning("%d background task(s) did not stop within %.1fs: %s", len(pending), timeout, names)
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(_RECANCEL_EVERY_S, remaining))
