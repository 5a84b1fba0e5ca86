"""Gemini GenerateContentResponse JSON → ChatCompletion: finish reasons, usage and candidates' parts.

Pure functions over plain JSON values, shared by whole replies and by the adapter's stream state. A
blocked prompt (HTTP 200, `promptFeedback.blockReason`, no candidates) becomes a completion whose one
choice has no content and finish_reason content_filter: what OpenAI clients expect from a filter.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from switchyard.common.v1 import chat_pb2
from switchyard.services.providers.adapters.gemini_call_ids import call_id_for
from switchyard.wire.gemini.vocabulary import FILTERED, FinishReason
from switchyard.wire.values import MalformedError

Role = chat_pb2.Role
Finish = chat_pb2.FinishReason


def _need(value: Any, kinds: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise MalformedError(f"{where} has the wrong type")
    if not isinstance(value, kinds):
        raise MalformedError(f"{where} has the wrong type")
    return value


def finish_from_wire(reason: Any, saw_call: bool) -> chat_pb2.FinishReason.ValueType:
    """Returns the OpenAI finish reason for a Gemini finishReason (None: not finished yet)."""
    if reason is None or reason == "":
        return Finish.FINISH_REASON_UNSPECIFIED
    _need(reason, str, "finishReason")
    if reason == FinishReason.MAX_TOKENS:
        return Finish.FINISH_REASON_LENGTH
    if reason in FILTERED:
        return Finish.FINISH_REASON_CONTENT_FILTER
    # Gemini has no tool-call reason: a turn with functionCall parts ends with STOP (pitfall 1).
    return Finish.FINISH_REASON_TOOL_CALLS if saw_call else Finish.FINISH_REASON_STOP


def usage_from_wire(raw: Any) -> chat_pb2.Usage:
    """Returns usageMetadata normalised to OpenAI's meaning (prompt includes cached and tool-use tokens)."""
    meta = _need(raw, dict, "usageMetadata")

    def count(key: str) -> int:
        value = meta.get(key, 0)
        return int(_need(value, int, f"usageMetadata.{key}"))

    prompt = count("promptTokenCount") + count("toolUsePromptTokenCount")
    thoughts = count("thoughtsTokenCount")
    completion = count("candidatesTokenCount") + thoughts
    return chat_pb2.Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=chat_pb2.PromptTokensDetails(cached_tokens=count("cachedContentTokenCount")),
        completion_tokens_details=chat_pb2.CompletionTokensDetails(reasoning_tokens=thoughts),
    )


@dataclass
class CandidateParts:
    """What one candidate's parts say: answer text, thought text and tool calls."""

    text: list[str]
    thoughts: list[str]
    calls: list[chat_pb2.ToolCall]


def candidate_parts(candidate: dict[str, Any], where: str) -> CandidateParts:
    """Returns the text, thoughts and tool calls of a candidate; raises MalformedError."""
    result = CandidateParts([], [], [])
    content = candidate.get("content")
    if content is None:
        return result
    parts = _need(content, dict, f"{where}.content").get("parts") or []
    for k, part in enumerate(_need(parts, list, f"{where}.content.parts")):
        _need(part, dict, f"{where}.content.parts[{k}]")
        call = part.get("functionCall")
        if call is not None:
            _need(call, dict, f"{where}.content.parts[{k}].functionCall")
            name = _need(call.get("name"), str, f"{where}.content.parts[{k}].functionCall.name")
            args = _need(call.get("args", {}), dict, f"{where}.content.parts[{k}].functionCall.args")
            function = chat_pb2.FunctionCall(name=name, arguments=orjson.dumps(args).decode())
            call_id = call_id_for(call, part.get("thoughtSignature"))
            result.calls.append(chat_pb2.ToolCall(id=call_id, type="function", function=function))
            continue
        text = part.get("text")
        if text is not None:
            (result.thoughts if part.get("thought") else result.text).append(_need(text, str, f"{where}.text"))
    return result


def blocked_reason(raw: dict[str, Any]) -> str | None:
    """Returns promptFeedback.blockReason when the prompt was blocked, else None."""
    feedback = raw.get("promptFeedback")
    reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
    return reason if isinstance(reason, str) and reason else None


def completion_from_wire(raw: Any, model: str) -> chat_pb2.ChatCompletion:
    """Returns the ChatCompletion a GenerateContentResponse means; raises MalformedError."""
    _need(raw, dict, "response")
    response_id = raw.get("responseId")
    completion = chat_pb2.ChatCompletion(
        id=response_id if isinstance(response_id, str) and response_id else f"gemini-{secrets.token_hex(12)}",
        created=int(time.time()),
        model=raw.get("modelVersion") if isinstance(raw.get("modelVersion"), str) else model,
    )
    candidates = raw.get("candidates")
    if not candidates:
        if blocked_reason(raw) is None:
            raise MalformedError("response has neither candidates nor promptFeedback.blockReason")
        completion.choices.add(
            index=0,
            message=chat_pb2.ChatMessage(role=Role.ROLE_ASSISTANT),
            finish_reason=Finish.FINISH_REASON_CONTENT_FILTER,
        )
    for position, candidate in enumerate(_need(candidates or [], list, "candidates")):
        where = f"candidates[{position}]"
        _need(candidate, dict, where)
        parts = candidate_parts(candidate, where)
        message = chat_pb2.ChatMessage(role=Role.ROLE_ASSISTANT, tool_calls=parts.calls)
        if parts.text:
            message.text = "".join(parts.text)
        if parts.thoughts:
            message.reasoning = "".join(parts.thoughts)
        reason = candidate.get("finishReason") or FinishReason.STOP
        completion.choices.add(
            index=_need(candidate.get("index", position), int, f"{where}.index"),
            message=message,
            finish_reason=finish_from_wire(reason, bool(parts.calls)),
        )
    if raw.get("usageMetadata") is not None:
        completion.usage.CopyFrom(usage_from_wire(raw["usageMetadata"]))
    return completion
