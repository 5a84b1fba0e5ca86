"""Budget alerts: a log line, a metric and (when configured) a JSON POST to a webhook, never blocking a request.

The store raises each alert once per window and cap (SET NX expiring at the window's end); this
module only tells the world. Webhook posts run in the background, each bounded by `timeout_s`, and
at most `max_pending` at a time: past that an alert is logged and counted but not posted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from switchyard.services.router import metrics
from switchyard.services.router.governance.model import Alert

log = logging.getLogger(__name__)


def payload_of(alert: Alert) -> dict[str, Any]:
    """Returns the JSON body posted for an alert."""
    line = alert.line
    cap = line.cap.soft_usd if alert.cap == "soft" else line.cap.hard_usd
    return {
        "event": "budget_alert",
        "scope": line.scope,
        "id": line.label,
        "window": line.cap.window or "all",
        "window_start": line.start_s,
        "window_end": line.end_s,
        "cap": alert.cap,
        "cap_usd": cap,
        "level": alert.level,
        "spent_usd": alert.spent_usd,
    }


class AlertSink:
    """Where budget alerts go: the log, the metrics and the webhook."""

    def __init__(self, webhook: str, *, timeout_s: float = 2.0, max_pending: int = 64) -> None:
        self.webhook = webhook
        self._tasks: set[asyncio.Task[None]] = set()
        self._timeout = timeout_s
        self._max_pending = max_pending
        self._pending = 0
        self._client: httpx.AsyncClient | None = None

    def send(self, alerts: Sequence[Alert]) -> None:
        """Tells of each alert at once (log, metric) and posts it to the webhook in the background."""
        for alert in alerts:
            body = payload_of(alert)
            log.warning(
                "budget alert: %s %s %s window at %s%% of its %s cap ($%.4f of $%.4f)",
                body["scope"], body["id"], body["window"], alert.level, alert.cap, alert.spent_usd, body["cap_usd"],
            )  # fmt: skip
            metrics.budget_alert(body["scope"], body["id"], body["window"], alert.level)
            if not self.webhook:
                continue
            if self._pending >= self._max_pending:
                log.warning("budget alert webhook: %d posts pending, this alert is not posted", self._pending)
                continue
            self._pending += 1
            task = asyncio.create_task(self._post(body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, body: dict[str, Any]) -> None:
        try:
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=self._timeout)
            async with asyncio.timeout(self._timeout):
                response = await self._client.post(self.webhook, json=body)
            if response.status_code >= 400:
                log.warning("budget alert webhook answered %d", response.status_code)
        except (httpx.HTTPError, TimeoutError) as exc:
            log.warning("budget alert webhook failed: %s", type(exc).__name__)
        finally:
            self._pending -= 1

    async def close(self) -> None:
        """Waits for the posts under way (each bounded by timeout_s), then closes the HTTP client."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
