"""Routing facts come from the request, its context and the classifier's analysis."""

from __future__ import annotations

from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import chat_pb2, context_pb2
from switchyard.config import parse_config
from switchyard.services.router.facts import facts_of
from switchyard.services.router.strategies.base import RequestFacts, prompt_tokens_for


def request_with_everything() -> chat_pb2.ChatRequest:
    request = chat_pb2.ChatRequest(model="auto", user="alice", max_tokens=512, stream=True, metadata={"tier": "gold"})
    request.messages.add(role=chat_pb2.ROLE_SYSTEM, text="Be brief." * 40)
    message = request.messages.add(role=chat_pb2.ROLE_USER)
    message.parts.parts.add().text.text = "What is in this picture?"
    message.parts.parts.add().image_url.url = "data:image/png;base64," + "A" * 400_000
    request.tools.add(type="function").function.name = "lookup"
    request.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT
    return request


def context(**kwargs: object) -> context_pb2.RequestContext:
    ctx = context_pb2.RequestContext(tenant="acme", region=" EU ", tags={"team": "legal"}, **kwargs)  # type: ignore[arg-type]
    ctx.hints.session_key = "sess-1"
    return ctx


def test_facts_without_analysis_use_length_defaults() -> None:
    facts = facts_of(request_with_everything(), context(), None)
    assert (facts.needs_tools, facts.needs_vision, facts.needs_json, facts.stream) == (True, True, True, True)
    assert facts.max_output_tokens == 512 and facts.model == "auto"
    assert facts.p_cheap_ok is None and facts.category == ""
    # 360 + 24 characters of text, one tool, one image: the base64 payload is not counted as text.
    assert 765 + 96 < facts.prompt_tokens < 765 + 140
    assert (facts.region, facts.tenant, facts.user, facts.session_key) == ("eu", "acme", "alice", "sess-1")
    assert facts.tags == {"team": "legal"} and facts.metadata == {"tier": "gold"}
    # Nobody classified it: residency assumes the most sensitive class (fail closed).
    assert (facts.data_classification, facts.data_assumed) == ("restricted", True)


def test_facts_without_analysis_take_the_callers_declared_classification() -> None:
    declared = context(data_classification=context_pb2.DATA_CLASSIFICATION_INTERNAL)
    facts = facts_of(request_with_everything(), declared, None)
    assert (facts.data_classification, facts.data_assumed) == ("internal", False)


def test_facts_take_the_analysis_and_the_more_sensitive_classification() -> None:
    analysis = classifier_pb2.AnalyzeResponse(
        prompt_tokens=1234,
        data_classification=context_pb2.DATA_CLASSIFICATION_CONFIDENTIAL,
        tokens_by_family={"anthropic": 1400},
    )
    analysis.complexity.p_cheap_ok = 0.35
    analysis.category.name, analysis.category.confidence = "code", 0.8
    facts = facts_of(
        request_with_everything(), context(data_classification=context_pb2.DATA_CLASSIFICATION_INTERNAL), analysis
    )
    assert (facts.prompt_tokens, facts.p_cheap_ok, facts.category, facts.category_confidence) == (
        1234,
        0.35,
        "code",
        0.8,
    )
    assert facts.tokens_by_family == {"anthropic": 1400}
    assert facts.data_classification == "confidential"
    declared = facts_of(
        chat_pb2.ChatRequest(model="m"),
        context(data_classification=context_pb2.DATA_CLASSIFICATION_RESTRICTED),
        analysis,
    )
    assert declared.data_classification == "restricted"
    assert declared.max_output_tokens is None and not declared.needs_tools


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    request = chat_pb2.ChatRequest(model="m", max_tokens=100, max_completion_tokens=300)
    assert facts_of(request, context_pb2.RequestContext(), None).max_output_tokens == 300


def test_vertex_deployments_count_prompts_in_their_publishers_tokens() -> None:
    config = parse_config(
        "model_list:\n"
        "  - model_name: c\n    litellm_params: {model: vertex_ai/claude-sonnet-4@20250514, vertex_project: p}\n"
        "  - model_name: g\n    litellm_params: {model: vertex_ai/gemini-2.5-pro, vertex_project: p}\n"
        "  - model_name: o\n    litellm_params: {model: openai/gpt-4o}\n"
    )
    facts = RequestFacts(prompt_tokens=1000, tokens_by_family={"anthropic": 1200, "gemini": 900})
    claude, gemini, openai = config.model_list
    assert [prompt_tokens_for(e, facts) for e in (claude, gemini, openai)] == [1200, 900, 1000]
