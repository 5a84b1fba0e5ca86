"""The local mirror of shared state: snapshots served without I/O, refreshed in the background and by own writes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from switchyard.services.router.state.base import DeploymentLimits, Row, stats_of
from switchyard.services.router.strategies.base import DeploymentStats


class Mirror:
    """Rows of the deployments this replica asked about, and the snapshots built from them.

    now() returns the shared clock's time as this replica estimates it, so circuits turn half-open
    and provider quotas lapse on time between refreshes.
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.rows: dict[str, Row] = {}
        # writes: how many own writes each row has had, so a refresh read before one cannot undo it.
        self._writes: dict[str, int] = {}
        # deployment id -> (limits, snapshot, valid until)
        self._cache: dict[str, tuple[DeploymentLimits, DeploymentStats, float]] = {}

    def snapshot(self, deployments: Sequence[DeploymentLimits]) -> dict[str, DeploymentStats]:
        """Returns each deployment's snapshot; an unknown one starts as empty and is read at the next refresh."""
        now = self._now()
        out: dict[str, DeploymentStats] = {}
        cache = self._cache
        for limits in deployments:
            key = limits.deployment_id
            cached = cache.get(key)
            if cached is not None and now < cached[2] and (cached[0] is limits or cached[0] == limits):
                out[key] = cached[1]
                continue
            row = self.rows.get(key)
            if row is None:
                row = self.rows[key] = Row()
            stats, valid_until = stats_of(row, limits, now)
            cache[key] = (limits, stats, valid_until)
            out[key] = stats
        return out

    def row(self, deployment_id: str) -> Row:
        """Returns the row of a deployment for an own write to change (its cached snapshot is dropped)."""
        self._cache.pop(deployment_id, None)
        self._writes[deployment_id] = self._writes.get(deployment_id, 0) + 1
        found = self.rows.get(deployment_id)
        if found is None:
            found = self.rows[deployment_id] = Row()
        return found

    def writes(self, deployment_id: str) -> int:
        """Returns how many own writes the deployment's row has had (taken before a refresh is sent)."""
        return self._writes.get(deployment_id, 0)

    def replace(self, deployment_id: str, row: Row, writes: int) -> None:
        """Installs a re-read row unless an own write changed the row after writes was taken."""
        if self._writes.get(deployment_id, 0) != writes:
            return
        self._cache.pop(deployment_id, None)
        self.rows[deployment_id] = row


def optional_float(value: Any) -> float | None:
    """Returns a float a script sent back, or None for a missing one."""
    return None if value is None or value == "" else float(value)


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def row_from_read(reply: str) -> tuple[float, Row]:
    """Returns (shared now, row) from the READ script's reply."""
    now, rpm_used, tpm_used, in_flight, lat, ttft, samples, open_until, rq, rq_at, rt, rt_at, ru = reply.split("|")
    row = Row(
        rpm_used=int(rpm_used),
        tpm_used=int(tpm_used),
        in_flight=int(in_flight),
        latency_ms=optional_float(lat),
        ttft_ms=optional_float(ttft),
        samples=_int(samples) or 0,
        open_until=optional_float(open_until),
        remaining_requests=_int(rq),
        requests_known_until=optional_float(rq_at) or 0.0,
        remaining_tokens=_int(rt),
        tokens_known_until=optional_float(rt_at) or 0.0,
        recovered_at=optional_float(ru),
    )
    return float(now), row
