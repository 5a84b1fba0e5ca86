"""What the fake Gemini server says: request checks, deterministic replies and stream events.

Pure functions over plain JSON values. Replies mirror the fake OpenAI's ("Switchyard fake reply to:
<first 40 chars of the last user text>", ⌈chars / 4⌉ tokens per text); a functionCall comes back when
tools are declared and the last user text says "call <tool>", the mode is ANY, or a call is scripted.
Checks follow the live API where it is stricter than its SDK: roles only user/model,
`functionResponse.response` must be an object, and `parameters` (the OpenAPI-subset Schema) rejects
JSON Schema keys that only `parametersJsonSchema` accepts. Error bodies are in `gemini_fake_errors`;
Gemini's words (roles, modes, finish reasons, field names) come from `switchyard.wire.gemini.vocabulary`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.fakes.common import REPLY_PREFIX, count_tokens, split_text
from switchyard.wire.gemini.vocabulary import (
    BODY_KEYS,
    MODEL,
    PART_EXTRAS,
    PART_KINDS,
    ROLES,
    SCHEMA_KEYS_REJECTED,
    USER,
    FinishReason,
    Mode,
    event,
)

_NUMBERS = {"temperature": (0.0, 2.0), "topP": (0.0, 1.0), "candidateCount": (1, 8), "maxOutputTokens": (1, 2**31)}


class InvalidRequest(ValueError):
    """A request the live API would answer with 400 INVALID_ARGUMENT."""


def _unknown(name: str, where: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field.")


def _check_schema(schema: Any, where: str) -> None:
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            _check_schema(item, f"{where}[{i}]")
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key in SCHEMA_KEYS_REJECTED:
            raise _unknown(key, where)
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            for name, sub in value.items():
                _check_schema(sub, f"{where}.properties[{name}]")
        elif key in ("items", "anyOf"):
            _check_schema(value, f"{where}.{key}")


def _check_part(part: Any, where: str, role: str) -> None:
    if not isinstance(part, dict):
        raise InvalidRequest(f"Invalid value at '{where}': expected an object.")
    kinds = [k for k in part if k in PART_KINDS]
    for key in part:
        if key not in PART_KINDS and key not in PART_EXTRAS:
            raise _unknown(key, where)
    if len(kinds) != 1:
        raise InvalidRequest(f"* {where}: a part must have exactly one data field, got {sorted(kinds)}")
    kind = kinds[0]
    value = part[kind]
    if kind == "text" and not isinstance(value, str):
        raise InvalidRequest(f"Invalid value at '{where}.text': expected a string.")
    if kind == "inlineData":
        if not isinstance(value, dict) or not isinstance(value.get("mimeType"), str):
            raise InvalidRequest(f"* {where}.inline_data.mime_type: required field is not set")
        try:
            base64.b64decode(str(value.get("data", "")), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"Invalid value at '{where}.inline_data.data': invalid base64.") from None
    if kind == "fileData" and not (isinstance(value, dict) and isinstance(value.get("fileUri"), str)):
        raise InvalidRequest(f"* {where}.file_data.file_uri: required field is not set")
    if kind == "functionCall":
        if role != MODEL:
            raise InvalidRequest(f"* {where}: functionCall parts belong to model turns")
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            raise InvalidRequest(f"* {where}.function_call.name: required field is not set")
        if not isinstance(value.get("args", {}), dict):
            raise InvalidRequest(
                f"Invalid value at '{where}.function_call.args' (type.googleapis.com/google.protobuf.Struct)"
            )
    if kind == "functionResponse":
        if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
            raise InvalidRequest(f"* {where}.function_response.name: Name cannot be empty.")
        if not isinstance(value.get("response"), dict):
            raise InvalidRequest(
                f"Invalid value at '{where}.function_response.response' (type.googleapis.com/google.protobuf.Struct)"
            )


def _check_content(content: Any, where: str, roles: frozenset[str]) -> None:
    if not isinstance(content, dict):
        raise InvalidRequest(f"Invalid value at '{where}': expected an object.")
    for key in content:
        if key not in ("role", "parts"):
            raise _unknown(key, where)
    role = content.get("role", USER)
    if role not in roles:
        raise InvalidRequest(f"Please use a valid role: {', '.join(sorted(roles))}.")
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        raise InvalidRequest(f"* {where}.parts: contents.parts must not be empty.")
    for i, part in enumerate(parts):
        _check_part(part, f"{where}.parts[{i}]", role)


def _check_config(config: Any) -> None:
    if not isinstance(config, dict):
        raise InvalidRequest("Invalid value at 'generation_config': expected an object.")
    for key, (low, high) in _NUMBERS.items():
        value = config.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise InvalidRequest(f"* GenerateContentRequest.generation_config.{key}: must be in [{low}, {high}]")
    stops = config.get("stopSequences")
    if stops is not None and not (
        isinstance(stops, list) and len(stops) <= 5 and all(isinstance(s, str) for s in stops)
    ):
        raise InvalidRequest("* GenerateContentRequest.generation_config.stop_sequences: at most 5 strings")
    if config.get("responseJsonSchema") is not None and config.get("responseSchema") is not None:
        raise InvalidRequest("responseSchema and responseJsonSchema cannot both be set.")


def _check_tools(tools: Any, tool_config: Any) -> None:
    if not isinstance(tools, list):
        raise InvalidRequest("Invalid value at 'tools': expected an array.")
    for t, tool in enumerate(tools):
        for d, decl in enumerate((tool or {}).get("functionDeclarations") or []):
            where = f"tools[{t}].function_declarations[{d}]"
            if not isinstance(decl, dict) or not isinstance(decl.get("name"), str) or not decl["name"]:
                raise InvalidRequest(f"* GenerateContentRequest.{where}.name: Name cannot be empty.")
            if decl.get("parameters") is not None and decl.get("parametersJsonSchema") is not None:
                raise InvalidRequest(f"* {where}: parameters and parameters_json_schema cannot both be set.")
            _check_schema(decl.get("parameters"), f"{where}.parameters")
    mode = ((tool_config or {}).get("functionCallingConfig") or {}).get("mode", Mode.AUTO)
    if mode not in set(Mode):
        raise InvalidRequest(f"Invalid value at 'tool_config.function_calling_config.mode', \"{mode}\"")


# Values that are free-form JSON (or schemas with user-chosen names), left as sent by normalize().
_OPAQUE = frozenset({"args", "response", "parameters", "parametersJsonSchema", "responseSchema", "responseJsonSchema"})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def normalize(value: Any) -> Any:
    """Returns a request with snake_case field names turned lowerCamelCase, as the live API reads both."""
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        name = _camel(key) if isinstance(key, str) else key
        out[name] = item if name in _OPAQUE else normalize(item)
    return out


def check_request(body: Any) -> dict[str, Any]:
    """Returns the body when the live API would accept it, else raises InvalidRequest."""
    if not isinstance(body, dict):
        raise InvalidRequest("Invalid JSON payload received. Expected an object.")
    for key in body:
        if key not in BODY_KEYS:
            raise _unknown(key, "")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise InvalidRequest("* GenerateContentRequest.contents: contents is not specified")
    for i, content in enumerate(contents):
        _check_content(content, f"contents[{i}]", ROLES)
    system = body.get("systemInstruction")
    if system is not None:
        # The role of systemInstruction is ignored; the SDK sends "user".
        _check_content(system, "system_instruction", ROLES | {"system"})
    if body.get("generationConfig") is not None:
        _check_config(body["generationConfig"])
    if body.get("tools") is not None:
        _check_tools(body["tools"], body.get("toolConfig"))
    return body


# ---------------------------------------------------------------- the reply


@dataclass
class Reply:
    """What every candidate of the reply says: text or function calls, and why it finished."""

    text: str | None
    calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: FinishReason = FinishReason.STOP
    prompt_tokens: int = 0
    candidate_tokens: int = 0


def _texts(content: dict[str, Any]) -> list[str]:
    out = []
    for part in content.get("parts") or ():
        if "text" in part:
            out.append(part["text"])
        elif "functionResponse" in part:
            out.append("tool result " + orjson.dumps(part["functionResponse"].get("response")).decode())
    return out


def _fill(schema: Any, name: str, depth: int = 0) -> Any:
    """Returns a deterministic value that fits a (simple) JSON or OpenAPI-subset schema."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    kind = kind.lower() if isinstance(kind, str) else kind
    if isinstance(schema, dict) and (kind == "object" or "properties" in schema):
        props = schema.get("properties") or {}
        return {k: _fill(v, k, depth + 1) for k, v in props.items()} if depth < 4 else {}
    if isinstance(schema, dict) and schema.get("enum"):
        return schema["enum"][0]
    return {"integer": 1, "number": 1.5, "boolean": True, "array": []}.get(
        kind if isinstance(kind, str) else "", f"{name}-value"
    )


