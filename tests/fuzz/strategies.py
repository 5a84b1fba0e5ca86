"""Hypothesis strategies shared by the fuzz tests: JSON-ish values, steered toward the keys the readers know."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

# Bounded so each example stays small: the readers' branches are reached by the keys, not by size.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)


def json_ish(keys: Iterable[str], words: Iterable[str] = ()) -> st.SearchStrategy[Any]:
    """Returns JSON values whose objects mostly use the given keys and whose strings are often the given words."""
    key = st.sampled_from(sorted(set(keys))) | st.text(max_size=6)
    scalar = SCALARS | st.sampled_from(sorted(set(words)) or [""])
    return st.recursive(
        scalar,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=6),
        max_leaves=12,
    )


def split_points(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """Returns data cut into consecutive pieces at arbitrary byte offsets (empty pieces included)."""
    cuts = st.lists(st.integers(min_value=0, max_value=len(data)), max_size=min(len(data) + 1, 40))
    return cuts.map(lambda points: _cut(data, sorted(points)))


def _cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]
