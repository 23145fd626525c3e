"""Image preparation for OCR of real receipt photos: each step is a function of a PIL image.

Which steps the recognizer uses was decided by bench/ocr_bakeoff.py on the real sets (text-level
recall of totals, dates and item prices): the Tesseract engine flattens the light and scales the
text to 30 px (on the wildreceipt photos, dates 0.54 -> 0.65 and prices 0.37 -> 0.49 in its text);
PP-OCRv6 reads best from the decoded image as it is (crop: wildreceipt prices 0.94 -> 0.89;
flatten: dates 1.00 -> 0.96; deskew: no change, as the layout already corrects small skews), and
page orientation is found from PP-OCR's own boxes (`app.recognition.ocr.page_turn`). The unused
steps stay here, tested, for the next round of photos.

Steps:
- `crop_page`: find the bright receipt paper on a darker background and cut it out, correcting
  perspective when the paper's outline is a clear quadrilateral (phone photos).
- `deskew`: straighten a small rotation (up to 6 degrees) found from the rows of dark pixels.
- `flatten_light`: divide by the blurred background, which removes shadows and lifts faded
  thermal print, then stretch the contrast.
- `scale_for_text`: the factor that brings the text to a given height in pixels (Tesseract reads
  best at about 30 px), estimated from the connected components of the dark pixels.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

import cv2
import numpy as np
from PIL import Image

MAX_SCALE = 4.0
MIN_SCALE = 0.4
MAX_PIXELS = 4_000_000  # scaling stops here: Tesseract p90 on de-receipts 2.6 s at 12 MP, 1.5 s at 4 MP
_ANALYSIS_SIDE = 1000  # page and skew analysis runs on a copy this large


def _gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def _small(gray: np.ndarray, side: int = _ANALYSIS_SIDE) -> tuple[np.ndarray, float]:
    factor = min(1.0, side / max(gray.shape))
    if factor == 1.0:
        return gray, 1.0
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), factor


def text_height(image: Image.Image) -> float | None:
    """Median height in pixels of the glyph-like dark blobs, or None when there are too few."""
    gray, factor = _small(_gray(image), 2400)
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = [
        int(h) for _, _, w, h, area in stats[1:count]
        if 5 <= h <= 150 and w <= 2 * h and area >= 0.15 * w * h
    ]
    if len(heights) < 20:
        return None
    return statistics.median(heights) / factor


def scale_for_text(image: Image.Image, target: float) -> float:
    """The resize factor that makes the text about `target` px tall (1.0 when unknown or close)."""
    height = text_height(image)
    if height is None:
        return 1.0
    scale = min(MAX_SCALE, max(MIN_SCALE, target / height))
    scale = min(scale, (MAX_PIXELS / (image.width * image.height)) ** 0.5)
    return 1.0 if abs(scale - 1.0) < 0.15 else scale


def _order_corners(points: np.ndarray) -> np.ndarray:
    by_sum = points.sum(axis=1)
    by_diff = np.diff(points, axis=1).ravel()
    return np.array([points[np.argmin(by_sum)], points[np.argmin(by_diff)],
                     points[np.argmax(by_sum)], points[np.argmax(by_diff)]], dtype=np.float32)


def _paper_outline(gray: np.ndarray) -> np.ndarray | None:
    blurred = cv2.GaussianBlur(gray, (7, 7), 0)
    _, paper = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    paper = cv2.morphologyEx(paper, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    share = cv2.contourArea(largest) / (gray.shape[0] * gray.shape[1])
    if not 0.1 <= share <= 0.85:  # no clear paper, or the paper fills the picture already
        return None
    hull = cv2.convexHull(largest)
    quad = cv2.approxPolyDP(hull, 0.03 * cv2.arcLength(hull, True), True)
    if len(quad) == 4:
        return _order_corners(quad.reshape(4, 2).astype(np.float32))
    x, y, w, h = cv2.boundingRect(largest)
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)


def crop_page(image: Image.Image) -> Image.Image:
    """The receipt paper cut out of its background and made rectangular; the image itself if unclear."""
    gray, factor = _small(_gray(image))
    outline = _paper_outline(gray)
    if outline is None:
        return image
    corners = outline / factor
    (tl, tr, br, bl) = corners
    width = round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    if width < 100 or height < 100:
        return image
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    warped = cv2.warpPerspective(np.asarray(image), matrix, (width, height), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
    return Image.fromarray(warped)


def _row_contrast(ink: np.ndarray, degrees: float) -> float:
    centre = (ink.shape[1] / 2, ink.shape[0] / 2)
    matrix = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    rotated = cv2.warpAffine(ink, matrix, (ink.shape[1], ink.shape[0]))
    rows = rotated.sum(axis=1, dtype=np.float64)
    return float(np.square(np.diff(rows)).sum())


def skew_angle(image: Image.Image, limit: float = 6.0, step: float = 0.5) -> float:
    """The small rotation in degrees (counter-clockwise positive) that makes the text rows level."""
    gray, _ = _small(_gray(image), 800)
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    angles = np.arange(-limit, limit + step / 2, step)
    scores = [_row_contrast(ink, float(a)) for a in angles]
    return float(angles[int(np.argmax(scores))])


def deskew(image: Image.Image) -> Image.Image:
    """The image rotated so its text rows are level (unchanged when already within half a degree)."""
    angle = skew_angle(image)
    if abs(angle) < 0.75:
        return image
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))


def flatten_light(image: Image.Image) -> Image.Image:
    """Shadows and uneven light divided out, faded print darkened: a grey image as RGB."""
    gray = _gray(image)
    size = max(15, (min(gray.shape) // 20) | 1)
    background = cv2.medianBlur(cv2.dilate(gray, np.ones((7, 7), np.uint8)), min(size, 255))
    flat = cv2.divide(gray, np.maximum(background, 1), scale=255)
    low, high = np.percentile(flat, (1, 99.5))
    stretched = np.clip((flat.astype(np.float32) - low) * 255.0 / max(high - low, 1.0), 0, 255)
    return Image.fromarray(stretched.astype(np.uint8)).convert("RGB")


def clahe(image: Image.Image) -> Image.Image:
    """Local contrast equalisation (CLAHE) of the lightness, for faded thermal print."""
    gray = _gray(image)
    equalised = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(gray)
    return Image.fromarray(equalised).convert("RGB")


STEPS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "crop": crop_page, "deskew": deskew, "flatten": flatten_light, "clahe": clahe,
}


def prepare(image: Image.Image, steps: Sequence[str]) -> Image.Image:
    """The image after the named steps, in order (names from STEPS)."""
    for step in steps:
        image = STEPS[step](image)
    return image
