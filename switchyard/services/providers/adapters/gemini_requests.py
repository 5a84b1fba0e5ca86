"""ChatRequest → the Gemini generateContent JSON body (wire-formats §6), as pure functions.

- system/developer messages become `systemInstruction`; assistant turns role `model`; tool results are
  `functionResponse` parts of a user turn, named from the tool_call_id → name map of earlier assistant
  turns, with non-object results wrapped as `{"result": ...}`; consecutive same-role turns are merged.
- Images: `data:` URIs become `inlineData`; http(s) and gs:// URLs become `fileData{fileUri}` and the
  upstream decides whether it can fetch them (it takes Files API and GCS URIs, and some public URLs).
- Tool call ids and the thoughtSignature they carry are decoded by `gemini_call_ids`.
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any

import orjson

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.providers.adapters.gemini_call_ids import is_ours, split_call_id
from switchyard.wire.gemini.vocabulary import MODEL, USER, Mode
from switchyard.wire.values import struct_to_dict

R = errors_pb2.ErrorReason
Role = chat_pb2.Role

_DATA_URI = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[^;,]*)*;base64,(?P<data>.*)", re.DOTALL)
_AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mp3", "flac": "audio/flac", "ogg": "audio/ogg"}
# Our tool-choice modes as Gemini's function-calling modes (a named function is ANY + allowedFunctionNames).
_MODES = {chat_pb2.TOOL_CHOICE_MODE_NONE: Mode.NONE, chat_pb2.TOOL_CHOICE_MODE_REQUIRED: Mode.ANY}


def _invalid(param: str, message: str) -> SwitchyardError:
    return SwitchyardError(R.ERROR_REASON_INVALID_REQUEST, message, param=param)


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
        if base and not is_ours(base):
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
    if base and not is_ours(base):
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
        config = {"mode": Mode.ANY, "allowedFunctionNames": [choice.function_name]}
    elif which == "mode" and choice.mode != chat_pb2.TOOL_CHOICE_MODE_UNSPECIFIED:
        config = {"mode": _MODES.get(choice.mode, Mode.AUTO)}
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
            _append(contents, USER, _user_parts(message, i))
        elif role == Role.ROLE_ASSISTANT:
            _append(contents, MODEL, _model_parts(message, i, calls))
        elif role in (Role.ROLE_TOOL, Role.ROLE_FUNCTION):
            _append(contents, USER, [_function_response(message, i, calls)])
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
