"""The semantic index's entry cap: past it the least recently stored or hit vectors are forgotten."""

from __future__ import annotations

import numpy as np
import pytest

from switchyard.services.cache.index import VectorIndex

DIM = 8
NEVER = 1e12


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def filled(cap: int, count: int, buckets: int = 1) -> VectorIndex:
    index = VectorIndex(DIM, max_entries=cap)
    for i in range(count):
        index.add("acme", f"fp{i % buckets}", f"k{i}", unit(i), NEVER)
    return index


def test_the_index_never_holds_more_than_its_cap_and_forgets_the_oldest_first() -> None:
    index = filled(cap=3, count=7, buckets=2)
    assert len(index) == 3 and index.evictions == 4
    assert [key for key in (f"k{i}" for i in range(7)) if key in index] == ["k4", "k5", "k6"]
    # The forgotten vectors are gone from search too, not only from the count.
    found = {c.key for fp in ("fp0", "fp1") for c in index.search("acme", fp, unit(0), 10, 0.0)}
    assert found == {"k4", "k5", "k6"}


def test_a_touched_entry_is_evicted_last() -> None:
    index = filled(cap=3, count=3)
    index.touch("k0")
    index.add("acme", "fp0", "k3", unit(3), NEVER)
    assert "k0" in index and "k1" not in index
    index.touch("unknown")
    assert len(index) == 3


def test_storing_a_key_again_refreshes_it_without_counting_twice() -> None:
    index = filled(cap=3, count=3)
    index.add("acme", "fp0", "k0", unit(10), NEVER)
    index.add("acme", "fp0", "k3", unit(3), NEVER)
    assert len(index) == 3 and index.evictions == 1 and "k0" in index and "k1" not in index


def test_removed_and_cleared_entries_are_not_evictions() -> None:
    index = filled(cap=4, count=4)
    index.remove(["k0"])
    index.add("acme", "fp0", "k4", unit(4), NEVER)
    assert index.evictions == 0 and len(index) == 4
    index.clear("acme")
    assert len(index) == 0 and index.nbytes() < filled(cap=4, count=4).nbytes()


def test_memory_stays_flat_past_the_cap_through_ivf_splits() -> None:
    index = VectorIndex(DIM, exact_limit=16, max_entries=64)
    for i in range(64):
        index.add("acme", "fp", f"k{i}", unit(i), NEVER)
    at_cap = index.nbytes()
    for i in range(64, 2000):
        index.add("acme", "fp", f"k{i}", unit(i), NEVER)
    assert len(index) == 64 and index.evictions == 2000 - 64
    assert index.nbytes() < 2 * at_cap


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        VectorIndex(DIM, max_entries=0)
