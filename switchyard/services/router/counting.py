"""Prompt token counts for clients that ask before sending (Anthropic's /v1/messages/count_tokens).

The count is the classifier's: its cl100k estimate, or its calibrated estimate for another tokenizer
family when asked for one (tokens_by_family). When the classifier does not answer in time, the
router's own estimate (four characters a token, facts.estimate_prompt_tokens) stands in, and the
reply says so. The caller's key must be valid, and allowed the model it names.
"""

from __future__ import annotations

from switchyard.router.v1 import router_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.router.facts import estimate_prompt_tokens
from switchyard.services.router.governance.governor import Governor
from switchyard.services.router.peers import Classifier

CLASSIFIER = "classifier"
HEURISTIC = "heuristic"


class TokenCounter:
    """Answers RouterService.CountTokens from the classifier, under the caller's key."""

    def __init__(self, classifier: Classifier, governor: Governor, timeout: float) -> None:
        self._classifier, self._governor, self._timeout = classifier, governor, timeout

    async def count(self, request: router_pb2.CountTokensRequest, authorization: str) -> router_pb2.CountTokensResponse:
        """Returns the estimated prompt tokens of the request; raises 401 / 403 as a chat request would."""
        identity = await self._governor.authenticate(authorization)
        self._governor.permit(identity, request.request.model)
        try:
            analysis = await self._classifier.analyze(request.request, request.context, self._timeout)
        except SwitchyardError:
            return router_pb2.CountTokensResponse(
                input_tokens=estimate_prompt_tokens(request.request), method=HEURISTIC
            )
        tokens = analysis.tokens_by_family.get(request.family, analysis.prompt_tokens) if request.family else 0
        return router_pb2.CountTokensResponse(input_tokens=tokens or analysis.prompt_tokens, method=CLASSIFIER)
