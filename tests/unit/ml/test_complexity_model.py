"""The learned complexity model: packaged artifact, probabilities, ordering, thresholds, speed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from switchyard.ml.complexity import (
    DENSE_FEATURES,
    METHOD,
    ComplexityModel,
    Tier,
    dense_features,
    multiple_choice,
)
from switchyard.ml.embedder import StaticEmbedder

EASY = (
    "Hi! How are you today?",
    "What is the capital of France?",
    "thanks, that's all",
)
HARD = (
    "Let G be a finite group of order p^2 q where p and q are distinct primes with p < q. Prove "
    "that G has a normal Sylow subgroup, and classify all such groups up to isomorphism when "
    "q = 1 (mod p) and p^2 does not divide q - 1. Next, consider the splitting field over Q of "
    "x^4 - 2x^2 - 1, compute its Galois group, determine every intermediate field and show which "
    "of them are normal over Q. Finally, derive a closed form for the number of conjugacy classes "
    "of G in terms of p and q, justifying each step rigorously with the class equation and the "
    "Sylow theorems, and explain how the answer changes when p = 2.",
    "A 54-year-old man with a history of poorly controlled type 2 diabetes, chronic kidney disease "
    "(eGFR 38 mL/min/1.73 m^2) and atrial fibrillation on warfarin presents with 3 days of fever, "
    "productive cough and confusion. His INR is 4.7, potassium 5.9 mmol/L, lactate 3.1 mmol/L. "
    "Step by step: (1) compute his CURB-65 and qSOFA scores, (2) choose empiric antibiotics, "
    "adjusting every dose for renal function and explaining each interaction with warfarin, "
    "(3) decide how to reverse the anticoagulation before a possible bronchoscopy, and (4) "
    "justify the fluid strategy given the hyperkalaemia and the risk of volume overload.",
)


@pytest.fixture(scope="module")
def model() -> ComplexityModel:
    return ComplexityModel.load()


def test_packaged_artifact_loads_once(model: ComplexityModel) -> None:
    assert ComplexityModel.load() is model
    assert model.dense_weights.shape == (len(model.meta["dense_features"]),)
    assert model.text.weights.shape[1] == 1


@pytest.mark.parametrize("text", ["", " ", "ok", *EASY, *HARD, "x" * 50_000, "∫∑√ 你好 🙂\n" * 300])
def test_probability_in_unit_interval(model: ComplexityModel, text: str) -> None:
    p = model.predict(text)
    assert 0.0 <= p <= 1.0
    complexity = model.complexity(text)
    assert complexity.method == METHOD
    assert complexity.p_cheap_ok == p
    assert complexity.score == pytest.approx(1.0 - p)


def test_chit_chat_is_easier_than_a_graduate_problem(model: ComplexityModel) -> None:
    easiest_hard = max(model.predict(t) for t in HARD)
    hardest_easy = min(model.predict(t) for t in EASY)
    assert hardest_easy > easiest_hard
    assert all(model.complexity(t).tier is Tier.SIMPLE for t in EASY)
    assert all(model.complexity(t).tier is Tier.COMPLEX for t in HARD)


def test_thresholds_are_monotone_in_share(model: ComplexityModel) -> None:
    shares = [i / 100 for i in range(101)]
    thresholds = [model.threshold_for_share(s) for s in shares]
    assert thresholds == sorted(thresholds)
    assert thresholds[0] == 0.0
    assert thresholds[-1] == 1.0
    assert model.threshold_for_share(0.2) < model.threshold_for_share(0.5) < model.threshold_for_share(0.8)
    assert model.threshold_for_share(-1.0) == 0.0
    assert model.threshold_for_share(2.0) == 1.0
    assert model.default_threshold == model.threshold_for_share(0.5)


def test_dense_features_are_finite_and_sized(model: ComplexityModel) -> None:
    for text in ("", "abc", "12 + 3 = 15?\n```def f(): return 1```", "Über 你好 ∫"):
        features = dense_features(text)
        # The model reads the embedding, then these cues.
        assert features.shape == (len(model.meta["dense_features"]) - StaticEmbedder.load().dim,)
        assert all(math.isfinite(f) and abs(f) < 1e6 for f in features.tolist())


def test_a_500_token_prompt_gets_a_probability(model: ComplexityModel) -> None:
    text = " ".join(["The patient was given 40 mg of the drug twice daily, and then"] * 38)
    assert 0.0 <= model.predict(text) <= 1.0


def test_a_given_embedding_is_the_one_the_model_would_compute(model: ComplexityModel) -> None:
    text = "Prove that there are infinitely many primes."
    vector = StaticEmbedder.load().embed_one(text)
    assert model.predict(text, vector) == model.predict(text)


MULTIPLE_CHOICE = (
    "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n"
    "A. 0\nB. 4\nC. 2\nD. 6\nAnswer:"
)
SHORT_WORD_PROBLEM = "Goldie makes $5 an hour. She worked for 20 hours. How much did she earn?"
LONG_WORD_PROBLEM = (
    "A hot dog weighs 2 ounces, a burger weighs 5 ounces, and a pie weighs 10 ounces. Jacob eats three "
    "fewer pies than Noah eats burgers. Mason eats 3 times as many hotdogs as the number of pies consumed "
    "by Jacob. Noah ate 8 burgers, and each of the 4 friends paid 12.50 dollars plus a 15% tip. If the "
    "contest lasted 45 minutes and Mason ate at a steady rate, how many ounces of hot dogs did Mason eat "
    "per minute, and how much did the 4 friends pay in total?"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MULTIPLE_CHOICE, True),
        ("Which is larger?\n(a) 2^10\n(b) 10^3\n(c) 3^6\n(d) 6^3", True),
        (SHORT_WORD_PROBLEM, False),
        ("A. Smith wrote to B. Jones about the plan.", False),
        ("Hi! How are you today?", False),
        ("", False),
    ],
)
def test_multiple_choice_questions_are_recognised(text: str, expected: bool) -> None:
    assert multiple_choice(text) is expected


def test_open_prompts_are_scored_by_the_open_ended_part(model: ComplexityModel) -> None:
    part = model.meta["open_ended"]
    assert model.open_weights is not None and model.open_weights.shape == (len(DENSE_FEATURES),)
    embedding = StaticEmbedder.load().embed_one(SHORT_WORD_PROBLEM)
    raw = np.concatenate([embedding, dense_features(SHORT_WORD_PROBLEM)])
    dense = np.clip((raw - model.dense_mean) / model.dense_scale, -4.0, 4.0)
    blend = model.meta["length_blend"]
    words = (float(dense_features(SHORT_WORD_PROBLEM)[DENSE_FEATURES.index("log_words")]) - blend["mean"]) / blend[
        "scale"
    ]
    text = float(model.text.scores(SHORT_WORD_PROBLEM)[0] + dense @ model.dense_weights)
    harder = float(dense[-len(DENSE_FEATURES) :] @ model.open_weights)
    asks = model.asks(embedding)
    assert 0.0 <= asks <= 1.0
    domain = model.domain_difficulty(embedding, dense)
    raw = (
        part["gate"] * text
        - part["difficulty"] * harder
        - part["length"] * words
        - part["ask"] * asks
        - part["domain"] * domain
    )
    expected = part["scale"] * raw
    assert model.logit(SHORT_WORD_PROBLEM) == pytest.approx(expected + part["bias"], rel=1e-4, abs=1e-4)


def test_a_multi_step_word_problem_is_harder_than_a_one_step_one(model: ComplexityModel) -> None:
    assert model.predict(LONG_WORD_PROBLEM) < model.predict(SHORT_WORD_PROBLEM)


MATHS_ASK = "Solve for x: 3x + 7 = 2(x - 4) + 15, and check your answer."
WRITING_ASK = "Draft a polite email to my landlord asking to fix the heating before winter."


def test_a_maths_ask_is_harder_than_a_writing_ask_of_the_same_length(model: ComplexityModel) -> None:
    embedder = StaticEmbedder.load()
    assert model.asks(embedder.embed_one(MATHS_ASK)) > 0.5 > model.asks(embedder.embed_one(WRITING_ASK))
    assert model.predict(MATHS_ASK) < model.predict(WRITING_ASK)


def test_a_word_problem_is_ranked_by_the_word_problem_head_alone(model: ComplexityModel) -> None:
    domains = model.meta["open_ended"]["domains"]
    assert model.domain_centroids is not None and model.domain_weights is not None
    assert model.domain_weights.shape == (len(domains["tasks"]), len(model.meta["dense_features"]))
    embedding = StaticEmbedder.load().embed_one(SHORT_WORD_PROBLEM)
    dense = np.clip(
        (np.concatenate([embedding, dense_features(SHORT_WORD_PROBLEM)]) - model.dense_mean) / model.dense_scale,
        -4.0,
        4.0,
    )
    word_problems = domains["tasks"].index("gsm8k")
    head = float(model.domain_weights[word_problems] @ dense) + domains["bias"][word_problems]
    assert model.domain_difficulty(embedding, dense) == pytest.approx(head, abs=1e-4)


@pytest.mark.parametrize("text", [WRITING_ASK, "What is the capital of France?", "thanks, that's all"])
def test_a_prompt_unlike_every_task_gets_no_domain_difficulty(model: ComplexityModel, text: str) -> None:
    embedding = StaticEmbedder.load().embed_one(text)
    dense = np.clip((np.concatenate([embedding, dense_features(text)]) - model.dense_mean) / model.dense_scale, -4, 4)
    assert model.domain_difficulty(embedding, dense) == 0.0
