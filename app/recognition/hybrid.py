"""The hybrid engine (PP-OCR's numbers with Tesseract's words) and the `auto` engine that picks an
engine by the job's language, or by the script a page turns out to be in.

PP-OCR finds and reads digits better than Tesseract but knows no Cyrillic or Thai letters; Tesseract
reads those scripts but misses more digits. The hybrid engine keeps PP-OCR's numbers and Tesseract's
words, cutting each box into the parts that one reader reads best (`app.recognition.hybrid_merge`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from PIL import Image

from app.recognition.hybrid_merge import (
    FOREIGN_TOKEN,
    NUMBER,
    LatinWitness,
    base_lang,
    combine,
    letter_count,
    numeric_parts,
)
from app.recognition.layout import OcrBox
from app.recognition.tesseract import SCRIPT_SAMPLE, TesseractEngine

if TYPE_CHECKING:
    from app.recognition.ocr import OcrEngine

log = logging.getLogger(__name__)

# Languages whose script the PP-OCR packs we ship cannot read: Tesseract reads them.
NON_LATIN = frozenset({"bg", "ru", "sr", "uk", "th", "mk", "be"})
__all__ = ["NON_LATIN", "NUMBER", "AutoEngine", "HybridEngine", "LatinWitness", "base_lang", "combine",
           "foreign_share", "numeric_parts"]


@runtime_checkable
class UprightReader(Protocol):
    """An engine that turns the page upright while reading it (RapidOcrEngine)."""

    def read_upright(self, image: Image.Image) -> tuple[list[OcrBox], Image.Image]: ...


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
        return self.read_words(boxes, upright, lang)

    def read_words(self, boxes: Sequence[OcrBox], upright: Image.Image, lang: str) -> list[OcrBox]:
        """Tesseract's words of a page PP-OCR has read (`boxes` of the `upright` image), merged."""
        if isinstance(self._words, TesseractEngine):
            words = self._words.read(upright, lang, witness=LatinWitness(boxes))
        else:
            words = self._words.read(upright, lang)
        return combine(boxes, words, lang)

    def script_of(self, upright: Image.Image, boxes: Sequence[OcrBox]) -> str | None:
        """The script (Tesseract's `SCRIPTS`) of a page PP-OCR has read, when it is not Latin."""
        if not isinstance(self._words, TesseractEngine):
            return None
        sample = sorted(boxes, key=lambda b: -letter_count(b.text))[:SCRIPT_SAMPLE]
        return self._words.script_of(upright, [b for b in sample if letter_count(b.text) >= 3])


FOREIGN_SHARE = 0.15  # share of such tokens above which a page's script is checked (Latin pages: < 0.1 mostly)


def foreign_share(boxes: Sequence[OcrBox]) -> float:
    """The share of PP-OCR's tokens of three or more letters that look like another script read as
    Latin; 0 when there are none."""
    tokens = [t for b in boxes for t in b.text.split() if letter_count(t) >= 3]
    return sum(FOREIGN_TOKEN.search(t) is not None for t in tokens) / len(tokens) if tokens else 0.0


class AutoEngine:
    """PP-OCR for Latin-script languages, Tesseract for the scripts PP-OCR cannot read.

    A job whose language is Latin-script (the API's default 'en') may hold a Cyrillic or Thai page:
    when PP-OCR's reading looks like another script read as Latin (`foreign_share`), Tesseract tells
    the script from a few of its boxes and the hybrid engine reads the page in it. A Latin page pays
    nothing more than the share's count.
    """

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
        """Boxes from the engine chosen for the language, or for the script the page turns out to be in."""
        engine = self.engine_for(lang)
        hybrid, latin = self._other, self._latin
        if engine is not latin or not isinstance(hybrid, HybridEngine) or not isinstance(latin, UprightReader):
            return engine.read(image, lang)
        boxes, upright = latin.read_upright(image)
        if foreign_share(boxes) < FOREIGN_SHARE:
            return boxes
        script = hybrid.script_of(upright, boxes)
        if script is None:
            return boxes
        log.info("a %s page in a %r job: read as %s", script, lang, script)
        return hybrid.read_words(boxes, upright, script)
