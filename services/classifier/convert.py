"""Pure conversions between the classifier's protobuf messages and its domain."""

from __future__ import annotations

import functools
import json

from google.protobuf import json_format
from google.protobuf.message import Message
from switchyard.classifier.v1 import classifier_pb2
from switchyard.common.v1 import chat_pb2

from services.classifier.domain import Analysis, ImageDetail, JsonDocument, Prompt, Tier

_TIERS = {Tier.SIMPLE: classifier_pb2.TIER_SIMPLE, Tier.COMPLEX: classifier_pb2.TIER_COMPLEX}


def prompt_from_request(request: chat_pb2.ChatRequest) -> Prompt:
    """Returns the prompt of a chat request: every text the model reads, its images and documents."""
    texts: list[str] = []
    images: list[ImageDetail] = []
    named = 0
    for message in request.messages:
        _collect_message(message, texts, images)
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
    )


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


def analysis_to_response(analysis: Analysis) -> classifier_pb2.AnalyzeResponse:
    """Returns the AnalyzeResponse of an analysis; later stages fill category, findings and injection."""
    complexity = analysis.complexity
    return classifier_pb2.AnalyzeResponse(
        prompt_tokens=analysis.prompt_tokens,
        tokenizer=analysis.tokenizer,
        complexity=classifier_pb2.Complexity(
            tier=_TIERS[complexity.tier],
            score=complexity.score,
            p_cheap_ok=complexity.p_cheap_ok,
            method=complexity.method,
        ),
    )
