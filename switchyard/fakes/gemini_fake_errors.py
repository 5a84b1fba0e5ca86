"""The Google error bodies the fake Gemini server answers with, whole or written into a stream.

`{"error": {code, message, status, details}}` as the live API sends it: a 429 carries QuotaFailure and
RetryInfo, a bad key an ErrorInfo with API_KEY_INVALID, and a mid-stream failure is bare JSON.
"""

from __future__ import annotations

from typing import Any

import orjson

from switchyard.wire.gemini.vocabulary import (
    API_KEY_INVALID,
    ERROR_INFO,
    HELP,
    LOCALIZED_MESSAGE,
    QUOTA_FAILURE,
    RETRY_INFO,
    RPC_STATUS,
    TYPE_URL_PREFIX,
)

# The fake's message for each status; the RPC status is Google's (`RPC_STATUS`).
_MESSAGES = {
    400: "Request contains an invalid argument.",
    403: "Method doesn't allow unregistered callers. Please use an API key.",
    404: "models/{model} is not found for API version {version}, or is not supported.",
    429: "You exceeded your current quota, please check your plan and billing details.",
    500: "An internal error has occurred. Please retry or report.",
    503: "The model is overloaded. Please try again later.",
    504: "The request timed out. Please try again.",
}


def error_object(status: int, message: str | None = None, retry_delay: str = "1s", **names: str) -> dict[str, Any]:
    """Returns a Google error body; 429 carries QuotaFailure + RetryInfo, `api_key_invalid` an ErrorInfo."""
    rpc, default = RPC_STATUS.get(status, "UNKNOWN"), _MESSAGES.get(status, "Unknown error.")
    text = message or default.format(model=names.get("model", "?"), version=names.get("version", "v1beta"))
    details: list[dict[str, Any]] = []
    if names.get("api_key_invalid"):
        rpc, text = RPC_STATUS[400], "API key not valid. Please pass a valid API key."
        details = [
            {
                "@type": TYPE_URL_PREFIX + ERROR_INFO,
                "reason": API_KEY_INVALID,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {"@type": TYPE_URL_PREFIX + LOCALIZED_MESSAGE, "locale": "en-US", "message": text},
        ]
    elif status == 429:
        violation = {
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": names.get("quota_id", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
            "quotaDimensions": {"location": "global", "model": names.get("model", "?")},
            "quotaValue": "10",
        }
        details = [
            {"@type": TYPE_URL_PREFIX + QUOTA_FAILURE, "violations": [violation]},
            {
                "@type": TYPE_URL_PREFIX + HELP,
                "links": [{"description": "Learn more", "url": "https://ai.google.dev/"}],
            },
            {"@type": TYPE_URL_PREFIX + RETRY_INFO, "retryDelay": retry_delay},
        ]
    error: dict[str, Any] = {"code": status, "message": text, "status": rpc}
    if details:
        error["details"] = details
    return {"error": error}


def error_body(status: int, message: str | None = None, retry_delay: str = "1s", **names: str) -> bytes:
    """Returns a Google error body as bytes; see error_object."""
    return orjson.dumps(error_object(status, message, retry_delay, **names))


def stream_error(status: int = 503) -> bytes:
    """Returns the bare, pretty-printed JSON error the live API writes into a failing stream."""
    return orjson.dumps(error_object(status), option=orjson.OPT_INDENT_2) + b"\n"
