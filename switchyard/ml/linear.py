"""A linear classifier over hashed features, stored as a small .npz artifact and run with numpy."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from switchyard.ml.features import hashed

ARTIFACTS = "switchyard.ml.artifacts"


@dataclass(frozen=True)
class LinearModel:
    """Weights (dims by classes), bias and class names of a trained linear model."""

    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    classes: tuple[str, ...]

    @classmethod
    def load(cls, name: str, path: Path | None = None) -> LinearModel:
        """Returns the model stored as `<name>.npz` in the packaged artifacts, or at path."""
        source = path or resources.files(ARTIFACTS).joinpath(f"{name}.npz")
        with source.open("rb") as handle, np.load(handle) as data:
            return cls(
                data["weights"].astype(np.float32),
                data["bias"].astype(np.float32),
                tuple(str(c) for c in data["classes"]),
            )

    def save(self, path: Path) -> None:
        """Writes the model as a compressed .npz (weights as float16 to keep the artifact small)."""
        np.savez_compressed(
            path, weights=self.weights.astype(np.float16), bias=self.bias, classes=np.array(self.classes)
        )

    def scores(self, text: str) -> npt.NDArray[np.float32]:
        """Returns the raw class scores of text."""
        indices, values = hashed(text, self.weights.shape[0])
        return values @ self.weights[indices] + self.bias

    def probabilities(self, text: str) -> npt.NDArray[np.float32]:
        """Returns class probabilities (softmax for several classes, sigmoid for a single score)."""
        raw = self.scores(text)
        if raw.shape[0] == 1:
            return np.array([1.0 / (1.0 + np.exp(-raw[0]))], dtype=np.float32)
        shifted = np.exp(raw - raw.max())
        return shifted / shifted.sum()
