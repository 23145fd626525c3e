"""Text boxes from OCR -> lines of a receipt, top to bottom, each read left to right.

OCR finds words or phrases as separate quadrilaterals: the item name on the left and
its price on the right of the same printed line come back as two boxes. We estimate
the page's skew from the boxes' top edges, rotate the box centres upright, group boxes
whose vertical extents overlap into one row, and order each row by x.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.recognition.receipt_parser import TextLine

Point = tuple[float, float]
_MAX_SKEW_DEG = 25.0
_SAME_ROW = 0.5  # centres closer than this fraction of the smaller box height share a row


@dataclass(frozen=True, slots=True)
class OcrBox:
    """One recognized piece of text: its four corners (clockwise from top-left), text and score."""

    points: tuple[Point, Point, Point, Point]
    text: str
    score: float

    @property
    def height(self) -> float:
        """Mean length of the left and right edges."""
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.points
        return (math.hypot(x3 - x0, y3 - y0) + math.hypot(x2 - x1, y2 - y1)) / 2

    @property
    def width(self) -> float:
        """Length of the top edge."""
        (x0, y0), (x1, y1) = self.points[0], self.points[1]
        return math.hypot(x1 - x0, y1 - y0)

    @property
    def angle(self) -> float:
        """Slope of the top edge, in radians (positive: descending to the right)."""
        (x0, y0), (x1, y1) = self.points[0], self.points[1]
        return math.atan2(y1 - y0, x1 - x0)

    @property
    def centre(self) -> Point:
        """Mean of the four corners."""
        return (sum(p[0] for p in self.points) / 4, sum(p[1] for p in self.points) / 4)


@dataclass(slots=True)
class _Row:
    y: float
    height: float
    members: list[tuple[float, OcrBox]] = field(default_factory=list)

    def add(self, x: float, y: float, box: OcrBox) -> None:
        count = len(self.members)
        self.y = (self.y * count + y) / (count + 1)
        self.height = (self.height * count + box.height) / (count + 1)
        self.members.append((x, box))


def estimate_skew(boxes: Sequence[OcrBox]) -> float:
    """The page's rotation in radians: the median top-edge angle of boxes wider than tall (0 if none)."""
    angles = [b.angle for b in boxes if b.width > 1.5 * b.height and b.height > 0]
    if not angles:
        return 0.0
    skew = statistics.median(angles)
    return skew if abs(math.degrees(skew)) <= _MAX_SKEW_DEG else 0.0


def _upright(point: Point, skew: float) -> Point:
    x, y = point
    cos, sin = math.cos(skew), math.sin(skew)
    return (x * cos + y * sin, -x * sin + y * cos)


def _bounds(boxes: Sequence[OcrBox]) -> list[Point]:
    xs = [p[0] for b in boxes for p in b.points]
    ys = [p[1] for b in boxes for p in b.points]
    return [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]


def _find_row(rows: list[_Row], y: float, height: float) -> _Row | None:
    best: tuple[float, _Row] | None = None
    for row in rows[-4:]:
        distance = abs(row.y - y)
        if distance < _SAME_ROW * min(row.height, height) and (best is None or distance < best[0]):
            best = (distance, row)
    return best[1] if best else None


def group_rows(boxes: Sequence[OcrBox]) -> list[list[OcrBox]]:
    """Boxes grouped into printed rows (top to bottom), each row ordered left to right."""
    skew = estimate_skew(boxes)
    placed = sorted(((*_upright(b.centre, skew), b) for b in boxes if b.text.strip()), key=lambda t: t[1])
    rows: list[_Row] = []
    for x, y, box in placed:
        row = _find_row(rows, y, box.height)
        if row is None:
            row = _Row(y, box.height)
            rows.append(row)
        row.add(x, y, box)
    rows.sort(key=lambda r: r.y)
    return [[box for _, box in sorted(row.members, key=lambda m: m[0])] for row in rows]


def to_lines(boxes: Sequence[OcrBox]) -> list[TextLine]:
    """Receipt lines from OCR boxes: text joined with spaces, mean score, and the row's outline."""
    return [
        TextLine(
            text=" ".join(b.text.strip() for b in row),
            confidence=round(sum(b.score for b in row) / len(row), 4),
            box=_bounds(row),
        )
        for row in group_rows(boxes)
    ]
