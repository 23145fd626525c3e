"""Receipt rows with their geometry, and keyword lexicons matched the way OCR text needs.

`parse_header` takes plain strings or `TextLine`s (anything with `.text` and an optional
`.box` of corner points). With boxes, each row knows its height (the font size), its
left and right edges and its vertical place on the page; without, the row's index stands
in for its place and every row has the same size.
"""

from __future__ import annotations

import functools
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.recognition.amounts import Amount, find_amounts
from app.recognition.text import fold

_NON_WORD = re.compile(r"[\W_]+")
_THAI = re.compile(r"[\u0e00-\u0e7f]")
_SUBSTRING_MIN = 5


class LineLike(Protocol):
    """A text line that may know where it stands (`receipt_parser.TextLine`)."""

    @property
    def text(self) -> str: ...

    @property
    def box(self) -> Sequence[tuple[float, float]] | None: ...


def squeeze(text: str) -> str:
    """Folded letters and digits only, in any script: 'Rounded Total (RM):' -> 'roundedtotalrm'."""
    return _NON_WORD.sub("", fold(text))


def tokens(text: str) -> set[str]:
    """The folded words of `text`."""
    return set(_NON_WORD.sub(" ", fold(text)).split())


@functools.lru_cache(maxsize=4096)
def _forms(text: str) -> tuple[str, str, frozenset[str]]:
    """`text` squeezed, its folded words spaced (and padded) with single spaces, and its words. Cached:
    a receipt's every row is asked about by a dozen lexicons."""
    folded = fold(text)
    spaced = _NON_WORD.sub(" ", folded)
    return _NON_WORD.sub("", folded), f" {spaced.strip()} ", frozenset(spaced.split())


class Lexicon:
    """Phrases of one meaning; long (or Thai) ones match inside glued text, short ones as whole words."""

    def __init__(self, phrases: Iterable[str], *, fuzzy: int = 0) -> None:
        keys = {squeeze(p): p for p in phrases if squeeze(p)}
        # One misread letter is forgiven in Latin phrases of `fuzzy` letters or more ('TATAL', 'SUMNE').
        self.fuzzy = tuple(k for k in keys if fuzzy and len(k) >= fuzzy and k.isascii() and k.isalpha())
        self.parts = tuple(k for k, p in keys.items() if len(k) >= _SUBSTRING_MIN or _THAI.search(p))
        self.words = frozenset(k for k in keys if k not in self.parts)
        self.spaced = tuple(
            _NON_WORD.sub(" ", fold(p)).strip() for k, p in keys.items() if k in self.words and " " in p.strip()
        )

    def find(self, text: str) -> str | None:
        """The longest phrase of this lexicon in `text`, squeezed; None if none."""
        found = self.locate(text)
        return found[0] if found else None

    def locate(self, text: str) -> tuple[str, int] | None:
        """The longest phrase in `text` (squeezed) and where its last occurrence starts in `squeeze(text)`."""
        squeezed, spaced, words = _forms(text)
        hits = [p for p in self.parts if p in squeezed]
        hits += list(self.words & words)
        hits += [squeeze(p) for p in self.spaced if f" {p} " in spaced]
        if hits:
            best = max(hits, key=len)
            return best, squeezed.rfind(best)
        return self._near_miss(squeezed)

    def _near_miss(self, squeezed: str) -> tuple[str, int] | None:
        for phrase in self.fuzzy:
            size = len(phrase)
            for start in range(len(squeezed) - size, -1, -1):
                window = squeezed[start : start + size]
                if window[0] == phrase[0] and window.isalpha() and _one_letter_apart(window, phrase):
                    return phrase, start
        return None

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and self.find(text) is not None


def _one_letter_apart(a: str, b: str) -> bool:
    return sum(x != y for x, y in zip(a, b, strict=True)) == 1


@dataclass(frozen=True, slots=True)
class Row:
    """One receipt row: text, amounts, and place on the page (0 top .. 1 bottom, 0 left .. 1 right)."""

    index: int
    text: str
    amounts: tuple[Amount, ...]
    y: float
    left: float
    right: float
    size: float  # height relative to the median row (1.0 without geometry)


def _bounds(box: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in box]
    ys = [p[1] for p in box]
    return min(xs), min(ys), max(xs), max(ys)


def build_rows(lines: Sequence[str | LineLike]) -> list[Row]:
    """Rows from strings or TextLines, top to bottom, with positions scaled to the page."""
    texts = [line if isinstance(line, str) else line.text for line in lines]
    boxes = [None if isinstance(line, str) else line.box for line in lines]
    kept = [(t.strip(), b) for t, b in zip(texts, boxes, strict=True) if t.strip()]
    if kept and all(b for _, b in kept):
        return _geometric_rows(kept)
    count = max(len(kept) - 1, 1)
    return [Row(i, t, tuple(find_amounts(t)), i / count, 0.0, 1.0, 1.0) for i, (t, _) in enumerate(kept)]


def _geometric_rows(kept: list[tuple[str, Sequence[tuple[float, float]] | None]]) -> list[Row]:
    bounds = [_bounds(b) for _, b in kept if b]
    left, top = min(b[0] for b in bounds), min(b[1] for b in bounds)
    width = max(max(b[2] for b in bounds) - left, 1.0)
    height = max(max(b[3] for b in bounds) - top, 1.0)
    median = statistics.median(b[3] - b[1] for b in bounds) or 1.0
    return [
        Row(i, text, tuple(find_amounts(text)), ((y0 + y1) / 2 - top) / height, (x0 - left) / width,
            (x1 - left) / width, (y1 - y0) / median)
        for i, ((text, _), (x0, y0, x1, y1)) in enumerate(zip(kept, bounds, strict=True))
    ]
