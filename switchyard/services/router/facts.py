"""What routing knows of a request: read from the request, its context and the classifier's analysis."""

from __future__ import annotations

from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import chat_pb2, context_pb2
from switchyard.config import DATA_CLASSES
from switchyard.services.router.strategies.base import RequestFacts

# Without an analysis: about four characters a token, a few tokens of framing per message, and
# images at the cost OpenAI charges for one at high detail (the classifier's own figures).
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
IMAGE_TOKENS = 765
_JSON_FORMATS = frozenset({chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT, chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA})


def estimate_prompt_tokens(request: chat_pb2.ChatRequest) -> int:
    """Returns a length-based prompt size: text and tool definitions at four characters a token."""
    chars = 0
    images = 0
    for message in request.messages:
        if message.HasField("parts"):
            for part in message.parts.parts:
                if part.HasField("image_url"):
                    images += 1
                else:
                    chars += len(part.text.text)
        else:
            chars += len(message.text)
    chars += sum(tool.ByteSize() for tool in request.tools)
    return chars // CHARS_PER_TOKEN + TOKENS_PER_MESSAGE * len(request.messages) + IMAGE_TOKENS * images


def has_images(request: chat_pb2.ChatRequest) -> bool:
    """Returns whether any message carries an image part."""
    return any(
        part.HasField("image_url")
        for message in request.messages
        if message.HasField("parts")
        for part in message.parts.parts
    )


def _class_name(value: int) -> str:
    """Returns "public" .. "restricted" for a DataClassification value, "" for unspecified."""
    return DATA_CLASSES[value - 1] if 1 <= value <= len(DATA_CLASSES) else ""


def facts_of(
    request: chat_pb2.ChatRequest,
    context: context_pb2.RequestContext,
    analysis: classifier_pb2.AnalyzeResponse | None,
) -> RequestFacts:
    """Returns the routing facts of a request; without an analysis, a length-based token estimate,
    no category and p_cheap_ok None (the policies' length-based defaults then apply), and the caller's
    data classification, else the most sensitive one."""
    max_output: int | None = None
    if request.HasField("max_completion_tokens"):
        max_output = request.max_completion_tokens
    elif request.HasField("max_tokens"):
        max_output = request.max_tokens
    # The more sensitive of what the caller declared and what the classifier found. A request nobody
    # classified (the classifier unavailable, no header) may hold anything: residency treats it as the
    # most sensitive class, so it goes only where restricted data may (fail closed, DESIGN §5).
    sensitivity = max(context.data_classification, analysis.data_classification if analysis else 0)
    assumed = analysis is None and not context.data_classification
    if assumed:
        sensitivity = len(DATA_CLASSES)
    if analysis is None:
        tokens, category, confidence, p_cheap_ok = estimate_prompt_tokens(request), "", 0.0, None
        families: dict[str, int] = {}
    else:
        tokens, category, confidence = analysis.prompt_tokens, analysis.category.name, analysis.category.confidence
        p_cheap_ok, families = analysis.complexity.p_cheap_ok, dict(analysis.tokens_by_family)
    return RequestFacts(
        prompt_tokens=tokens,
        max_output_tokens=max_output,
        category=category,
        p_cheap_ok=p_cheap_ok,
        needs_tools=len(request.tools) > 0,
        needs_vision=has_images(request),
        needs_json=request.response_format.type in _JSON_FORMATS,
        session_key=context.hints.session_key,
        model=request.model,
        stream=request.stream,
        category_confidence=confidence,
        data_classification=_class_name(sensitivity),
        data_assumed=assumed,
        region=context.region.strip().lower(),
        user=request.user,
        tenant=context.tenant,
        tags=dict(context.tags),
        metadata=dict(request.metadata),
        tokens_by_family=families,
    )
