"""What the cache normalises before comparing a question, and what it must leave alone."""

from __future__ import annotations

import pytest

from switchyard.ml.normalise import exact_text, semantic_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Who wrote Pride and Prejudice?", "Who wrote Pride and Prejudice"),
        ("  Who   wrote Pride and Prejudice ?!  ", "Who wrote Pride and Prejudice"),
        ("Who wrote \u201cPride and Prejudice\u201d?", 'Who wrote "Pride and Prejudice"'),
        # Case is an answer's business in code and quoted strings: the exact tier keeps it.
        ("Convert 'ABC' to lowercase", "Convert 'ABC' to lowercase"),
        # Several lines (code, a document) keep their spacing and punctuation.
        ("def f(x):\n    return x!  ", "def f(x):\n    return x!"),
    ],
)
def test_the_exact_tier_normalises_spacing_quotes_and_end_punctuation_only(text: str, expected: str) -> None:
    assert exact_text(text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What's the capital of France?", "What is the capital of France"),
        ("I don't know why my code won't compile", "I do not know why my code will not compile"),
        ("Could you please tell me who wrote Pride and Prejudice? Thanks!", "who wrote Pride and Prejudice"),
        ("Hi, can you help me write a haiku about rain?", "write a haiku about rain"),
        ("Can someone explain how closures work in JavaScript", "how closures work in JavaScript"),
        ("how do u tie a tie", "how do you tie a tie"),
        ("In winter, how often should I water a snake plant?", "how often should I water a snake plant In winter"),
        # Apostrophes left out, "2" for "to" before a verb, "4" for "for" before a pronoun, units written on.
        ("whats the capital of peru, i dont know", "what is the capital of peru, i do not know"),
        ("how 2 avoid jetlag", "how to avoid jetlag"),
        ("gift ideas 4 my dad", "gift ideas for my dad"),
        ("area of a circle with radius 5cm", "area of a circle with radius 5 cm"),
    ],
)
def test_the_semantic_tier_spells_out_and_strips_what_does_not_change_the_question(a: str, b: str) -> None:
    assert semantic_text(a) == semantic_text(b) == b


def test_what_changes_the_question_is_kept() -> None:
    # A possessive is not "is"; a lead-in that is not a condition before a question stays put.
    assert semantic_text("John's car is red. Why?") == "John's car is red. Why"
    assert semantic_text("In my opinion, this is fine") == "In my opinion, this is fine"
    # All politeness and nothing else: the words stay rather than an empty question.
    assert semantic_text("please") == "please"
    assert semantic_text("Thanks!") == "Thanks"
    # A count stays a count: "2 cups", "for 2 weeks", "4 hours"; an identifier keeps its digits.
    assert semantic_text("buy 2 apples for 2 weeks in 4 hours") == "buy 2 apples for 2 weeks in 4 hours"
    assert semantic_text("status of order a41f9") == "status of order a41f9"
