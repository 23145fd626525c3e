"""Fitting the linear head on embeddings, with numpy only (no extra dependency at run or bench time).

Multinomial logistic regression with an L2 penalty, trained by full-batch gradient descent
with Nesterov momentum from zero weights, so a fit is deterministic. The training script
uses it for the shipped head; the bench uses it to score held-out folds honestly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

Head = dict[str, NDArray[np.float32]]


def views(image: Image.Image) -> list[Image.Image]:
    """A photo and the augmented copies the head trains on: mirrored, and four 80% corner crops."""
    width, height = image.size
    w, h = int(width * 0.8), int(height * 0.8)
    crops = [image.crop((x, y, x + w, y + h)) for x in (0, width - w) for y in (0, height - h)]
    return [image, ImageOps.mirror(image), *crops]


def fit_head(features: NDArray[np.float32], targets: Sequence[int], classes: int, *, l2: float = 1e-5,
             steps: int = 1500, rate: float = 16.0) -> Head:
    """Weights (classes x D), bias and feature mean for centred, unit-length `features` (N x D)."""
    mean = features.mean(axis=0)
    x = (features - mean).astype(np.float32)
    onehot = np.zeros((len(targets), classes), np.float32)
    onehot[np.arange(len(targets)), np.asarray(targets)] = 1.0
    weights = np.zeros((classes, x.shape[1]), np.float32)
    bias = np.zeros(classes, np.float32)
    velocity_w, velocity_b = np.zeros_like(weights), np.zeros_like(bias)
    for _ in range(steps):
        look_w, look_b = weights + 0.9 * velocity_w, bias + 0.9 * velocity_b
        error = softmax(x @ look_w.T + look_b) - onehot
        grad_w = error.T @ x / len(x) + l2 * look_w
        grad_b = error.mean(axis=0)
        velocity_w = 0.9 * velocity_w - rate * grad_w
        velocity_b = 0.9 * velocity_b - rate * grad_b
        weights, bias = weights + velocity_w, bias + velocity_b
    return {"weights": weights, "bias": bias, "mean": mean.astype(np.float32)}


def softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: NDArray[np.float32] = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return result


def predict(head: Head, features: NDArray[np.float32]) -> NDArray[np.float32]:
    """Class probabilities (N x classes) for unit-length features."""
    logits = (features - head["mean"]) @ head["weights"].T + head["bias"]
    return softmax(logits.astype(np.float32))


def stratified_folds(labels: Sequence[str], folds: int, seed: int) -> list[NDArray[np.int64]]:
    """Indexes of `folds` disjoint test folds, each class spread evenly over them (seeded shuffle)."""
    rng = np.random.default_rng(seed)
    buckets: list[list[int]] = [[] for _ in range(folds)]
    offset = 0
    for label in sorted(set(labels)):
        members = [i for i, value in enumerate(labels) if value == label]
        rng.shuffle(members)
        for position, index in enumerate(members):
            buckets[(offset + position) % folds].append(index)
        offset += len(members)
    return [np.array(sorted(bucket), dtype=np.int64) for bucket in buckets]