def _call_names(body: dict[str, Any], last_user: str, forced: str | None) -> list[str]:
    decls = {d["name"]: d for t in body.get("tools") or () for d in t.get("functionDeclarations") or ()}
    if not decls:
        return []
    config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode, allowed = config.get("mode", Mode.AUTO), config.get("allowedFunctionNames") or []
    if forced:
        return [forced] if forced in decls else [next(iter(decls))]
    if mode == Mode.NONE:
        return []
    asked = sorted((last_user.find(f"call {n}"), n) for n in decls if f"call {n}" in last_user)
    names = [n for _, n in asked if not allowed or n in allowed]
    if names:
        return names
    return [allowed[0] if allowed else next(iter(decls))] if mode == Mode.ANY else []


def plan_reply(body: dict[str, Any], tool_call: str | None = None) -> Reply:
    """Returns the deterministic reply to a checked request body."""
    contents = body["contents"]
    system = body.get("systemInstruction")
    texts = [t for c in ([system] if system else []) + contents for t in _texts(c)]
    prompt_tokens = sum(count_tokens(t) for t in texts) + 3 * len(contents)
    last = contents[-1]
    last_texts = _texts(last)
    # Gemini merges a tool result and the user's next words into one turn; like the other fakes,
    # answer the words when there are any.
    spoken = [part["text"] for part in last.get("parts") or () if "text" in part]
    last_user = " ".join(spoken or last_texts) if last.get("role", USER) == USER else ""
    from_tool = any("functionResponse" in p for p in last.get("parts") or ())
    names = [] if from_tool else _call_names(body, last_user, tool_call)
    if names:
        decls = {d["name"]: d for t in body.get("tools") or () for d in t.get("functionDeclarations") or ()}
        calls = []
        for name in names:
            decl = decls.get(name, {})
            schema = decl.get("parametersJsonSchema") or decl.get("parameters") or {}
            args = _fill(schema, name)
            calls.append({"name": name, "args": args if isinstance(args, dict) else {}})
        used = sum(count_tokens(orjson.dumps(c["args"]).decode()) for c in calls)
        return Reply(None, calls, FinishReason.STOP, prompt_tokens, used)
    text = REPLY_PREFIX + (last_user or " ".join(last_texts))[:40]
    config = body.get("generationConfig") or {}
    if config.get("responseMimeType") == "application/json":
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        text = orjson.dumps(_fill(schema, "reply") if schema else {"reply": text}).decode()
    finish = FinishReason.STOP
    for stop in config.get("stopSequences") or ():
        if stop and stop in text:
            text = text[: text.index(stop)]
    limit = config.get("maxOutputTokens")
    if isinstance(limit, int) and count_tokens(text) > limit:
        text, finish = text[: limit * 4], FinishReason.MAX_TOKENS
    return Reply(text, [], finish, prompt_tokens, count_tokens(text))


