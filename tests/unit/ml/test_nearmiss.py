"""The semantic cache's near-miss guard on real embeddings: it serves paraphrases and refuses near misses."""

from __future__ import annotations

import numpy as np
import pytest

from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.nearmiss import NearMissGuard, PairVerdict, pair_features
from switchyard.ml.normalise import semantic_text


@pytest.fixture(scope="module")
def embedder() -> StaticEmbedder:
    return StaticEmbedder.load()


@pytest.fixture(scope="module")
def guard(embedder: StaticEmbedder) -> NearMissGuard:
    return NearMissGuard.load(word_vector=embedder.embed_one)


@pytest.fixture
def check(embedder: StaticEmbedder, guard: NearMissGuard):  # type: ignore[no-untyped-def]
    def run(query: str, candidate: str, threshold: float | None = None) -> PairVerdict:
        # As the cache compares them: both texts normalised, then embedded.
        query, candidate = semantic_text(query), semantic_text(candidate)
        query_vec, candidate_vec = embedder.embed([query, candidate])
        return guard.check(query, candidate, query_vec, candidate_vec, threshold=threshold)

    return run


def test_the_committed_artifact_loads_with_a_sane_operating_point(guard: NearMissGuard) -> None:
    assert 0.5 <= guard.similarity_floor < 1.0
    assert 0.0 < guard.threshold < 1.0


@pytest.mark.parametrize(
    ("query", "candidate"),
    [
        ("how do I reverse a list in python", "python: reverse a list?"),
        ("What is the capital of France?", "Which city is the capital of France?"),
        ("Who wrote War and Peace?", "Who is the author of War and Peace?"),
    ],
)
def test_a_clear_paraphrase_is_served(check, query: str, candidate: str) -> None:  # type: ignore[no-untyped-def]
    verdict = check(query, candidate)
    assert verdict.same, verdict
    assert verdict.reason == "paraphrase"
    # Short chat questions, served at the short band's operating point.
    short = NearMissGuard.load().short
    assert short is not None and verdict.probability >= short[1]


def test_another_country_is_a_near_miss(check) -> None:  # type: ignore[no-untyped-def]
    verdict = check("What is the capital of France?", "What is the capital of Germany?")
    assert not verdict.same
    # These two already sit below the similarity floor; closer pairs meet the entity rule.
    assert verdict.reason in ("below similarity threshold", "entities differ: France vs Germany")
    closer = check("Is it safe to drink tap water in Mexico?", "Is it safe to drink tap water in Canada?")
    assert not closer.same
    assert closer.reason == "entities differ: Mexico vs Canada"


def test_different_numbers_are_never_served(check) -> None:  # type: ignore[no-untyped-def]
    verdict = check("convert 3 miles to km", "convert 4 miles to km")
    assert not verdict.same
    assert verdict.reason == "numbers differ: 3 vs 4"
    spelled = check("convert three miles to km", "convert 4 miles to km")
    assert not spelled.same and spelled.reason == "numbers differ: 3 vs 4"


def test_different_identifiers_are_never_served(check) -> None:  # type: ignore[no-untyped-def]
    verdict = check("what is the status of order a41f9e", "what is the status of order 9c2e7b")
    assert not verdict.same
    # Their word pieces differ enough that the pair may not even reach the similarity floor.
    assert verdict.reason in ("identifiers differ: a41f9e vs 9c2e7b", "below similarity threshold")
    assert check("summarise ticket 3f2a9c0d1e", "summarise ticket 3f2a9c0d1e").same


def test_two_names_spelled_alike_are_never_served(check) -> None:  # type: ignore[no-untyped-def]
    # Lower-case names built of the same word pieces but the first: the embedding sees near synonyms.
    verdict = check("how do i install numpy on windows", "how do i install sympy on windows")
    assert not verdict.same and verdict.reason == "names differ: numpy vs sympy"
    broker = check("difference between kafka and rabbitmq", "difference between kafka and activemq")
    assert not broker.same and broker.reason == "names differ: rabbitmq vs activemq"
    # Another ending of the same word is not another name.
    assert (
        "names differ" not in check("are index funds good for beginners", "are index funds good for a beginner").reason
    )


@pytest.mark.parametrize(
    ("query", "candidate"),
    [
        ("Alice sued Bob for breach of contract.", "Bob sued Alice for breach of contract."),
        ("the man bit the dog", "the dog bit the man"),
    ],
)
def test_swapped_roles_are_a_near_miss(check, query: str, candidate: str) -> None:  # type: ignore[no-untyped-def]
    verdict = check(query, candidate)
    assert not verdict.same
    assert verdict.reason == "roles swapped"


def test_a_negation_is_a_near_miss(check) -> None:  # type: ignore[no-untyped-def]
    verdict = check("Which foods are safe for dogs to eat?", "Which foods are not safe for dogs to eat?")
    assert not verdict.same
    assert verdict.reason == "negation differs"
    contracted = check("Why does my laptop charge?", "Why doesn't my laptop charge?")
    assert not contracted.same and contracted.reason == "negation differs"


