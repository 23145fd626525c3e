"""Text boxes from OCR -> lines of a receipt, top to bottom, each read left to right.

OCR finds words or phrases as separate quadrilaterals: the item name on the left and
its price on the right of the same printed line come back as two boxes. We estimate
the page's skew from the boxes' top edges, refine it by the angle that best lines up
each box with its left neighbour (photos whose boxes are axis-aligned rectangles carry
no angle of their own), rotate the box centres upright, group boxes whose vertical
extents overlap into one row, and order each row by x. Paper folded or curved between the
names and the amount column sets the amounts part of a line off their names: the rows found
tell by how much down the page, the amounts are moved level by it and the rows grouped again.
Each line keeps its upright horizontal extent and height, from which the parser finds the
right-aligned amount column.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.recognition.receipt_parser import TextLine

Point = tuple[float, float]
_MAX_SKEW_DEG = 25.0
_SAME_ROW = 0.5  # centres closer than this fraction of the smaller box height share a row
_SEARCH_DEG = 6.0  # the refinement tries angles this far either side of the box-angle estimate
_SEARCH_STEP_DEG = 0.25
_TURN_COST = 0.02
_AMOUNT = re.compile(r"\d[.,]\d\d(?!\d)")
_BEND_ROWS = 3  # rows pairing text with an amount whose median offset moves an amount level
_BEND_MAX = 0.75  # text heights an amount may stand off its row's text and still tell the page's bend


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
    members: list[tuple[float, float, OcrBox]] = field(default_factory=list)

    def add(self, x: float, y: float, box: OcrBox) -> None:
        count = len(self.members)
        self.y = (self.y * count + y) / (count + 1)
        self.height = (self.height * count + box.height) / (count + 1)
        self.members.append((x, y, box))

    def distance(self, x: float, y: float) -> float:
        """How far (x, y) lies below or above this row's member nearest in x: on curved paper a
        line drifts from its mean height between its left and right ends."""
        _, my, _ = min(self.members, key=lambda m: abs(m[0] - x))
        return abs(y - my)


def _angle_estimate(boxes: Sequence[OcrBox]) -> float:
    """The median top-edge angle of boxes wider than tall (0 if none)."""
    angles = [b.angle for b in boxes if b.width > 1.5 * b.height and b.height > 0]
    return statistics.median(angles) if angles else 0.0


@dataclass(frozen=True, slots=True)
class _Sample:
    """The boxes the skew is judged on, as arrays: centres, text heights (at least 1), and for each box
    which boxes lie wholly to its left on the page as photographed (`left[i, j]`: j is left of i)."""

    xs: np.ndarray
    ys: np.ndarray
    heights: np.ndarray
    left: np.ndarray
    has_left: np.ndarray

    @classmethod
    def of(cls, boxes: Sequence[OcrBox]) -> _Sample:
        centres = [b.centre for b in boxes]
        lefts = np.array([min(p[0] for p in b.points) for b in boxes])
        rights = np.array([max(p[0] for p in b.points) for b in boxes])
        left = rights[None, :] < lefts[:, None]
        return cls(np.array([c[0] for c in centres]), np.array([c[1] for c in centres]),
                   np.array([max(b.height, 1.0) for b in boxes]), left, np.asarray(left.any(axis=1)))


def _alignment_cost(sample: _Sample, angle: float) -> float:
    """How badly rows line up at `angle`: the mean vertical distance, in text heights, from each box
    to the nearest box on its left. Rows spaced a line apart also line up one row off at some larger
    angle; the cost of turning away from the boxes' own angle (`_TURN_COST` a degree) prefers the nearer.
    """
    sin, cos = math.sin(angle), math.cos(angle)
    ys = -sample.xs * sin + sample.ys * cos
    apart = np.where(sample.left, np.abs(ys[None, :] - ys[:, None]), np.inf)
    gaps = np.minimum(apart.min(axis=1)[sample.has_left] / sample.heights[sample.has_left], 1.0)
    spread: list[float] = gaps.tolist()
    return sum(spread) / max(len(spread), 1)


def estimate_skew(boxes: Sequence[OcrBox]) -> float:
    """The page's rotation in radians: box angles, refined by how well rows line up (0 if no boxes)."""
    if not boxes:
        return 0.0
    first = _angle_estimate(boxes)
    sample = _Sample.of(sorted(boxes, key=lambda b: -b.width)[:120])
    steps = int(_SEARCH_DEG / _SEARCH_STEP_DEG)
    candidates = [first + math.radians(i * _SEARCH_STEP_DEG) for i in range(-steps, steps + 1)]
    best = min(candidates, key=lambda a: _alignment_cost(sample, a) + _TURN_COST * abs(math.degrees(a - first)))
    return best if abs(math.degrees(best)) <= _MAX_SKEW_DEG else 0.0


