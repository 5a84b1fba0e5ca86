"""Upstream HTTP failures map onto the error taxonomy; rate-limit headers onto QuotaSnapshot."""

from __future__ import annotations

import email.utils
import time

import orjson
import pytest

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.providers.adapters import errors

R = errors_pb2.ErrorReason


def _map(status: int, body: bytes, headers: dict[str, str] | None = None, secret: str | None = None) -> SwitchyardError:
    return errors.from_response(status, body, headers or {}, provider="openai", deployment_id="dep-1", secret=secret)


def _openai(message: str, kind: str, code: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}})


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, R.ERROR_REASON_UPSTREAM_BAD_REQUEST),
        (401, R.ERROR_REASON_UPSTREAM_AUTH),
        (403, R.ERROR_REASON_UPSTREAM_AUTH),
        (404, R.ERROR_REASON_UPSTREAM_NOT_FOUND),
        (408, R.ERROR_REASON_UPSTREAM_TIMEOUT),
        (409, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (422, R.ERROR_REASON_UPSTREAM_BAD_REQUEST),
        (429, R.ERROR_REASON_UPSTREAM_RATE_LIMITED),
        (500, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (502, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (503, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (529, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
    ],
)
def test_status_maps_to_reason(status: int, reason: int) -> None:
    error = _map(status, _openai("boom", "server_error"))
    assert error.reason == reason
    assert error.metadata == {
        "provider": "openai",
        "deployment_id": "dep-1",
        "upstream_status": str(status),
        "upstream_type": "server_error",
    }
    assert "boom" in error.message and "dep-1" in error.message


def test_insufficient_quota_is_not_a_rate_limit_and_has_no_retry() -> None:
    error = _map(
        429,
        _openai("You exceeded your current quota", "insufficient_quota", "insufficient_quota"),
        {"retry-after": "5"},
    )
    assert error.reason == R.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED
    assert error.retry_after_s is None


def test_rate_limit_keeps_retry_after_and_param() -> None:
    error = _map(429, _openai("slow down", "requests", "rate_limit_exceeded"), {"retry-after": "7"})
    assert error.reason == R.ERROR_REASON_UPSTREAM_RATE_LIMITED
    assert error.retry_after_s == 7.0
    assert error.metadata["upstream_code"] == "rate_limit_exceeded"


def test_context_length_and_content_filter_codes() -> None:
    assert _map(400, _openai("too long", "invalid_request_error", "context_length_exceeded")).reason == (
        R.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED
    )
    assert _map(400, _openai("filtered", "invalid_request_error", "content_filter")).reason == (
        R.ERROR_REASON_UPSTREAM_CONTENT_FILTERED
    )
    assert _map(400, _openai("refused", "invalid_request_error", "content_policy_violation")).reason == (
        R.ERROR_REASON_UPSTREAM_CONTENT_FILTERED
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error":"Unauthorized"}', "Unauthorized"),
        (
            b'{"object":"error","message":"bad model","type":"NotFoundError","param":null,"code":404}',
            "bad model",
        ),
        (b'{"error":{"message":"nested","type":"BadRequestError","param":"messages","code":400}}', "nested"),
        (b"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
        (b"", "no message"),
    ],
)
def test_vllm_and_non_json_error_bodies_are_tolerated(body: bytes, message: str) -> None:
    error = _map(401, body)
    assert error.reason == R.ERROR_REASON_UPSTREAM_AUTH
    assert message in error.message


def test_param_of_a_nested_vllm_error_is_kept() -> None:
    error = _map(400, b'{"error":{"message":"x","type":"BadRequestError","param":"messages","code":400}}')
    assert error.param == "messages"
    assert error.metadata["upstream_code"] == "400"


def test_message_never_contains_a_credential() -> None:
    body = _openai(
        "Incorrect API key provided: sk-live-abcdef123456. Bearer tok_9f8e7d",
        "invalid_request_error",
        "invalid_api_key",
    )
    error = _map(401, body, secret="sk-live-abcdef123456")
    assert "sk-live-abcdef123456" not in error.message
    assert "tok_9f8e7d" not in error.message
    assert "Incorrect API key provided" in error.message


def test_retry_after_forms() -> None:
    assert errors.retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert errors.retry_after_seconds({"retry-after": "2"}) == 2.0
    assert errors.retry_after_seconds({"retry-after": "0.25"}) == 0.25
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (errors.retry_after_seconds({"retry-after": date}, now=now) or 0) <= 31
    assert errors.retry_after_seconds({"retry-after": "soon"}) is None
    assert errors.retry_after_seconds({}) is None
    assert errors.retry_after_seconds({"retry-after": "999999"}) == errors.MAX_RETRY_AFTER_S


def test_503_keeps_retry_after() -> None:
    assert _map(503, b"{}", {"retry-after": "3"}).retry_after_s == 3.0
    assert _map(400, b"{}", {"retry-after": "3"}).retry_after_s is None


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("12ms", 12),
        ("1s", 1000),
        ("6m0s", 360_000),
        ("58.6s", 58_600),
        ("1h2m3.5s", 3_723_500),
        ("0s", 0),
        ("", -1),
        (None, -1),
        ("soon", -1),
        ("5x", -1),
        ("1s junk", -1),
    ],
)
def test_duration_parsing(text: str | None, ms: int) -> None:
    assert errors.parse_duration_ms(text) == ms


def test_quota_headers() -> None:
    quota = errors.quota_from_headers(
        {
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-limit-tokens": "2000000",
            "x-ratelimit-remaining-tokens": "1999000",
            "x-ratelimit-reset-requests": "6m0s",
            "x-ratelimit-reset-tokens": "12ms",
        }
    )
    assert (quota.limit_requests, quota.remaining_requests, quota.limit_tokens, quota.remaining_tokens) == (
        10000,
        9999,
        2_000_000,
        1_999_000,
    )
    assert (quota.reset_requests_ms, quota.reset_tokens_ms) == (360_000, 12)


def test_quota_unknown_when_absent_or_garbled() -> None:
    quota = errors.quota_from_headers({"x-ratelimit-limit-requests": "many"})
    assert (quota.limit_requests, quota.remaining_requests, quota.reset_tokens_ms) == (-1, -1, -1)
