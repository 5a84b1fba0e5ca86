"""The failover policy alone: error classes, retries per class, backoff, candidate order, group chains."""

from __future__ import annotations

import random
import re

import pytest

from switchyard.common.v1 import chat_pb2, route_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import RouterSettings
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.route_header import route_header
from switchyard.services.router.failover import (
    CandidateQueue,
    ErrorClass,
    FallbackTables,
    GroupChain,
    Next,
    RetryPolicy,
    all_failed,
    attempt_error,
    classify,
    too_long_everywhere,
)
from switchyard.services.router.replay import carries_output


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (E.ERROR_REASON_UPSTREAM_BAD_REQUEST, ErrorClass.BAD_REQUEST),
        (E.ERROR_REASON_UPSTREAM_AUTH, ErrorClass.AUTHENTICATION),
        (E.ERROR_REASON_UPSTREAM_TIMEOUT, ErrorClass.TIMEOUT),
        (E.ERROR_REASON_UPSTREAM_RATE_LIMITED, ErrorClass.RATE_LIMIT),
        (E.ERROR_REASON_UPSTREAM_UNAVAILABLE, ErrorClass.INTERNAL_SERVER),
        (E.ERROR_REASON_UPSTREAM_CONNECT, ErrorClass.INTERNAL_SERVER),
        (E.ERROR_REASON_UPSTREAM_CONTENT_FILTERED, ErrorClass.CONTENT_POLICY),
        (E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, ErrorClass.CONTEXT_WINDOW),
        (E.ERROR_REASON_CANCELLED, None),
        (E.ERROR_REASON_INTERNAL, None),
    ],
)
def test_each_reason_has_its_litellm_error_class(reason: int, expected: ErrorClass | None) -> None:
    assert classify(reason) == expected  # type: ignore[arg-type]


def test_litellm_retry_policy_keys() -> None:
    assert {c.policy_key for c in ErrorClass} >= {
        "BadRequestErrorRetries",
        "AuthenticationErrorRetries",
        "TimeoutErrorRetries",
        "RateLimitErrorRetries",
        "ContentPolicyViolationErrorRetries",
        "InternalServerErrorRetries",
    }


def test_a_bad_request_stops_at_once() -> None:
    after = RetryPolicy(num_retries=5).after_failure(E.ERROR_REASON_UPSTREAM_BAD_REQUEST, 1)
    assert after.next is Next.STOP


def test_bad_request_retries_when_the_policy_asks_for_them() -> None:
    policy = RetryPolicy(per_class={"BadRequestErrorRetries": 1})
    assert policy.after_failure(E.ERROR_REASON_UPSTREAM_BAD_REQUEST, 1).next is Next.SAME_GROUP
    assert policy.after_failure(E.ERROR_REASON_UPSTREAM_BAD_REQUEST, 2).next is Next.STOP


def test_rate_limit_moves_on_and_retries_the_deployment_later() -> None:
    after = RetryPolicy(num_retries=2).after_failure(E.ERROR_REASON_UPSTREAM_RATE_LIMITED, 1)
    assert (after.next, after.again, after.error_class) == (Next.SAME_GROUP, True, ErrorClass.RATE_LIMIT)


def test_exhausted_quota_and_bad_keys_are_not_tried_again() -> None:
    policy = RetryPolicy(num_retries=2)
    assert not policy.after_failure(E.ERROR_REASON_UPSTREAM_QUOTA_EXHAUSTED, 1).again
    assert not policy.after_failure(E.ERROR_REASON_UPSTREAM_AUTH, 1).again
    assert policy.after_failure(E.ERROR_REASON_UPSTREAM_AUTH, 1).next is Next.SAME_GROUP


def test_num_retries_bounds_the_attempts_of_a_group() -> None:
    policy = RetryPolicy(num_retries=2)
    nexts = [policy.after_failure(E.ERROR_REASON_UPSTREAM_UNAVAILABLE, n).next for n in (1, 2, 3)]
    assert nexts == [Next.SAME_GROUP, Next.SAME_GROUP, Next.NEXT_GROUP]


