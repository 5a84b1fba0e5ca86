"""Content rules: route requests by what the classifier found (category) and what they carry (tags, metadata)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from switchyard.config import ContentRule, RuleMatch
from switchyard.services.router.strategies.base import RequestFacts


def _carries(found: Mapping[str, str], wanted: Mapping[str, Sequence[str]]) -> bool:
    return all(found.get(key) in values for key, values in wanted.items())


def rule_matches(match: RuleMatch, facts: RequestFacts) -> bool:
    """Returns whether every condition of a rule's match holds for the request."""
    if match.category and (
        facts.category not in match.category or facts.category_confidence < match.min_category_confidence
    ):
        return False
    if facts.prompt_tokens < match.min_prompt_tokens:
        return False
    return _carries(facts.tags, match.tags) and _carries(facts.metadata, match.metadata)


def first_match(rules: Sequence[tuple[int, ContentRule]], facts: RequestFacts) -> tuple[int, ContentRule] | None:
    """Returns the first (index, rule) whose match holds, in config order, or None."""
    for index, rule in rules:
        if rule_matches(rule.match, facts):
            return index, rule
    return None


def describe(index: int, rule: ContentRule) -> str:
    """Returns how a route record names a rule: its name, or its place in the config."""
    return f"rule {rule.name}" if rule.name else f"rule #{index}"
