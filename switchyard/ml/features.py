"""Hashed text features shared by the linear models, identical at training and inference time.

Word unigrams and bigrams (lower-cased) and character 3-grams of each word are hashed with CRC-32
(stable across processes, unlike `hash`) into `dims` buckets, weighted by log(1 + count) and
L2-normalised. Returns sparse (indices, values) arrays.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import re
import zlib
from collections import Counter

import numpy as np
import numpy.typing as npt

DIMS = 1 << 15
_TOKEN = re.compile(r"\w+|[^\w\s]")
_MAX_CHARS = 20_000


def tokens(text: str) -> list[str]:
    """Returns the lower-cased word and punctuation tokens of text (the first 20,000 characters)."""
    return _TOKEN.findall(text[:_MAX_CHARS].lower())


def _spelled_grams(word: str) -> tuple[str, ...]:
    """Returns the character 3-grams of word between "<" and ">" marks."""
    padded = f"<{word}>"
    return tuple(f"#{padded[i : i + 3]}" for i in range(len(padded) - 2))


# Most words of a text are words seen before: the 3-grams of the recent short ones are remembered.
_remembered_grams = functools.lru_cache(maxsize=1 << 14)(_spelled_grams)
_REMEMBERED_WORD_CHARS = 24


def _char_grams(word: str) -> tuple[str, ...]:
    """Returns the character 3-gram features of word (none for words of up to 3 characters)."""
    if len(word) <= 3:
        return ()
    return _remembered_grams(word) if len(word) <= _REMEMBERED_WORD_CHARS else _spelled_grams(word)


def hashed(text: str, dims: int = DIMS) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Returns the sparse feature vector of text as (bucket indices, weights); callers must not modify it.

    The last few results are remembered: the category, complexity and guard models of one request
    usually read the same text (whether or not they pass dims).
    """
    return _hashed(text, dims)


@functools.lru_cache(maxsize=16)
def _hashed(text: str, dims: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    words = tokens(text)
    counts = Counter(words)
    grams = counts.copy()
    grams.update(map(" ".join, itertools.pairwise(words)))
    # The 3-grams of each distinct word, as many times as the word occurs: the same counts, in the same
    # order of first appearance, as the 3-grams of every word in turn, for a lookup per distinct word.
    grams.update(itertools.chain.from_iterable(map(operator.mul, map(_char_grams, counts), counts.values())))
    buckets: dict[int, float] = {}
    for crc, weight in zip(map(zlib.crc32, map(str.encode, grams)), map(math.log1p, grams.values()), strict=True):
        bucket = crc % dims
        buckets[bucket] = buckets.get(bucket, 0.0) + weight
    if not buckets:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    indices = np.fromiter(buckets.keys(), dtype=np.int64, count=len(buckets))
    values = np.fromiter(buckets.values(), dtype=np.float32, count=len(buckets))
    values /= float(np.linalg.norm(values)) or 1.0
    indices.flags.writeable = False
    values.flags.writeable = False
    return indices, values
