"""The cache's embedding queue: one worker, batched forward passes, a bounded share of one core, and a memo.

An embedding costs milliseconds of CPU on the two cores that also run the gateway, so the cache
spends them sparingly:

- a memo of recent texts' vectors: the store that follows a lookup reuses the vector the lookup
  computed for the same text, so a request is embedded once, not twice;
- one worker runs one forward pass at a time over every text waiting (up to MAX_BATCH): under load
  texts gather into batches, which cost less per text than one text at a time;
- while texts compete for the worker (more than one waiting: the gateway is under load), its busy
  time stays within BUSY_SHARE of one core (a token bucket with BURST_S of credit), so the semantic
  tier takes a bounded slice of the machine instead of a whole core; a lone text is embedded at once;
- lookups go first (their vector answers a request now, a store's only a later one), and at most
  MAX_BATCH of each kind wait: past that a lookup skips the semantic tier and a store keeps its
  entry exact-only, rather than queue behind work the worker cannot catch up with.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
# Returns one unit-length row per text.
Embed = Callable[[Sequence[str]], Array]

# Texts per forward pass: eight short chat turns are about 150 rows, a pass of some 30 ms.
MAX_BATCH = 8
# The worker's busy time is at most this share of one core, measured over its recent passes.
BUSY_SHARE = 0.5
# Seconds of forward passes the worker may run back to back before the share applies.
BURST_S = 0.1
# Texts whose vectors are remembered (about 1.6 KB each).
MEMO_SIZE = 1024


class _Waiting:
    """The texts waiting for the next pass, lookups and stores apart, each text once with its future."""

    def __init__(self) -> None:
        self.urgent: deque[str] = deque()
        self.later: deque[str] = deque()
        self.futures: dict[str, asyncio.Future[Array]] = {}

    def __len__(self) -> int:
        return len(self.urgent) + len(self.later)

    def join(self, text: str, urgent: bool) -> asyncio.Future[Array] | None:
        """Returns the future of text's vector, queueing text; None when its kind's queue is full."""
        found = self.futures.get(text)
        if found is not None:
            if urgent and text in self.later:
                self.later.remove(text)
                self.urgent.append(text)
            return found
        queue = self.urgent if urgent else self.later
        if len(queue) >= MAX_BATCH:
            return None
        future: asyncio.Future[Array] = asyncio.get_running_loop().create_future()
        self.futures[text] = future
        queue.append(text)
        return future

    def take(self) -> list[tuple[str, asyncio.Future[Array]]]:
        """Returns up to MAX_BATCH waiting texts with their futures, lookups first, and forgets them."""
        batch: list[tuple[str, asyncio.Future[Array]]] = []
        for queue in (self.urgent, self.later):
            while queue and len(batch) < MAX_BATCH:
                text = queue.popleft()
                batch.append((text, self.futures.pop(text)))
        return batch


class EmbeddingQueue:
    """Embeds texts for the semantic tier off the event loop, batched, memoised and within a CPU share."""

    def __init__(self, embed: Embed, busy_share: float = BUSY_SHARE, burst_s: float = BURST_S) -> None:
        self._embed = embed
        self._share = busy_share
        self._burst = burst_s
        self._credit = burst_s
        self._refilled = time.monotonic()
        self._memo: OrderedDict[str, Array] = OrderedDict()
        self._waiting = _Waiting()
        self._worker: asyncio.Task[None] | None = None

    def remembered(self, text: str) -> Array | None:
        """Returns the vector of text when it was embedded recently, else None."""
        vector = self._memo.get(text)
        if vector is not None:
            self._memo.move_to_end(text)
        return vector

    async def embed(self, text: str, urgent: bool, wait_s: float | None) -> Array | None:
        """Returns text's unit vector, or None when the queue is full or it is not ready within wait_s.

        A vector that misses its wait is still computed and remembered: the store of the same request
        then finds it.
        """
        vector = self.remembered(text)
        if vector is not None:
            return vector
        future = self._waiting.join(text, urgent)
        if future is None:
            return None
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())
        try:
            return await asyncio.wait_for(asyncio.shield(future), wait_s)
        except TimeoutError:
            return None

    async def _work(self) -> None:
        """Runs forward passes while texts wait, resting whenever the busy share is used up."""
        try:
            while self._waiting:
                rest = self._rest()
                if rest > 0 and len(self._waiting) > 1:
                    await asyncio.sleep(rest)
                batch = self._waiting.take()
                started = time.monotonic()
                try:
                    vectors = await asyncio.to_thread(self._embed, [text for text, _ in batch])
                except Exception as exc:
                    # Every waiter of the batch gets the failure; the worker goes on with the next texts.
                    for _, future in batch:
                        future.set_exception(exc)
                        future.exception()  # retrieved here, so a waiter that gave up is not reported
                    continue
                finally:
                    self._credit -= time.monotonic() - started
                for (text, future), row in zip(batch, vectors, strict=True):
                    # A copy: a remembered row must not keep its whole batch's array alive.
                    vector = row.copy()
                    self._remember(text, vector)
                    future.set_result(vector)
        finally:
            self._worker = None

    def _rest(self) -> float:
        """Returns how long the worker must rest before its next pass to keep within its share."""
        now = time.monotonic()
        # The debt is bounded too: a run of lone texts must not make the next burst wait for long.
        credit = self._credit + (now - self._refilled) * self._share
        self._credit = min(self._burst, max(-self._burst, credit))
        self._refilled = now
        return 0.0 if self._credit >= 0 else -self._credit / self._share

    def _remember(self, text: str, vector: Array) -> None:
        self._memo[text] = vector
        self._memo.move_to_end(text)
        while len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)
