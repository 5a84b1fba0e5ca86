"""Length-based complexity: longer prompts are taken to be harder, until a learned model replaces it."""

from __future__ import annotations

from switchyard.ml.complexity import Complexity, Tier

METHOD = "length"
COMPLEX_FROM = 0.5


def length_complexity(prompt_tokens: int, midpoint_tokens: int) -> Complexity:
    """Returns the complexity of a prompt of prompt_tokens tokens.

    The score t / (t + midpoint) is 0 for an empty prompt, 0.5 at midpoint tokens and approaches 1
    for very long prompts; it is smooth, so a slightly longer prompt never looks easier.
    """
    tokens = max(prompt_tokens, 0)
    score = tokens / (tokens + midpoint_tokens)
    tier = Tier.COMPLEX if score >= COMPLEX_FROM else Tier.SIMPLE
    return Complexity(tier=tier, score=score, p_cheap_ok=1.0 - score, method=METHOD)
