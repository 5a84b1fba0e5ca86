"""Applies the integrity checks to every call: counts, logs (rate-limited) and fails what must fail.

`checked(adapters, guard)` wraps each wire-format adapter, so the checks are the same for OpenAI, vLLM,
Anthropic and Gemini. Every violation is counted in
`switchyard_providers_integrity_violations_total{deployment, kind}` and logged at most once a minute per
deployment and kind (with how many were not logged). A hard kind, or any kind in strict mode, fails the
call with UPSTREAM_MALFORMED: the router fails over and counts it toward the deployment's circuit. A
stream is checked as it passes: a wrong model fails it before its first chunk is sent, usage is judged
where it arrives (the end), so a stream failed there ends with an error after its text, never silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass

from switchyard.common.v1 import chat_pb2, embeddings_pb2, errors_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.providers.adapters.base import (
    Adapter,
    Deployment,
    EmbeddingAdapter,
    ProbeResult,
    StreamItem,
)
from switchyard.services.providers.integrity.checks import (
    HARD_KINDS,
    Kind,
    StreamWatch,
    Violation,
    check_completion,
    check_embeddings,
)
from switchyard.services.providers.metrics import INTEGRITY_VIOLATIONS

log = logging.getLogger("switchyard.services.providers.integrity")
R = errors_pb2.ErrorReason
# Metadata key of an error the guard raised (so the schema count does not count it again).
INTEGRITY_KEY = "integrity"


@dataclass
class _Reported:
    at: float
    unreported: int = 0


class IntegrityGuard:
    """Counts and logs violations and decides which fail the call (hard kinds; every kind when strict)."""

    def __init__(self, strict: bool = False, log_every_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.strict = strict
        self._log_every_s = log_every_s
        self._clock = clock
        self._reported: dict[tuple[str, Kind], _Reported] = {}

    def fails(self, kind: Kind) -> bool:
        """Says whether a violation of this kind fails the call."""
        return self.strict or kind in HARD_KINDS

    def judge(self, deployment: Deployment, violations: Sequence[Violation]) -> None:
        """Counts and logs violations; raises UPSTREAM_MALFORMED when one of them fails the call."""
        for violation in violations:
            self.note(deployment, violation)
        failing = next((v for v in violations if self.fails(v.kind)), None)
        if failing is not None:
            raise SwitchyardError(
                R.ERROR_REASON_UPSTREAM_MALFORMED,
                f"{deployment.provider} deployment {deployment.id} sent a reply that fails the integrity check "
                f"({failing.kind}): {failing.detail}",
                metadata={
                    "provider": deployment.provider,
                    "deployment_id": deployment.id,
                    "upstream_status": "200",
                    INTEGRITY_KEY: str(failing.kind),
                },
            )

    def note(self, deployment: Deployment, violation: Violation) -> None:
        """Counts one violation and logs it, at most once per log_every_s for its deployment and kind."""
        INTEGRITY_VIOLATIONS.labels(deployment.id, str(violation.kind)).inc()
        now = self._clock()
        key = (deployment.id, violation.kind)
        reported = self._reported.get(key)
        if reported is not None and now - reported.at < self._log_every_s:
            reported.unreported += 1
            return
        skipped = f" ({reported.unreported} more since the last report)" if reported and reported.unreported else ""
        outcome = "the call fails" if self.fails(violation.kind) else "served"
        log.warning(
            "integrity violation (%s) by deployment %s (%s): %s; %s%s",
            violation.kind,
            deployment.id,
            deployment.provider,
            violation.detail,
            outcome,
            skipped,
        )
        self._reported[key] = _Reported(now)


def _schema_failure(error: SwitchyardError) -> bool:
    return error.reason == R.ERROR_REASON_UPSTREAM_MALFORMED and INTEGRITY_KEY not in error.metadata


class CheckedAdapter:
    """An adapter whose replies pass the integrity checks before they go on."""

    def __init__(self, inner: Adapter, guard: IntegrityGuard) -> None:
        self._inner = inner
        self._guard = guard
        self.provider = inner.provider
        # wrapped is the adapter under these checks (the servicer looks beneath it for what it can do).
        self.wrapped = inner

    async def generate(
        self, deployment: Deployment, request: chat_pb2.ChatRequest, deadline: float | None, request_id: str = ""
    ) -> tuple[chat_pb2.ChatCompletion, providers_pb2.UpstreamRecord]:
        try:
            completion, record = await self._inner.generate(deployment, request, deadline, request_id)
        except SwitchyardError as error:
            if _schema_failure(error):
                self._guard.note(deployment, Violation(Kind.SCHEMA, error.message))
            raise
        self._guard.judge(deployment, check_completion(completion, request, deployment))
        return completion, record

    async def stream(
        self, deployment: Deployment, request: chat_pb2.ChatRequest, deadline: float | None, request_id: str = ""
    ) -> AsyncIterator[StreamItem]:
        watch = StreamWatch(request, deployment)
        try:
            async for item in self._inner.stream(deployment, request, deadline, request_id):
                found = watch.chunks(item) if isinstance(item, list) else watch.finish()
                if found:
                    self._guard.judge(deployment, found)
                yield item
        except SwitchyardError as error:
            if _schema_failure(error):
                self._guard.note(deployment, Violation(Kind.SCHEMA, error.message))
            raise

    async def probe(self, deployment: Deployment, deadline: float | None) -> ProbeResult:
        return await self._inner.probe(deployment, deadline)

    async def embed(
        self,
        deployment: Deployment,
        request: embeddings_pb2.EmbeddingRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> tuple[embeddings_pb2.Embeddings, providers_pb2.UpstreamRecord]:
        """Returns the vectors of the embedding layer beneath, once they passed the checks."""
        inner = embedding_layer(self._inner)
        if inner is None:
            raise TypeError(f"{self.provider} has no embeddings endpoint")
        try:
            embeddings, record = await inner.embed(deployment, request, deadline, request_id)
        except SwitchyardError as error:
            if _schema_failure(error):
                self._guard.note(deployment, Violation(Kind.SCHEMA, error.message))
            raise
        self._guard.judge(deployment, check_embeddings(embeddings, request))
        return embeddings, record


def embedding_layer(adapter: object) -> EmbeddingAdapter | None:
    """Returns the outermost layer of an adapter that embeds, None when the wire format beneath its wrappers
    has no embeddings endpoint (a wrapper that passes embeddings on still names the adapter it wraps)."""
    base = adapter
    while hasattr(base, "wrapped"):
        base = base.wrapped
    if not isinstance(base, EmbeddingAdapter):
        return None
    layer = adapter
    while not isinstance(layer, EmbeddingAdapter):
        layer = layer.wrapped  # type: ignore[attr-defined]
    return layer


def checked(adapters: Mapping[str, Adapter], guard: IntegrityGuard) -> dict[str, Adapter]:
    """Returns the adapters, each wrapped so its replies pass the integrity checks."""
    return {name: CheckedAdapter(adapter, guard) for name, adapter in adapters.items()}
