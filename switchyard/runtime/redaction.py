"""Credential-shaped text removed from what an upstream said, before it reaches a client, log or span.

Providers echo keys in their errors, often masked in part ("Incorrect API key provided:
sk-proj-AbC1****wxYz", "AIzaSy...q1w2"); even a masked echo gives away a key's prefix and tail.
Each match becomes "***": OpenAI and Anthropic keys (`sk-…`, `sk-ant-…`), Google API keys (`AIza…`),
whole or cut, a masked key's visible tail (`****wxYz`), `Bearer` credentials and any long token.
"""

from __future__ import annotations

import re

MASK = "***"
_KEY_SHAPED = re.compile(
    r"""
    \bsk-[\w*.…•-]*              # sk-..., sk-proj-..., sk-ant-api03-...: whole, cut or masked
    | \bAIza[\w*.…•-]*           # Google API keys
    | \bBearer\s+\S+             # an Authorization value
    | [*•…]{3,}[\w-]*            # the visible tail of a masked key
    | \b[A-Za-z0-9_\-]{32,}\b    # any other long token
    """,
    re.VERBOSE,
)


def redact_secrets(text: str) -> str:
    """Returns text with everything shaped like a credential replaced by "***"."""
    return _KEY_SHAPED.sub(MASK, text)
