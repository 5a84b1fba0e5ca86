"""The semantic tier: finds a stored answer to a request that means the same, or says why there is none.

A request is embedded on the spot, with the shared static embedder (switchyard.ml.embedder: tens of
microseconds), so the tier runs for every comparable lookup at any load: nothing queues, nothing is
skipped. Candidates come from the replica's vector index, only inside the request's (tenant, fingerprint)
bucket and only at or above the similarity threshold of the request's model group or alias. Each
candidate, most similar first, is re-read from the backend (an expired, evicted or invalidated
entry is gone there even when the index has not heard yet) and then judged by the near-miss guard,
which refuses look-alikes that ask for something else ("capital of France" vs "of Germany").
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from switchyard.ml.nearmiss import PairVerdict
from switchyard.services.cache.backends import Entry, IndexListener
from switchyard.services.cache.index import VectorIndex

Array = npt.NDArray[np.float32]
# How many candidates a lookup re-reads and shows the guard before it gives up.
CANDIDATES = 3
# How many recent texts' embeddings a replica remembers (a lookup's, for the store that follows it).
RECENT_VECTORS = 512


class TextEmbedder(Protocol):
    """What the semantic tier needs of an embedder."""

    @property
    def dim(self) -> int: ...

    def embed_one(self, text: str) -> Array:
        """Returns the unit-length embedding of text."""
        ...


class Guard(Protocol):
    """The near-miss guard: whether a candidate above the threshold really answers the query."""

    similarity_floor: float

    def check(
        self, query: str, candidate: str, query_vec: Array, candidate_vec: Array, threshold: float | None = None
    ) -> PairVerdict: ...


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The least similarity of a semantic hit: per model group or alias, else the default."""

    default: float
    per_group: Mapping[str, float] = field(default_factory=dict)

    def of(self, group: str) -> float:
        return self.per_group.get(group, self.default)


@dataclass(frozen=True, slots=True)
class Query:
    """What a semantic search compares: the request's bucket, the text of its last user turn and its embedding."""

    tenant: str
    group: str
    fingerprint: str
    text: str
    vector: Array


@dataclass(frozen=True, slots=True)
class Found:
    """The outcome of a semantic search: the entry that answers (None on a miss), similarity, and why."""

    entry: Entry | None
    similarity: float | None
    reason: str
    rejections: int = 0


class IndexUpdates:
    """Keeps a vector index in step with a backend's changes (the backend's IndexListener)."""

    def __init__(self, index: VectorIndex) -> None:
        self.index = index

    def added(self, entry: Entry, expires_at: float) -> None:
        if entry.semantic:
            vector = np.frombuffer(entry.vector, dtype=np.float32)
            self.index.add(entry.tenant, entry.fingerprint, entry.key, vector, expires_at)
        else:
            self.index.remove((entry.key,))

    def removed(self, keys: Iterable[str]) -> None:
        self.index.remove(keys)

    def cleared(self, tenant: str | None) -> None:
        self.index.clear(tenant)


class SemanticTier:
    """Embeds requests, proposes candidates from the index and has the guard judge them."""

    def __init__(self, embedder: TextEmbedder, guard: Guard, index: VectorIndex, thresholds: Thresholds) -> None:
        self._embedder = embedder
        self._guard = guard
        self.index = index
        self.thresholds = thresholds
        # A miss is looked up, answered upstream and stored: the store embeds the text its lookup just
        # did, so the last texts' vectors are remembered (read only; a few hundred KiB).
        self._recent = functools.lru_cache(maxsize=RECENT_VECTORS)(self._embed)

    def listener(self) -> IndexListener:
        return IndexUpdates(self.index)

    def has_candidates(self, tenant: str, fingerprint: str) -> bool:
        """Returns whether the bucket holds anything: when it does not, no embedding is computed."""
        return self.index.size(tenant, fingerprint) > 0

    def vector(self, text: str) -> Array | None:
        """Returns the unit embedding of text, or None when text has nothing the embedder knows (no word
        piece it has a row for). Always the cache's own, of the normalised text: an embedding a caller sends
        was made of other text, by a model the near-miss guard may not have been trained with."""
        return self._recent(text)

    def _embed(self, text: str) -> Array | None:
        vector = self._embedder.embed_one(text)
        norm = float(np.sqrt(vector @ vector))
        if norm == 0:
            return None
        if abs(norm - 1.0) > 1e-5:
            vector = vector / np.float32(norm)
        vector.flags.writeable = False
        return vector

    async def find(self, query: Query, read: Callable[[str], Awaitable[Entry | None]], now: float) -> Found:
        """Returns the entry that answers the query in its bucket (re-read with read), or a miss with the reason."""
        tenant, fingerprint = query.tenant, query.fingerprint
        candidates = self.index.search(tenant, fingerprint, query.vector, CANDIDATES, now)
        if not candidates:
            return Found(None, None, "no semantic candidates")
        best = candidates[0].similarity
        threshold = self.thresholds.of(query.group)
        reason = f"best similarity {best:.3f} is below the threshold {threshold:.3f}"
        rejections = 0
        for candidate in candidates:
            if candidate.similarity < threshold:
                break
            entry = await read(candidate.key)
            if entry is None or entry.tenant != tenant or entry.fingerprint != fingerprint:
                self.index.remove((candidate.key,))
                reason = "the candidate is gone from the store"
                continue
            if entry.text == query.text:
                # Same fingerprint and same last turn: the same request up to its sampled temperature.
                self.index.touch(candidate.key)
                return Found(entry, min(candidate.similarity, 1.0), "", rejections)
            verdict = self._guard.check(query.text, entry.text, query.vector, candidate.vector)
            if verdict.same:
                # A hit keeps the entry in the capped index, as the store's read keeps it in Redis.
                self.index.touch(candidate.key)
                # A float sum of unit vectors can exceed 1 by a rounding error: a similarity is at most 1.
                return Found(entry, min(candidate.similarity, 1.0), "", rejections)
            rejections += 1
            reason = f"near-miss guard: {verdict.reason}"
            if "p=" not in verdict.reason:
                reason += f" (p={verdict.probability:.2f})"
        return Found(None, best, reason, rejections)
