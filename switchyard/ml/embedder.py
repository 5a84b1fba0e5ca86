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

import bisect
import functools
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding, Tokenizer

from switchyard.common.v1 import chat_pb2
from switchyard.ml.artifacts import PACKAGE, version

TABLE = "embedder.npz"
TOKENIZER = "embedder.tokenizer.json"
# Texts are cut to this many characters before tokenizing: the embedding of a long text is the mean
# over its pieces, and the first few thousand characters say what it is about; a multi-megabyte prompt
# is not tokenized in full.
MAX_CHARS = 4096
# The last few texts tokenized are remembered with their word pieces: the classifier's guard reads a
# turn and its category and complexity models the head of the same turn, whose pieces are derived
# from the turn's instead of tokenizing it again.
_REMEMBERED_ENCODINGS = 4
# How many distinct words' pieces the ASCII path remembers (a few MiB at most).
_REMEMBERED_WORDS = 1 << 15
# The tokenizer's pre-tokenizer on lower-cased ASCII text: BERT splits at whitespace and makes every
# punctuation character (for ASCII, every printable character that is not a letter or digit) a word.
_ASCII_WORD = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")
# Characters BERT's normaliser drops or rewrites (controls other than tab and line breaks).
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")

Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class _Encoded:
    """A tokenized text and its word pieces (with each one's character span and word number)."""

    text: str
    encoding: Encoding

    def head_ids(self, chars: int, tokenizer: Tokenizer) -> list[int]:
        """Returns the word-piece ids the tokenizer gives text[:chars], derived from the whole text's.

        Words are tokenized one by one, so the pieces of text[:chars] are those of the words that end
        by `chars`, then those of the word cut at `chars` (if any) tokenized on their own: the pieces
        the whole word has are not the pieces its head has.
        """
        ids = self.ids
        if chars >= len(self.text):
            return list(ids)
        offsets = self.offsets
        inside = bisect.bisect_left(offsets, chars, key=lambda span: span[0])
        if inside == 0 or offsets[inside - 1][1] <= chars:
            return list(ids[:inside])
        words = self.words
        first = inside - 1
        while first > 0 and words[first - 1] == words[inside - 1]:
            first -= 1
        cut = tokenizer.encode(self.text[offsets[first][0] : chars], add_special_tokens=False)
        return [*ids[:first], *cut.ids]

    # The encoding's lists are built anew on each access: read once, when a head is first asked for.
    @functools.cached_property
    def ids(self) -> list[int]:
        """Returns the word-piece ids."""
        return self.encoding.ids

    @functools.cached_property
    def offsets(self) -> list[tuple[int, int]]:
        """Returns each word piece's character span."""
        return self.encoding.offsets

    @functools.cached_property
    def words(self) -> list[int | None]:
        """Returns each word piece's word number."""
        return self.encoding.word_ids


@dataclass(frozen=True)
class _AsciiText:
    """A lower-cased ASCII text, its words, its word pieces, and the number of pieces up to each word's end."""

    text: str
    words: list[str]
    ids: tuple[int, ...]
    ends: list[int]

    def head_words(self, chars: int) -> tuple[tuple[int, ...], str]:
        """Returns the pieces of the words of text[:chars] that are words of text too, and the start of the
        word cut at chars ("" when none is).

        The words of a text are those of its head then those of the rest, except for a word the cut splits
        in two: the words wholly in the head are as many as the text has less those of the rest.
        """
        rest = _ASCII_WORD.findall(self.text[chars:])
        whole = len(self.words) - len(rest)
        pieces = self.ids[: self.ends[whole - 1]] if whole else ()
        split = bool(rest) and self.text[chars - 1] in _ALNUM and self.text[chars] in _ALNUM
        return pieces, self.words[whole][: -len(rest[0])] if split else ""


