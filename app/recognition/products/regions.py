"""Where the products are when a photo shows several of them lying on a plain surface.

A photo of one product (the common case) is classified whole; this module only answers
whether the photo looks like a pile on a table and, if so, where each object is. The
surface is estimated from the image border, smoothed so wood grain or a cloth's weave does
not count: when the border is explained by a few colours (k-means; a checked cloth has two),
pixels far from all of them are foreground, and each large connected blob of foreground,
holes filled, is one proposal. A busy border (a shop shelf, a product filling the frame) means "one product".
Boxes of overlapping proposals are merged by non-maximum suppression, and a box lying inside
another is part of that object. Boxes are tight around the object (a margin of table around
it made the classifier's guesses worse on composed piles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Box = tuple[float, float, float, float]  # left, top, right, bottom
_WORK_SIDE = 200  # the analysis runs on a thumbnail this large
_SMOOTH = 5  # median filter (thumbnail pixels) that evens out wood grain, weave and sensor noise
_BORDER = 0.06  # share of each side taken as the border strip
_SURFACE_COLOURS = 3  # a table may show a few colours (a checked cloth, grain): the border's main colours
_MIN_COLOUR_SHARE = 0.2  # a border colour covering less than this is an object touching the border
_MAX_BORDER_SPREAD = 22.0  # median colour distance of border pixels from the table colour: an even surface
_MAX_MIXED_SPREAD = 12.0  # the same from the nearest of a few main colours: a patterned table
_MIN_CONTRAST = 45.0  # colour distance from the surface that makes a pixel foreground
_CLOSE = 1  # closing steps that mend an object's outline (more would bridge the gap between objects)
_MIN_AREA = 0.015  # blobs smaller than this share of the image are noise
_MAX_AREA = 0.7  # a blob this large is the whole photo's subject, not one of a pile
_INSIDE = 0.8  # a box with this share of its area inside a larger one is part of that object
NMS_IOU = 0.4


@dataclass(frozen=True, slots=True)
class Surface:
    """The estimated table colours and how uneven the border was around them."""

    colours: NDArray[np.float32]  # k x 3
    spread: float

    @property
    def plain(self) -> bool:
        """Whether the border is even enough to separate objects from it."""
        return self.spread <= _MAX_BORDER_SPREAD

    def distance(self, pixels: NDArray[np.float32], *, mixes: bool = False) -> NDArray[np.float32]:
        """Each pixel's colour distance from the table's nearest colour, or with `mixes` from a blend of two.

        Where two colours of a pattern meet, smoothing blends them; such pixels lie on the
        segment between the two colours and are table too. (Whether the border is plain is
        judged without blends: with them a shop's border would pass as a patterned table.)
        """
        flat = pixels.reshape(-1, 3)
        best = np.linalg.norm(flat[:, None, :] - self.colours[None, :, :], axis=2).min(axis=1)
        for i in range(len(self.colours) if mixes else 0):
            for j in range(i + 1, len(self.colours)):
                start, step = self.colours[i], self.colours[j] - self.colours[i]
                t = np.clip((flat - start) @ step / max(float(step @ step), 1e-6), 0.0, 1.0)
                best = np.minimum(best, np.linalg.norm(flat - (start + t[:, None] * step), axis=1))
        return np.asarray(best.reshape(pixels.shape[:-1]), np.float32)


def _thumbnail(image: Image.Image) -> tuple[NDArray[np.float32], float]:
    import cv2  # heavy: OpenCV, loaded on the first product photo

    scale = max(image.size) / _WORK_SIDE
    size = (max(1, round(image.width / scale)), max(1, round(image.height / scale)))
    small = image.convert("RGB").resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(cv2.medianBlur(np.asarray(small), _SMOOTH), dtype=np.float32), scale


def _border(pixels: NDArray[np.float32]) -> NDArray[np.float32]:
    height, width = pixels.shape[:2]
    dy, dx = max(1, int(height * _BORDER)), max(1, int(width * _BORDER))
    strips = [pixels[:dy].reshape(-1, 3), pixels[-dy:].reshape(-1, 3),
              pixels[:, :dx].reshape(-1, 3), pixels[:, -dx:].reshape(-1, 3)]
    return np.concatenate(strips)


def _main_colours(border: NDArray[np.float32]) -> NDArray[np.float32]:
    """The border's few main colours (k-means, seeded), each covering a fair share of it."""
    import cv2  # heavy: OpenCV, loaded on the first product photo

    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    sample = np.ascontiguousarray(border[::3])  # a third of the border settles its main colours as well
    _, labels, centres = cv2.kmeans(sample, _SURFACE_COLOURS, np.zeros((len(sample), 1), np.int32), criteria, 2,
                                    cv2.KMEANS_PP_CENTERS)
    shares = np.bincount(np.asarray(labels).ravel(), minlength=_SURFACE_COLOURS) / len(sample)
    return np.asarray(centres, np.float32)[shares >= _MIN_COLOUR_SHARE]


def estimate_surface(pixels: NDArray[np.float32]) -> Surface:
    """The table's colour (the border's median) or, when that leaves the border uneven, its few main colours.

    The few-colour model (a checked cloth, wood grain) must fit the border much more
    tightly than one colour has to: a shop shelf's border is also a few colours.
    """
    border = np.ascontiguousarray(_border(pixels), dtype=np.float32)
    one = Surface(np.median(border, axis=0, keepdims=True).astype(np.float32), 0.0)
    one = Surface(one.colours, float(np.median(one.distance(border[:, None, :]))))
    if one.plain:
        return one
    colours = _main_colours(border)
    if len(colours) == 0:
        return one
    spread = float(np.median(Surface(colours, 0.0).distance(border[:, None, :])))
    return Surface(colours, spread) if spread <= _MAX_MIXED_SPREAD else one


def _foreground(pixels: NDArray[np.float32], surface: Surface) -> NDArray[np.uint8]:
    import cv2  # heavy: OpenCV, loaded on the first product photo

    raw = (surface.distance(pixels, mixes=True) > max(_MIN_CONTRAST, 3 * surface.spread)).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    opened = cv2.morphologyEx(raw, cv2.MORPH_OPEN, kernel)
    mask = np.asarray(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, kernel, iterations=_CLOSE), np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)  # an object's inner patches are the object
    return np.asarray(filled, dtype=np.uint8)


def _blobs(mask: NDArray[np.uint8]) -> list[Box]:
    import cv2  # heavy: OpenCV, loaded on the first product photo

    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    total = mask.shape[0] * mask.shape[1]
    boxes = []
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if _MIN_AREA * total <= area <= _MAX_AREA * total:
            boxes.append((float(x), float(y), float(x + w), float(y + h)))
    return boxes


def _to_image(box: Box, scale: float, width: int, height: int) -> Box:
    left, top, right, bottom = (v * scale for v in box)
    return (max(0.0, left), max(0.0, top), min(float(width), right), min(float(height), bottom))


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


def _inside(inner: Box, outer: Box) -> bool:
    width = max(0.0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    height = max(0.0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return area > 0 and width * height >= _INSIDE * area


def propose(image: Image.Image) -> list[Box]:
    """Tight boxes (image pixels) of separate objects on a plain surface; [] when the photo is not such a pile."""
    pixels, scale = _thumbnail(image)
    surface = estimate_surface(pixels)
    if not surface.plain:
        return []
    boxes = [_to_image(box, scale, image.width, image.height) for box in _blobs(_foreground(pixels, surface))]
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
    kept = [boxes[i] for i in suppress(boxes, areas)]
    return [box for box in kept if not any(other is not box and _inside(box, other) for other in kept)]
