"""The sentence embedder (all-MiniLM-L6-v2 run in numpy) and the text the semantic cache compares."""

from __future__ import annotations

import numpy as np
import pytest

from switchyard.common.v1 import chat_pb2
from switchyard.ml.embedding import EMBEDDING_DIM, MAX_TOKENS, Embedder, embedding_text


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder.load()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def test_embeddings_are_unit_length_float32_rows(embedder: Embedder) -> None:
    vectors = embedder.embed(["A man is eating food.", "", "Ünïcödé and emoji 🚀 survive tokenizing."])
    assert vectors.shape == (3, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_same_text_always_gets_the_same_embedding(embedder: Embedder) -> None:
    text = "How do I reverse a list in Python?"
    assert np.array_equal(embedder.embed_one(text), embedder.embed_one(text))


def test_matches_the_published_reference_similarities(embedder: Embedder) -> None:
    # Values printed by sentence-transformers for all-MiniLM-L6-v2 in its documentation.
    vectors = embedder.embed(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    assert cosine(vectors[0], vectors[1]) == pytest.approx(0.6660, abs=2e-3)
    assert cosine(vectors[0], vectors[2]) == pytest.approx(0.1046, abs=2e-3)
    food = embedder.embed(["A man is eating food.", "A man is eating a piece of bread."])
    assert cosine(food[0], food[1]) == pytest.approx(0.7553, abs=2e-3)


def test_a_paraphrase_is_closer_than_an_unrelated_prompt(embedder: Embedder) -> None:
    query = embedder.embed_one("How do I reverse a list in Python?")
    paraphrase = embedder.embed_one("python: what's the way to reverse a list?")
    unrelated = embedder.embed_one("Write a haiku about autumn rain in Kyoto.")
    assert cosine(query, paraphrase) > 0.8
    assert cosine(query, unrelated) < 0.2


def test_a_batch_equals_one_text_at_a_time(embedder: Embedder) -> None:
    texts = ["short", "A somewhat longer sentence about the semantic cache and its guard.", "x " * 300, "Two words"]
    batch = embedder.embed(texts)
    single = np.stack([embedder.embed_one(text) for text in texts])
    assert np.allclose(batch, single, atol=1e-5)
    assert embedder.embed([]).shape == (0, EMBEDDING_DIM)


def test_long_texts_are_cut_at_the_model_limit(embedder: Embedder) -> None:
    head = "The quarterly report shows revenue growth in every region. " * 40
    assert embedder.token_count(head) == MAX_TOKENS
    # Whatever follows the first 256 word pieces does not change the embedding.
    assert np.allclose(embedder.embed_one(head), embedder.embed_one(head + " Completely different ending."), atol=1e-6)


def message(role: chat_pb2.Role.ValueType, text: str) -> chat_pb2.ChatMessage:
    return chat_pb2.ChatMessage(role=role, text=text)


def test_embedding_text_is_the_last_user_turn() -> None:
    request = chat_pb2.ChatRequest(
        messages=[
            message(chat_pb2.ROLE_SYSTEM, "You are terse."),
            message(chat_pb2.ROLE_USER, "What is the capital of France?"),
            message(chat_pb2.ROLE_ASSISTANT, "Paris."),
            message(chat_pb2.ROLE_USER, "And of Germany?"),
            message(chat_pb2.ROLE_TOOL, "tool output"),
        ]
    )
    assert embedding_text(request) == "And of Germany?"


def test_embedding_text_joins_text_parts_and_skips_images() -> None:
    parts = chat_pb2.ContentParts(
        parts=[
            chat_pb2.ContentPart(text=chat_pb2.TextPart(text="Describe this picture")),
            chat_pb2.ContentPart(image_url=chat_pb2.ImageUrlPart(url="https://example.com/cat.png")),
            chat_pb2.ContentPart(text=chat_pb2.TextPart(text="in one sentence.")),
        ]
    )
    request = chat_pb2.ChatRequest(messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, parts=parts)])
    assert embedding_text(request) == "Describe this picture\nin one sentence."


def test_embedding_text_is_empty_without_a_user_turn() -> None:
    assert embedding_text(chat_pb2.ChatRequest(messages=[message(chat_pb2.ROLE_SYSTEM, "You are terse.")])) == ""
    assert embedding_text(chat_pb2.ChatRequest()) == ""