def test_retry_policy_overrides_num_retries_per_class() -> None:
    policy = RetryPolicy(num_retries=3, per_class={"RateLimitErrorRetries": 0, "TimeoutErrorRetries": 1})
    assert policy.after_failure(E.ERROR_REASON_UPSTREAM_RATE_LIMITED, 1).next is Next.NEXT_GROUP
    assert policy.after_failure(E.ERROR_REASON_UPSTREAM_TIMEOUT, 1).next is Next.SAME_GROUP
    assert policy.after_failure(E.ERROR_REASON_UPSTREAM_TIMEOUT, 2).next is Next.NEXT_GROUP
    assert policy.after_failure(E.ERROR_REASON_UPSTREAM_UNAVAILABLE, 3).next is Next.SAME_GROUP


def test_context_window_and_content_policy_switch_to_their_fallbacks() -> None:
    policy = RetryPolicy(num_retries=2)
    assert policy.after_failure(E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, 1).next is Next.CONTEXT_WINDOW
    assert policy.after_failure(E.ERROR_REASON_UPSTREAM_CONTENT_FILTERED, 1).next is Next.CONTENT_POLICY
    retried = RetryPolicy(per_class={"ContentPolicyViolationErrorRetries": 1})
    assert retried.after_failure(E.ERROR_REASON_UPSTREAM_CONTENT_FILTERED, 1).next is Next.SAME_GROUP
    assert retried.after_failure(E.ERROR_REASON_UPSTREAM_CONTENT_FILTERED, 2).next is Next.CONTENT_POLICY


def test_errors_outside_the_table_stop() -> None:
    assert RetryPolicy().after_failure(E.ERROR_REASON_CANCELLED, 1).next is Next.STOP


def test_backoff_is_full_jitter_under_the_cap() -> None:
    policy = RetryPolicy(backoff_base=0.1, backoff_max=0.5)
    rng = random.Random(7)
    draws = [policy.backoff(retry, None, rng) for retry in range(8) for _ in range(50)]
    assert all(0.0 <= d <= 0.5 for d in draws)
    first = [policy.backoff(0, None, rng) for _ in range(200)]
    assert max(first) <= 0.1 and min(first) < 0.02, "the first retry draws from [0, base]"


def test_backoff_honours_retry_after_setting_and_header() -> None:
    policy = RetryPolicy(retry_after=0.3, backoff_base=0.1, backoff_max=0.2)
    rng = random.Random(1)
    assert all(policy.backoff(k, None, rng) >= 0.3 for k in range(10))
    assert policy.backoff(0, 7.0, rng) == 7.0, "a longer Retry-After from the upstream is kept, past the cap"


def test_retry_policy_from_router_settings() -> None:
    settings = RouterSettings(num_retries=4, retry_policy={"RateLimitErrorRetries": 1}, retry_after=0.5)
    policy = RetryPolicy.from_settings(settings, 0.2, 3.0)
    assert policy.retries(ErrorClass.RATE_LIMIT) == 1
    assert policy.retries(ErrorClass.TIMEOUT) == 4
    assert policy.retries(ErrorClass.BAD_REQUEST) == 0
    assert policy.retry_after == 0.5


def test_queue_gives_the_plan_first_then_retries_when_due() -> None:
    queue = CandidateQueue(["a", "b", "c"])
    assert queue.pop() == ("a", 0.0)
    queue.again("a", failed_at=10.0, backoff=2.0)
    assert queue.pop() == ("b", 0.0), "an untried deployment goes before a retry, at once"
    queue.again("b", failed_at=10.5, backoff=0.5)
    assert queue.pop() == ("c", 0.0)
    assert queue.peek_time() == 11.0
    assert queue.pop() == ("b", 0.5), "the retry due first comes first"
    assert queue.peek_time() == 12.0
    assert queue.pop() == ("a", 2.0)
    assert queue.peek_time() is None and not queue


def _fallbacks() -> FallbackTables:
    return FallbackTables.from_settings(
        RouterSettings(
            fallbacks=[{"chat": ["backup"]}, {"chat": ["spare"]}, {"smart": ["chat"]}],
            context_window_fallbacks=[{"chat": ["long"]}],
            content_policy_fallbacks=[{"smart": ["lenient"]}],
            default_fallbacks=["last", "backup"],
        )
    )


