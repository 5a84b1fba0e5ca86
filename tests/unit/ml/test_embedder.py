"""The shared static sentence embedder (switchyard.ml.embedder) and the text a request's embedding is of."""

from __future__ import annotations

import dataclasses
from collections import deque

import numpy as np
import pytest

from switchyard.common.v1 import chat_pb2
from switchyard.ml.artifacts import version
from switchyard.ml.embedder import MAX_CHARS, TABLE, TOKENIZER, StaticEmbedder, embedding_text


@pytest.fixture(scope="module")
def embedder() -> StaticEmbedder:
    return StaticEmbedder.load()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def test_embeddings_are_unit_length_float32_rows(embedder: StaticEmbedder) -> None:
    vectors = embedder.embed(["A man is eating food.", "Ünïcödé and emoji 🚀 survive tokenizing."])
    assert vectors.shape == (2, embedder.dim)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_text_without_a_known_word_piece_embeds_as_zeros(embedder: StaticEmbedder) -> None:
    assert not embedder.embed_one("").any()
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_the_same_text_always_gets_the_same_embedding_and_the_artifact_has_a_version(
    embedder: StaticEmbedder,
) -> None:
    text = "How do I reverse a list in Python?"
    assert np.array_equal(embedder.embed_one(text), embedder.embed_one(text))
    assert embedder.version == version(TABLE, TOKENIZER) and len(embedder.version) == 12


def test_case_and_spacing_do_not_change_the_embedding(embedder: StaticEmbedder) -> None:
    assert np.allclose(
        embedder.embed_one("Who wrote Pride and Prejudice?"), embedder.embed_one("who  wrote pride and prejudice ?")
    )


def test_paraphrases_are_closer_than_unrelated_prompts(embedder: StaticEmbedder) -> None:
    query = embedder.embed_one("How do I reverse a list in Python?")
    paraphrase = embedder.embed_one("python: what's the way to reverse a list?")
    unrelated = embedder.embed_one("Write a haiku about autumn rain in Kyoto.")
    assert cosine(query, paraphrase) > 0.8
    assert cosine(query, unrelated) < 0.3
    author = embedder.embed(["Who wrote Pride and Prejudice?", "Who is the author of Pride and Prejudice?"])
    assert cosine(author[0], author[1]) > 0.8


def test_a_batch_equals_one_text_at_a_time(embedder: StaticEmbedder) -> None:
    texts = ["short", "A somewhat longer sentence about the semantic cache and its guard.", "x " * 300, "Two words"]
    assert np.array_equal(embedder.embed(texts), np.stack([embedder.embed_one(text) for text in texts]))


def test_a_huge_text_is_read_up_to_its_cut(embedder: StaticEmbedder) -> None:
    head = "The quarterly report shows revenue growth in every region. " * 100
    assert len(head) > MAX_CHARS
    assert np.array_equal(embedder.embed_one(head), embedder.embed_one(head + " Completely different ending."))


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


def _pieces(embedder: StaticEmbedder, text: str) -> list[int]:
    return [i for i in embedder.tokenizer.encode(text, add_special_tokens=False).ids if i != embedder.unknown]


def test_the_head_of_a_remembered_text_has_the_pieces_tokenizing_it_alone_gives(embedder: StaticEmbedder) -> None:
    # Cuts inside a word of several pieces, inside a word too long for the vocabulary (one unknown
    # piece as a whole, known pieces when cut), between Chinese characters and after accents.
    text = (
        "Unaffable héllo wörld, playing 東京タワー at İstanbul; "
        + "x" * 120
        + " pneumonoultramicroscopicsilicovolcanoconiosis ends here."
    )
    embedder.token_rows(text, len(text))
    for chars in range(len(text) + 1):
        assert embedder.ids(text[:chars], len(text)) == _pieces(embedder, text[:chars]), text[:chars]


def test_an_embedding_reusing_remembered_pieces_equals_a_fresh_one() -> None:
    # Not plain ASCII, so the whole text goes through the tokenizer and its head reuses the pieces.
    text = " ".join(["The circuit breaker opens after five failures and retries with backoff (naïve)."] * 40)
    remembering = StaticEmbedder.load()
    remembering.token_rows(text, len(text))
    fresh = dataclasses.replace(remembering, recent=deque(maxlen=4))
    assert np.array_equal(remembering.embed_one(text[:2000]), fresh.embed_one(text[:2000]))


@pytest.mark.parametrize(
    "text",
    [
        "Who wrote Pride and Prejudice?",
        "Say hello. fe0d8ac36034-0-17",
        "def f(x):\n\treturn x**2  # square it; see https://example.com/a_b?c=1&d=[2]",
        "UPPER lower MiXeD don't can't 3.14159 1,000,000 $5 50% @user #tag ~/path `code` {k: v}",
        "x" * 150 + " a word too long for the vocabulary, then unaffable pneumonoultramicroscopic words",
        "special tokens stay special: [CLS] text [SEP] and [UNK] and [MASK] [PAD] [not one]",
        "a bell\x07 and an escape\x1b[0m and a delete\x7f are dropped by the normaliser",
        "",
        "   ",
        "!!!???...",
    ],
)
def test_ascii_text_gets_the_pieces_the_tokenizer_gives(embedder: StaticEmbedder, text: str) -> None:
    # Plain ASCII is cut into words by the embedder itself and each word's pieces remembered: twice, so
    # the second reading comes from what was remembered.
    for _ in range(2):
        assert embedder.ids(text) == _pieces(embedder, text)


def test_the_head_of_a_remembered_ascii_text_has_the_pieces_tokenizing_it_alone_gives(
    embedder: StaticEmbedder,
) -> None:
    # Plain ASCII remembers its last text's words: every head of it (cut inside a word of several pieces,
    # between a word and punctuation, in a run of spaces) reads as the tokenizer reads that head alone.
    text = "Refactor the checkout handler; unaffable retries (x3) back off at 2**n ms.  Ask dana.lee@example.org!"
    embedder.ids(text, len(text))
    for chars in range(len(text) + 1):
        assert embedder.ids(text[:chars], len(text)) == _pieces(embedder, text[:chars]), text[:chars]
        embedder.ids(text, len(text))