class _AsciiPieces:
    """The tokenizer's word pieces of plain ASCII text, a word at a time, remembering each word's.

    BERT's uncased tokenizer lower-cases, splits at whitespace and punctuation, then cuts each word
    into pieces on its own: for ASCII text without control characters or special tokens, the
    pieces of a text are those of its words, and the words of a request recur. A remembered word
    costs a dictionary read, where the tokenizer costs tens of microseconds a call and builds
    offsets nobody reads here. Anything else goes to the tokenizer whole.

    The last text's words are remembered too: the pieces of its head (the classifier's guard reads a
    turn, its category and complexity models the turn's first characters) are the text's first ones.
    """

    def __init__(self, tokenizer: Tokenizer, unknown: int, specials: Sequence[str]) -> None:
        self._tokenizer = tokenizer
        self._unknown = unknown
        self._specials = tuple(specials)
        self.word = functools.lru_cache(maxsize=_REMEMBERED_WORDS)(self._word)
        self._last: _AsciiText | None = None

    def ids(self, text: str) -> list[int] | None:
        """Returns the known pieces of text, or None when text needs the tokenizer itself."""
        if not text.isascii() or _ASCII_CONTROL.search(text):
            return None
        if "[" in text and any(special in text for special in self._specials):
            return None
        lowered = text.lower()
        last = self._last
        # A head is read from the text's remembered words when the rest is the shorter part to read.
        if last is not None and lowered and 2 * len(lowered) >= len(last.text) and last.text.startswith(lowered):
            if len(lowered) == len(last.text):
                return list(last.ids)
            pieces, cut = last.head_words(len(lowered))
            return [*pieces, *self.word(cut)] if cut else list(pieces)
        words = _ASCII_WORD.findall(lowered)
        ids: list[int] = []
        ends: list[int] = []
        for word in words:
            ids += self.word(word)
            ends.append(len(ids))
        self._last = _AsciiText(lowered, words, tuple(ids), ends)
        return ids

    def _word(self, word: str) -> tuple[int, ...]:
        pieces = self._tokenizer.encode(word, add_special_tokens=False).ids
        return tuple(piece for piece in pieces if piece != self._unknown)


@dataclass(frozen=True)
class StaticEmbedder:
    """The token table (int8 rows, a float scale each), its tokenizer and the artifact's version."""

    rows: npt.NDArray[np.int8]
    scales: Array
    tokenizer: Tokenizer
    unknown: int
    version: str
    ascii_pieces: _AsciiPieces
    recent: deque[_Encoded] = field(
        default_factory=lambda: deque(maxlen=_REMEMBERED_ENCODINGS), compare=False, repr=False
    )

    @classmethod
    def load(cls) -> StaticEmbedder:
        """Returns the packaged embedder (loaded once per process; read only, so shared safely)."""
        return _packaged()

    @property
    def dim(self) -> int:
        """Returns the embedding size."""
        return int(self.rows.shape[1])

    def ids(self, text: str, max_chars: int = MAX_CHARS) -> list[int]:
        """Returns the word-piece ids of text[:max_chars] the table has a row for (unknown pieces dropped)."""
        head = text[:max_chars]
        pieces = self.ascii_pieces.ids(head)
        if pieces is not None:
            return pieces
        for earlier in tuple(self.recent):
            if earlier.text.startswith(head):
                return [i for i in earlier.head_ids(len(head), self.tokenizer) if i != self.unknown]
        encoded = _Encoded(head, self.tokenizer.encode(head, add_special_tokens=False))
        self.recent.append(encoded)
        return [i for i in encoded.ids if i != self.unknown]

    def token_rows(self, text: str, max_chars: int = MAX_CHARS) -> Array:
        """Returns the scaled table row of each known word piece of text[:max_chars], in order (pieces by
        dim): the mean of any run of them, normalised, is that run's embedding."""
        index = np.array(self.ids(text, max_chars), dtype=np.intp)
        # The int8 rows are scaled into float32 in one pass, without a float copy of them first.
        rows: Array = np.multiply(self.rows[index], self.scales[index, None], dtype=np.float32)
        return rows

    def embed_one(self, text: str) -> Array:
        """Returns the unit-length embedding of text (all zeros for text without a known word piece)."""
        ids = self.ids(text)
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        # The scale-weighted sum of the rows in one product: the mean's direction, without a float copy
        # of every row first (normalising removes the 1/n).
        index = np.array(ids, dtype=np.intp)
        vector: Array = self.scales[index] @ self.rows[index]
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
    found = tokenizer.token_to_id("[UNK]")
    unknown = -1 if found is None else found
    specials = [token.content for token in tokenizer.get_added_tokens_decoder().values()]
    pieces = _AsciiPieces(tokenizer, unknown, specials)
    return StaticEmbedder(rows, scales, tokenizer, unknown, version(TABLE, TOKENIZER), pieces)


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