def _upright(point: Point, skew: float) -> Point:
    x, y = point
    cos, sin = math.cos(skew), math.sin(skew)
    return (x * cos + y * sin, -x * sin + y * cos)


def _bounds(boxes: Sequence[OcrBox]) -> list[Point]:
    xs = [p[0] for b in boxes for p in b.points]
    ys = [p[1] for b in boxes for p in b.points]
    return [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]


def _find_row(rows: list[_Row], x: float, y: float, box: OcrBox) -> _Row | None:
    best: tuple[float, _Row] | None = None
    for row in rows[-4:]:
        distance = row.distance(x, y)
        if distance < _SAME_ROW * min(row.height, box.height) and (best is None or distance < best[0]):
            best = (distance, row)
    return best[1] if best else None


def _grouped(placed: list[tuple[float, float, OcrBox]]) -> list[_Row]:
    """Rows from boxes placed upright, taken top to bottom."""
    rows: list[_Row] = []
    for x, y, box in placed:
        row = _find_row(rows, x, y, box)
        if row is None:
            row = _Row(y, box.height)
            rows.append(row)
        row.add(x, y, box)
    return rows


def _bend(rows: list[_Row], middle: float) -> list[tuple[float, float]]:
    """(height, offset) of each row holding text left of the page's middle and an amount right of it:
    how far, in text heights, its amounts stand below its text (rows more than `_BEND_MAX` off are
    left out: a neighbouring line, not a bend)."""
    out = []
    for row in rows:
        left = [y for x, y, _ in row.members if x < middle]
        right = [y for x, y, box in row.members if x >= middle and _AMOUNT.search(box.text)]
        if left and right:
            offset = (statistics.mean(right) - statistics.mean(left)) / max(row.height, 1.0)
            if abs(offset) <= _BEND_MAX:
                out.append((row.y, offset))
    return out


def _straightened(placed: list[tuple[float, float, OcrBox]], rows: list[_Row]) -> list[tuple[float, float, OcrBox]]:
    """The boxes with the amounts on the right half of the page moved level with the text on the left:
    paper folded or curved between a name column and an amount column sets one a fraction of a line
    off the other, by an amount that changes slowly down the page. Each such amount moves by the median
    offset of the `_BEND_ROWS` rows nearest it (none when fewer rows pair text with an amount)."""
    xs = [x for x, _, _ in placed]
    middle = (min(xs) + max(xs)) / 2
    bends = _bend(rows, middle)
    if len(bends) < _BEND_ROWS:
        return placed
    out = []
    for x, y, box in placed:
        if x >= middle and _AMOUNT.search(box.text):
            near = sorted(bends, key=lambda b: abs(b[0] - y))[:_BEND_ROWS]
            y -= statistics.median(offset for _, offset in near) * box.height
        out.append((x, y, box))
    return sorted(out, key=lambda t: t[1])


def group_rows(boxes: Sequence[OcrBox], skew: float | None = None) -> list[list[OcrBox]]:
    """Boxes grouped into printed rows (top to bottom), each row ordered left to right."""
    skew = estimate_skew(boxes) if skew is None else skew
    placed = sorted(((*_upright(b.centre, skew), b) for b in boxes if b.text.strip()), key=lambda t: t[1])
    rows = _grouped(placed)
    if len(placed) > 1:
        rows = _grouped(_straightened(placed, rows))
    rows.sort(key=lambda r: r.y)
    return [[box for _, _, box in sorted(row.members, key=lambda m: m[0])] for row in rows]


def _line(row: list[OcrBox], skew: float) -> TextLine:
    xs = [_upright(p, skew)[0] for b in row for p in b.points]
    return TextLine(
        text=" ".join(b.text.strip() for b in row),
        confidence=round(sum(b.score for b in row) / len(row), 4),
        box=_bounds(row),
        x_span=(min(xs), max(xs)),
        height=statistics.median(b.height for b in row),
    )


def to_lines(boxes: Sequence[OcrBox]) -> list[TextLine]:
    """Receipt lines from OCR boxes: text joined with spaces, mean score, outline, upright extent."""
    skew = estimate_skew(boxes)
    return [_line(row, skew) for row in group_rows(boxes, skew)]