def usage(reply: Reply, n: int, thoughts: int = 0) -> dict[str, Any]:
    """Returns the usageMetadata of a reply with n candidates."""
    candidates = reply.candidate_tokens * n
    meta: dict[str, Any] = {
        "promptTokenCount": reply.prompt_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": reply.prompt_tokens + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": reply.prompt_tokens}],
    }
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    return meta


def _parts(reply: Reply, text: str | None) -> list[dict[str, Any]]:
    if reply.calls:
        return [{"functionCall": dict(c)} for c in reply.calls]
    return [{"text": text if text is not None else reply.text or ""}]


def response(reply: Reply, n: int, model: str, response_id: str, thoughts: int = 0) -> dict[str, Any]:
    """Returns the whole GenerateContentResponse for a reply."""
    candidates = [
        {"content": {"role": MODEL, "parts": _parts(reply, None)}, "finishReason": reply.finish_reason, "index": i}
        for i in range(n)
    ]
    return {
        "candidates": candidates,
        "usageMetadata": usage(reply, n, thoughts),
        "modelVersion": model,
        "responseId": response_id,
    }


def stream_events(reply: Reply, n: int, model: str, response_id: str, pieces: int, *, thoughts: int = 0) -> list[bytes]:
    """Returns the `data:` events of a whole stream in order: text pieces, or the calls, then the finish."""
    head = {"modelVersion": model, "responseId": response_id}
    meta = usage(reply, n, thoughts)
    events: list[dict[str, Any]] = []
    steps: list[str | None] = [None] if reply.calls else list(split_text(reply.text or "", pieces)) or [""]
    for i, step in enumerate(steps):
        last = i == len(steps) - 1 and not reply.calls
        candidates = []
        for index in range(n):
            candidate: dict[str, Any] = {"content": {"role": MODEL, "parts": _parts(reply, step)}, "index": index}
            if last:
                candidate["finishReason"] = reply.finish_reason
            candidates.append(candidate)
        events.append({"candidates": candidates, "usageMetadata": meta, **head})
    if reply.calls:
        # The live API often sends the finish of a function-call turn in a content-less chunk (pitfall 1).
        finish = [{"finishReason": reply.finish_reason, "index": index} for index in range(n)]
        events.append({"candidates": finish, "usageMetadata": meta, **head})
    return [event(e) for e in events]


def blocked(reply: Reply, model: str, response_id: str) -> dict[str, Any]:
    """Returns the HTTP 200 answer to a blocked prompt: promptFeedback and no candidates."""
    ratings = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]
    return {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": ratings},
        "usageMetadata": {"promptTokenCount": reply.prompt_tokens, "totalTokenCount": reply.prompt_tokens},
        "modelVersion": model,
        "responseId": response_id,
    }


def safety_stop(reply: Reply, n: int, model: str, response_id: str) -> dict[str, Any]:
    """Returns a reply whose candidates stopped for SAFETY, without content."""
    ratings = [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": True}]
    candidates = [{"finishReason": FinishReason.SAFETY, "index": i, "safetyRatings": ratings} for i in range(n)]
    meta = {"promptTokenCount": reply.prompt_tokens, "totalTokenCount": reply.prompt_tokens}
    return {"candidates": candidates, "usageMetadata": meta, "modelVersion": model, "responseId": response_id}
