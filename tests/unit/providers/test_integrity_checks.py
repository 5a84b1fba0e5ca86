"""The integrity checks of provider replies: which model names are aliases of the one asked, which token
counts are impossible, what a stream must show, and how the guard counts, logs and fails violations."""

from __future__ import annotations

import logging

import pytest

from switchyard.common.v1 import chat_pb2, embeddings_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters import build_adapters
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.integrity.checks import (
    Kind,
    StreamWatch,
    Violation,
    check_completion,
    check_embeddings,
    model_matches,
    usage_problem,
)
from switchyard.services.providers.integrity.guard import CheckedAdapter, IntegrityGuard, checked, embedding_layer
from switchyard.services.providers.metrics import metered

DEPLOYMENT = Deployment(
    id="dep-1", group="g", provider="openai", model="gpt-4o", api_base="http://x", max_input_tokens=1000
)


@pytest.mark.parametrize(
    ("asked", "replied"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o", "gpt-4o-2024-08-06"),
        ("gpt-4", "gpt-4-0613"),
        ("o1", "o1-2024-12-17"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022"),
        ("claude-3-5-sonnet", "claude-3-5-sonnet@20240620"),
        ("gemini-1.5-flash", "gemini-1.5-flash-002"),
        ("gemini-2.5-flash", "models/gemini-2.5-flash"),
        ("gpt-4o", "openai/gpt-4o-2024-08-06"),
        ("anthropic.claude-3-haiku", "anthropic.claude-3-haiku-20240307-v1:0"),
        ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama/llama-3.1-8b-instruct"),
        ("gpt-4o", ""),
    ],
)
def test_the_model_asked_and_its_dated_or_prefixed_aliases_match(asked: str, replied: str) -> None:
    assert model_matches(asked, replied)


@pytest.mark.parametrize(
    ("asked", "replied"),
    [
        ("gpt-4o", "gpt-4o-mini"),
        ("gpt-4o", "gpt-4o-mini-2024-07-18"),
        ("gpt-4", "gpt-4o"),
        ("gpt-4", "gpt-4-32k"),
        ("claude-opus-4", "claude-opus-4-1-20250805"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-08-06"),
        ("claude-3-5-sonnet-latest", "claude-3-haiku-20240307"),
        ("meta-llama/Llama-3.1-8B-Instruct", "evil/Llama-3.1-8B-Instruct"),
        ("fake-gpt-4o", "fake-impostor-model"),
    ],
)
def test_another_model_or_another_pinned_version_does_not_match(asked: str, replied: str) -> None:
    assert not model_matches(asked, replied)


def _usage(prompt: int = 10, completion: int = 5, **details: int) -> chat_pb2.Usage:
    usage = chat_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
    usage.prompt_tokens_details.cached_tokens = details.get("cached", 0)
    usage.completion_tokens_details.reasoning_tokens = details.get("reasoning", 0)
    return usage


def _request(**fields: int) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(model="g", **fields)


@pytest.mark.parametrize(
    ("usage", "request_fields", "said"),
    [
        (_usage(completion=-3), {}, "negative completion_tokens -3"),
        (_usage(prompt=10, cached=11), {}, "cached_tokens 11 exceed prompt_tokens 10"),
        (_usage(completion=5, reasoning=6), {}, "reasoning_tokens 6 exceed completion_tokens 5"),
        (_usage(completion=200_000_000), {}, "beyond any model's window"),
        (_usage(completion=117), {"max_tokens": 50}, "far beyond the call's limit of 50"),
        (_usage(completion=500), {"max_completion_tokens": 100, "n": 2}, "limit of 200"),
        (_usage(prompt=2100), {}, "far beyond the model's window of 1000"),
    ],
)
def test_impossible_usage_is_named(usage: chat_pb2.Usage, request_fields: dict[str, int], said: str) -> None:
    problem = usage_problem(usage, _request(**request_fields), DEPLOYMENT)
    assert problem is not None and said in problem


@pytest.mark.parametrize(
    ("usage", "request_fields"),
    [
        (_usage(), {}),
        (_usage(completion=116), {"max_tokens": 50}),  # within twice the cap and some slack
        (_usage(completion=180), {"max_tokens": 50, "n": 2}),
        (_usage(prompt=2016), {}),
        (_usage(prompt=10, cached=10, completion=5, reasoning=5), {}),
    ],
)
def test_plausible_usage_passes(usage: chat_pb2.Usage, request_fields: dict[str, int]) -> None:
    assert usage_problem(usage, _request(**request_fields), DEPLOYMENT) is None


def test_a_whole_reply_is_checked_for_its_model_and_its_usage() -> None:
    good = chat_pb2.ChatCompletion(model="gpt-4o-2024-08-06", usage=_usage())
    assert check_completion(good, _request(), DEPLOYMENT) == []
    bad = chat_pb2.ChatCompletion(model="gpt-4o-mini")
    kinds = [v.kind for v in check_completion(bad, _request(), DEPLOYMENT)]
    assert kinds == [Kind.MODEL, Kind.USAGE_MISSING]


def test_a_stream_is_judged_by_its_first_model_and_whether_usage_came() -> None:
    watch = StreamWatch(_request(), DEPLOYMENT)
    first = [chat_pb2.ChatCompletionChunk(model="gpt-4o-mini"), chat_pb2.ChatCompletionChunk(model="gpt-4o-mini")]
    assert [v.kind for v in watch.chunks(first)] == [Kind.MODEL], "one report per stream, not per chunk"
    assert [v.kind for v in watch.finish()] == [Kind.USAGE_MISSING]
    watch = StreamWatch(_request(), DEPLOYMENT)
    assert watch.chunks([chat_pb2.ChatCompletionChunk(model="gpt-4o", usage=_usage(completion=-1))])[0].kind == (
        Kind.USAGE_IMPOSSIBLE
    )
    assert watch.finish() == []


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_guard_fails_hard_kinds_always_and_soft_kinds_when_strict() -> None:
    lenient, strict = IntegrityGuard(), IntegrityGuard(strict=True)
    soft = Violation(Kind.MODEL, "the reply names model 'x', asked 'gpt-4o'")
    lenient.judge(DEPLOYMENT, [soft])
    with pytest.raises(SwitchyardError) as caught:
        strict.judge(DEPLOYMENT, [soft])
    assert caught.value.reason == errors_pb2.ERROR_REASON_UPSTREAM_MALFORMED
    assert caught.value.metadata["integrity"] == "model" and caught.value.metadata["deployment_id"] == "dep-1"
    with pytest.raises(SwitchyardError):
        lenient.judge(DEPLOYMENT, [Violation(Kind.USAGE_IMPOSSIBLE, "negative completion_tokens -1")])


def test_the_guard_logs_each_deployment_and_kind_once_a_minute_with_what_it_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    guard = IntegrityGuard(clock=clock)
    violation = Violation(Kind.USAGE_MISSING, "the reply reports no token usage")
    caplog.set_level(logging.WARNING, "switchyard.services.providers.integrity")
    for _ in range(3):
        guard.note(DEPLOYMENT, violation)
    guard.note(DEPLOYMENT, Violation(Kind.MODEL, "the reply names model 'x', asked 'gpt-4o'"))
    clock.now += 61
    guard.note(DEPLOYMENT, violation)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0].startswith("integrity violation (usage_missing) by deployment dep-1 (openai)")
    assert "(model)" in lines[1]
    assert lines[2].endswith("served (2 more since the last report)")


# ---------------------------------------------------------------- embeddings


def _vectors(*vectors: list[float], prompt_tokens: int = 3) -> embeddings_pb2.Embeddings:
    out = embeddings_pb2.Embeddings(model="text-embedding-3-small")
    for index, values in enumerate(vectors):
        out.data.add(index=index, values=values)
    out.usage.prompt_tokens, out.usage.total_tokens = prompt_tokens, prompt_tokens
    return out


@pytest.mark.parametrize(
    ("embeddings", "dimensions", "said"),
    [
        (_vectors([0.1, 0.2], []), None, "an embedding is empty"),
        (_vectors([0.1, 0.2], [0.3]), None, "differ in length (1, 2)"),
        (_vectors([0.1, 0.2]), 3, "2 dimensions; 3 were asked"),
        (_vectors([0.1, float("nan")]), None, "NaN or infinity"),
        (_vectors([0.1, float("inf")]), 2, "NaN or infinity"),
    ],
)
def test_unusable_vectors_break_the_reply(
    embeddings: embeddings_pb2.Embeddings, dimensions: int | None, said: str
) -> None:
    request = embeddings_pb2.EmbeddingRequest(model="m", inputs=["a"] * len(embeddings.data), dimensions=dimensions)
    found = check_embeddings(embeddings, request)
    assert [v.kind for v in found] == [Kind.SCHEMA] and said in found[0].detail
    assert IntegrityGuard().fails(found[0].kind)


def test_sound_vectors_pass_and_impossible_counts_do_not() -> None:
    request = embeddings_pb2.EmbeddingRequest(model="m", inputs=["a", "b"], dimensions=2)
    assert check_embeddings(_vectors([0.6, 0.8], [1.0, 0.0]), request) == []
    assert check_embeddings(_vectors([0.6, 0.8], [1.0, 0.0], prompt_tokens=0), request) == []
    negative = check_embeddings(_vectors([0.6, 0.8], [1.0, 0.0], prompt_tokens=-4), request)
    assert [v.kind for v in negative] == [Kind.USAGE_IMPOSSIBLE]


def test_the_embedding_layer_is_the_checked_one_when_the_wire_format_embeds() -> None:
    adapters = metered(checked(build_adapters(ClientPool([]), init_telemetry("test", None)), IntegrityGuard()))
    for provider in ("openai", "gemini", "azure", "mistral"):
        layer = embedding_layer(adapters[provider])
        assert isinstance(layer, CheckedAdapter), provider
    assert embedding_layer(adapters["anthropic"]) is None
