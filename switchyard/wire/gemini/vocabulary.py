"""The Gemini generateContent vocabulary: versions, methods, roles, finish reasons, modes, request and error words.

Said once for the Gemini adapter and the fake Gemini server (wire-formats §5). Field names are
lowerCamelCase, as the REST API writes them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson

# The API versions a client may address; the first is the default (tools and systemInstruction are fullest there).
API_VERSIONS = ("v1beta", "v1")
API_KEY_HEADER = "x-goog-api-key"
GENERATE = "generateContent"
STREAM_GENERATE = "streamGenerateContent"
# The embeddings methods: one text, or several in one call (what google-genai's embed_content calls).
EMBED = "embedContent"
BATCH_EMBED = "batchEmbedContents"

USER = "user"
MODEL = "model"
# The roles of `contents`; systemInstruction's role is ignored (the SDK sends "user").
ROLES = frozenset({USER, MODEL})


class FinishReason(StrEnum):
    """Why a candidate ended, in Gemini's words; a turn that calls functions ends with STOP."""

    STOP = "STOP"
    MAX_TOKENS = "MAX_TOKENS"
    SAFETY = "SAFETY"
    RECITATION = "RECITATION"
    LANGUAGE = "LANGUAGE"
    BLOCKLIST = "BLOCKLIST"
    PROHIBITED_CONTENT = "PROHIBITED_CONTENT"
    SPII = "SPII"
    IMAGE_SAFETY = "IMAGE_SAFETY"
    IMAGE_PROHIBITED_CONTENT = "IMAGE_PROHIBITED_CONTENT"
    IMAGE_RECITATION = "IMAGE_RECITATION"
    MALFORMED_FUNCTION_CALL = "MALFORMED_FUNCTION_CALL"
    OTHER = "OTHER"


# The finish reasons that mean the output was filtered.
FILTERED = frozenset(
    {
        FinishReason.SAFETY,
        FinishReason.RECITATION,
        FinishReason.LANGUAGE,
        FinishReason.BLOCKLIST,
        FinishReason.PROHIBITED_CONTENT,
        FinishReason.SPII,
        FinishReason.IMAGE_SAFETY,
        FinishReason.IMAGE_PROHIBITED_CONTENT,
        FinishReason.IMAGE_RECITATION,
    }
)


class Mode(StrEnum):
    """`toolConfig.functionCallingConfig.mode`: whether the model may, must or must not call functions."""

    AUTO = "AUTO"
    ANY = "ANY"
    NONE = "NONE"
    VALIDATED = "VALIDATED"
    MODE_UNSPECIFIED = "MODE_UNSPECIFIED"


# ---------------------------------------------------------------- request fields

BODY_KEYS = frozenset(
    {
        "contents", "systemInstruction", "tools", "toolConfig", "safetySettings", "generationConfig",
        "cachedContent", "labels", "model",
    }
)  # fmt: skip
# A part holds exactly one of these data fields, and any of the extras.
PART_KINDS = frozenset(
    {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"}
)
PART_EXTRAS = frozenset({"thought", "thoughtSignature", "videoMetadata", "mediaResolution", "partMetadata"})
# JSON Schema keys that `parameters` (the OpenAPI-subset Schema) rejects; only `parametersJsonSchema` takes them.
SCHEMA_KEYS_REJECTED = frozenset({"additionalProperties", "$schema", "$defs", "const", "title", "default", "examples"})

# ---------------------------------------------------------------- streams


def event(payload: dict[str, Any]) -> bytes:
    """Returns one `alt=sse` stream event: `data: ` (with the space the SDK requires), the JSON, CRLF CRLF."""
    return b"data: " + orjson.dumps(payload) + b"\r\n\r\n"


# ---------------------------------------------------------------- errors

# The RPC `status` of a Google error body, per HTTP status.
RPC_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# `details[]` entries are typed by `@type`: this prefix, then one of the google.rpc names below.
TYPE_URL_PREFIX = "type.googleapis.com/"
ERROR_INFO = "google.rpc.ErrorInfo"
QUOTA_FAILURE = "google.rpc.QuotaFailure"
RETRY_INFO = "google.rpc.RetryInfo"
HELP = "google.rpc.Help"
LOCALIZED_MESSAGE = "google.rpc.LocalizedMessage"
# The ErrorInfo reason of a wrong key, which Google answers with 400, not 401.
API_KEY_INVALID = "API_KEY_INVALID"
