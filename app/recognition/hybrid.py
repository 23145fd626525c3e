"""The hybrid engine (PP-OCR's numbers with Tesseract's words) and the `auto` engine that picks an
engine by the job's language.

PP-OCR finds and reads digits better than Tesseract but knows no Cyrillic or Thai letters; Tesseract
reads those scripts but misses more digits. The hybrid engine keeps PP-OCR's numbers and Tesseract's
words, cutting each box into the parts that one reader reads best.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from PIL import Image

from app.recognition.layout import OcrBox

if TYPE_CHECKING:
    from app.recognition.ocr import OcrEngine

# Languages whose script the PP-OCR packs we ship cannot read: Tesseract reads them.
NON_LATIN = frozenset({"bg", "ru", "sr", "uk", "th", "mk", "be"})
# An amount, date, time or code as PP-OCR reads it: '12,50', '-3.99', '$4.50', '25/12/2018', '13:05'.
NUMBER = re.compile(r"[$€£₹₺₴฿]?[-+]?\d(?:[\d.,:/'-]*\d)?%?")
# A number, or a multiplication sign standing alone ('2 x 1.50', '0.5 kg x 3.98').
NUMBER_OR_TIMES = re.compile(rf"{NUMBER.pattern}|(?<!\S)[xX\u00d7](?!\S)")


class UprightReader(Protocol):
    """An engine that turns the page upright while reading it (RapidOcrEngine)."""

    def read_upright(self, image: Image.Image) -> tuple[list[OcrBox], Image.Image]: ...


def _along(box: OcrBox, start: float, end: float) -> OcrBox:
    """The part of a box between two fractions of its width (its text spread evenly over it)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = box.points

    def at(t: float, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))

    top, bottom = ((x0, y0), (x1, y1)), ((x3, y3), (x2, y2))
    points = (at(start, *top), at(end, *top), at(end, *bottom), at(start, *bottom))
    return OcrBox(points, box.text, box.score)


_AMOUNT_SHAPE = re.compile(r"\d+[.,]\d{2}")


def _glued_to_letters(text: str, start: int, end: int) -> bool:
    """True when a number touches a letter on either side ('5PVOWb', 'K0K0C', '400r'): a reader
    that knows no Cyrillic or Thai takes some of their letters for digits; a multiplication
    'x' before or after ('2x', 'x1.50') does not count."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    # A letter or CJK sign before an amount is a misread currency sign ('B1920.56', '串1202.20').
    amount = _AMOUNT_SHAPE.fullmatch(text[start:end]) is not None
    return (before.isalpha() and before not in "xX×" and not amount and ord(before) < 0x2E80) or (
        after.isalpha() and after not in "xX×")


def numeric_parts(box: OcrBox, *, standalone: bool = False) -> list[OcrBox]:
    """The amounts, dates and other numbers in a box, each as a box of its own (with `standalone`,
    only those no letter touches, and the multiplication signs between them)."""
    length = max(len(box.text), 1)
    parts = []
    for match in (NUMBER_OR_TIMES if standalone else NUMBER).finditer(box.text):
        if standalone and _glued_to_letters(box.text, match.start(), match.end()):
            continue
        part = _along(box, match.start() / length, match.end() / length)
        parts.append(OcrBox(part.points, match.group().strip(), box.score))
    return parts


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _bounds(box: OcrBox) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in box.points], [p[1] for p in box.points]
    return min(xs), min(ys), max(xs), max(ys)


def _covered(word: OcrBox, by: Sequence[tuple[float, float, float, float]]) -> bool:
    """True when a third of the word lies in one of the numbers, or half of a number's width
    lies over the word (PP-OCR's boxes are taller than Tesseract's)."""
    x0, y0, x1, y1 = _bounds(word)
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    for a0, b0, a1, b1 in by:
        across = max(0.0, min(x1, a1) - max(x0, a0))
        down = max(0.0, min(y1, b1) - max(y0, b0))
        if across * down > 0.3 * area or (across > 0.5 * (a1 - a0) and down > 0.5 * min(y1 - y0, b1 - b0)):
            return True
    return False


# Letters Tesseract reads for a digit inside a number ('12,5O'); no unit is written with them.
_DIGIT_LOOKALIKES = set("OoIl|\u041e\u043e")


def letter_parts(word: OcrBox) -> list[OcrBox]:
    """The pieces of a word between its numbers that hold letters ('x' of '2x', 'g' of '400g')."""
    length = max(len(word.text), 1)
    bounds = [0, *(i for m in NUMBER.finditer(word.text) for i in m.span()), len(word.text)]
    parts = []
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        piece = word.text[start:end].strip()
        if any(c.isalpha() for c in piece) and not set(piece) <= _DIGIT_LOOKALIKES:
            parts.append(OcrBox(_along(word, start / length, end / length).points, piece, word.score))
    return parts


def _redundant_sign(word: OcrBox, numbers: Sequence[tuple[float, float, float, float]],
                    signs: Sequence[tuple[float, float, float, float]]) -> bool:
    """A multiplication sign where PP-OCR read one, or a mark without letters or digits over
    PP-OCR's numbers or signs ('%' is Tesseract's Thai 'x')."""
    if word.text in ("x", "X", "\u0445", "\u0425", "\u00d7"):
        return _covered(word, signs)
    return not any(c.isalnum() for c in word.text) and _covered(word, [*numbers, *signs])


# A pack size as PP-OCR's Latin letters render a Cyrillic one ('400Γ', '250r', '1∏' for 400Г, 250Г,
# 1Л), and as Tesseract garbles the letter after the digits ('4007', '250°').
_LATIN_PACK = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)?)([ΓrFT]|[JΠ∏N])(?!\w)")
_GARBLED_PACK = re.compile(r"(\d+(?:[.,]\d+)?)[7°]")


def _pack_sizes(boxes: Sequence[OcrBox]) -> list[tuple[str, tuple[float, float, float, float]]]:
    """PP-OCR's pack sizes written with a Latin look-alike unit, in Cyrillic, with their place."""
    packs = []
    for box in boxes:
        length = max(len(box.text), 1)
        for match in _LATIN_PACK.finditer(box.text):
            letter = "\u0413" if match.group(2) in "ΓrFT" else "\u041b"
            part = _along(box, match.start() / length, match.end() / length)
            packs.append((match.group(1) + letter, _bounds(part)))
    return packs