def test_chain_walks_group_fallbacks_then_defaults_once_each() -> None:
    chain = GroupChain(_fallbacks(), "chat", "chat")
    assert [chain.next() for _ in range(5)] == ["chat", "backup", "spare", "last", None]


def test_chain_of_an_alias_uses_the_alias_fallbacks_when_its_group_has_none() -> None:
    chain = GroupChain(_fallbacks(), "strong", "smart")
    assert [chain.next() for _ in range(5)] == ["strong", "chat", "last", "backup", None]


def test_context_window_error_switches_to_the_context_fallbacks_only() -> None:
    chain = GroupChain(_fallbacks(), "chat", "chat")
    assert chain.next() == "chat"
    assert chain.switch(Next.CONTEXT_WINDOW, "chat")
    assert [chain.next(), chain.next()] == ["long", None]


def test_content_policy_switch_falls_back_to_the_requested_name() -> None:
    chain = GroupChain(_fallbacks(), "strong", "smart")
    assert chain.next() == "strong"
    assert chain.switch(Next.CONTENT_POLICY, "strong")
    assert chain.next() == "lenient"
    assert not chain.switch(Next.CONTEXT_WINDOW, "lenient"), "no context fallbacks: the error goes to the client"


def test_a_group_too_small_for_the_prompt_tries_its_context_fallbacks_then_the_rest_of_the_walk() -> None:
    chain = GroupChain(_fallbacks(), "chat", "chat")
    assert chain.next() == "chat"
    chain.widen("chat")
    assert [chain.next() for _ in range(5)] == ["long", "backup", "spare", "last", None]


def test_a_context_fallback_too_small_too_leaves_the_rest_of_the_walk_in_place() -> None:
    chain = GroupChain(_fallbacks(), "chat", "chat")
    assert [chain.next(), chain.next()] == ["chat", "backup"]
    chain.widen("backup")  # backup has none of its own: the requested group's
    assert chain.next() == "long"
    chain.widen("long")  # long's (none) else chat's (long: already planned): nothing is added
    assert [chain.next() for _ in range(4)] == ["spare", "last", None, None]


def test_a_group_too_small_without_context_fallbacks_goes_on_with_the_general_walk() -> None:
    chain = GroupChain(_fallbacks(), "strong", "smart")
    assert chain.next() == "strong"
    chain.widen("strong")
    assert [chain.next() for _ in range(4)] == ["chat", "last", "backup", None]


def test_an_upstream_refusal_after_a_widening_keeps_to_the_context_fallbacks() -> None:
    chain = GroupChain(_fallbacks(), "chat", "chat")
    assert chain.next() == "chat"
    chain.widen("chat")
    assert chain.next() == "long"
    assert not chain.switch(Next.CONTEXT_WINDOW, "long"), "the upstream said no: the general walk is no cure"
    assert chain.next() is None


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        ([E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED], True),
        ([E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT], True),
        ([E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, E.ERROR_REASON_INVALID_REQUEST], True),
        ([E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE], False),
        ([E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, E.ERROR_REASON_RATE_LIMITED], False),
        ([E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, E.ERROR_REASON_UPSTREAM_UNAVAILABLE], False),
        ([E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT], False),
        ([], False),
    ],
    ids=[
        "window",
        "window+residency",
        "window+capability",
        "window+down",
        "window+full",
        "window+5xx",
        "residency",
        "nothing",
    ],
)
def test_the_window_is_the_cause_only_when_every_usable_deployment_was_too_small(
    reasons: list[int], expected: bool
) -> None:
    assert too_long_everywhere(reasons) is expected  # type: ignore[arg-type]


def test_a_per_attempt_timeout_is_an_upstream_timeout_but_the_deadline_is_not() -> None:
    assert attempt_error(TimeoutError(), deadline=10.0, now=5.0).reason == E.ERROR_REASON_UPSTREAM_TIMEOUT
    assert attempt_error(TimeoutError(), deadline=10.0, now=10.0).reason == E.ERROR_REASON_DEADLINE_EXCEEDED


def test_a_deployment_unknown_to_the_providers_service_fails_over() -> None:
    unknown = SwitchyardError(E.ERROR_REASON_MODEL_NOT_FOUND, "no deployment with id 'x'")
    assert attempt_error(unknown, 10.0, 1.0).reason == E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE


