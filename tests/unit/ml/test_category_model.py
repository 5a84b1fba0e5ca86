"""The task-category model: packaged artifact, obvious prompts, calibrated confidences, other languages,
overrides and the shared embedding."""

# ruff: noqa: RUF001  (prompts in other scripts)

from __future__ import annotations

import pytest

from switchyard.ml.category import CATEGORIES, CategoryModel, foreign, override
from switchyard.ml.complexity import FOCUS_CHARS
from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.features import hashed


@pytest.fixture(scope="module")
def model() -> CategoryModel:
    return CategoryModel.load()


def test_artifact_loads_from_package_once(model: CategoryModel) -> None:
    assert CategoryModel.load() is model
    assert set(model.probabilities("hello").keys()) == set(CATEGORIES)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (
            "My Python function crashes with IndexError: list index out of range. Can you fix the bug?\n"
            "def last(items):\n    return items[len(items)]",
            "code",
        ),
        ("Fix this Python bug: my for loop never stops and the list keeps growing", "code"),
        ("solve 3x+5=20", "math"),
        ("What is the integral of x^2 from 0 to 3?", "math"),
        (
            "Summarise this article: The city council approved a new budget on Tuesday that raises spending on "
            "public transport by 15 percent, while cutting funds for road expansion. Officials said the change "
            "reflects growing ridership and climate goals.",
            "summarization",
        ),
        ("pretend you are a pirate captain and stay in character", "roleplay"),
        ("hi, how are you today?", "chat"),
        (
            "Logic puzzle: Alice, Bob and Carol each own one pet: a cat, a dog or a fish. Alice doesn't own the "
            "dog. Bob owns the fish. Who owns the cat? Explain your reasoning.",
            "reasoning",
        ),
        ("Write a short poem about autumn leaves falling in the park.", "creative_writing"),
        (
            "Classify the sentiment of this review as positive or negative: 'The battery died in a day.'",
            "classification",
        ),
        (
            "From the following text, extract the invoice number and the due date: Invoice 4471 was issued on "
            "3 May and is due on 2 June.",
            "extraction",
        ),
        ("Who was the first president of the United States?", "knowledge"),
    ],
)
def test_obvious_prompts(model: CategoryModel, prompt: str, expected: str) -> None:
    category, confidence = model.predict(prompt)
    assert category == expected
    assert 0.0 < confidence <= 1.0


@pytest.mark.parametrize("prompt", ["", "   ", "?!", "x" * 5000, "日本語のテキストです", "a b c " * 2000])
def test_confidence_is_a_probability_for_any_text(model: CategoryModel, prompt: str) -> None:
    category, confidence = model.predict(prompt)
    assert category in CATEGORIES
    assert 0.0 < confidence <= 1.0
    assert sum(model.probabilities(prompt).values()) == pytest.approx(1.0, abs=1e-4)


def test_overrides() -> None:
    assert override("why does this fail?\n```python\nprint(x\n```") == "code"
    assert override("Hello there!") == "chat"
    assert override("thanks so much") == "chat"
    assert override("hello, can you explain how tides work?") is None
    assert override("Write a poem about the sea.") is None


def test_override_sets_category_and_confidence(model: CategoryModel) -> None:
    category, confidence = model.predict("Summarise what this does:\n```\nls -la | wc -l\n```")
    assert category == "code"
    assert 0.9 <= confidence <= 1.0


def test_precomputed_features_give_the_same_answer(model: CategoryModel) -> None:
    text = "Translate the following sentence into French and explain the grammar."
    vector = StaticEmbedder.load().embed_one(text[:FOCUS_CHARS])
    assert model.predict(text, hashed(text)) == model.predict(text)
    assert model.predict(text, embedding=vector) == model.predict(text)
    assert model.probabilities(text, hashed(text), vector) == model.probabilities(text)


def test_the_embedding_is_read(model: CategoryModel) -> None:
    text = "Write a short poem about autumn leaves falling in the park."
    other = StaticEmbedder.load().embed_one("Solve the equation 3x + 5 = 20 for x.")
    assert model.probabilities(text, embedding=other) != model.probabilities(text)


@pytest.mark.parametrize(
    ("prompt", "language"),
    [
        ("Wie kann ich in Python eine Liste von Wörterbüchern nach einem Schlüssel sortieren?", "de"),
        ("Écris un court poème sur la mer et les bateaux qui partent au matin.", "fr"),
        ("¿Cuál es la capital de Australia y por qué no es Sídney?", "es"),
        ("Объясни, пожалуйста, как работает фотосинтез у растений.", "ru"),
        ("请把下面这段话翻译成英文，并解释其中的语法。", "zh"),
        ("この文章を三行で要約してください。", "ja"),
    ],
)
def test_other_languages_are_never_confidently_wrong(model: CategoryModel, prompt: str, language: str) -> None:
    assert foreign(prompt), language
    category, confidence = model.predict(prompt)
    assert category in CATEGORIES
    # The model has seen few prompts in these languages: it says so rather than guessing with conviction.
    assert 0.0 < confidence < 0.75


@pytest.mark.parametrize(
    "prompt",
    [
        "What is the capital of France?",
        "Write a Python function that reverses a linked list.",
        "solve 3x+5=20",
        "Summarise this article in two sentences.",
    ],
)
def test_english_is_not_taken_for_another_language(prompt: str) -> None:
    assert not foreign(prompt)


def test_confidence_separates_clear_from_vague_prompts(model: CategoryModel) -> None:
    _, clear = model.predict("Write a Python function that returns the n-th Fibonacci number, with unit tests.")
    _, vague = model.predict("about the thing from before")
    assert clear > 0.6
    assert vague < clear


def test_a_500_token_prompt_gets_a_category(model: CategoryModel) -> None:
    prompt = (
        "Please review the following report and tell me which sections need more detail about the budget, "
        "the hiring plan and the timeline for the product launch next quarter. "
    ) * 17  # about 500 tokens
    category, confidence = model.predict(prompt)
    assert category in CATEGORIES and 0.0 < confidence <= 1.0
