"""Sentence embeddings from a static token table: a few tens of microseconds per query, numpy only.

The table is distilled from all-MiniLM-L6-v2 by `python -m training.embedder` (model2vec: each
word piece's output embedding from the transformer, reduced by PCA and weighted by how rare the piece
is), so a sentence embedding is the mean of its word pieces' rows, L2-normalised. It is one shared
piece of the system: the cache compares requests with it and the classifier's models read it as
features. The artifact ships in the package (`artifacts/embedder.npz` with its tokenizer), so a
plain `pip install` has it; rows are stored as int8 with a scale per row.

What a static embedding cannot see is word order ("dog bites man" and "man bites dog" embed alike):
the semantic cache's near-miss guard, trained on these embeddings, is what keeps such pairs apart.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from switchyard.common.v1 import chat_pb2
from switchyard.ml.artifacts import PACKAGE, version

TABLE = "embedder.npz"
TOKENIZER = "embedder.tokenizer.json"
# Texts are cut to this many characters before tokenizing: the embedding of a long text is the mean
# over its pieces, and the first few thousand characters say what it is about; a multi-megabyte prompt
# is not tokenized in full.
MAX_CHARS = 4096

Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class StaticEmbedder:
    """The token table (int8 rows, a float scale each), its tokenizer and the artifact's version."""

    rows: npt.NDArray[np.int8]
    scales: Array
    tokenizer: Tokenizer
    unknown: int
    version: str

    @classmethod
    def load(cls) -> StaticEmbedder:
        """Returns the packaged embedder (loaded once per process; read only, so shared safely)."""
        return _packaged()

    @property
    def dim(self) -> int:
        """Returns the embedding size."""
        return int(self.rows.shape[1])

    def ids(self, text: str) -> list[int]:
        """Returns the word-piece ids of text the table has a row for (unknown pieces dropped)."""
        encoded = self.tokenizer.encode(text[:MAX_CHARS], add_special_tokens=False)
        return [i for i in encoded.ids if i != self.unknown]

    def token_rows(self, text: str, max_chars: int = MAX_CHARS) -> Array:
        """Returns the scaled table row of each known word piece of text[:max_chars], in order (pieces by
        dim): the mean of any run of them, normalised, is that run's embedding."""
        encoded = self.tokenizer.encode(text[:max_chars], add_special_tokens=False)
        ids = [i for i in encoded.ids if i != self.unknown]
        rows = self.rows[ids].astype(np.float32)
        rows *= self.scales[ids, None]
        return rows

    def embed_one(self, text: str) -> Array:
        """Returns the unit-length embedding of text (all zeros for text without a known word piece)."""
        ids = self.ids(text)
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        # The scale-weighted sum of the rows in one product: the mean's direction, without a float copy
        # of every row first (normalising removes the 1/n).
        vector: Array = self.scales[ids] @ self.rows[ids]
        norm = float(np.sqrt(vector @ vector))
        return vector / np.float32(norm) if norm > 0 else vector

    def embed(self, texts: Sequence[str]) -> Array:
        """Returns one unit-length row per text."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for index, text in enumerate(texts):
            out[index] = self.embed_one(text)
        return out


@functools.cache
def _packaged() -> StaticEmbedder:
    root = resources.files(PACKAGE)
    with root.joinpath(TABLE).open("rb") as handle, np.load(handle) as data:
        rows, scales = data["rows"], data["scales"].astype(np.float32)
    tokenizer = Tokenizer.from_str(root.joinpath(TOKENIZER).read_text())
    tokenizer.no_padding()
    tokenizer.no_truncation()
    unknown = tokenizer.token_to_id("[UNK]")
    return StaticEmbedder(rows, scales, tokenizer, -1 if unknown is None else unknown, version(TABLE, TOKENIZER))


def embedding_text(request: chat_pb2.ChatRequest) -> str:
    """Returns the text a request's embedding is of: the last user turn's text parts joined by newlines."""
    for message in reversed(request.messages):
        if message.role != chat_pb2.ROLE_USER:
            continue
        kind = message.WhichOneof("content")
        if kind == "text":
            return message.text
        if kind == "parts":
            return "\n".join(p.text.text for p in message.parts.parts if p.WhichOneof("part") == "text")
        return ""
    return ""
