"""The judge's prompts and how its replies are read: MT-bench's single-answer grading and pairwise comparison.

The prompts follow MT-bench (Zheng et al., 2023, "Judging LLM-as-a-Judge"): single-answer grading asks
for an explanation then "Rating: [[n]]" on a 1-10 scale; pairwise comparison asks for "[[A]]", "[[B]]"
or "[[C]]" (a tie). A reply the patterns do not match is no grade (None), never a guess.
"""

from __future__ import annotations

import re

MAX_TEXT = 8000

# The grading instruction is the system turn and the question and answer the user turn (as MT-bench's
# pairwise prompt is laid out): the injection guard reads user turns, and an instruction to "rate the
# response ... by strictly following this format" reads to it like an attack on the application.
JUDGE_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to "
    "the user question displayed below. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of the response. Begin your evaluation by "
    "providing a short explanation. Be as objective as possible. After providing your explanation, you must rate "
    'the response on a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: '
    '"Rating: [[5]]".'
)

SINGLE = "[Question]\n{question}\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"

PAIR_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to "
    "the user question displayed below. You should choose the assistant that follows the user's instructions and "
    "answers the user's question better. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of their responses. Begin your evaluation by "
    "comparing the two responses and provide a short explanation. Avoid any position biases and ensure that the "
    "order in which the responses were presented does not influence your decision. Do not allow the length of the "
    "responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as "
    "possible. After providing your explanation, output your final verdict by strictly following this format: "
    '"[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.'
)

PAIR = (
    "[User Question]\n{question}\n\n[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's "
    "Answer]\n\n[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]"
)

_RATING = re.compile(r"\[\[(\d+(?:\.\d+)?)\]\]")
_RATING_LOOSE = re.compile(r"\[(\d+(?:\.\d+)?)\]")
_VERDICT = re.compile(r"\[\[([ABC])\]\]")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " [...]"


def single_prompt(question: str, answer: str) -> str:
    """Returns the single-answer grading prompt for an answer to a question."""
    return SINGLE.format(question=_clip(question), answer=_clip(answer))


def pair_prompt(question: str, answer_a: str, answer_b: str) -> str:
    """Returns the pairwise comparison prompt for two answers to a question."""
    return PAIR.format(question=_clip(question), answer_a=_clip(answer_a), answer_b=_clip(answer_b))


def parse_rating(reply: str) -> float | None:
    """Returns the 1-10 rating a judge's reply gives ("Rating: [[8]]"; "[8]" as MT-bench's fallback), or None."""
    found = _RATING.findall(reply) or _RATING_LOOSE.findall(reply)
    if not found:
        return None
    value = float(found[-1])
    return value if 1.0 <= value <= 10.0 else None


def parse_verdict(reply: str) -> str | None:
    """Returns "A", "B" or "tie" from a pairwise reply ("[[A]]", "[[B]]", "[[C]]"), or None."""
    found = _VERDICT.findall(reply)
    if not found:
        return None
    return {"A": "A", "B": "B", "C": "tie"}[found[-1]]


def combine(first: str | None, swapped: str | None) -> str | None:
    """Returns the verdict of a pair judged in both orders (A first, then B first): a winner only when both
    orders agree, a tie when they disagree (position bias), None when either reply could not be read."""
    if first is None or swapped is None:
        return None
    unswapped = {"A": "B", "B": "A", "tie": "tie"}[swapped]
    return first if first == unswapped else "tie"
