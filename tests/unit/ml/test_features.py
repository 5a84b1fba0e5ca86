"""The shared hashed features: the same vector, to the bit, however they are counted."""

from __future__ import annotations

import itertools
import math
import random
import zlib
from collections import Counter

import numpy as np

from switchyard.ml import features


def _one_gram_at_a_time(text: str, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns the features as the module docstring defines them, counted one n-gram at a time."""
    words = features.tokens(text)
    grams: Counter[str] = Counter()
    for word in words:
        grams[word] += 1
    for first, second in itertools.pairwise(words):
        grams[f"{first} {second}"] += 1
    for word in words:
        if len(word) > 3:
            padded = f"<{word}>"
            for start in range(len(padded) - 2):
                grams[f"#{padded[start : start + 3]}"] += 1
    buckets: dict[int, float] = {}
    for gram, count in grams.items():
        bucket = zlib.crc32(gram.encode()) % dims
        buckets[bucket] = buckets.get(bucket, 0.0) + math.log1p(count)
    indices = np.array(list(buckets), dtype=np.int64)
    values = np.array(list(buckets.values()), dtype=np.float32)
    values /= float(np.linalg.norm(values)) or 1.0
    return indices, values


def test_hashed_features_are_those_counted_one_gram_at_a_time() -> None:
    # Words repeat, share 3-grams ("banana", "bandana"), run past the remembered length, and come in
    # other scripts; a small dims makes buckets collide, so the order of the sums shows too.
    rng = random.Random(3)
    vocabulary = [
        "banana",
        "bandana",
        "the",
        "a",
        "circuit",
        "breaker",
        "x" * 30,
        "naïve",
        "東京",
        "do",
        "it",
        "!",
        "?",
    ]
    for _ in range(400):
        text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 60)))
        for dims in (features.DIMS, 64):
            indices, values = features._hashed.__wrapped__(text, dims)
            expected_indices, expected_values = _one_gram_at_a_time(text, dims)
            assert indices.tobytes() == expected_indices.tobytes(), text
            assert values.tobytes() == expected_values.tobytes(), text
