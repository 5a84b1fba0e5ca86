"""Compares the packaged static embedder with its teacher on the same pairs, and on cost.

    python -m training.eval_embedder [--data ../shared/data] [--teacher]

Figures per embedder: STS-B dev Spearman correlation of cosine with the gold score; ROC AUC of cosine
for PAWS held-out (same vs not: word order, which no bag of word pieces sees), the hand-written
held-out chat paraphrases against their near misses, and the Quora-style duplicates against
non-duplicates; and the p50 cost of embedding one short query on one core. `--teacher` adds
all-MiniLM-L6-v2 itself (needs the train extra and PyTorch), run by sentence-transformers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.stats import spearmanr  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.normalise import semantic_text
from training import DATA
from training.eval_nearmiss import Pair, hand_written, paws_split, read_jsonl

Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]
QUERY = "Who is the author of Pride and Prejudice?"


def cosines(embed: Embed, pairs: Sequence[tuple[str, str]]) -> npt.NDArray[np.float64]:
    a = embed([x for x, _ in pairs])
    b = embed([y for _, y in pairs])
    return np.asarray((a * b).sum(axis=1), dtype=np.float64)


def auc(embed: Embed, pairs: Sequence[Pair]) -> float:
    return float(roc_auc_score([p.same for p in pairs], cosines(embed, [(p.a, p.b) for p in pairs])))


def cost_us(embed: Embed, rounds: int = 2000) -> float:
    for _ in range(rounds // 10):
        embed([QUERY])
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        embed([QUERY])
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def row(name: str, embed: Embed, data: Path) -> str:
    sts = read_jsonl(data / "cache" / "stsb_dev.jsonl")
    rho = spearmanr(cosines(embed, [(str(r["a"]), str(r["b"])) for r in sts]), [float(str(r["score"])) for r in sts])
    _, paws = paws_split(read_jsonl(data / "cache" / "paws_dev.jsonl"))
    held = hand_written("heldout")
    chat = [Pair(semantic_text(p.a), semantic_text(p.b), p.same, p.source, p.group) for p in held["chat_paraphrases"]]
    chat += [Pair(semantic_text(p.a), semantic_text(p.b), p.same, p.source, p.group) for p in held["chat_near_misses"]]
    return (
        f"| {name} | {rho.correlation:.3f} | {auc(embed, paws):.3f} | {auc(embed, chat):.3f} | "
        f"{auc(embed, held['quora_style']):.3f} | {cost_us(embed):.0f} µs |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--teacher", action="store_true", help="also measure all-MiniLM-L6-v2 itself")
    args = parser.parse_args()
    print("| embedder | STS-B Spearman | PAWS AUC | chat paraphrase vs near-miss AUC | Quora-style AUC | one query |")
    print("|---|---|---|---|---|---|")
    static = StaticEmbedder.load()
    print(row(f"static, {static.dim} dims int8 (packaged {static.version})", static.embed, args.data))
    if args.teacher:
        from sentence_transformers import SentenceTransformer

        from training.embedder import teacher_dir

        teacher = SentenceTransformer(str(teacher_dir()), device="cpu")

        def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
            return np.asarray(teacher.encode(list(texts), normalize_embeddings=True), dtype=np.float32)

        print(row("all-MiniLM-L6-v2 (the teacher, PyTorch)", embed, args.data))


if __name__ == "__main__":
    main()
