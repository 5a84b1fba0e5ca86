"""The retry rules on their own: which errors are sent again, and after how long."""

from __future__ import annotations

import grpc
import pytest
from switchyard_client.errors import SwitchyardError, error_class
from switchyard_client.retry import RetryPolicy, retry_delay

POLICY = RetryPolicy(max_attempts=3, initial_backoff=0.1, max_backoff=1.0)


def error(
    code: grpc.StatusCode, reason: str = "", retry_after: float | None = None, pushback: int | None = None
) -> SwitchyardError:
    return error_class(code)(code, "message", reason, retry_after, pushback)


def test_the_gateways_retry_info_sets_the_wait() -> None:
    assert retry_delay(error(grpc.StatusCode.UNAVAILABLE, "ALL_CANDIDATES_FAILED", 1.5, -1), 1, POLICY, None) == 1.5
    assert retry_delay(error(grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED", 2.0, -1), 1, POLICY, 10.0) == 2.0


def test_a_gateway_answer_without_retry_info_is_final() -> None:
    assert retry_delay(error(grpc.StatusCode.UNAVAILABLE, "ALL_CANDIDATES_FAILED", None, -1), 1, POLICY, None) is None
    assert retry_delay(error(grpc.StatusCode.RESOURCE_EXHAUSTED, "BUDGET_EXCEEDED"), 1, POLICY, None) is None


def test_a_non_negative_pushback_sets_the_wait() -> None:
    assert retry_delay(error(grpc.StatusCode.UNAVAILABLE, pushback=250), 1, POLICY, None) == 0.25


def test_a_lost_connection_backs_off_with_jitter() -> None:
    lost = error(grpc.StatusCode.UNAVAILABLE)
    first = retry_delay(lost, 1, POLICY, None)
    second = retry_delay(lost, 2, POLICY, None)
    assert first is not None and 0.05 <= first <= 0.1
    assert second is not None and 0.1 <= second <= 0.2


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
    ],
)
def test_other_codes_are_never_retried(code: grpc.StatusCode) -> None:
    assert retry_delay(error(code, retry_after=0.1), 1, POLICY, None) is None


def test_retries_are_bounded_by_attempts_deadline_and_the_longest_wait() -> None:
    asked = error(grpc.StatusCode.UNAVAILABLE, "ALL_CANDIDATES_FAILED", 1.0)
    assert retry_delay(asked, 3, POLICY, None) is None, "three attempts made"
    assert retry_delay(asked, 1, POLICY, 0.5) is None, "the wait would outlive the deadline"
    assert retry_delay(error(grpc.StatusCode.UNAVAILABLE, "RATE_LIMITED", 60.0), 1, POLICY, None) is None
