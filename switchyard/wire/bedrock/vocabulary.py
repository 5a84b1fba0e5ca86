"""The Bedrock Runtime vocabulary: paths, headers, stop reasons, stream events and exceptions.

Said once for the Bedrock adapter and the fake Bedrock server. Converse replies name why they stopped
in `stopReason` (mapped here to OpenAI's finish reasons and back); errors name an exception type in
the `x-amzn-ErrorType` header (or `__type` in the body) with a `{"message": ...}` body, and in a
stream an `:message-type: exception` message whose `:exception-type` is the type in lower camel case.
"""

from __future__ import annotations

from urllib.parse import quote

SERVICE = "bedrock"
DEFAULT_REGION = "us-east-1"
EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
ERROR_TYPE_HEADER = "x-amzn-errortype"
REQUEST_ID_HEADER = "x-amzn-requestid"

# Operations under /model/{modelId}/.
CONVERSE = "converse"
CONVERSE_STREAM = "converse-stream"
INVOKE = "invoke"
INVOKE_STREAM = "invoke-with-response-stream"
OPERATIONS = frozenset({CONVERSE, CONVERSE_STREAM, INVOKE, INVOKE_STREAM})

# Stream message headers and the ConverseStream event types, in the order a reply sends them.
EVENT_TYPE = ":event-type"
MESSAGE_TYPE = ":message-type"
EXCEPTION_TYPE = ":exception-type"
CONTENT_TYPE = ":content-type"
ERROR_CODE = ":error-code"
ERROR_MESSAGE = ":error-message"
MESSAGE_START = "messageStart"
BLOCK_START = "contentBlockStart"
BLOCK_DELTA = "contentBlockDelta"
BLOCK_STOP = "contentBlockStop"
MESSAGE_STOP = "messageStop"
METADATA = "metadata"
# InvokeModelWithResponseStream wraps each of the model's own events, base64-encoded, in a `chunk`.
CHUNK = "chunk"

# stopReason → OpenAI finish_reason.
FINISH: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
# OpenAI finish_reason → stopReason.
STOP_REASONS: dict[str, str] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "content_filter": "content_filtered",
}

# Exception types and the HTTP status Bedrock answers each with.
EXCEPTION_STATUS: dict[str, int] = {
    "ValidationException": 400,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "ExpiredTokenException": 403,
    "MissingAuthenticationTokenException": 403,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "ServiceQuotaExceededException": 429,
    "InternalServerException": 500,
    "ModelStreamErrorException": 424,
    "ServiceUnavailableException": 503,
}
# The exception the fake answers a scripted status with.
STATUS_EXCEPTION: dict[int, str] = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
}
UNAVAILABLE = "ServiceUnavailableException"


def exception_for(status: int) -> str:
    """Returns the exception type Bedrock names for an HTTP status."""
    return STATUS_EXCEPTION.get(status, UNAVAILABLE if status >= 500 else "ValidationException")


def exception_name(value: str) -> str:
    """Returns an exception type as the error header or a stream message gives it, in its canonical
    form: `ThrottlingException:http://internal.amazon.com/...` and `throttlingException` both give
    `ThrottlingException`."""
    name = value.split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return name[:1].upper() + name[1:]


def operation_path(model: str, operation: str) -> str:
    """Returns the path of an operation on a model, the model id escaped as botocore escapes it."""
    return f"/model/{quote(model, safe='')}/{operation}"
