"""Keeping judgements in the analytics store: the evaluator's judge grades (AdminService.RecordJudgements)
and users' feedback (FeedbackDesk), with the deployment and classifier category they rate.

`switchyard train-router --from-store` refits the router's quality from them. Without an analytics
store (analytics.url empty) nothing is kept, and 0 is reported.
"""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.common.v1 import errors_pb2 as E
from switchyard.router.v1 import admin_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.analytics.base import HistoryUnavailable, Judgement
from switchyard.services.router.governance.ledger import Ledger

KINDS = ("judge", "feedback")


def judgement_of(message: admin_pb2.Judgement) -> Judgement:
    """Returns the store's judgement of a message, or raises a 400 for one that cannot be kept."""
    if not message.request_id or not message.deployment_id:
        raise SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, "A judgement needs a request_id and a deployment_id.")
    if message.kind not in KINDS:
        raise SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, f"A judgement's kind is one of {', '.join(KINDS)}.")
    if not 0.0 <= message.score <= 1.0:
        raise SwitchyardError(E.ERROR_REASON_INVALID_REQUEST, "A judgement's score must be between 0 and 1.")
    return Judgement(
        message.request_id, message.kind, message.time_ms, message.deployment_id, message.category, message.score
    )


async def keep(ledger: Ledger, judgements: Sequence[admin_pb2.Judgement]) -> int:
    """Stores judgements in the ledger's analytics store; returns how many were new (0 without a store)."""
    rows = [judgement_of(message) for message in judgements]
    if ledger.history is None or not rows:
        return 0
    try:
        return await ledger.history.store.judge(rows)
    except HistoryUnavailable as exc:
        raise SwitchyardError(
            E.ERROR_REASON_SERVICE_UNAVAILABLE, "The analytics store did not take the judgements."
        ) from exc