def _route(*reasons: int) -> route_pb2.RouteRecord:
    route = route_pb2.RouteRecord(group="g", groups_tried=["g"])
    for number, reason in enumerate(reasons, 1):
        route.attempts.add(number=number, deployment_id=f"d{number}", outcome=route_pb2.ATTEMPT_OUTCOME_FAILED)
        route.attempts[-1].error_reason = reason  # type: ignore[assignment]
    return route


def test_all_failed_status_follows_the_causes() -> None:
    rate = all_failed(_route(E.ERROR_REASON_UPSTREAM_RATE_LIMITED), "g", 3.0)
    assert (rate.status, rate.retry_after_s) == (429, 3.0)
    busy = all_failed(_route(E.ERROR_REASON_UPSTREAM_UNAVAILABLE, E.ERROR_REASON_UPSTREAM_TIMEOUT), "g", 2.0)
    assert (busy.status, busy.retry_after_s) == (503, 2.0)
    mixed = all_failed(_route(E.ERROR_REASON_UPSTREAM_MALFORMED, E.ERROR_REASON_UPSTREAM_RATE_LIMITED), "g", 2.0)
    assert (mixed.status, mixed.retry_after_s) == (502, None)
    assert "d1" in mixed.message and "d2" in mixed.message and "2 attempt(s)" in mixed.message


def _message(**delta: object) -> providers_pb2.StreamGenerateResponse:
    chunk = chat_pb2.ChatCompletionChunk(id="c")
    choice = chunk.choices.add(index=0)
    finish = delta.pop("finish", None)
    if finish:
        choice.finish_reason = chat_pb2.FINISH_REASON_STOP
    for key, value in delta.items():
        setattr(choice.delta, key, value)
    return providers_pb2.StreamGenerateResponse(chunks=[chunk])


def test_a_role_only_chunk_is_not_a_first_token() -> None:
    assert not carries_output(_message(role=chat_pb2.ROLE_ASSISTANT, content=""))
    assert carries_output(_message(content="Hel"))
    assert carries_output(_message(finish=True))
    assert carries_output(providers_pb2.StreamGenerateResponse(upstream=providers_pb2.UpstreamRecord()))


_PART = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^;]*)(?:; |$)')


def parse_route_header(value: str) -> dict[str, str]:
    """Returns the parts of an x-switchyard-route value (quoted values unquoted)."""
    parts = {}
    for key, raw in _PART.findall(value):
        parts[key] = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\") if raw.startswith('"') else raw
    return parts


def test_route_header_is_one_bounded_ascii_line() -> None:
    route = route_pb2.RouteRecord(
        group="chat", strategy="simple-shuffle", deployment_id="backup-1", reason='fell back; "quoted" — ünïcode'
    )
    route.groups_tried.extend(["chat", "backup"])
    for n in range(40):
        route.attempts.add(
            number=n + 1, deployment_id=f"chat-{n};x", group="chat", outcome=route_pb2.ATTEMPT_OUTCOME_FAILED
        )
    route.attempts.add(number=41, deployment_id="backup-1", group="backup", outcome=route_pb2.ATTEMPT_OUTCOME_SUCCESS)
    name, value = route_header(route)
    text = value.decode("ascii")
    assert name == b"x-switchyard-route" and "\n" not in text and len(value) <= 1024
    parts = parse_route_header(text)
    assert parts["group"] == "chat" and parts["served"] == "backup" and parts["deployment"] == "backup-1"
    assert parts["attempts"] == "41" and parts["groups"] == "chat,backup"
    assert parts["reason"].startswith('fell back; "quoted"')
    assert parts["failed"].endswith(",+34") and "chat-0_x:" in parts["failed"]


def test_the_group_chain_lists_the_groups_left() -> None:
    tables = FallbackTables(general={"a": ("b", "a", "c")}, default=("c",))
    chain = GroupChain(tables, "a", "a")
    assert chain.next() == "a" and chain.upcoming() == ["b", "c"]
    assert chain.next() == "b" and chain.upcoming() == ["c"]
    alone = GroupChain(FallbackTables(), "solo", "solo")
    assert alone.next() == "solo" and alone.upcoming() == []
