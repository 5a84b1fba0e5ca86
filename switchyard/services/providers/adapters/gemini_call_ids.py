"""Tool call ids for Gemini function calls, which rarely carry an id of their own.

Ids are synthesized as `call_<random>`, and a Gemini 3 `thoughtSignature` rides inside the id after
`SIGNATURE_MARK` (clients echo ids unchanged), to be put back on the `functionCall` part of the
follow-up request. Ids starting with `call_` are ours (or OpenAI's) and are not sent upstream.
"""

from __future__ import annotations

import secrets
from typing import Any

CALL_ID_PREFIX = "call_"
SIGNATURE_MARK = "~ts~"


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


def is_ours(base: str) -> bool:
    """Returns whether an id (its signature split off) was made here or by OpenAI, so Gemini never saw it."""
    return base.startswith(CALL_ID_PREFIX)
