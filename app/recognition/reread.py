"""A second reading of the boxes PP-OCRv6 tiny is unsure of, by the larger PP-OCRv6 small recognizer.

Detection and most of the reading stay with PP-OCRv6 tiny (about a third of a second per receipt);
the boxes tiny read with a low score are cut out again and read by PP-OCRv6 small's recognizer,
which reads more of a receipt's words right but costs about five times as much per box. Only
the boxes go through it, never a second detection: a few dozen small crops. Which boxes, and
which reading is kept, was measured on all 463 real receipts (tiny's boxes replayed with both
readings, issue 12): reading again below 0.93, 0.95 or 0.97, or every box, gave the same gains,
0.95 at the lowest cost; keeping the surer of the two readings beat always taking small's
(a de-receipts total). CPU per receipt about 1.6x tiny's alone, median and p90.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from PIL import Image

from app.recognition.layout import OcrBox

# Boxes PP-OCRv6 tiny read with a score below this are read again.
REREAD_BELOW = 0.95


class Detector(Protocol):
    """A PP-OCR engine that also gives the upright page and cuts its boxes out of it."""

    name: str

    def read_upright(self, image: Image.Image) -> tuple[list[OcrBox], Image.Image]: ...

    def crops(self, image: Image.Image, boxes: Sequence[OcrBox]) -> list[np.ndarray]: ...


class LineReader(Protocol):
    """A recognizer of cut-out text lines: (text, score) per crop, in order."""

    def __call__(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]: ...


class RecognitionModel:
    """One PP-OCR recognition model through RapidOCR's recognizer, loaded once, lazily."""

    def __init__(self, model: str, keys: str | None, *, threads: int = 1, min_width: int = 96) -> None:
        self._config = {"model_path": model, "rec_keys_path": keys, "rec_img_shape": [3, 48, min_width],
                        "rec_batch_num": 6, "intra_op_num_threads": threads, "inter_op_num_threads": 1,
                        "use_cuda": False, "use_dml": False}
        self._model: Any = None
        self._lock = threading.Lock()

    def __call__(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """The text and score of each crop."""
        if not crops:
            return []
        with self._lock:
            if self._model is None:
                from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer  # heavy: onnxruntime, on first use

                self._model = TextRecognizer(self._config)
        readings, _ = self._model(list(crops))
        return [(str(text), float(score)) for text, score in readings]


def unsure(box: OcrBox, below: float = REREAD_BELOW) -> bool:
    """Whether a box is read again: tiny's score for it is below `below`."""
    return box.score < below


def better(first: OcrBox, text: str, score: float) -> OcrBox:
    """Of the two readings of a box, the one its recognizer is surer of (an empty one never): small
    misreads now and then too ('5.17' at 0.88 where tiny read '5.47' at 0.93)."""
    if not text.strip() or score <= first.score:
        return first
    return OcrBox(first.points, text, score)


class RereadEngine:
    """PP-OCRv6 tiny's boxes, the unsure ones read again by a stronger recognizer.

    `as_read` tells a page to leave as tiny read it: a page in a script neither model knows
    (Cyrillic, Thai), which the auto engine recognizes from tiny's reading and hands on.
    """

    def __init__(self, name: str, first: Detector, second: LineReader, *, below: float = REREAD_BELOW,
                 as_read: Callable[[Sequence[OcrBox]], bool] | None = None) -> None:
        self.name = name
        self._first = first
        self._second = second
        self._below = below
        self._as_read = as_read

    def read(self, image: Image.Image, lang: str) -> list[OcrBox]:
        """The boxes of the upright page, as `RapidOcrEngine.read`."""
        return self.read_upright(image)[0]

    def read_upright(self, image: Image.Image) -> tuple[list[OcrBox], Image.Image]:
        """The boxes with the unsure ones read again, and the upright page they were read from."""
        boxes, upright = self._first.read_upright(image)
        if self._as_read is not None and self._as_read(boxes):
            return boxes, upright
        again = [i for i, box in enumerate(boxes) if unsure(box, self._below)]
        readings = self._second(self._first.crops(upright, [boxes[i] for i in again]))
        for i, (text, score) in zip(again, readings, strict=True):
            boxes[i] = better(boxes[i], text, score)
        return boxes, upright