def _mend_pack(word: OcrBox, packs: Sequence[tuple[str, tuple[float, float, float, float]]]) -> OcrBox:
    """Tesseract's '4007' where PP-OCR read '400Γ' at the same place becomes '400Г'."""
    garbled = _GARBLED_PACK.fullmatch(word.text)
    for text, place in packs:
        if garbled and text[:-1] == garbled.group(1) and _covered(word, [place]):
            return OcrBox(word.points, text, word.score)
    return word


def _merge(numeric: Sequence[OcrBox], words: Sequence[OcrBox]) -> list[OcrBox]:
    """PP-OCR's numbers, Tesseract's words without digits, and of those with digits either the
    word (where PP-OCR found no number) or its letters (where it did); signs where PP-OCR read
    one are left out."""
    taken = [_bounds(b) for b in numeric]
    # A sign's place within PP-OCR's box is a guess (the box's text spread evenly): widen it.
    signs = [(x0 - (x1 - x0), y0, x1 + (x1 - x0), y1) for b in numeric if not _has_digit(b.text)
             for x0, y0, x1, y1 in [_bounds(b)]]
    merged = list(numeric)
    for word in words:
        covered = _covered(word, taken)
        pieces = letter_parts(word) if covered and _has_digit(word.text) else [word]
        merged.extend(p for p in pieces if not _redundant_sign(p, taken, signs))
    return merged


class HybridEngine:
    """PP-OCR reads the numbers (prices, dates, totals), Tesseract the words of other scripts.

    PP-OCR finds and reads digits better than Tesseract, but knows no Cyrillic or Thai letters:
    the numbers in its boxes that no letter touches are kept (each cut out of its box; one glued
    to letters is a misread letter or a pack size whose unit PP-OCR cannot read), Tesseract's words
    without digits are kept, and so are those with digits that overlap none of PP-OCR's numbers;
    of the others only their letters are kept.
    """

    name = "hybrid"

    def __init__(self, numbers: UprightReader, words: OcrEngine) -> None:
        self._numbers = numbers
        self._words = words

    def read(self, image: Image.Image, lang: str) -> list[OcrBox]:
        """PP-OCR's numeric boxes plus Tesseract's other words, both on the upright page."""
        boxes, upright = self._numbers.read_upright(image)
        numeric = [part for b in boxes for part in numeric_parts(b, standalone=True)]
        packs = _pack_sizes(boxes) if base_lang(lang) != "th" else []  # the look-alikes are Cyrillic
        return _merge(numeric, [_mend_pack(w, packs) for w in self._words.read(upright, lang)])


class AutoEngine:
    """PP-OCR for Latin-script languages, Tesseract for the scripts PP-OCR cannot read."""

    name = "auto"

    def __init__(self, latin: OcrEngine, other: OcrEngine | None) -> None:
        self._latin = latin
        self._other = other

    def engine_for(self, lang: str) -> OcrEngine:
        """The engine that reads this language's script."""
        if self._other is not None and base_lang(lang) in NON_LATIN:
            return self._other
        return self._latin

    def read(self, image: Image.Image, lang: str) -> list[OcrBox]:
        """Boxes from the engine chosen for the language."""
        return self.engine_for(lang).read(image, lang)


def base_lang(lang: str) -> str:
    """'en-IN' -> 'en', 'pt_BR' -> 'pt'."""
    return lang.replace("_", "-").split("-")[0].lower()