def test_an_unrelated_candidate_is_below_the_floor(check) -> None:  # type: ignore[no-untyped-def]
    verdict = check("How do I reverse a list in Python?", "Write a haiku about autumn rain in Kyoto.")
    assert verdict == PairVerdict(False, 0.0, "below similarity threshold")


def test_the_threshold_overrides_the_operating_point(check) -> None:  # type: ignore[no-untyped-def]
    query, candidate = "What's a good way to learn guitar as an adult?", "how should an adult start learning the guitar"
    default = check(query, candidate)
    strict = check(query, candidate, threshold=1.0)
    lenient = check(query, candidate, threshold=0.0)
    assert not strict.same and lenient.same
    assert strict.probability == lenient.probability == default.probability


def test_a_veto_holds_whatever_the_threshold(check) -> None:  # type: ignore[no-untyped-def]
    verdict = check("Who won the 2018 World Cup?", "Who won the 2022 World Cup?", threshold=0.0)
    assert not verdict.same and verdict.reason == "numbers differ: 2018 vs 2022"


def test_the_verdict_is_symmetric_in_its_decision(check) -> None:  # type: ignore[no-untyped-def]
    pairs = [
        ("how do I reverse a list in python", "python: reverse a list?"),
        ("What is the capital of France?", "What is the capital of Germany?"),
        ("convert 3 miles to km", "convert 4 miles to km"),
    ]
    for a, b in pairs:
        assert check(a, b).same == check(b, a).same


def test_identical_texts_are_the_same(check, embedder: StaticEmbedder) -> None:  # type: ignore[no-untyped-def]
    text = "Summarize the plot of Hamlet in two sentences."
    verdict = check(text, text)
    assert verdict.same and np.isclose(float(np.dot(embedder.embed_one(text), embedder.embed_one(text))), 1.0)


@pytest.mark.parametrize(
    ("query", "candidate", "reason"),
    [
        ("eiffel tower height in meters", "eiffel tower height in feet", "units differ: m vs ft"),
        (
            "Can I leave my houseplants for 2 weeks without water",
            "Can I leave my houseplants for 2 months without water",
            "units differ: week vs month",
        ),
        # The same number of another unit asks the reverse conversion.
        ("10 miles in kilometers", "How many miles is 10 kilometers?", "units differ"),
        ("What's the weather in Oslo today?", "How will the weather be in Oslo tomorrow?", "units differ"),
    ],
)
def test_another_unit_is_a_near_miss(check, query: str, candidate: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    verdict = check(query, candidate)
    assert not verdict.same and verdict.reason.startswith(reason), verdict


def test_the_us_is_a_country_with_a_direction(check) -> None:  # type: ignore[no-untyped-def]
    verdict = check(
        "How do I deal with jet lag flying from Europe to the US",
        "How do I deal with jet lag flying from the US to Europe",
    )
    assert not verdict.same and verdict.reason == "roles swapped"


def test_one_as_a_pronoun_is_not_a_number(check) -> None:  # type: ignore[no-untyped-def]
    # "which one" is no count: only a 1 on the other side makes "one" a number.
    verdict = check("Should I buy an iPhone or an Android phone?", "iphone or android, which one should i buy")
    assert not verdict.reason.startswith("numbers differ"), verdict
    assert check("how much water for one cup of rice", "how much water for 2 cups of rice").reason.startswith(
        "numbers differ"
    )


@pytest.mark.parametrize(
    ("query", "candidate"),
    [
        (
            "The island is rocky with steep sides and has little soil",
            "The island is steep with rocky sides and has very little soil",
        ),
        ("Wright moved to New York from Chapel Hill", "Wright moved from New York to Chapel Hill"),
    ],
)
def test_words_moved_into_another_phrase_are_a_near_miss(check, query: str, candidate: str) -> None:  # type: ignore[no-untyped-def]
    # The same bag of words, another word in each preposition's phrase (PAWS' word swaps).
    verdict = check(query, candidate)
    assert not verdict.same, verdict


@pytest.mark.parametrize(
    ("query", "candidate", "moved"),
    [
        (
            "the only other Putnam County is in Jennings Township",
            "the only other Jennings Township is in Putnam County",
            1.0,
        ),
        # A phrase with a word more, or a question word after the phrase, moves nothing.
        ("Is SQL still worth learning for data analysis", "Is it still worth learning SQL for data analysis work", 0.0),
        ("In Python how do I reverse a list", "How do I reverse a list in Python", 0.0),
    ],
)
def test_moved_phrases_counts_swapped_words_only(
    embedder: StaticEmbedder, query: str, candidate: str, moved: float
) -> None:
    query_vec, candidate_vec = embedder.embed([query, candidate])
    assert pair_features(query, candidate, query_vec, candidate_vec)["moved_phrases"] == moved


def test_a_question_for_another_kind_of_answer_is_vetoed(check) -> None:  # type: ignore[no-untyped-def]
    verdict = check("When did humans first land on the moon?", "Where did humans first land on the moon?", 0.0)
    assert not verdict.same and verdict.reason == "asks for another kind of answer"
    # "what year" asks for a time too: no veto.
    same = check("What year did the Berlin Wall fall?", "When did the Berlin Wall come down?", 0.0)
    assert same.reason != "asks for another kind of answer"
