"""Where the products are when a photo shows several of them lying on a plain surface.

A photo of one product (the common case) is classified whole; this module only answers
whether the photo looks like a pile on a table and, if so, where each object is. The
surface is estimated from the image border: when the border is one fairly even colour,
pixels far from it are foreground, and each large connected blob of foreground is one
proposal. A busy border (a shop shelf, a product filling the frame) means "one product".
Boxes of overlapping proposals are merged by non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Box = tuple[float, float, float, float]  # left, top, right, bottom
_WORK_SIDE = 160  # the analysis runs on a thumbnail this large
_BORDER = 0.06  # share of each side taken as the border strip
_MAX_BORDER_SPREAD = 22.0  # median colour distance of border pixels from their median: an even surface
_MIN_CONTRAST = 45.0  # colour distance from the surface that makes a pixel foreground
_MIN_AREA = 0.015  # blobs smaller than this share of the image are noise
_MAX_AREA = 0.7  # a blob this large is the whole photo's subject, not one of a pile
_PAD = 0.08  # proposals grow by this share of their size, so the classifier sees the whole object
NMS_IOU = 0.4


@dataclass(frozen=True, slots=True)
class Surface:
    """The estimated background colour and how uneven the border was."""

    colour: NDArray[np.float32]
    spread: float

    @property
    def plain(self) -> bool:
        """Whether the border is even enough to separate objects from it."""
        return self.spread <= _MAX_BORDER_SPREAD


def _thumbnail(image: Image.Image) -> tuple[NDArray[np.float32], float]:
    scale = max(image.size) / _WORK_SIDE
    size = (max(1, round(image.width / scale)), max(1, round(image.height / scale)))
    small = image.convert("RGB").resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(small, dtype=np.float32), scale


def _border(pixels: NDArray[np.float32]) -> NDArray[np.float32]:
    height, width = pixels.shape[:2]
    dy, dx = max(1, int(height * _BORDER)), max(1, int(width * _BORDER))
    strips = [pixels[:dy].reshape(-1, 3), pixels[-dy:].reshape(-1, 3),
              pixels[:, :dx].reshape(-1, 3), pixels[:, -dx:].reshape(-1, 3)]
    return np.concatenate(strips)


def estimate_surface(pixels: NDArray[np.float32]) -> Surface:
    """The border's median colour and the median distance of border pixels from it."""
    border = _border(pixels)
    colour = np.median(border, axis=0).astype(np.float32)
    spread = float(np.median(np.linalg.norm(border - colour, axis=1)))
    return Surface(colour, spread)


def _foreground(pixels: NDArray[np.float32], surface: Surface) -> NDArray[np.uint8]:
    import cv2

    distance = np.linalg.norm(pixels - surface.colour, axis=2)
    mask = (distance > max(_MIN_CONTRAST, 3 * surface.spread)).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    return np.asarray(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel, iterations=2), dtype=np.uint8)


def _blobs(mask: NDArray[np.uint8]) -> list[Box]:
    import cv2

    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    total = mask.shape[0] * mask.shape[1]
    boxes = []
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if _MIN_AREA * total <= area <= _MAX_AREA * total:
            boxes.append((float(x), float(y), float(x + w), float(y + h)))
    return boxes


def _grow(box: Box, scale: float, width: int, height: int) -> Box:
    left, top, right, bottom = (v * scale for v in box)
    pad_x, pad_y = (right - left) * _PAD, (bottom - top) * _PAD
    return (max(0.0, left - pad_x), max(0.0, top - pad_y), min(float(width), right + pad_x),
            min(float(height), bottom + pad_y))


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def suppress(boxes: list[Box], scores: list[float], threshold: float = NMS_IOU) -> list[int]:
    """Indexes of the boxes kept by greedy non-maximum suppression, best score first."""
    kept: list[int] = []
    for index in sorted(range(len(boxes)), key=lambda i: -scores[i]):
        if all(iou(boxes[index], boxes[other]) < threshold for other in kept):
            kept.append(index)
    return kept


def propose(image: Image.Image) -> list[Box]:
    """Boxes (image pixels) of separate objects on a plain surface; [] when the photo is not such a pile."""
    pixels, scale = _thumbnail(image)
    surface = estimate_surface(pixels)
    if not surface.plain:
        return []
    boxes = [_grow(box, scale, image.width, image.height) for box in _blobs(_foreground(pixels, surface))]
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
    return [boxes[i] for i in suppress(boxes, areas)]
