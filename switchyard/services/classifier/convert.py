"""Pure conversions between the classifier's protobuf messages and its domain."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

from google.protobuf import json_format
from google.protobuf.message import Message

from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import chat_pb2, context_pb2
from switchyard.ml.complexity import Tier
from switchyard.services.classifier.domain import Analysis, ImageDetail, JsonDocument, Prompt, Turn

_TIERS = {Tier.SIMPLE: classifier_pb2.TIER_SIMPLE, Tier.COMPLEX: classifier_pb2.TIER_COMPLEX}
_ROLES = {
    chat_pb2.ROLE_SYSTEM: "system",
    chat_pb2.ROLE_DEVELOPER: "system",
    chat_pb2.ROLE_USER: "user",
    chat_pb2.ROLE_ASSISTANT: "assistant",
    chat_pb2.ROLE_TOOL: "tool",
    chat_pb2.ROLE_FUNCTION: "tool",
}
_CLASSIFICATIONS = {
    "public": context_pb2.DATA_CLASSIFICATION_PUBLIC,
    "internal": context_pb2.DATA_CLASSIFICATION_INTERNAL,
    "confidential": context_pb2.DATA_CLASSIFICATION_CONFIDENTIAL,
    "restricted": context_pb2.DATA_CLASSIFICATION_RESTRICTED,
}


def prompt_from_request(request: chat_pb2.ChatRequest) -> Prompt:
    """Returns the prompt of a chat request: every text the model reads, its images and documents."""
    texts: list[str] = []
    images: list[ImageDetail] = []
    turns: list[Turn] = []
    named = 0
    for index, message in enumerate(request.messages):
        before = len(texts)
        _collect_message(message, texts, images)
        words = "\n".join(t for t in texts[before:] if t)
        if words:
            turns.append(Turn(index, _ROLES.get(message.role, "user"), words))
        if message.name:
            named += 1
    documents = [_document(tool) for tool in request.tools]
    if request.response_format.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
        documents.append(_document(request.response_format.json_schema))
    return Prompt(
        texts=tuple(texts),
        messages=len(request.messages),
        named_messages=named,
        images=tuple(images),
        documents=tuple(documents),
        chars=sum(len(text) for text in texts),
        turns=tuple(turns),
        supplements=_supplements(request),
    )


def _supplements(request: chat_pb2.ChatRequest) -> tuple[Turn, ...]:
    """Returns the instructions-bearing texts outside the messages: the tools' descriptions (their own and
    their parameters'), joined as one text, and OpenAI's predicted output, which travels in `extra`."""
    found: list[Turn] = []
    descriptions: list[str] = []
    for tool in request.tools:
        descriptions.append(tool.function.description)
        if tool.function.HasField("parameters"):
            _schema_descriptions(json_format.MessageToDict(tool.function.parameters), descriptions)
    described = "\n".join(text for text in descriptions if text)
    if described:
        found.append(Turn(-1, "tool_definition", described))
    prediction = request.extra.fields.get("prediction") if request.HasField("extra") else None
    if prediction is not None:
        predicted = _prediction_text(json_format.MessageToDict(prediction))
        if predicted:
            found.append(Turn(-1, "prediction", predicted))
    return tuple(found)


def _schema_descriptions(node: object, out: list[str]) -> None:
    """Appends every string "description" (and "title") found in a JSON Schema, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "title") and isinstance(value, str):
                out.append(value)
            else:
                _schema_descriptions(value, out)
    elif isinstance(node, list):
        for item in node:
            _schema_descriptions(item, out)


def _prediction_text(prediction: object) -> str:
    """Returns the text of a `prediction` object: its string content, or its text parts joined."""
    content = prediction.get("content") if isinstance(prediction, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _collect_message(message: chat_pb2.ChatMessage, texts: list[str], images: list[ImageDetail]) -> None:
    """Appends the texts and images of one message."""
    kind = message.WhichOneof("content")
    if kind == "text":
        texts.append(message.text)
    elif kind == "parts":
        for part in message.parts.parts:
            _collect_part(part, texts, images)
    texts.extend((message.name, message.tool_call_id, message.refusal))
    for call in message.tool_calls:
        texts.extend((call.function.name, call.function.arguments))


def _collect_part(part: chat_pb2.ContentPart, texts: list[str], images: list[ImageDetail]) -> None:
    kind = part.WhichOneof("part")
    if kind == "text":
        texts.append(part.text.text)
    elif kind == "image_url":
        images.append(ImageDetail.LOW if part.image_url.detail == "low" else ImageDetail.HIGH)
    elif kind == "refusal":
        texts.append(part.refusal.refusal)
    elif kind == "file":
        # The file's content is not estimated at this stage (it may be a PDF); its name is read.
        texts.append(part.file.filename)


def _document(message: Message) -> JsonDocument:
    """Returns a message as a JSON document, identified by its deterministic wire bytes."""
    return JsonDocument(
        fingerprint=type(message).__name__.encode() + b"\0" + message.SerializeToString(deterministic=True),
        render=functools.partial(_json, message),
    )


def _json(message: Message) -> str:
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    # Sorted keys: protobuf map order varies between processes, and the count must not.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def analysis_to_response(analysis: Analysis, embedding: Sequence[float] = ()) -> classifier_pb2.AnalyzeResponse:
    """Returns the AnalyzeResponse of an analysis, with the request embedding when one was computed."""
    complexity = analysis.complexity
    response = classifier_pb2.AnalyzeResponse(
        prompt_tokens=analysis.prompt_tokens,
        tokenizer=analysis.tokenizer,
        complexity=classifier_pb2.Complexity(
            tier=_TIERS[complexity.tier],
            score=complexity.score,
            p_cheap_ok=complexity.p_cheap_ok,
            method=complexity.method,
        ),
        data_classification=_CLASSIFICATIONS.get(
            analysis.data_classification, context_pb2.DATA_CLASSIFICATION_UNSPECIFIED
        ),
        findings=[
            classifier_pb2.Finding(type=f.type, message_index=f.message_index, start=f.start, end=f.end)
            for f in analysis.findings
        ],
    )
    response.tokens_by_family.update(dict(analysis.tokens_by_family))
    response.model_versions.update(dict(analysis.model_versions))
    response.embedding.extend(embedding)
    if analysis.category:
        response.category.name = analysis.category
        response.category.confidence = analysis.category_confidence
    if analysis.injection is not None:
        injection = analysis.injection
        response.injection.detected = injection.detected
        response.injection.score = injection.score
        response.injection.kind = injection.kind
        response.injection.signals.extend(injection.signals)
    return response
