"""The analysis core: turns a prompt into the classifier's answer, with no gRPC in sight."""

from __future__ import annotations

from services.classifier.domain import Analysis, Prompt
from services.classifier.features.length import length_complexity
from services.classifier.features.tokens import TokenEstimator


class Analyzer:
    """Analyses prompts: token estimate and length-based complexity."""

    def __init__(self, estimator: TokenEstimator, midpoint_tokens: int = 1000) -> None:
        self._estimator = estimator
        self._midpoint_tokens = midpoint_tokens

    def analyze(self, prompt: Prompt) -> Analysis:
        """Returns the analysis of prompt; CPU-bound, safe to run in a worker thread."""
        tokens = self._estimator.count(prompt)
        return Analysis(
            prompt_tokens=tokens,
            tokenizer=self._estimator.name,
            complexity=length_complexity(tokens, self._midpoint_tokens),
        )
