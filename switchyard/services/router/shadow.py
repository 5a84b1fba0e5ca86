"""Shadow traffic: a copy of a request sent to an experiment's candidate after the client has its answer.

The copy is planned like any request (the same facts and the same key's reach, so residency,
capability and the key's allowed models hold: a copy to a target the key may not use is never sent),
admitted against the candidate's rate window, and sent once to the first deployment of its plan,
without failover. Its outcome (deployment, status, latency, tokens) goes to a log line and to a
`switchyard.shadow` span in the request's trace; its answer is dropped. It runs in the background,
bounded by the request timeout, so it never changes the client's response or its latency.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context

from switchyard.common.v1 import chat_pb2
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime import attributes as attr
from switchyard.runtime.errors import SwitchyardError, reason_name
from switchyard.services.router.gate import Gate, Refusal
from switchyard.services.router.routing import Resolution, candidates
from switchyard.services.router.walk import Prepared

log = logging.getLogger(__name__)
Generate = Callable[[providers_pb2.GenerateRequest, float], Awaitable[providers_pb2.GenerateResponse]]


@dataclass(frozen=True)
class ShadowOutcome:
    """What became of one shadow copy."""

    target: str
    deployment_id: str
    status: str
    latency_ms: float = 0.0
    tokens: int = 0
    detail: str = ""
    # answer is the copy's reply text (kept only to be compared with the client's answer, never returned).
    answer: str = ""

    def attributes(self) -> dict[str, str | float | int]:
        return {
            attr.SHADOW_TARGET: self.target,
            attr.SHADOW_DEPLOYMENT: self.deployment_id,
            attr.SHADOW_STATUS: self.status,
            attr.SHADOW_LATENCY_MS: self.latency_ms,
            attr.SHADOW_TOKENS: self.tokens,
        }


def shadow_request(request: chat_pb2.ChatRequest) -> chat_pb2.ChatRequest:
    """Returns the copy sent as shadow traffic: the same request, answered whole rather than streamed."""
    copy = chat_pb2.ChatRequest()
    copy.CopyFrom(request)
    copy.stream = False
    copy.ClearField("stream_options")
    return copy


@dataclass(frozen=True)
class ShadowSender:
    """Sends shadow copies through the shared state's gate and the providers service, traced with `tracer`."""

    gate: Gate
    generate: Generate
    tracer: trace.Tracer

    async def send(
        self, prep: Prepared, shadow: Resolution, unavailable: Mapping[str, str], timeout: float, parent: Context
    ) -> ShadowOutcome:
        """Sends one shadow copy and records its outcome; never raises for the copy's own failure."""
        with self.tracer.start_as_current_span("switchyard.shadow", context=parent) as span:
            outcome = await self._send(prep, shadow, unavailable, timeout)
            span.set_attributes(outcome.attributes())
            span.add_event(attr.SHADOW_EVENT, outcome.attributes())
        log.info(
            "shadow copy of request %s to %s: deployment %s, %s, %.1f ms, %d tokens%s",
            prep.context.request_id,
            outcome.target,
            outcome.deployment_id or "-",
            outcome.status,
            outcome.latency_ms,
            outcome.tokens,
            f" ({outcome.detail})" if outcome.detail else "",
        )
        return outcome

    async def _send(
        self, prep: Prepared, shadow: Resolution, unavailable: Mapping[str, str], timeout: float
    ) -> ShadowOutcome:
        policies, gate = prep.policies, self.gate
        # Only deployments the key may use: a copy never goes where its request could not (scope.py).
        entries = prep.reach.within(shadow.entries)
        stats = gate.snapshot([policies.limits_of(entry) for entry in entries])
        plan = policies.table.plan(shadow, candidates(entries, stats), prep.facts, unavailable)
        if not plan.order:
            causes = "; ".join(f"{s.deployment_id}: {s.detail}" for s in plan.skipped) or "no deployments"
            return ShadowOutcome(shadow.target, "", "skipped", detail=causes)
        entry = plan.order[0].entry
        expected = prep.facts.max_output_tokens or policies.config.switchyard.routing.expected_output_tokens
        admitted = await policies.admit(gate, entry, prep.facts.prompt_tokens + expected)
        if isinstance(admitted, Refusal):
            return ShadowOutcome(shadow.target, entry.deployment_id, "skipped", detail=admitted.detail)
        call = providers_pb2.GenerateRequest(
            deployment_id=entry.deployment_id,
            request=shadow_request(prep.request),
            request_id=f"{prep.context.request_id}-shadow",
        )
        started = time.monotonic()
        try:
            reply = await self.generate(call, min(entry.litellm_params.timeout or timeout, timeout))
        except SwitchyardError as err:
            latency = (time.monotonic() - started) * 1000
            gate.failed_later(admitted, err, policies.circuit)
            status = reason_name(err.reason)
            return ShadowOutcome(shadow.target, entry.deployment_id, status, latency, detail=err.message)
        except BaseException:
            gate.release(admitted)
            raise
        latency = (time.monotonic() - started) * 1000
        tokens = reply.completion.usage.total_tokens
        gate.succeeded(admitted, tokens, latency, record=reply.upstream)
        choices = reply.completion.choices
        answer = choices[0].message.text if choices else ""
        return ShadowOutcome(shadow.target, entry.deployment_id, "ok", latency, tokens, answer=answer)
