"""The fault matrix's short version (`python -m bench.faults --short`) through the same code: a provider
error, a stall and a cut after the first token, and the providers service and the router killed and
started again, each under 12 clients whose answers are checked against their prompts.
"""

from __future__ import annotations

import pytest

from bench.faultload import table
from bench.faults import SHORT_SUBSET, chosen, matrix

pytestmark = [pytest.mark.mesh, pytest.mark.redis, pytest.mark.slow]


async def test_no_fault_of_the_short_matrix_loses_hangs_or_truncates_a_request() -> None:
    rows = await matrix(chosen(",".join(SHORT_SUBSET)), duration=3.0)

    report = table(rows)
    assert [row.fault for row in rows] == [fault.name for fault in chosen(",".join(SHORT_SUBSET))]
    for row in rows:
        assert row.answered > 0, report
        assert (row.lost, row.hung, row.truncated) == (0, 0, 0), report
    restarted = [row for row in rows if row.failed_after_serving is not None]
    assert len(restarted) == 2 and all(row.failed_after_serving == 0 for row in restarted), report
    stalled = next(row for row in rows if row.fault == "stall after first token")
    assert stalled.errors.get("stream error", 0) > 0, f"a stall after the first token ends in an error event\n{report}"
