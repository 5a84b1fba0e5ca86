"""Gemini generateContent JSON ⇄ switchyard.common.v1 protobuf: requests out, replies, chunks and errors in.

Pure functions over plain JSON values; the adapter in `gemini` does the I/O. Error bodies are read by
`gemini_errors`, whose `error_from_body` and `GoogleError` are re-exported here so the adapter speaks
to one wire module. Decisions worth knowing:

- system/developer messages become `systemInstruction`; assistant turns role `model`; tool results are
  `functionResponse` parts of a user turn, named from the tool_call_id → name map of earlier assistant
  turns, with non-object results wrapped as `{"result": ...}`; consecutive same-role turns are merged.
- Images: `data:` URIs become `inlineData`; http(s) and gs:// URLs become `fileData{fileUri}` and the
  upstream decides whether it can fetch them (it takes Files API and GCS URIs, and some public URLs).
- Tool call ids: Gemini rarely sends `functionCall.id`, so ids are synthesized as `call_<random>`, and a
  Gemini 3 `thoughtSignature` rides inside the id after `SIGNATURE_MARK` (clients echo ids unchanged),
  to be put back on the `functionCall` part of the follow-up request. Ids starting with `call_` are ours
  (or OpenAI's) and are not sent upstream.
- A blocked prompt (HTTP 200, `promptFeedback.blockReason`, no candidates) becomes a completion whose one
  choice has no content and finish_reason content_filter: what OpenAI clients expect from a filter.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.providers.adapters.gemini_errors import GoogleError, error_from_body
from switchyard.wire.openai import MalformedError, struct_to_dict

__all__ = [
    "CALL_ID_PREFIX",
    "FILTERED",
    "SIGNATURE_MARK",
    "CandidateParts",
    "GoogleError",
    "blocked_reason",
    "call_id_for",
    "candidate_parts",
    "completion_from_wire",
    "error_from_body",
    "finish_from_wire",
    "new_call_id",
    "request_to_wire",
    "split_call_id",
    "usage_from_wire",
]

R = errors_pb2.ErrorReason
Role = chat_pb2.Role
Finish = chat_pb2.FinishReason

CALL_ID_PREFIX = "call_"
SIGNATURE_MARK = "~ts~"
# Gemini finish reasons that mean the output was filtered (see wire-formats §6).
FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)
_DATA_URI = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[^;,]*)*;base64,(?P<data>.*)", re.DOTALL)
_AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mp3", "flac": "audio/flac", "ogg": "audio/ogg"}


def _invalid(param: str, message: str) -> SwitchyardError:
    return SwitchyardError(R.ERROR_REASON_INVALID_REQUEST, message, param=param)


# ---------------------------------------------------------------- request side


def new_call_id() -> str:
    """Returns a fresh OpenAI-style tool call id for a functionCall that came without one."""
    return CALL_ID_PREFIX + secrets.token_hex(12)


def split_call_id(call_id: str) -> tuple[str, str | None]:
    """Returns (id, thoughtSignature or None) from an id built by `call_id_for`."""
    base, mark, signature = call_id.partition(SIGNATURE_MARK)
    return base, (signature or None) if mark else None


def call_id_for(function_call: dict[str, Any], signature: Any) -> str:
    """Returns the OpenAI tool call id of a functionCall part, carrying its thoughtSignature if any."""
    given = function_call.get("id")
    base = given if isinstance(given, str) and given else new_call_id()
    return f"{base}{SIGNATURE_MARK}{signature}" if isinstance(signature, str) and signature else base


def _text_of(message: chat_pb2.ChatMessage) -> str:
    if message.WhichOneof("content") == "text":
        return message.text
    return "".join(p.text.text or p.refusal.refusal for p in message.parts.parts)


def _media_part(url: str, param: str) -> dict[str, Any]:
    match = _DATA_URI.fullmatch(url)
    if match:
        mime = match["mime"] or "application/octet-stream"
        return {"inlineData": {"mimeType": mime, "data": match["data"]}}
    if url.startswith(("http://", "https://", "gs://")):
        file_data = {"fileUri": url}
        guessed = mimetypes.guess_type(url.split("?", 1)[0])[0]
        if guessed:
            file_data["mimeType"] = guessed
        return {"fileData": file_data}
    raise _invalid(param, f"'{param}' must be a base64 data: URI or an http(s) URL for Gemini deployments.")


def _user_parts(message: chat_pb2.ChatMessage, i: int) -> list[dict[str, Any]]:
    if message.WhichOneof("content") != "parts":
        return [{"text": message.text}] if message.text else []
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(message.parts.parts):
        param = f"messages[{i}].content[{j}]"
        kind = part.WhichOneof("part")
        if kind == "text" and part.text.text:
            parts.append({"text": part.text.text})
        elif kind == "image_url":
            parts.append(_media_part(part.image_url.url, f"{param}.image_url.url"))
        elif kind == "input_audio":
            mime = _AUDIO_MIME.get(part.input_audio.format, f"audio/{part.input_audio.format}")
            parts.append({"inlineData": {"mimeType": mime, "data": part.input_audio.data}})
        elif kind == "file" and part.file.file_data:
            parts.append(_media_part(part.file.file_data, f"{param}.file.file_data"))
        elif kind == "file":
            raise _invalid(f"{param}.file", "Gemini deployments take files as file_data, not file_id.")
    return parts


def _arguments(text: str, param: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        args = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _invalid(param, f"'{param}' is not valid JSON.") from None
    if not isinstance(args, dict):
        raise _invalid(param, f"'{param}' must be a JSON object for Gemini deployments.")
    return args


def _model_parts(message: chat_pb2.ChatMessage, i: int, calls: dict[str, str]) -> list[dict[str, Any]]:
    text = _text_of(message)
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    for j, call in enumerate(message.tool_calls):
        base, signature = split_call_id(call.id)
        function: dict[str, Any] = {
            "name": call.function.name,
            "args": _arguments(call.function.arguments, f"messages[{i}].tool_calls[{j}].function.arguments"),
        }
        if base and not base.startswith(CALL_ID_PREFIX):
            function["id"] = base
        part: dict[str, Any] = {"functionCall": function}
        if signature:
            part["thoughtSignature"] = signature
        parts.append(part)
        calls[call.id] = call.function.name
    return parts


def _function_response(message: chat_pb2.ChatMessage, i: int, calls: dict[str, str]) -> dict[str, Any]:
    name = calls.get(message.tool_call_id) or message.name
    if not name:
        raise _invalid(
            f"messages[{i}].tool_call_id",
            f"messages[{i}] answers tool call '{message.tool_call_id}', which no earlier assistant message made.",
        )
    text = _text_of(message)
    try:
        result: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        result = text
    # Gemini's `response` is a Struct: anything but a JSON object is wrapped.
    response: dict[str, Any] = {"name": name, "response": result if isinstance(result, dict) else {"result": result}}
    base, _ = split_call_id(message.tool_call_id)
    if base and not base.startswith(CALL_ID_PREFIX):
        response["id"] = base
    return {"functionResponse": response}


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    if not parts:
        return
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _generation_config(request: chat_pb2.ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if request.HasField("temperature"):
        config["temperature"] = request.temperature
    if request.HasField("top_p"):
        config["topP"] = request.top_p
    if request.HasField("max_completion_tokens"):
        config["maxOutputTokens"] = request.max_completion_tokens
    elif request.HasField("max_tokens"):
        config["maxOutputTokens"] = request.max_tokens
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if request.HasField("n"):
        config["candidateCount"] = request.n
    if request.HasField("seed"):
        config["seed"] = request.seed
    if request.HasField("presence_penalty"):
        config["presencePenalty"] = request.presence_penalty
    if request.HasField("frequency_penalty"):
        config["frequencyPenalty"] = request.frequency_penalty
    kind = request.response_format.type
    if kind in (chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT, chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA):
        config["responseMimeType"] = "application/json"
    if kind == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA and request.response_format.json_schema.schema.fields:
        config["responseJsonSchema"] = struct_to_dict(request.response_format.json_schema.schema)
    return config


def _tools(request: chat_pb2.ChatRequest) -> dict[str, Any]:
    declarations: list[dict[str, Any]] = []
    for tool in request.tools:
        function = tool.function
        declaration: dict[str, Any] = {"name": function.name}
        if function.description:
            declaration["description"] = function.description
        if function.parameters.fields:
            # parametersJsonSchema takes JSON Schema as clients write it; `parameters` rejects its common keys.
            declaration["parametersJsonSchema"] = struct_to_dict(function.parameters)
        declarations.append(declaration)
    if not declarations:
        return {}
    body: dict[str, Any] = {"tools": [{"functionDeclarations": declarations}]}
    choice = request.tool_choice
    which = choice.WhichOneof("choice")
    config: dict[str, Any] | None = None
    if which == "function_name":
        config = {"mode": "ANY", "allowedFunctionNames": [choice.function_name]}
    elif which == "mode" and choice.mode != chat_pb2.TOOL_CHOICE_MODE_UNSPECIFIED:
        modes = {chat_pb2.TOOL_CHOICE_MODE_NONE: "NONE", chat_pb2.TOOL_CHOICE_MODE_REQUIRED: "ANY"}
        config = {"mode": modes.get(choice.mode, "AUTO")}
    if config is not None:
        body["toolConfig"] = {"functionCallingConfig": config}
    return body


def request_to_wire(request: chat_pb2.ChatRequest) -> dict[str, Any]:
    """Returns the generateContent body for a ChatRequest; raises SwitchyardError(INVALID_REQUEST)."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    calls: dict[str, str] = {}
    for i, message in enumerate(request.messages):
        role = message.role
        if role in (Role.ROLE_SYSTEM, Role.ROLE_DEVELOPER):
            text = _text_of(message)
            if text:
                system.append({"text": text})
        elif role == Role.ROLE_USER:
            _append(contents, "user", _user_parts(message, i))
        elif role == Role.ROLE_ASSISTANT:
            _append(contents, "model", _model_parts(message, i, calls))
        elif role in (Role.ROLE_TOOL, Role.ROLE_FUNCTION):
            _append(contents, "user", [_function_response(message, i, calls)])
        else:
            raise _invalid(f"messages[{i}].role", f"messages[{i}] has no role Gemini understands.")
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    config = _generation_config(request)
    if config:
        body["generationConfig"] = config
    body.update(_tools(request))
    return body


# ---------------------------------------------------------------- reply side


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
    if reason == "MAX_TOKENS":
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
        reason = candidate.get("finishReason") or "STOP"
        completion.choices.add(
            index=_need(candidate.get("index", position), int, f"{where}.index"),
            message=message,
            finish_reason=finish_from_wire(reason, bool(parts.calls)),
        )
    if raw.get("usageMetadata") is not None:
        completion.usage.CopyFrom(usage_from_wire(raw["usageMetadata"]))
    return completion
